// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-proto: how many host packets per second the VSS codec handles.
 *
 * Each round restores the host's request (the codec answers in place, so a
 * packet can be handled only once) and then does what the kernel does with
 * it: hvvss_proto_handle(), and for a daemon operation
 * hvvss_proto_finish_daemon_op().  The restore is part of the measured cost
 * and is reported separately so the codec's share can be seen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host_packets.h"
#include "hv_vss_proto.h"

#define DEFAULT_SECONDS	1.0

struct bench_case {
	const char *name;
	u8 tmpl[HVVSS_MAX_PKT_LEN];
	u8 buf[HVVSS_MAX_PKT_LEN];
	size_t len;
	enum hvvss_verdict want;
};

/* Defeats dead-code elimination of the measured calls. */
static volatile unsigned long bench_sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round: restore, handle, finish; returns the verdict. */
static enum hvvss_verdict bench_round(struct bench_case *c, bool codec)
{
	struct hvvss_host_msg m;
	enum hvvss_verdict v = HVVSS_VERDICT_DROP;

	memcpy(c->buf, c->tmpl, c->len);
	if (codec) {
		v = hvvss_proto_handle(c->buf, (u32)c->len, &m);
		if (v == HVVSS_VERDICT_DAEMON)
			hvvss_proto_finish_daemon_op(c->buf, (u32)c->len, true);
	}
	bench_sink += c->buf[HVVSS_OFF_ICFLAGS];
	return v;
}

/* Rounds per second over about @secs seconds. */
static double bench_rate(struct bench_case *c, bool codec, double secs)
{
	unsigned long rounds = 0;
	double start = now(), end;
	unsigned int i;

	do {
		for (i = 0; i < 4096; i++)
			bench_round(c, codec);
		rounds += 4096;
		end = now();
	} while (end - start < secs);
	return (double)rounds / (end - start);
}

static int bench_run(struct bench_case *c, double secs)
{
	double with, copy;

	if (bench_round(c, true) != c->want) {
		fprintf(stderr, "%s: unexpected verdict\n", c->name);
		return -1;
	}
	with = bench_rate(c, true, secs);
	copy = bench_rate(c, false, secs);
	printf("%-10s %6zu bytes  %12.0f packets/s  (%.1f ns/packet, "
	       "of which %.1f ns restoring the request)\n", c->name, c->len,
	       with, 1e9 / with, 1e9 / copy);
	return 0;
}

static int parse_seconds(const char *arg, double *ret_secs)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(arg, &end);
	if (errno || *end || !(s > 0.0) || s > 3600.0)
		return -EINVAL;
	*ret_secs = s;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench_case neg = { .name = "negotiate",
					 .want = HVVSS_VERDICT_REPLY };
	static struct bench_case frz = { .name = "freeze",
					 .want = HVVSS_VERDICT_DAEMON };
	double secs = DEFAULT_SECONDS;

	if (argc > 2 || (argc == 2 && parse_seconds(argv[1], &secs) < 0)) {
		fprintf(stderr, "usage: %s [SECONDS-PER-CASE]\n", argv[0]);
		return 2;
	}
	neg.len = hostpkt_negotiate_default(neg.tmpl, sizeof(neg.tmpl));
	frz.len = hostpkt_vss(frz.tmpl, sizeof(frz.tmpl), HVVSS_OP_FREEZE,
			      HOSTPKT_FULL_FREEZE_LEN, 1);
	if (!neg.len || !frz.len) {
		fprintf(stderr, "cannot build the benchmark packets\n");
		return 1;
	}
	if (bench_run(&neg, secs) < 0 || bench_run(&frz, secs) < 0)
		return 1;
	return 0;
}
