/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vss-host: plays the Hyper-V host through /dev/hv_vss_hostsim (VM tests).
 *
 * Each invocation opens the simulator, queues at most one host packet and
 * reads guest replies.  The reply queue belongs to the device, not to the
 * opener, so `send` in one process and `wait-reply` in a later one work
 * together: that is how the scenarios test back-to-back requests.
 *
 * Every result is one machine-greppable line on stdout
 * ("reply status=0x00000000 flags=0x00000005 len=40 reqid=7 ...",
 * "negotiate framework=3.0 message=5.0", "no reply"), plus a friendly line
 * with --human.  Exit: 0 a reply came (or, for expect-none and
 * write-errors, all checks held), 1 a reply came but was wrong or a check
 * failed, 2 usage or I/O error, 3 no reply within --wait seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host_packets.h"
#include "vss-host.h"

enum {
	EXIT_REPLY = 0,
	EXIT_WRONG = 1,
	EXIT_USAGE = 2,
	EXIT_NO_REPLY = 3,
};

/* Most versions one --fw/--msg list may hold (fits a 16 KiB packet). */
#define MAX_VERSIONS 2000

struct opts {
	const char *dev;
	int wait_s;		/* -1: command default */
	bool human;
	bool nonblock;
	bool have_reqid;
	u64 reqid;
	/* negotiate */
	struct hvvss_version fw[MAX_VERSIONS];
	unsigned int fw_cnt;
	struct hvvss_version msg[MAX_VERSIONS];
	unsigned int msg_cnt;
	bool override_counts;
	unsigned int fw_declared, msg_declared;
	unsigned int truncate_to;
	/* op / raw */
	unsigned int size;	/* 0: natural length of the op */
	int type;		/* raw: icmsgtype, -1 unset */
	unsigned int len;	/* raw: total length */
	int raw_op;		/* raw: operation byte */
	/* wait-reply / write-errors */
	unsigned int count;
	bool fill;
};

static struct opts o;

/* Options given on the command line, as bits (1 << (id - OPT_DEV)). */
static unsigned int opts_given;

/*
 * When the wait began: the send for negotiate/op/raw, the start of the
 * command otherwise.  Replies print the time since then ("ms="), so
 * scenarios time the kernel, not the start-up of this tool (slow under
 * ASan in a TCG guest).
 */
static long long t_start_ms;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vss-host [OPTIONS] COMMAND [ARGS]\n"
		"Play the Hyper-V host through /dev/hv_vss_hostsim.\n\n"
		"Commands:\n"
		"  negotiate [--fw 1.0,3.0] [--msg 4.0,5.0,6.0,7.0]\n"
		"            [--count-override FW,MSG] [--truncate N]\n"
		"  op NAME|NUMBER [--size TOTAL_LEN]   (create delete hot_backup\n"
		"            get_dm_info bu_complete freeze thaw auto_recover)\n"
		"  raw --type T --len N [--op OP]      any icmsgtype and length\n"
		"  send negotiate|op|raw ...           queue only, do not wait\n"
		"  wait-reply [--reqid N] [--count N]  read replies in order\n"
		"  expect-none                         succeed if no reply comes\n"
		"  write-errors [--fill]               check the write() contract\n\n"
		"Options:\n"
		"  --dev PATH    simulator device (default %s)\n"
		"  --wait S      seconds to wait for a reply (default 5; expect-none 2)\n"
		"  --reqid N     VMBus request id (default: derived from the pid)\n"
		"  --nonblock    open O_NONBLOCK; wait-reply reads once, no poll\n"
		"  --human       also print a friendly line\n"
		"Version lists: MAJ.MIN[*REPEAT],... or none.\n\n"
		"A reply line ends with ms=N: milliseconds since the packet was sent\n"
		"(or since the command started, for wait-reply).\n"
		"Exit status: 0 reply (or checks held), 1 wrong reply or failed check,\n"
		"2 usage or I/O error, 3 no reply in time.\n",
		VSS_HOSTSIM_DEV);
}

__attribute__((format(printf, 1, 2)))
static int die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("vss-host: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; try 'vss-host --help'\n", stderr);
	return EXIT_USAGE;
}

/* Parse an unsigned number in [0, max]; 0 on success. */
static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max || *s == '-')
		return -1;
	*ret = v;
	return 0;
}

static int parse_version(const char *s, struct hvvss_version *ret,
			 unsigned int *ret_repeat)
{
	unsigned int maj, min, rep = 1;
	int n = 0;

	if (sscanf(s, "%u.%u%n", &maj, &min, &n) != 2 || maj > 0xffff ||
	    min > 0xffff)
		return -1;
	if (s[n] == '*' && sscanf(s + n + 1, "%u", &rep) != 1)
		return -1;
	if (rep == 0 || rep > MAX_VERSIONS)
		return -1;
	ret->major = (u16)maj;
	ret->minor = (u16)min;
	*ret_repeat = rep;
	return 0;
}

/* "1.0,3.0" or "3.0*101" (repeat), into @v; returns the count or -1. */
static int parse_version_list(const char *list, struct hvvss_version *v)
{
	char buf[256];
	char *save = NULL, *tok;
	unsigned int n = 0;

	if (strlen(list) >= sizeof(buf))
		return -1;
	strcpy(buf, list);
	if (!strcmp(buf, "none"))
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct hvvss_version ver;
		unsigned int rep;

		if (parse_version(tok, &ver, &rep) || n + rep > MAX_VERSIONS)
			return -1;
		while (rep--)
			v[n++] = ver;
	}
	return (int)n;
}

/* An operation by its codec name (hvvss_proto_op_name) or number. */
static int parse_op(const char *s)
{
	unsigned long long v;
	int i;

	for (i = 0; i < HVVSS_OP_COUNT; i++)
		if (!strcasecmp(s, hvvss_proto_op_name((u8)i)))
			return i;
	if (parse_uint(s, 255, &v))
		return -1;
	return (int)v;
}

enum opt_id {
	OPT_DEV = 256, OPT_WAIT, OPT_HUMAN, OPT_NONBLOCK, OPT_REQID, OPT_FW,
	OPT_MSG, OPT_COUNT_OVERRIDE, OPT_TRUNCATE, OPT_SIZE, OPT_TYPE,
	OPT_LEN, OPT_OP, OPT_COUNT, OPT_FILL, OPT_HELP,
};

/* Same order as enum opt_id: check_opts() names options by index. */
static const struct option long_opts[] = {
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "wait", required_argument, NULL, OPT_WAIT },
	{ "human", no_argument, NULL, OPT_HUMAN },
	{ "nonblock", no_argument, NULL, OPT_NONBLOCK },
	{ "reqid", required_argument, NULL, OPT_REQID },
	{ "fw", required_argument, NULL, OPT_FW },
	{ "msg", required_argument, NULL, OPT_MSG },
	{ "count-override", required_argument, NULL, OPT_COUNT_OVERRIDE },
	{ "truncate", required_argument, NULL, OPT_TRUNCATE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "type", required_argument, NULL, OPT_TYPE },
	{ "len", required_argument, NULL, OPT_LEN },
	{ "op", required_argument, NULL, OPT_OP },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "fill", no_argument, NULL, OPT_FILL },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int parse_counts(const char *s)
{
	unsigned int fw, msg;
	char tail;

	if (sscanf(s, "%u,%u%c", &fw, &msg, &tail) != 2 || fw > 0xffff ||
	    msg > 0xffff)
		return -1;
	o.override_counts = true;
	o.fw_declared = fw;
	o.msg_declared = msg;
	return 0;
}

/* One option; 0, or an exit status for a bad value. */
static int parse_one(int c, const char *arg)
{
	unsigned long long v;
	int n;

	switch (c) {
	case OPT_DEV:
		o.dev = arg;
		return 0;
	case OPT_WAIT:
		if (parse_uint(arg, 3600, &v))
			return die_usage("--wait wants seconds (0-3600), got '%s'", arg);
		o.wait_s = (int)v;
		return 0;
	case OPT_HUMAN:
		o.human = true;
		return 0;
	case OPT_NONBLOCK:
		o.nonblock = true;
		return 0;
	case OPT_REQID:
		if (parse_uint(arg, UINT64_MAX, &v))
			return die_usage("--reqid wants a number, got '%s'", arg);
		o.reqid = v;
		o.have_reqid = true;
		return 0;
	case OPT_FW:
	case OPT_MSG:
		n = parse_version_list(arg, c == OPT_FW ? o.fw : o.msg);
		if (n < 0)
			return die_usage("bad version list '%s' (want e.g. 1.0,3.0 or 3.0*101)", arg);
		if (c == OPT_FW)
			o.fw_cnt = (unsigned int)n;
		else
			o.msg_cnt = (unsigned int)n;
		return 0;
	case OPT_COUNT_OVERRIDE:
		if (parse_counts(arg))
			return die_usage("--count-override wants FW,MSG (0-65535), got '%s'", arg);
		return 0;
	case OPT_TRUNCATE:
		if (parse_uint(arg, HVVSS_MAX_PKT_LEN, &v))
			return die_usage("--truncate wants a length up to 16384, got '%s'", arg);
		o.truncate_to = (unsigned int)v;
		return 0;
	case OPT_SIZE:
	case OPT_LEN:
		if (parse_uint(arg, HVVSS_MAX_PKT_LEN * 2, &v) || v < HVVSS_HDRS_LEN)
			return die_usage("packet length must be 28..32768, got '%s'", arg);
		if (c == OPT_SIZE)
			o.size = (unsigned int)v;
		else
			o.len = (unsigned int)v;
		return 0;
	case OPT_TYPE:
		if (parse_uint(arg, 0xffff, &v))
			return die_usage("--type wants an icmsgtype 0-65535, got '%s'", arg);
		o.type = (int)v;
		return 0;
	case OPT_OP:
		o.raw_op = parse_op(arg);
		if (o.raw_op < 0)
			return die_usage("unknown operation '%s'", arg);
		return 0;
	case OPT_COUNT:
		if (parse_uint(arg, 1000, &v) || v == 0)
			return die_usage("--count wants 1-1000, got '%s'", arg);
		o.count = (unsigned int)v;
		return 0;
	case OPT_FILL:
		o.fill = true;
		return 0;
	}
	return EXIT_USAGE;
}

static int parse_args(int argc, char **argv)
{
	int c, rc;

	o.dev = VSS_HOSTSIM_DEV;
	o.wait_s = -1;
	o.type = -1;
	o.raw_op = 0;
	o.count = 1;
	/* The host's real offer unless the test asks for another one. */
	o.fw_cnt = 2;
	memcpy(o.fw, hostpkt_host_fw, sizeof(hostpkt_host_fw));
	o.msg_cnt = 4;
	memcpy(o.msg, hostpkt_host_msg, sizeof(hostpkt_host_msg));

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			usage(stdout);
			exit(EXIT_REPLY);
		}
		if (c == '?')
			return die_usage("unknown option");
		opts_given |= 1u << (c - OPT_DEV);
		rc = parse_one(c, optarg);
		if (rc)
			return rc;
	}
	if (!o.have_reqid)
		o.reqid = ((u64)getpid() << 8) | ((u64)time(NULL) & 0xff);
	return 0;
}

/* ---- device I/O ---- */

static int open_dev(void)
{
	int fd = open(o.dev, O_RDWR | O_CLOEXEC | (o.nonblock ? O_NONBLOCK : 0));

	if (fd < 0) {
		fprintf(stderr,
			"vss-host: cannot open %s: %s (load hv_vss.ko, then hv_vss_hostsim.ko; run as root)\n",
			o.dev, strerror(errno));
		return -1;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write one frame; returns 0 or the errno of write(). */
static int write_frame(int fd, u64 reqid, const u8 *pkt, size_t len)
{
	static u8 buf[VSS_FRAME_HDR_LEN + 2 * HVVSS_MAX_PKT_LEN];
	ssize_t n;

	vss_frame_hdr_put(buf, reqid, (u32)len);
	memcpy(buf + VSS_FRAME_HDR_LEN, pkt, len);
	n = write(fd, buf, VSS_FRAME_HDR_LEN + len);
	if (n < 0)
		return errno;
	if ((size_t)n != VSS_FRAME_HDR_LEN + len)
		return EIO;
	return 0;
}

static int send_packet(int fd, const u8 *pkt, size_t len)
{
	int err = write_frame(fd, o.reqid, pkt, len);

	if (err) {
		fprintf(stderr,
			"vss-host: queueing a %zu-byte packet on %s failed: %s (is the simulator queue full or the length outside 28..16384?)\n",
			len, o.dev, strerror(err));
		return -1;
	}
	t_start_ms = now_ms();
	printf("sent reqid=%" PRIu64 " len=%zu\n", o.reqid, len);
	fflush(stdout);
	return 0;
}

/*
 * Read one reply frame, waiting until @deadline_ms (monotonic).  Returns
 * 1 with the packet in @ret_pkt (valid until the next call), 0 when none
 * came in time, -1 on I/O error.
 */
static int read_frame(int fd, long long deadline_ms, u64 *ret_reqid,
		      const u8 **ret_pkt, u32 *ret_len)
{
	static u8 buf[VSS_FRAME_HDR_LEN + 2 * HVVSS_MAX_PKT_LEN];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (;;) {
		long long left = deadline_ms - now_ms();

		if (!o.nonblock) {
			int r = poll(&p, 1, left > 0 ? (int)left : 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				goto io_err;
			if (r == 0)
				return 0;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			if (o.nonblock)
				return 0;
			continue;
		}
		if (n < 0)
			goto io_err;
		if (vss_frame_check(buf, (size_t)n, ret_reqid, ret_len))
			return -1;
		*ret_pkt = buf + VSS_FRAME_HDR_LEN;
		return 1;
	}
io_err:
	fprintf(stderr, "vss-host: reading a reply from %s failed: %s\n", o.dev,
		strerror(errno));
	return -1;
}

/* ---- printing replies ---- */

static const char *status_name(u32 status)
{
	if (status == HVVSS_S_OK)
		return "HV_S_OK";
	if (status == HVVSS_E_FAIL)
		return "HV_E_FAIL";
	return "an unexpected status";
}

static void print_negotiate(const struct hostpkt_reply *r)
{
	if (r->fw_cnt == 1 && r->msg_cnt == 1) {
		printf("negotiate framework=%u.%u message=%u.%u\n", r->fw.major,
		       r->fw.minor, r->msg.major, r->msg.minor);
		if (o.human)
			printf("# the guest agreed on framework %u.%u and VSS message version %u.%u\n",
			       r->fw.major, r->fw.minor, r->msg.major, r->msg.minor);
	} else if (r->fw_cnt == 0 && r->msg_cnt == 0) {
		printf("negotiate none\n");
		if (o.human)
			printf("# the guest found no common version (both counts 0)\n");
	} else {
		printf("negotiate counts=%u,%u\n", r->fw_cnt, r->msg_cnt);
	}
}

static void print_vss_human(const struct hostpkt_reply *r)
{
	char upper[32];
	size_t i;
	const char *n = hvvss_proto_op_name(r->operation);

	for (i = 0; n[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
	upper[i] = 0;
	if (r->operation == HVVSS_OP_HOT_BACKUP && r->has_flags)
		printf("# %s -> %s (flags 0x%x%s)\n", upper, status_name(r->status),
		       r->flags, r->flags == HVVSS_HBU_NO_AUTO_RECOVERY ?
		       ": no auto-recovery" : "");
	else
		printf("# %s -> %s\n", upper, status_name(r->status));
}

/*
 * Print one reply frame.  Returns EXIT_REPLY for a well-formed response,
 * EXIT_WRONG when the packet cannot be a valid guest reply.
 */
static int print_reply(const char *tag, u64 reqid, const u8 *pkt, u32 len)
{
	struct hostpkt_reply r;
	char flags[16] = "none";

	if (hostpkt_parse_reply(pkt, len, &r)) {
		printf("%s malformed len=%u reqid=%" PRIu64 "\n", tag, len, reqid);
		return EXIT_WRONG;
	}
	if (r.msgtype == HVVSS_MSGTYPE_VSS && r.has_flags)
		snprintf(flags, sizeof(flags), "0x%08x", r.flags);
	printf("%s status=0x%08x flags=%s len=%u reqid=%" PRIu64
	       " type=%u op=%s icflags=0x%02x ms=%lld\n", tag, r.status, flags,
	       len, reqid, r.msgtype, r.msgtype == HVVSS_MSGTYPE_VSS ?
	       hvvss_proto_op_name(r.operation) : "negotiate", r.icflags,
	       now_ms() - t_start_ms);
	if (r.msgtype == HVVSS_MSGTYPE_NEGOTIATE)
		print_negotiate(&r);
	else if (o.human)
		print_vss_human(&r);
	if (!hostpkt_is_response(&r)) {
		fprintf(stderr, "vss-host: reply to reqid %" PRIu64
			" is not marked TRANSACTION|RESPONSE (icflags 0x%02x): guest bug\n",
			reqid, r.icflags);
		return EXIT_WRONG;
	}
	return EXIT_REPLY;
}

/*
 * Wait for the reply to @want (any reply when !@match).  Replies to other
 * requests are printed as "unexpected reply" and make the result
 * EXIT_WRONG, because in these tests every reply is accounted for.
 */
static int await_reply(int fd, bool match, u64 want, long long deadline_ms)
{
	bool stray = false;

	for (;;) {
		const u8 *pkt;
		u64 reqid;
		u32 len;
		int r = read_frame(fd, deadline_ms, &reqid, &pkt, &len);

		if (r < 0)
			return EXIT_USAGE;
		if (r == 0) {
			printf("no reply reqid=%" PRIu64 " within %ds\n", want,
			       o.wait_s);
			return EXIT_NO_REPLY;
		}
		if (match && reqid != want) {
			print_reply("unexpected reply", reqid, pkt, len);
			stray = true;
			continue;
		}
		r = print_reply("reply", reqid, pkt, len);
		return stray ? EXIT_WRONG : r;
	}
}

/* ---- building packets ---- */

static size_t build_negotiate(u8 *buf, size_t cap)
{
	struct hostpkt_neg n = {
		.fw = o.fw, .fw_cnt = (u16)o.fw_cnt,
		.msg = o.msg, .msg_cnt = (u16)o.msg_cnt,
		.override_counts = o.override_counts,
		.fw_cnt_declared = (u16)o.fw_declared,
		.msg_cnt_declared = (u16)o.msg_declared,
		.truncate_to = o.truncate_to,
	};

	return hostpkt_negotiate(buf, cap, &n);
}

static size_t build_op(u8 *buf, size_t cap, int op)
{
	size_t len = o.size ? o.size : hostpkt_vss_default_len((u8)op);

	return hostpkt_vss(buf, cap, (u8)op, len, 0);
}

/* Any type, any length >= 28: a VSS packet with its type patched. */
static size_t build_raw(u8 *buf, size_t cap)
{
	size_t len = hostpkt_vss(buf, cap, (u8)o.raw_op, o.len, 0);

	if (len)
		hvvss_put_le16(buf + HVVSS_OFF_ICMSGTYPE, (u16)o.type);
	return len;
}

/* Build the packet a command names ("negotiate", "op X", "raw"). */
static int build(int argc, char **argv, u8 *buf, size_t cap, size_t *ret_len)
{
	size_t len = 0;

	if (argc < 1)
		return die_usage("missing what to send (negotiate, op NAME or raw)");
	if (!strcmp(argv[0], "negotiate") && argc == 1) {
		len = build_negotiate(buf, cap);
	} else if (!strcmp(argv[0], "op") && argc == 2) {
		int op = parse_op(argv[1]);

		if (op < 0)
			return die_usage("unknown operation '%s'", argv[1]);
		len = build_op(buf, cap, op);
	} else if (!strcmp(argv[0], "raw") && argc == 1) {
		if (o.type < 0 || !o.len)
			return die_usage("raw needs --type T and --len N");
		len = build_raw(buf, cap);
	} else {
		return die_usage("cannot send '%s' (want negotiate, op NAME or raw)", argv[0]);
	}
	if (!len)
		return die_usage("the packet does not fit the options given (length, versions)");
	*ret_len = len;
	return 0;
}

/* ---- commands ---- */

static long long deadline(int default_s)
{
	if (o.wait_s < 0)
		o.wait_s = default_s;
	return now_ms() + (long long)o.wait_s * 1000;
}

static int cmd_send(int fd, const u8 *pkt, size_t len, bool wait)
{
	if (send_packet(fd, pkt, len))
		return EXIT_USAGE;
	if (!wait)
		return EXIT_REPLY;
	return await_reply(fd, true, o.reqid, deadline(5));
}

static int cmd_wait_reply(int fd)
{
	long long dl = deadline(5);
	unsigned int i;
	int rc = EXIT_REPLY;

	for (i = 0; i < o.count; i++) {
		int r = await_reply(fd, false, o.reqid, dl);

		if (r == EXIT_NO_REPLY || r == EXIT_USAGE)
			return r;
		if (r)
			rc = r;
	}
	return rc;
}

/* wait-reply --reqid N: the next reply must be that one. */
static int cmd_wait_reply_id(int fd)
{
	const u8 *pkt;
	u64 reqid;
	u32 len;
	int r = read_frame(fd, deadline(5), &reqid, &pkt, &len);

	if (r < 0)
		return EXIT_USAGE;
	if (r == 0) {
		printf("no reply reqid=%" PRIu64 " within %ds\n", o.reqid, o.wait_s);
		return EXIT_NO_REPLY;
	}
	if (reqid != o.reqid) {
		print_reply("unexpected reply", reqid, pkt, len);
		fprintf(stderr, "vss-host: expected the reply to reqid %" PRIu64
			" next, got reqid %" PRIu64 "\n", o.reqid, reqid);
		return EXIT_WRONG;
	}
	return print_reply("reply", reqid, pkt, len);
}

static int cmd_expect_none(int fd)
{
	const u8 *pkt;
	u64 reqid;
	u32 len;
	int r = read_frame(fd, deadline(2), &reqid, &pkt, &len);

	if (r < 0)
		return EXIT_USAGE;
	if (r == 0) {
		printf("no reply within %ds\n", o.wait_s);
		return EXIT_REPLY;
	}
	print_reply("unexpected reply", reqid, pkt, len);
	return EXIT_WRONG;
}

static int dispatch(int fd, char **argv, const u8 *pkt, size_t len)
{
	const char *cmd = argv[0];

	t_start_ms = now_ms();
	if (len)
		return cmd_send(fd, pkt, len, strcmp(cmd, "send") != 0);
	if (!strcmp(cmd, "wait-reply"))
		return o.have_reqid ? cmd_wait_reply_id(fd) : cmd_wait_reply(fd);
	if (!strcmp(cmd, "expect-none"))
		return cmd_expect_none(fd);
	return vss_host_write_errors(fd, o.dev, o.reqid, o.fill);
}

static bool is_cmd(const char *cmd, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(cmd, *list))
			return true;
	return false;
}

/* Check the command line and build any packet before touching the device. */
#define BIT(id) (1u << ((id) - OPT_DEV))
/* Which options make sense for which command: checked in one place. */
static const struct {
	const char *cmd;
	unsigned int allowed;
} cmd_opts[] = {
	{ "negotiate", BIT(OPT_FW) | BIT(OPT_MSG) | BIT(OPT_COUNT_OVERRIDE) |
		       BIT(OPT_TRUNCATE) },
	{ "op", BIT(OPT_SIZE) },
	{ "raw", BIT(OPT_TYPE) | BIT(OPT_LEN) | BIT(OPT_OP) },
	{ "wait-reply", BIT(OPT_COUNT) },
	{ "expect-none", 0 },
	{ "write-errors", BIT(OPT_FILL) },
};
/* Accepted by every command. */
#define COMMON_OPTS (BIT(OPT_DEV) | BIT(OPT_WAIT) | BIT(OPT_HUMAN) | \
		     BIT(OPT_NONBLOCK) | BIT(OPT_REQID))

static int check_opts(const char *cmd)
{
	size_t i;
	unsigned int extra;
	int bit;

	for (i = 0; i < sizeof(cmd_opts) / sizeof(cmd_opts[0]); i++)
		if (!strcmp(cmd, cmd_opts[i].cmd))
			break;
	if (i == sizeof(cmd_opts) / sizeof(cmd_opts[0]))
		return 0;	/* unknown commands are reported by run() */
	extra = opts_given & ~(cmd_opts[i].allowed | COMMON_OPTS);
	if (!extra)
		return 0;
	bit = __builtin_ctz(extra);
	return die_usage("option --%s does not apply to '%s'",
			 long_opts[bit].name, cmd);
}

static int run(int argc, char **argv)
{
	static const char *const senders[] = { "negotiate", "op", "raw", NULL };
	static const char *const others[] = { "wait-reply", "expect-none",
					      "write-errors", NULL };
	static u8 pkt[2 * HVVSS_MAX_PKT_LEN];
	size_t len = 0;
	int fd, rc;

	if (argc < 1)
		return die_usage("missing command");
	rc = check_opts(strcmp(argv[0], "send") || argc < 2 ? argv[0] : argv[1]);
	if (rc)
		return rc;
	if (is_cmd(argv[0], senders) || !strcmp(argv[0], "send")) {
		bool send = !strcmp(argv[0], "send");

		rc = build(argc - send, argv + send, pkt, sizeof(pkt), &len);
		if (rc)
			return rc;
	} else if (!is_cmd(argv[0], others) || argc != 1) {
		return die_usage("unknown command or extra arguments at '%s'", argv[0]);
	}
	fd = open_dev();
	if (fd < 0)
		return EXIT_USAGE;
	rc = dispatch(fd, argv, pkt, len);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);

	if (rc)
		return rc;
	rc = run(argc - optind, argv + optind);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "vss-host: writing to stdout failed: %s\n",
			strerror(errno));
		return EXIT_USAGE;
	}
	return rc;
}
