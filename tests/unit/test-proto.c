// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the VSS wire codec (kmod/hv_vss_proto.c).
 *
 * Every call into the codec goes through a guard: the packet is run twice,
 * once in an exact-size heap copy (ASan reports any access past len) and
 * once followed by canary bytes (catches stray writes without ASan); both
 * runs must agree.  Expectations are written as literal bytes or derived
 * from the request, never from the codec's own output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_packets.h"
#include "hv_vss_proto.h"

#define GUARD_LEN	64
#define CANARY		0xa5
#define BUF_LEN		(HVVSS_MAX_PKT_LEN + 64)
#define REPLY_FLAGS	(HVVSS_ICFLAG_TRANSACTION | HVVSS_ICFLAG_RESPONSE)

/* --- guarded calls ------------------------------------------------------ */

enum call_kind { CALL_HANDLE, CALL_SET_STATUS, CALL_FINISH };

struct call {
	enum call_kind kind;
	u32 status;			/* CALL_SET_STATUS */
	bool ok;			/* CALL_FINISH */
	enum hvvss_verdict verdict;	/* CALL_HANDLE result */
	struct hvvss_host_msg msg;	/* CALL_HANDLE result */
};

static void run_call(u8 *pkt, u32 len, struct call *c)
{
	switch (c->kind) {
	case CALL_HANDLE:
		/* Garbage first: handle() must zero the result itself. */
		memset(&c->msg, 0x5a, sizeof(c->msg));
		c->verdict = hvvss_proto_handle(pkt, len, &c->msg);
		break;
	case CALL_SET_STATUS:
		hvvss_proto_set_status(pkt, len, c->status);
		break;
	case CALL_FINISH:
		hvvss_proto_finish_daemon_op(pkt, len, c->ok);
		break;
	}
}

/* Run @c on @pkt in place, checked against overreads and stray writes. */
static void guarded(u8 *pkt, u32 len, struct call *c)
{
	u8 *exact = malloc(len ? len : 1);
	u8 *fenced = malloc((size_t)len + GUARD_LEN);
	struct call c2 = *c;
	u32 i;

	assert_non_null(exact);
	assert_non_null(fenced);
	memcpy(exact, pkt, len);
	memcpy(fenced, pkt, len);
	memset(fenced + len, CANARY, GUARD_LEN);

	run_call(exact, len, c);
	run_call(fenced, len, &c2);

	for (i = 0; i < GUARD_LEN; i++)
		assert_int_equal(fenced[len + i], CANARY);
	if (len)
		assert_memory_equal(exact, fenced, len);
	if (c->kind == CALL_HANDLE) {
		assert_int_equal(c->verdict, c2.verdict);
		assert_memory_equal(&c->msg, &c2.msg, sizeof(c->msg));
	}
	memcpy(pkt, exact, len);
	free(exact);
	free(fenced);
}

static enum hvvss_verdict handle(u8 *pkt, u32 len, struct hvvss_host_msg *ret)
{
	struct call c = { .kind = CALL_HANDLE };

	guarded(pkt, len, &c);
	*ret = c.msg;
	return c.verdict;
}

static void set_status(u8 *pkt, u32 len, u32 status)
{
	struct call c = { .kind = CALL_SET_STATUS, .status = status };

	guarded(pkt, len, &c);
}

static void finish(u8 *pkt, u32 len, bool ok)
{
	struct call c = { .kind = CALL_FINISH, .ok = ok };

	guarded(pkt, len, &c);
}

/* --- helpers ------------------------------------------------------------ */

static u8 buf[BUF_LEN];
static u8 orig[BUF_LEN];

static u32 build_neg(const struct hostpkt_neg *n)
{
	size_t len = hostpkt_negotiate(buf, sizeof(buf), n);

	assert_true(len >= HVVSS_HDRS_LEN || n->truncate_to);
	memcpy(orig, buf, len);
	return (u32)len;
}

static u32 build_vss(u8 op, size_t total)
{
	size_t len = hostpkt_vss(buf, sizeof(buf), op, total, 7);

	assert_int_equal(len, total);
	memcpy(orig, buf, len);
	return (u32)len;
}

/* Only status and icflags may differ from the request; they must say OK. */
static void assert_acked(u32 len, u32 status)
{
	assert_int_equal(hvvss_get_le32(buf + HVVSS_OFF_STATUS), status);
	assert_int_equal(buf[HVVSS_OFF_ICFLAGS], REPLY_FLAGS);
	assert_memory_equal(buf, orig, HVVSS_OFF_STATUS);
	assert_int_equal(buf[HVVSS_OFF_TRANSID], orig[HVVSS_OFF_TRANSID]);
	assert_memory_equal(buf + HVVSS_OFF_ICFLAGS + 1,
			    orig + HVVSS_OFF_ICFLAGS + 1,
			    len - HVVSS_OFF_ICFLAGS - 1);
}

/* A failed negotiation: counts 0/0, status 0, the rest as sent. */
static void assert_neg_refused(u32 len)
{
	struct hvvss_host_msg m;

	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
	assert_false(m.agreed);
	assert_int_equal(m.msgtype, HVVSS_MSGTYPE_NEGOTIATE);
	assert_int_equal(m.drop_reason, HVVSS_DROP_NONE);
	assert_int_equal(m.framework.major, 0);
	assert_int_equal(m.message.major, 0);
	assert_int_equal(hvvss_get_le16(buf + HVVSS_OFF_NEG_FWCNT), 0);
	assert_int_equal(hvvss_get_le16(buf + HVVSS_OFF_NEG_MSGCNT), 0);
	/* Make the expectation: request with counts zeroed and acked. */
	orig[HVVSS_OFF_NEG_FWCNT] = orig[HVVSS_OFF_NEG_FWCNT + 1] = 0;
	orig[HVVSS_OFF_NEG_MSGCNT] = orig[HVVSS_OFF_NEG_MSGCNT + 1] = 0;
	assert_acked(len, HVVSS_S_OK);
}

/* An agreed negotiation on @fw_major.0 / 5.0. */
static void assert_neg_agreed(u32 len, u16 fw_major)
{
	struct hvvss_host_msg m;
	struct hostpkt_reply r;

	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
	assert_true(m.agreed);
	assert_int_equal(m.framework.major, fw_major);
	assert_int_equal(m.framework.minor, 0);
	assert_int_equal(m.message.major, 5);
	assert_int_equal(m.message.minor, 0);
	assert_int_equal(hostpkt_parse_reply(buf, len, &r), 0);
	assert_true(hostpkt_is_response(&r));
	assert_int_equal(r.status, HVVSS_S_OK);
	assert_int_equal(r.icmsgsize, 0x10);
	assert_int_equal(r.fw_cnt, 1);
	assert_int_equal(r.msg_cnt, 1);
	assert_int_equal(r.fw.major, fw_major);
	assert_int_equal(r.fw.minor, 0);
	assert_int_equal(r.msg.major, 5);
	assert_int_equal(r.msg.minor, 0);
	/* Bytes after the two chosen versions are the host's own. */
	assert_memory_equal(buf + HVVSS_OFF_NEG_DATA + 8,
			    orig + HVVSS_OFF_NEG_DATA + 8,
			    len - HVVSS_OFF_NEG_DATA - 8);
}

static const struct hvvss_version v1_0 = { 1, 0 }, v3_0 = { 3, 0 },
	v4_0 = { 4, 0 }, v5_0 = { 5, 0 }, v6_0 = { 6, 0 }, v7_0 = { 7, 0 };

/* --- negotiation -------------------------------------------------------- */

/* A WS2016-style host: request and reply checked byte for byte. */
static void test_neg_real_host(void **state)
{
	static const u8 request[60] = {
		0x01, 0, 0, 0, 0x34, 0, 0, 0,	/* pipe: data, 52 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0,		/* 0.0, NEG, 0.0 */
		0x20, 0, 0, 0, 0, 0, 0, 0x03, 0, 0,	/* size 32, REQ */
		0x02, 0, 0x04, 0, 0, 0, 0, 0,		/* counts 2/4 */
		1, 0, 0, 0, 3, 0, 0, 0,			/* fw 1.0 3.0 */
		4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0,
	};
	static const u8 reply[60] = {
		0x01, 0, 0, 0, 0x34, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x10, 0, 0, 0, 0, 0, 0, 0x05, 0, 0,	/* size 16, RESP */
		0x01, 0, 0x01, 0, 0, 0, 0, 0,		/* counts 1/1 */
		3, 0, 0, 0, 5, 0, 0, 0,			/* 3.0, 5.0 */
		4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0,
	};
	size_t len = hostpkt_negotiate_default(buf, sizeof(buf));

	(void)state;
	assert_int_equal(len, sizeof(request));
	assert_memory_equal(buf, request, sizeof(request));
	memcpy(orig, buf, len);
	assert_neg_agreed((u32)len, 3);
	assert_memory_equal(buf, reply, sizeof(reply));
}

static void test_neg_framework_1_only(void **state)
{
	const struct hvvss_version fw[] = { v1_0 };
	const struct hvvss_version msg[] = { v4_0, v5_0 };
	struct hostpkt_neg n = { fw, 1, msg, 2, 0, false, 0, 0, 0 };

	(void)state;
	assert_neg_agreed(build_neg(&n), 1);
}

/* 3.0 wins wherever it appears; message 5.0 can be last. */
static void test_neg_framework_3_preferred(void **state)
{
	const struct hvvss_version fw[] = { v3_0, v1_0 };
	const struct hvvss_version msg[] = { v7_0, v6_0, v5_0 };
	struct hostpkt_neg n = { fw, 2, msg, 3, 0, false, 0, 0, 0 };

	(void)state;
	assert_neg_agreed(build_neg(&n), 3);
}

static void test_neg_no_framework(void **state)
{
	const struct hvvss_version fw[] = { { 2, 0 }, { 3, 1 }, { 4, 0 } };
	const struct hvvss_version msg[] = { v5_0 };
	struct hostpkt_neg n = { fw, 3, msg, 1, 0, false, 0, 0, 0 };

	(void)state;
	assert_neg_refused(build_neg(&n));
}

static void test_neg_no_message(void **state)
{
	const struct hvvss_version msg[] = { v4_0, { 5, 1 }, v6_0, v7_0 };
	struct hostpkt_neg n = {
		hostpkt_host_fw, 2, msg, 4, 0, false, 0, 0, 0,
	};

	(void)state;
	assert_neg_refused(build_neg(&n));
}

/* 5.0 in the framework part or 3.0 in the message part does not count. */
static void test_neg_versions_in_wrong_part(void **state)
{
	const struct hvvss_version fw[] = { v1_0, v5_0 };
	const struct hvvss_version msg[] = { v4_0, v3_0 };
	const struct hvvss_version fw2[] = { { 2, 0 } };
	const struct hvvss_version msg2[] = { v3_0, v5_0 };
	struct hostpkt_neg n = { fw, 2, msg, 2, 0, false, 0, 0, 0 };
	struct hostpkt_neg n2 = { fw2, 1, msg2, 2, 0, false, 0, 0, 0 };

	(void)state;
	assert_neg_refused(build_neg(&n));
	assert_neg_refused(build_neg(&n2));
}

static void test_neg_zero_counts(void **state)
{
	struct hostpkt_neg n = { NULL, 0, NULL, 0, 0, false, 0, 0, 0 };

	(void)state;
	assert_neg_refused(build_neg(&n));
}

/* The declared counts, not the bytes, say where message versions start. */
static void test_neg_counts_drive_split(void **state)
{
	const struct hvvss_version all[] = { v1_0, v3_0, v4_0, v5_0 };
	/* Declared 1/3: framework {1.0}, message {3.0, 4.0, 5.0}. */
	struct hostpkt_neg n = { all, 4, NULL, 0, 0, true, 1, 3, 0 };
	/* Declared 3/1: framework {1.0, 3.0, 4.0}, message {5.0}. */
	struct hostpkt_neg n2 = { all, 4, NULL, 0, 0, true, 3, 1, 0 };
	/* Declared 2/1: message {4.0} only, 5.0 beyond the declared list. */
	struct hostpkt_neg n3 = { all, 4, NULL, 0, 0, true, 2, 1, 0 };

	(void)state;
	assert_neg_agreed(build_neg(&n), 1);
	assert_neg_agreed(build_neg(&n2), 3);
	assert_neg_refused(build_neg(&n3));
}

static void test_neg_counts_over_100(void **state)
{
	struct hostpkt_neg n = {
		hostpkt_host_fw, 2, hostpkt_host_msg, 4, 0, true, 101, 4, 0,
	};

	(void)state;
	assert_neg_refused(build_neg(&n));
	n.fw_cnt_declared = 2;
	n.msg_cnt_declared = 101;
	assert_neg_refused(build_neg(&n));
	n.fw_cnt_declared = 0xffff;
	n.msg_cnt_declared = 0xffff;
	assert_neg_refused(build_neg(&n));
}

/* 100 + 100 versions is the largest list accepted; 5.0 as the last one. */
static void test_neg_counts_exactly_100(void **state)
{
	static struct hvvss_version fw[100], msg[100];
	struct hostpkt_neg n = { fw, 100, msg, 100, 0, false, 0, 0, 0 };
	u32 len;
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		fw[i] = (struct hvvss_version){ (u16)(10 + i), 0 };
		msg[i] = (struct hvvss_version){ (u16)(200 + i), 0 };
	}
	fw[99] = v3_0;
	msg[99] = v5_0;
	len = build_neg(&n);
	assert_int_equal(len, 36 + 800);
	assert_neg_agreed(len, 3);
}

/* 101 versions that all fit and include 3.0 and 5.0: still refused. */
static void test_neg_101_versions_fit(void **state)
{
	static struct hvvss_version many[101];
	const struct hvvss_version one_fw[] = { v3_0 };
	const struct hvvss_version one_msg[] = { v5_0 };
	struct hostpkt_neg n = { many, 101, one_msg, 1, 0, false, 0, 0, 0 };
	struct hostpkt_neg n2 = { one_fw, 1, many, 101, 0, false, 0, 0, 0 };
	int i;

	(void)state;
	for (i = 0; i < 101; i++)
		many[i] = (i % 2) ? v5_0 : v3_0;
	assert_neg_refused(build_neg(&n));
	assert_neg_refused(build_neg(&n2));
	/* The same offer with 100 entries is accepted. */
	n.fw_cnt = 100;
	assert_neg_agreed(build_neg(&n), 3);
	n2.msg_cnt = 100;
	assert_neg_agreed(build_neg(&n2), 3);
}

/* Declared versions one byte beyond the packet: no agreement. */
static void test_neg_counts_do_not_fit(void **state)
{
	struct hostpkt_neg n = {
		hostpkt_host_fw, 2, hostpkt_host_msg, 4, 0, false, 0, 0, 59,
	};
	struct hostpkt_neg more = {
		hostpkt_host_fw, 2, hostpkt_host_msg, 4, 0, true, 2, 5, 0,
	};

	(void)state;
	assert_neg_refused(build_neg(&n));
	/* Counts claim one more version than the 60 bytes hold. */
	assert_neg_refused(build_neg(&more));
}

static void test_neg_exactly_fits(void **state)
{
	const struct hvvss_version fw[] = { v3_0 };
	const struct hvvss_version msg[] = { v5_0 };
	struct hostpkt_neg n = { fw, 1, msg, 1, 0, false, 0, 0, 0 };
	u32 len = build_neg(&n);

	(void)state;
	assert_int_equal(len, 44);
	assert_neg_agreed(len, 3);
}

/* 28..31 bytes cannot hold the counts: dropped, untouched. */
static void test_neg_too_short_for_counts(void **state)
{
	struct hvvss_host_msg m;
	u32 len;

	(void)state;
	for (len = 28; len < 32; len++) {
		struct hostpkt_neg n = {
			hostpkt_host_fw, 2, hostpkt_host_msg, 4, 0,
			false, 0, 0, len,
		};

		build_neg(&n);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DROP);
		assert_int_equal(m.drop_reason, HVVSS_DROP_NEG_SHORT);
		assert_int_equal(m.msgtype, HVVSS_MSGTYPE_NEGOTIATE);
		assert_false(m.agreed);
		assert_memory_equal(buf, orig, len);
	}
}

/* 32..43 bytes hold the counts but not two versions: refused, answered. */
static void test_neg_32_to_43(void **state)
{
	const struct hvvss_version fw[] = { v3_0 };
	const struct hvvss_version msg[] = { v5_0 };
	u32 len;

	(void)state;
	for (len = 32; len < 44; len++) {
		struct hostpkt_neg n = { fw, 1, msg, 1, 0, false, 0, 0, len };

		build_neg(&n);
		assert_neg_refused(len);
	}
	for (len = 32; len < 44; len++) {
		struct hostpkt_neg n = {
			hostpkt_host_fw, 2, hostpkt_host_msg, 4, 0,
			false, 0, 0, len,
		};

		build_neg(&n);
		assert_neg_refused(len);
	}
}

/* --- VSS operations ----------------------------------------------------- */

static void test_vss_daemon_ops(void **state)
{
	static const u8 ops[] = {
		HVVSS_OP_FREEZE, HVVSS_OP_THAW, HVVSS_OP_HOT_BACKUP,
	};
	struct hvvss_host_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops); i++) {
		u32 len = build_vss(ops[i], 40);

		hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0x12345678);
		memcpy(orig, buf, len);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DAEMON);
		assert_int_equal(m.msgtype, HVVSS_MSGTYPE_VSS);
		assert_int_equal(m.operation, ops[i]);
		assert_int_equal(m.drop_reason, HVVSS_DROP_NONE);
		assert_false(m.agreed);
		assert_memory_equal(buf, orig, len);
	}
}

/* Ops the kernel answers itself with OK, payload echoed. */
static void test_vss_acked_ops(void **state)
{
	static const u8 ops[] = {
		HVVSS_OP_CREATE, HVVSS_OP_DELETE, HVVSS_OP_BU_COMPLETE,
		HVVSS_OP_AUTO_RECOVER, 8, 9, 127, 128, 255,
	};
	struct hvvss_host_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops); i++) {
		u32 len = build_vss(ops[i], 40);

		hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0xcafef00d);
		memcpy(orig, buf, len);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
		assert_int_equal(m.operation, ops[i]);
		assert_int_equal(m.drop_reason, HVVSS_DROP_NONE);
		assert_acked(len, HVVSS_S_OK);
	}
}

/* A 12,500-byte-payload AUTO_RECOVER is acked whole. */
static void test_vss_big_auto_recover(void **state)
{
	struct hvvss_host_msg m;
	u32 len = build_vss(HVVSS_OP_AUTO_RECOVER, 28 + 12500);

	(void)state;
	assert_int_equal(hvvss_get_le32(buf + 44), 260);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
	assert_acked(len, HVVSS_S_OK);
}

static void test_vss_get_dm_info(void **state)
{
	struct hvvss_host_msg m;
	u32 len = build_vss(HVVSS_OP_GET_DM_INFO, 40);

	(void)state;
	hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0xffffffff);
	memcpy(orig, buf, len);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
	assert_int_equal(m.operation, HVVSS_OP_GET_DM_INFO);
	assert_int_equal(hvvss_get_le32(buf + HVVSS_VSS_FLAGS_OFF), 0);
	memset(orig + HVVSS_VSS_FLAGS_OFF, 0, 4);
	assert_acked(len, HVVSS_S_OK);
}

/* 36..39 bytes: no room for the flag word, nothing written past len. */
static void test_vss_get_dm_info_no_flags(void **state)
{
	struct hvvss_host_msg m;
	u32 len;

	(void)state;
	for (len = 36; len < 40; len++) {
		build_vss(HVVSS_OP_GET_DM_INFO, len);
		memset(buf + 36, 0xee, len - 36);
		memcpy(orig, buf, len);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
		assert_acked(len, HVVSS_S_OK);
	}
}

static void test_vss_too_short(void **state)
{
	struct hvvss_host_msg m;
	u32 len;

	(void)state;
	for (len = 28; len < 36; len++) {
		build_vss(HVVSS_OP_FREEZE, len);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DROP);
		assert_int_equal(m.drop_reason, HVVSS_DROP_VSS_SHORT);
		assert_int_equal(m.msgtype, HVVSS_MSGTYPE_VSS);
		assert_int_equal(m.operation, 0);
		assert_memory_equal(buf, orig, len);
	}
}

/* A real host's largest FREEZE: whole packet to the daemon, then answered. */
static void test_vss_full_freeze(void **state)
{
	struct hvvss_host_msg m;
	u32 len = build_vss(HVVSS_OP_FREEZE, hostpkt_vss_default_len(5));

	(void)state;
	assert_int_equal(len, 6288);
	assert_int_equal(hvvss_get_le32(buf + 4), 6280);
	assert_int_equal(hvvss_get_le16(buf + HVVSS_OFF_ICMSGSIZE), 6260);
	assert_int_equal(hvvss_get_le32(buf + 44), 260);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DAEMON);
	assert_int_equal(m.operation, HVVSS_OP_FREEZE);
	assert_memory_equal(buf, orig, len);

	finish(buf, len, true);
	assert_acked(len, HVVSS_S_OK);

	memcpy(buf, orig, len);
	finish(buf, len, false);
	assert_acked(len, HVVSS_E_FAIL);
}

static void test_hot_backup_finish(void **state)
{
	struct hvvss_host_msg m;
	u32 len = build_vss(HVVSS_OP_HOT_BACKUP, 40);

	(void)state;
	hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0x00000001);
	memcpy(orig, buf, len);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DAEMON);
	finish(buf, len, true);
	assert_int_equal(hvvss_get_le32(buf + HVVSS_VSS_FLAGS_OFF),
			 HVVSS_HBU_NO_AUTO_RECOVERY);
	hvvss_put_le32(orig + HVVSS_VSS_FLAGS_OFF, 5);
	assert_acked(len, HVVSS_S_OK);

	/* A failed check echoes the host's flag word. */
	memcpy(buf, orig, len);
	hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0x00000001);
	hvvss_put_le32(orig + HVVSS_VSS_FLAGS_OFF, 0x00000001);
	finish(buf, len, false);
	assert_acked(len, HVVSS_E_FAIL);
}

/* HOT_BACKUP without room for the flag word: status only. */
static void test_hot_backup_finish_short(void **state)
{
	u32 len;

	(void)state;
	for (len = 36; len < 40; len++) {
		build_vss(HVVSS_OP_HOT_BACKUP, len);
		finish(buf, len, true);
		assert_acked(len, HVVSS_S_OK);
	}
}

/* Only HOT_BACKUP gets the flag; THAW/FREEZE payloads stay as sent. */
static void test_finish_other_ops_keep_payload(void **state)
{
	u32 len = build_vss(HVVSS_OP_THAW, 40);

	(void)state;
	hvvss_put_le32(buf + HVVSS_VSS_FLAGS_OFF, 0x77);
	memcpy(orig, buf, len);
	finish(buf, len, true);
	assert_acked(len, HVVSS_S_OK);
	assert_int_equal(hvvss_get_le32(buf + HVVSS_VSS_FLAGS_OFF), 0x77);
}

/* --- types and lengths -------------------------------------------------- */

static void test_unknown_types(void **state)
{
	static const u16 types[] = {
		1, 2, 3, 4, 6, 7, 8, 0x100, 0x500, 0xffff,
	};
	struct hvvss_host_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		u32 len = build_vss(HVVSS_OP_FREEZE, 64);

		hvvss_put_le16(buf + HVVSS_OFF_ICMSGTYPE, types[i]);
		memcpy(orig, buf, len);
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DROP);
		assert_int_equal(m.drop_reason, HVVSS_DROP_TYPE);
		assert_int_equal(m.msgtype, types[i]);
		assert_memory_equal(buf, orig, len);
	}
}

static void test_short_packets(void **state)
{
	struct hvvss_host_msg m;
	u32 len;

	(void)state;
	build_vss(HVVSS_OP_CREATE, 40);
	for (len = 0; len < HVVSS_HDRS_LEN; len++) {
		assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DROP);
		assert_int_equal(m.drop_reason, HVVSS_DROP_SHORT);
		assert_int_equal(m.msgtype, 0);
		assert_int_equal(m.operation, 0);
		assert_false(m.agreed);
		assert_memory_equal(buf, orig, 40);
	}
}

static void test_length_limits(void **state)
{
	struct hvvss_host_msg m;
	u32 len;

	(void)state;
	len = build_vss(HVVSS_OP_CREATE, HVVSS_MAX_PKT_LEN);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_REPLY);
	assert_acked(len, HVVSS_S_OK);

	len = build_vss(HVVSS_OP_FREEZE, HVVSS_MAX_PKT_LEN);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DAEMON);
	assert_memory_equal(buf, orig, len);

	len = build_vss(HVVSS_OP_CREATE, HVVSS_MAX_PKT_LEN + 1);
	assert_int_equal(handle(buf, len, &m), HVVSS_VERDICT_DROP);
	assert_int_equal(m.drop_reason, HVVSS_DROP_TOO_LONG);
	assert_int_equal(m.msgtype, HVVSS_MSGTYPE_VSS);
	assert_memory_equal(buf, orig, len);

	/* A 16,384-byte negotiate with the host's offer first is answered. */
	hostpkt_negotiate_default(buf, sizeof(buf));
	hostpkt_set_len(buf, HVVSS_MAX_PKT_LEN);
	memcpy(orig, buf, HVVSS_MAX_PKT_LEN);
	assert_neg_agreed(HVVSS_MAX_PKT_LEN, 3);

	/* Lengths far beyond the limit never reach the payload. */
	len = build_vss(HVVSS_OP_CREATE, 64);
	assert_int_equal(hvvss_proto_handle(buf, 0xffffffffu, &m),
			 HVVSS_VERDICT_DROP);
	assert_int_equal(m.drop_reason, HVVSS_DROP_TOO_LONG);
	assert_memory_equal(buf, orig, len);
}

/* Every length 0..128 for each kind of packet stays inside the buffer. */
static void test_length_sweep(void **state)
{
	static const u8 ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct hvvss_host_msg m;
	u32 len;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ops); i++) {
		build_vss(ops[i], 128);
		for (len = 0; len <= 128; len++) {
			memcpy(buf, orig, 128);
			handle(buf, len, &m);
			finish(buf, len, true);
			set_status(buf, len, HVVSS_E_FAIL);
		}
	}
	for (len = 0; len <= 128; len++) {
		hostpkt_negotiate_default(buf, sizeof(buf));
		hvvss_put_le16(buf + HVVSS_OFF_NEG_FWCNT, 2);
		/* 2 + 30 versions need 164 bytes: never fits below 129. */
		hvvss_put_le16(buf + HVVSS_OFF_NEG_MSGCNT, 30);
		handle(buf, len, &m);
		assert_false(m.agreed);
	}
}

/* --- small functions ---------------------------------------------------- */

static void test_set_status(void **state)
{
	u32 len = build_vss(HVVSS_OP_THAW, 40);

	(void)state;
	set_status(buf, 27, HVVSS_E_FAIL);
	assert_memory_equal(buf, orig, len);
	set_status(buf, 0, HVVSS_E_FAIL);
	assert_memory_equal(buf, orig, len);

	set_status(buf, 28, HVVSS_E_FAIL);
	assert_int_equal(buf[HVVSS_OFF_STATUS], 0x05);
	assert_int_equal(buf[HVVSS_OFF_STATUS + 1], 0x40);
	assert_int_equal(buf[HVVSS_OFF_STATUS + 2], 0x00);
	assert_int_equal(buf[HVVSS_OFF_STATUS + 3], 0x80);
	assert_acked(28, HVVSS_E_FAIL);
	assert_memory_equal(buf + 28, orig + 28, len - 28);
}

static void test_op_names(void **state)
{
	static const char *const want[] = {
		"create", "delete", "hot_backup", "get_dm_info",
		"bu_complete", "freeze", "thaw", "auto_recover",
	};
	unsigned int op;

	(void)state;
	for (op = 0; op < 256; op++)
		assert_string_equal(hvvss_proto_op_name((u8)op),
				    op < 8 ? want[op] : "unknown");
}

static void test_le_accessors(void **state)
{
	u8 b[4] = { 0x01, 0x02, 0x03, 0x84 };
	u8 out[4];

	(void)state;
	assert_int_equal(hvvss_get_le16(b), 0x0201);
	assert_int_equal(hvvss_get_le16(b + 2), 0x8403);
	assert_int_equal(hvvss_get_le32(b), 0x84030201u);
	hvvss_put_le32(out, 0xdeadbeefu);
	assert_int_equal(out[0], 0xef);
	assert_int_equal(out[3], 0xde);
	hvvss_put_le16(out, 0xa1b2);
	assert_int_equal(out[0], 0xb2);
	assert_int_equal(out[1], 0xa1);
	assert_int_equal(out[2], 0xad);	/* untouched by put_le16 */
	assert_int_equal(hvvss_proto_operation((const u8[40]){ [28] = 6 }), 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_neg_real_host),
		cmocka_unit_test(test_neg_framework_1_only),
		cmocka_unit_test(test_neg_framework_3_preferred),
		cmocka_unit_test(test_neg_no_framework),
		cmocka_unit_test(test_neg_no_message),
		cmocka_unit_test(test_neg_versions_in_wrong_part),
		cmocka_unit_test(test_neg_zero_counts),
		cmocka_unit_test(test_neg_counts_drive_split),
		cmocka_unit_test(test_neg_counts_over_100),
		cmocka_unit_test(test_neg_counts_exactly_100),
		cmocka_unit_test(test_neg_101_versions_fit),
		cmocka_unit_test(test_neg_counts_do_not_fit),
		cmocka_unit_test(test_neg_exactly_fits),
		cmocka_unit_test(test_neg_too_short_for_counts),
		cmocka_unit_test(test_neg_32_to_43),
		cmocka_unit_test(test_vss_daemon_ops),
		cmocka_unit_test(test_vss_acked_ops),
		cmocka_unit_test(test_vss_big_auto_recover),
		cmocka_unit_test(test_vss_get_dm_info),
		cmocka_unit_test(test_vss_get_dm_info_no_flags),
		cmocka_unit_test(test_vss_too_short),
		cmocka_unit_test(test_vss_full_freeze),
		cmocka_unit_test(test_hot_backup_finish),
		cmocka_unit_test(test_hot_backup_finish_short),
		cmocka_unit_test(test_finish_other_ops_keep_payload),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_short_packets),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_length_sweep),
		cmocka_unit_test(test_set_status),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_le_accessors),
	};

	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
