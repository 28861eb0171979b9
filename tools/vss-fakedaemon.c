/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vss-fakedaemon: a scriptable daemon on /dev/vmbus/hv_vss for ABI tests.
 *
 * It speaks the inbox daemon ABI (protocol.md section 2) but freezes
 * nothing: it answers FREEZE / THAW / HOT_BACKUP as told (ok, fail, never,
 * late) and probes the error cases of the device.  Every event is one
 * line on stdout, flushed at once, because scenarios run it in the
 * background and grep its output file while it is still running:
 *
 *   registered abi=129        request op=freeze       reply ok
 *   check ok: second open -> EBUSY         write failed: EINVAL
 *   channel gone              exit after read
 *
 * Exit: 0 done, 1 a probe failed, 2 usage or I/O error, 4 the channel
 * went away (without --reopen).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/hyperv.h>

#define DEFAULT_DEV "/dev/vmbus/hv_vss"

enum {
	EXIT_DONE = 0,
	EXIT_PROBE_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_CHANNEL_GONE = 4,
};

enum answer { ANSWER_OK, ANSWER_FAIL, ANSWER_NEVER };

static struct {
	const char *dev;
	bool legacy;
	enum answer answer;
	long count;		/* requests to serve; -1 forever, 0 none */
	unsigned int reply_after;
	bool exit_after_read;
	bool expect_late_einval;
	bool probe_ebusy;
	bool short_read;
	bool bad_write;
	bool stray_reply;
	bool nonblock_read;
	bool register_while_pending;
	bool reopen;
} o = { .dev = DEFAULT_DEV, .count = -1 };

static int probe_failures;

/* One event line, flushed: the scenario reads the file while we run. */
__attribute__((format(printf, 1, 2)))
static void event(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *errno_name(int err)
{
	switch (err) {
	case 0: return "success";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ENODEV: return "ENODEV";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	default: return strerror(err);
	}
}

static void check(const char *what, int got, int want)
{
	if (got == want) {
		event("check ok: %s -> %s", what, errno_name(want));
		return;
	}
	event("check FAILED: %s -> %s (expected %s)", what, errno_name(got),
	      errno_name(want));
	probe_failures++;
}

static const char *op_name(unsigned int op)
{
	switch (op) {
	case VSS_OP_CREATE: return "create";
	case VSS_OP_DELETE: return "delete";
	case VSS_OP_HOT_BACKUP: return "hot_backup";
	case VSS_OP_GET_DM_INFO: return "get_dm_info";
	case VSS_OP_BU_COMPLETE: return "bu_complete";
	case VSS_OP_FREEZE: return "freeze";
	case VSS_OP_THAW: return "thaw";
	case VSS_OP_AUTO_RECOVER: return "auto_recover";
	default: return "unknown";
	}
}

/* A 12-byte write; returns 0 or errno. */
static int write_msg(int fd, const struct hv_vss_msg *m)
{
	ssize_t n = write(fd, m, sizeof(*m));

	if (n < 0)
		return errno;
	return n == (ssize_t)sizeof(*m) ? 0 : EIO;
}

static int send_register(int fd, int op)
{
	struct hv_vss_msg m;

	memset(&m, 0, sizeof(m));
	m.vss_hdr.operation = (__u8)op;
	return write_msg(fd, &m);
}

/* Is this errno the channel going away under us? */
static bool is_gone(int err)
{
	return err == ENODEV || err == EIO;
}

/*
 * Register on @fd.  Returns 0, EXIT_CHANNEL_GONE, or EXIT_USAGE after
 * printing why.
 */
static int do_register(int fd)
{
	__u32 ver = 0;
	ssize_t n;
	int err = send_register(fd, o.legacy ? VSS_OP_REGISTER : VSS_OP_REGISTER1);

	if (err) {
		event("register failed: %s", errno_name(err));
		return is_gone(err) ? EXIT_CHANNEL_GONE : EXIT_USAGE;
	}
	if (o.legacy) {
		event("registered abi=%d", VSS_OP_REGISTER);
		return 0;
	}
	/* The kernel answers REGISTER1 with its ABI version, a u32. */
	n = read(fd, &ver, sizeof(ver));
	if (n != (ssize_t)sizeof(ver)) {
		event("register failed: handshake read returned %zd (%s)", n,
		      n < 0 ? errno_name(errno) : "short");
		return EXIT_USAGE;
	}
	if (ver != VSS_OP_REGISTER1) {
		event("register failed: kernel answered %u, expected %d", ver,
		      VSS_OP_REGISTER1);
		return EXIT_USAGE;
	}
	event("registered abi=%u", ver);
	return 0;
}

static int open_dev(void)
{
	int fd = open(o.dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr,
			"vss-fakedaemon: cannot open %s: %s (is hv_vss.ko loaded with a channel, e.g. hv_vss_hostsim.ko? is another daemon running?)\n",
			o.dev, strerror(errno));
	return fd;
}

/* ---- probes right after registration ---- */

static void probe_ebusy(void)
{
	int fd2 = open(o.dev, O_RDWR | O_CLOEXEC);

	check("second open", fd2 < 0 ? errno : 0, EBUSY);
	if (fd2 >= 0)
		close(fd2);
}

static void probe_bad_write(int fd)
{
	char buf[11];
	ssize_t n;

	memset(buf, 0, sizeof(buf));
	n = write(fd, buf, sizeof(buf));
	check("11-byte write", n < 0 ? errno : 0, EINVAL);
}

/* A reply when no request is pending is a message in the wrong state. */
static void probe_stray_reply(int fd)
{
	struct hv_vss_msg m;

	memset(&m, 0, sizeof(m));
	m.error = HV_S_OK;
	check("reply with no request pending", write_msg(fd, &m), EINVAL);
}

static void probe_nonblock_read(int fd)
{
	struct hv_vss_msg m;
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	n = read(fd, &m, sizeof(m));
	fcntl(fd, F_SETFL, fl);
	check("non-blocking read with nothing queued", n < 0 ? errno : 0, EAGAIN);
}

static void run_probes(int fd)
{
	if (o.probe_ebusy)
		probe_ebusy();
	if (o.bad_write)
		probe_bad_write(fd);
	if (o.stray_reply)
		probe_stray_reply(fd);
	if (o.nonblock_read)
		probe_nonblock_read(fd);
}

/* ---- serving requests ---- */

/*
 * Wait for a request.  Returns 1 when one is readable, 0 when the channel
 * went away, -1 on error.
 */
static int wait_request(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = poll(&p, 1, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			event("poll failed: %s", errno_name(errno));
			return -1;
		}
		if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
			return 0;
		if (p.revents & POLLIN)
			return 1;
	}
}

/* The read must fail for a buffer shorter than the 12-byte message. */
static void probe_short_read(int fd)
{
	char buf[8];
	ssize_t n = read(fd, buf, sizeof(buf));

	check("8-byte read", n < 0 ? errno : 0, EINVAL);
}

static void probe_register_pending(int fd)
{
	check("REGISTER1 while a request is pending",
	      send_register(fd, VSS_OP_REGISTER1), EINVAL);
}

/* Read one request; returns its op, -ENODEV when gone, -1 on error. */
static int read_request(int fd)
{
	struct hv_vss_msg m;
	ssize_t n;

	if (o.short_read)
		probe_short_read(fd);
	n = read(fd, &m, sizeof(m));
	if (n < 0 && is_gone(errno))
		return -ENODEV;
	if (n != (ssize_t)sizeof(m)) {
		event("read failed: returned %zd (%s), expected 12 bytes", n,
		      n < 0 ? errno_name(errno) : "short");
		return -1;
	}
	event("request op=%s", op_name(m.vss_hdr.operation));
	return m.vss_hdr.operation;
}

static int send_reply(int fd, bool ok)
{
	struct hv_vss_msg m;
	int err;

	memset(&m, 0, sizeof(m));
	m.error = (int)(ok ? HV_S_OK : HV_E_FAIL);
	err = write_msg(fd, &m);
	if (err) {
		event("write failed: %s", errno_name(err));
		return err;
	}
	event("reply %s", ok ? "ok" : "fail");
	return 0;
}

/* Answer one request as the options say; returns an exit status or -1. */
static int answer(int fd)
{
	int err;

	if (o.reply_after)
		sleep(o.reply_after);
	if (o.expect_late_einval) {
		err = send_reply(fd, o.answer != ANSWER_FAIL);
		check("late reply", err, EINVAL);
		return probe_failures ? EXIT_PROBE_FAILED : EXIT_DONE;
	}
	if (o.answer == ANSWER_NEVER) {
		event("holding request");
		return -1;
	}
	err = send_reply(fd, o.answer == ANSWER_OK);
	if (err)
		return is_gone(err) ? EXIT_CHANNEL_GONE : EXIT_USAGE;
	return -1;
}

/* Serve requests until done; returns an exit status. */
static int serve(int fd)
{
	long served = 0;

	while (o.count < 0 || served < o.count) {
		int r = wait_request(fd);
		int op, rc;

		if (r <= 0)
			return r == 0 ? EXIT_CHANNEL_GONE : EXIT_USAGE;
		op = read_request(fd);
		if (op == -ENODEV)
			return EXIT_CHANNEL_GONE;
		if (op < 0)
			return EXIT_USAGE;
		served++;
		if (o.exit_after_read) {
			event("exit after read");
			_exit(EXIT_DONE);
		}
		if (o.register_while_pending)
			probe_register_pending(fd);
		rc = answer(fd);
		if (rc >= 0)
			return rc;
	}
	/* With --answer never this close fails the held request to the host. */
	return probe_failures ? EXIT_PROBE_FAILED : EXIT_DONE;
}

/*
 * Wait for the device to come back (module reloaded).  The old node may
 * still exist for a moment after POLLHUP, so keep trying to open it rather
 * than watching for the path.
 */
static int wait_for_device(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	event("waiting for %s", o.dev);
	for (;;) {
		int fd = open(o.dev, O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		if (errno != ENOENT && errno != ENODEV && errno != ENXIO)
			return open_dev();
		nanosleep(&ts, NULL);
	}
}

static int session(int fd)
{
	int rc = do_register(fd);

	if (rc)
		return rc;
	run_probes(fd);
	return serve(fd);
}

static int run(void)
{
	int fd = open_dev();
	int rc;

	if (fd < 0)
		return EXIT_USAGE;
	for (;;) {
		rc = session(fd);
		close(fd);
		if (rc != EXIT_CHANNEL_GONE)
			return rc;
		event("channel gone");
		if (!o.reopen)
			return rc;
		fd = wait_for_device();
		if (fd < 0)
			return EXIT_USAGE;
		event("reopened");
	}
}

/* ---- arguments ---- */

static void usage(void)
{
	printf("Usage: vss-fakedaemon [OPTIONS]\n"
	       "A scriptable daemon on %s for ABI tests; freezes nothing.\n\n"
	       "  --dev PATH              device (default %s)\n"
	       "  --legacy                register with REGISTER (128), no reply\n"
	       "  --answer ok|fail|never  how to answer requests (default ok)\n"
	       "  --count N               exit after N requests (0: after the probes)\n"
	       "  --reply-after SEC       wait before answering\n"
	       "  --exit-after-read       exit while holding the first request\n"
	       "  --expect-late-einval    answer after --reply-after; the write must fail EINVAL\n"
	       "  --probe-ebusy           a second open must fail EBUSY\n"
	       "  --short-read            an 8-byte read of a request must fail EINVAL\n"
	       "  --bad-write             an 11-byte write must fail EINVAL\n"
	       "  --stray-reply           a reply with nothing pending must fail EINVAL\n"
	       "  --nonblock-read         a non-blocking read with nothing queued: EAGAIN\n"
	       "  --register-while-pending  REGISTER1 while holding a request: EINVAL\n"
	       "  --reopen                when the channel goes, wait for it and register again\n\n"
	       "Exit status: 0 done, 1 a check failed, 2 usage or I/O error,\n"
	       "4 the channel went away.\n", DEFAULT_DEV, DEFAULT_DEV);
}

enum {
	OPT_DEV = 256, OPT_LEGACY, OPT_ANSWER, OPT_COUNT, OPT_REPLY_AFTER,
	OPT_EXIT_AFTER_READ, OPT_LATE, OPT_EBUSY, OPT_SHORT_READ,
	OPT_BAD_WRITE, OPT_STRAY, OPT_NONBLOCK, OPT_REG_PENDING, OPT_REOPEN,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "legacy", no_argument, NULL, OPT_LEGACY },
	{ "answer", required_argument, NULL, OPT_ANSWER },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "reply-after", required_argument, NULL, OPT_REPLY_AFTER },
	{ "exit-after-read", no_argument, NULL, OPT_EXIT_AFTER_READ },
	{ "expect-late-einval", no_argument, NULL, OPT_LATE },
	{ "probe-ebusy", no_argument, NULL, OPT_EBUSY },
	{ "short-read", no_argument, NULL, OPT_SHORT_READ },
	{ "bad-write", no_argument, NULL, OPT_BAD_WRITE },
	{ "stray-reply", no_argument, NULL, OPT_STRAY },
	{ "nonblock-read", no_argument, NULL, OPT_NONBLOCK },
	{ "register-while-pending", no_argument, NULL, OPT_REG_PENDING },
	{ "reopen", no_argument, NULL, OPT_REOPEN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad_arg(const char *what, const char *arg)
{
	fprintf(stderr, "vss-fakedaemon: %s, got '%s'; try 'vss-fakedaemon --help'\n",
		what, arg);
	return EXIT_USAGE;
}

static int parse_num(const char *s, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_one(int c, const char *arg)
{
	long v;

	switch (c) {
	case OPT_DEV: o.dev = arg; break;
	case OPT_LEGACY: o.legacy = true; break;
	case OPT_ANSWER:
		if (!strcmp(arg, "ok"))
			o.answer = ANSWER_OK;
		else if (!strcmp(arg, "fail"))
			o.answer = ANSWER_FAIL;
		else if (!strcmp(arg, "never"))
			o.answer = ANSWER_NEVER;
		else
			return bad_arg("--answer wants ok, fail or never", arg);
		break;
	case OPT_COUNT:
		if (parse_num(arg, 1000000, &v))
			return bad_arg("--count wants a number of requests", arg);
		o.count = v;
		break;
	case OPT_REPLY_AFTER:
		if (parse_num(arg, 3600, &v))
			return bad_arg("--reply-after wants seconds (0-3600)", arg);
		o.reply_after = (unsigned int)v;
		break;
	case OPT_EXIT_AFTER_READ: o.exit_after_read = true; break;
	case OPT_LATE: o.expect_late_einval = true; break;
	case OPT_EBUSY: o.probe_ebusy = true; break;
	case OPT_SHORT_READ: o.short_read = true; break;
	case OPT_BAD_WRITE: o.bad_write = true; break;
	case OPT_STRAY: o.stray_reply = true; break;
	case OPT_NONBLOCK: o.nonblock_read = true; break;
	case OPT_REG_PENDING: o.register_while_pending = true; break;
	case OPT_REOPEN: o.reopen = true; break;
	default:
		return EXIT_USAGE;
	}
	return 0;
}

static int parse_args(int argc, char **argv)
{
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (c == 'h' || c == OPT_HELP) {
			usage();
			exit(EXIT_DONE);
		}
		if (c == '?') {
			fprintf(stderr, "vss-fakedaemon: try 'vss-fakedaemon --help'\n");
			return EXIT_USAGE;
		}
		rc = parse_one(c, optarg);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return bad_arg("unexpected argument", argv[optind]);
	if (o.expect_late_einval && !o.reply_after)
		return bad_arg("--expect-late-einval needs --reply-after SEC", "");
	if (o.expect_late_einval && (o.answer == ANSWER_NEVER || o.exit_after_read))
		return bad_arg("--expect-late-einval conflicts with --answer never / --exit-after-read", "");
	return 0;
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);

	if (rc)
		return rc;
	/* Line-buffered even when redirected to a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = run();
	if (rc == EXIT_DONE && probe_failures)
		rc = EXIT_PROBE_FAILED;
	return rc;
}
