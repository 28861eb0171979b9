/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vss-host write-errors: probes the error contract of /dev/hv_vss_hostsim.
 *
 * Each probe is a write() or read() the simulator must refuse with one
 * specific errno.  A write that the simulator wrongly accepts queues a
 * packet for the guest, so the probes use packets whose acceptance would
 * be visible but harmless (GET_DM_INFO, answered by the kernel alone).
 * A blocking write() where EAGAIN is due would hang the tool: an alarm
 * interrupts it and the probe reports the hang instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host_packets.h"
#include "vss-host.h"

/* The simulator's queue depth (design.md, host simulator contract). */
#define SIM_QUEUE_DEPTH 16
/* Give up filling after this many accepted frames. */
#define FILL_LIMIT 64

static u8 frame[VSS_FRAME_HDR_LEN + HVVSS_MAX_PKT_LEN + 64];
static int failures;

int vss_frame_check(const u8 *buf, size_t n, u64 *ret_reqid, u32 *ret_len)
{
	u32 len;

	if (n < VSS_FRAME_HDR_LEN) {
		fprintf(stderr, "vss-host: the simulator returned a %zu-byte frame, shorter than its 16-byte header (simulator bug)\n",
			n);
		return -1;
	}
	len = hvvss_get_le32(buf + 8);
	if (len != n - VSS_FRAME_HDR_LEN) {
		fprintf(stderr, "vss-host: frame header says %u bytes but %zu followed (simulator bug)\n",
			len, n - VSS_FRAME_HDR_LEN);
		return -1;
	}
	*ret_reqid = hvvss_get_le32(buf) | (u64)hvvss_get_le32(buf + 4) << 32;
	*ret_len = len;
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* write() with a 3 s guard; returns 0 or errno (EINTR: it blocked). */
static int guarded_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	alarm(3);
	n = write(fd, buf, len);
	alarm(0);
	if (n < 0)
		return errno;
	return (size_t)n == len ? 0 : EIO;
}

static const char *err_name(int err)
{
	switch (err) {
	case 0: return "success";
	case EINVAL: return "EINVAL";
	case EMSGSIZE: return "EMSGSIZE";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "blocked (no error within 3 s)";
	default: return strerror(err);
	}
}

static void report(const char *what, int got, int want)
{
	if (got == want) {
		printf("check ok: %s -> %s\n", what, err_name(want));
	} else {
		printf("check FAILED: %s -> %s (expected %s)\n", what,
		       err_name(got), err_name(want));
		failures++;
	}
	fflush(stdout);
}

/* A frame whose header declares @declared bytes, @payload bytes sent. */
static int write_declared(int fd, u32 declared, size_t payload)
{
	size_t pkt = payload < HVVSS_MAX_PKT_LEN + 64 ? payload : 0;

	memset(frame, 0, sizeof(frame));
	if (pkt >= HVVSS_HDRS_LEN + 4 && pkt <= HVVSS_MAX_PKT_LEN)
		hostpkt_vss(frame + VSS_FRAME_HDR_LEN, pkt, HVVSS_OP_GET_DM_INFO,
			    pkt, 0);
	vss_frame_hdr_put(frame, 1, declared);
	return guarded_write(fd, frame, VSS_FRAME_HDR_LEN + pkt);
}

static void probe_lengths(int fd)
{
	report("27-byte packet (shorter than ICMSG_HDR)",
	       write_declared(fd, 27, 27), EINVAL);
	report("16385-byte packet (longer than 16384)",
	       write_declared(fd, HVVSS_MAX_PKT_LEN + 1, HVVSS_MAX_PKT_LEN + 1),
	       EMSGSIZE);
	report("header declaring 40 bytes followed by 50",
	       write_declared(fd, 40, 50), EINVAL);
	memset(frame, 0, sizeof(frame));
	report("10-byte write (shorter than the frame header)",
	       guarded_write(fd, frame, 10), EINVAL);
}

/* Read a reply through an 8-byte buffer: EINVAL, and the frame stays. */
static void probe_small_read(int fd, u64 reqid)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	u8 small[8];
	size_t len = hostpkt_vss(frame + VSS_FRAME_HDR_LEN, HVVSS_MAX_PKT_LEN,
				 HVVSS_OP_GET_DM_INFO, 40, 0);
	ssize_t n;
	u64 got = 0;
	u32 glen;

	vss_frame_hdr_put(frame, reqid, (u32)len);
	if (guarded_write(fd, frame, VSS_FRAME_HDR_LEN + len) ||
	    poll(&p, 1, 5000) != 1) {
		printf("check FAILED: GET_DM_INFO reqid=%" PRIu64 " got no reply within 5 s (poll POLLIN)\n",
		       reqid);
		failures++;
		return;
	}
	n = read(fd, small, sizeof(small));
	report("read into an 8-byte buffer", n < 0 ? errno : 0, EINVAL);
	n = read(fd, frame, sizeof(frame));
	if (n < 0 || vss_frame_check(frame, (size_t)n, &got, &glen) || got != reqid) {
		printf("check FAILED: the reply reqid=%" PRIu64 " was lost after the short read\n",
		       reqid);
		failures++;
		return;
	}
	printf("check ok: reply reqid=%" PRIu64 " still readable after the short read\n",
	       reqid);
}

static void probe_nonblock_read(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	n = read(fd, frame, sizeof(frame));
	fcntl(fd, F_SETFL, fl);
	report("non-blocking read with no reply queued", n < 0 ? errno : 0,
	       EAGAIN);
}

/* With a transaction pending, exactly SIM_QUEUE_DEPTH frames fit. */
static void probe_fill(int fd, u64 base)
{
	size_t len = hostpkt_vss(frame + VSS_FRAME_HDR_LEN, HVVSS_MAX_PKT_LEN,
				 HVVSS_OP_GET_DM_INFO, 40, 0);
	unsigned int queued = 0;
	int err = 0;

	while (queued < FILL_LIMIT) {
		vss_frame_hdr_put(frame, base + queued + 1, (u32)len);
		err = guarded_write(fd, frame, VSS_FRAME_HDR_LEN + len);
		if (err)
			break;
		queued++;
	}
	printf("queued %u frames (reqids %" PRIu64 "..%" PRIu64 "), then %s\n",
	       queued, base + 1, base + queued, err ? err_name(err) : "gave up");
	report("write to a full queue", err, EAGAIN);
	if (queued != SIM_QUEUE_DEPTH) {
		printf("check FAILED: %u frames fit the queue (expected %d)\n",
		       queued, SIM_QUEUE_DEPTH);
		failures++;
	} else {
		printf("check ok: %d frames fit the queue\n", SIM_QUEUE_DEPTH);
	}
}

int vss_host_write_errors(int fd, const char *dev, u64 base_reqid, bool fill)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	/* No SA_RESTART: a blocked write() must come back with EINTR. */
	sigaction(SIGALRM, &sa, NULL);
	printf("write-errors on %s\n", dev);
	probe_lengths(fd);
	if (fill) {
		probe_fill(fd, base_reqid);
	} else {
		probe_small_read(fd, base_reqid);
		probe_nonblock_read(fd);
	}
	printf("write-errors %s (%d failed)\n", failures ? "failed" : "ok",
	       failures);
	return failures ? 1 : 0;
}
