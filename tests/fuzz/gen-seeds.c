// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-gen-seeds: write the fuzz seed corpus into a directory, one file per
 * realistic host packet (and a few malformed ones).  Generated at build time
 * from the host packet builders, so the seeds follow the protocol as the
 * unit tests define it and no binary files live in the source tree.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "host_packets.h"

static u8 pkt[HVVSS_MAX_PKT_LEN * 2];

#define NEG(n)	hostpkt_negotiate(pkt, sizeof(pkt), (n))

static int write_seed(const char *dir, const char *name, size_t len)
{
	char path[4096];
	FILE *f;
	int r = 0;

	if (len == 0) {
		fprintf(stderr, "%s: builder failed\n", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wbe");
	if (!f)
		return -errno;
	if (fwrite(pkt, 1, len, f) != len)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static int neg_seeds(const char *dir)
{
	static const struct hvvss_version fw1[] = { { 1, 0 } };
	static const struct hvvss_version msg4[] = { { 4, 0 }, { 5, 0 } };
	struct hostpkt_neg n = {
		.fw = hostpkt_host_fw, .fw_cnt = 2,
		.msg = hostpkt_host_msg, .msg_cnt = 4,
	};
	struct hostpkt_neg old = { .fw = fw1, .fw_cnt = 1,
				   .msg = msg4, .msg_cnt = 2 };
	int r = 0;

	r = r ?: write_seed(dir, "neg-host", NEG(&n));
	r = r ?: write_seed(dir, "neg-fw1", NEG(&old));
	n.msg_cnt = 1;	/* 4.0 only: no common version */
	r = r ?: write_seed(dir, "neg-nocommon", NEG(&n));
	n.msg_cnt = 4;
	n.override_counts = true;
	n.fw_cnt_declared = 101;
	n.msg_cnt_declared = 4;
	r = r ?: write_seed(dir, "neg-over100", NEG(&n));
	n.override_counts = false;
	n.truncate_to = 42;
	r = r ?: write_seed(dir, "neg-cut42", NEG(&n));
	n.truncate_to = 30;
	r = r ?: write_seed(dir, "neg-cut30", NEG(&n));
	return r;
}

/* Long version lists around the 100-entry limit, all inside the packet. */
static int neg_limit_seeds(const char *dir)
{
	static struct hvvss_version fw[101], msg[101];
	struct hostpkt_neg n = { .fw = fw, .fw_cnt = 101,
				 .msg = msg, .msg_cnt = 1 };
	unsigned int i;
	int r;

	for (i = 0; i < 101; i++) {
		fw[i].major = (u16)(i % 2 ? 3 : 1);
		msg[i].major = (u16)(i % 2 ? 4 : 5);
	}
	r = write_seed(dir, "neg-fw101", NEG(&n));
	n.fw_cnt = 1;
	n.msg_cnt = 101;
	r = r ?: write_seed(dir, "neg-msg101", NEG(&n));
	n.fw_cnt = 100;
	n.msg_cnt = 100;
	return r ?: write_seed(dir, "neg-100x100", NEG(&n));
}

static int vss_seeds(const char *dir)
{
	char name[64];
	unsigned int op;
	int r = 0;

	for (op = 0; op <= HVVSS_OP_COUNT && r == 0; op++) {
		snprintf(name, sizeof(name), "vss-op%u", op);
		r = write_seed(dir, name, hostpkt_vss(pkt, sizeof(pkt), (u8)op,
				hostpkt_vss_default_len((u8)op), (u8)op));
	}
	r = r ?: write_seed(dir, "vss-hbu-36", hostpkt_vss(pkt, sizeof(pkt),
			    HVVSS_OP_HOT_BACKUP, 36, 1));
	r = r ?: write_seed(dir, "vss-dm-38", hostpkt_vss(pkt, sizeof(pkt),
			    HVVSS_OP_GET_DM_INFO, 38, 1));
	r = r ?: write_seed(dir, "vss-autorec", hostpkt_vss(pkt, sizeof(pkt),
			    HVVSS_OP_AUTO_RECOVER, 28 + 12500, 1));
	r = r ?: write_seed(dir, "vss-toolong", hostpkt_vss(pkt, sizeof(pkt),
			    HVVSS_OP_CREATE, HVVSS_MAX_PKT_LEN + 1, 1));
	r = r ?: write_seed(dir, "vss-cut33", hostpkt_vss(pkt, sizeof(pkt),
			    HVVSS_OP_FREEZE, 33, 1));
	return r;
}

static int other_seeds(const char *dir)
{
	size_t len = hostpkt_vss(pkt, sizeof(pkt), 0, 40, 1);
	int r;

	hvvss_put_le16(pkt + HVVSS_OFF_ICMSGTYPE, 1);	/* heartbeat */
	r = write_seed(dir, "heartbeat", len);
	return r ?: write_seed(dir, "short20", 20);
}

int main(int argc, char **argv)
{
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	r = neg_seeds(argv[1]);
	r = r ?: neg_limit_seeds(argv[1]);
	r = r ?: vss_seeds(argv[1]);
	r = r ?: other_seeds(argv[1]);
	if (r < 0) {
		fprintf(stderr, "%s: cannot write seeds: %s\n", argv[1],
			strerror(-r));
		return 1;
	}
	return 0;
}
