// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-proto: arbitrary bytes as one host packet through the VSS codec.
 *
 * Each input is copied into a heap buffer of exactly its size, so ASan
 * reports any access past len.  The checks compare the codec's output with
 * the input and with an independent, deliberately plain statement of the
 * protocol rules (protocol.md), so a wrong answer aborts just like a
 * memory error.  Built twice: with libFuzzer (fuzz-proto) and with a plain
 * main() that replays files (fuzz-replay, see replay.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-proto.h"
#include "hv_vss_proto.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#define REPLY_FLAGS	(HVVSS_ICFLAG_TRANSACTION | HVVSS_ICFLAG_RESPONSE)

/* Field readers on the untouched input, independent of the codec's. */
static unsigned int rd16(const u8 *p, size_t off)
{
	return p[off] | (unsigned int)p[off + 1] << 8;
}

static unsigned long rd32(const u8 *p, size_t off)
{
	return rd16(p, off) | (unsigned long)rd16(p, off + 2) << 16;
}

/* Is major.0 among versions [first, first + cnt) of a negotiate? */
static bool offers(const u8 *in, size_t first, size_t cnt, unsigned int major)
{
	size_t i;

	for (i = first; i < first + cnt; i++) {
		size_t off = 36 + 4 * i;

		if (rd16(in, off) == major && rd16(in, off + 2) == 0)
			return true;
	}
	return false;
}

/* The framework the rules pick (3, 1) or 0 when the host's offer fails. */
static unsigned int expected_framework(const u8 *in, size_t len)
{
	size_t fw = rd16(in, 28), msg = rd16(in, 30);

	if (fw > 100 || msg > 100 || 36 + 4 * (fw + msg) > len)
		return 0;
	if (!offers(in, fw, msg, 5))
		return 0;
	if (offers(in, 0, fw, 3))
		return 3;
	return offers(in, 0, fw, 1) ? 1 : 0;
}

/* Outside [from, to) the two buffers are equal. */
static bool same_except(const u8 *a, const u8 *b, size_t len,
			size_t from, size_t to)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((i < from || i >= to) && a[i] != b[i])
			return false;
	return true;
}

/* Only status (20..23) and icflags (25) differ, plus [from, to). */
static void check_acked(const u8 *in, const u8 *out, size_t len,
			unsigned long status, size_t from, size_t to)
{
	size_t i;

	CHECK(rd32(out, 20) == status);
	CHECK(out[25] == REPLY_FLAGS);
	for (i = 0; i < len; i++) {
		bool header = (i >= 20 && i < 24) || i == 25;

		CHECK(header || (i >= from && i < to) || in[i] == out[i]);
	}
}

static void check_negotiate(const u8 *in, const u8 *out, size_t len,
			    const struct hvvss_host_msg *m)
{
	unsigned int fw = expected_framework(in, len);

	CHECK(m->agreed == (fw != 0));
	CHECK(rd16(out, 28) == (fw ? 1 : 0));
	CHECK(rd16(out, 30) == (fw ? 1 : 0));
	if (!fw) {
		check_acked(in, out, len, 0, 28, 32);
		return;
	}
	CHECK(m->framework.major == fw && m->framework.minor == 0);
	CHECK(m->message.major == 5 && m->message.minor == 0);
	CHECK(rd32(out, 36) == fw && rd32(out, 40) == 5);
	CHECK(rd16(out, 18) == HVVSS_NEG_REPLY_MSGSIZE);
	CHECK(rd32(out, 20) == 0 && out[25] == REPLY_FLAGS);
	/* Changed: icmsgsize, status, icflags, counts, two versions. */
	CHECK(same_except(in, out, 18, 0, 0));
	CHECK(out[24] == in[24] && out[26] == in[26] && out[27] == in[27]);
	CHECK(in[32] == out[32] && in[33] == out[33]);
	CHECK(in[34] == out[34] && in[35] == out[35]);
	CHECK(same_except(in + 44, out + 44, len - 44, 0, 0));
}

static void check_reply(const u8 *in, const u8 *out, size_t len,
			const struct hvvss_host_msg *m)
{
	if (m->msgtype == HVVSS_MSGTYPE_NEGOTIATE) {
		check_negotiate(in, out, len, m);
		return;
	}
	CHECK(m->msgtype == HVVSS_MSGTYPE_VSS && len >= 36);
	CHECK(m->operation == in[28]);
	CHECK(m->operation != HVVSS_OP_FREEZE &&
	      m->operation != HVVSS_OP_THAW &&
	      m->operation != HVVSS_OP_HOT_BACKUP);
	if (m->operation == HVVSS_OP_GET_DM_INFO && len >= 40) {
		CHECK(rd32(out, 36) == 0);
		check_acked(in, out, len, 0, 36, 40);
	} else {
		check_acked(in, out, len, 0, 0, 0);
	}
}

static void check_drop(const u8 *in, const u8 *out, size_t len,
		       const struct hvvss_host_msg *m)
{
	CHECK(memcmp(in, out, len) == 0);
	CHECK(m->drop_reason != HVVSS_DROP_NONE && !m->agreed);
	if (len < 28)
		CHECK(m->drop_reason == HVVSS_DROP_SHORT);
	else if (len > HVVSS_MAX_PKT_LEN)
		CHECK(m->drop_reason == HVVSS_DROP_TOO_LONG);
	else if (m->msgtype == HVVSS_MSGTYPE_NEGOTIATE)
		CHECK(m->drop_reason == HVVSS_DROP_NEG_SHORT && len < 32);
	else if (m->msgtype == HVVSS_MSGTYPE_VSS)
		CHECK(m->drop_reason == HVVSS_DROP_VSS_SHORT && len < 36);
	else
		CHECK(m->drop_reason == HVVSS_DROP_TYPE);
}

/* finish_daemon_op on a fresh copy of the input. */
static void check_finish(const u8 *in, u8 *buf, size_t len, bool ok)
{
	bool hbu_flag;

	memcpy(buf, in, len);
	hvvss_proto_finish_daemon_op(buf, (u32)len, ok);
	if (len < 28) {
		CHECK(memcmp(in, buf, len) == 0);
		return;
	}
	hbu_flag = ok && len >= 40 && in[28] == HVVSS_OP_HOT_BACKUP;
	if (hbu_flag)
		CHECK(rd32(buf, 36) == HVVSS_HBU_NO_AUTO_RECOVERY);
	check_acked(in, buf, len, ok ? HVVSS_S_OK : HVVSS_E_FAIL,
		    hbu_flag ? 36 : 0, hbu_flag ? 40 : 0);
}

static void check_set_status(const u8 *in, u8 *buf, size_t len)
{
	memcpy(buf, in, len);
	hvvss_proto_set_status(buf, (u32)len, 0x80070057u);
	if (len < 28)
		CHECK(memcmp(in, buf, len) == 0);
	else
		check_acked(in, buf, len, 0x80070057u, 0, 0);
}

static void check_handle(const u8 *in, u8 *buf, size_t len)
{
	struct hvvss_host_msg m;
	enum hvvss_verdict v;

	memcpy(buf, in, len);
	memset(&m, 0xa5, sizeof(m));
	v = hvvss_proto_handle(buf, (u32)len, &m);
	if (len >= 28)
		CHECK(m.msgtype == rd16(in, 12));
	if (v == HVVSS_VERDICT_DROP) {
		check_drop(in, buf, len, &m);
		return;
	}
	CHECK(m.drop_reason == HVVSS_DROP_NONE);
	CHECK(len >= 28 && len <= HVVSS_MAX_PKT_LEN);
	if (v == HVVSS_VERDICT_DAEMON) {
		CHECK(m.msgtype == HVVSS_MSGTYPE_VSS && !m.agreed);
		CHECK(m.operation == HVVSS_OP_FREEZE ||
		      m.operation == HVVSS_OP_THAW ||
		      m.operation == HVVSS_OP_HOT_BACKUP);
		CHECK(memcmp(in, buf, len) == 0);
		return;
	}
	CHECK(v == HVVSS_VERDICT_REPLY);
	check_reply(in, buf, len, &m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exact size: one byte past the end is outside the allocation. */
	u8 *in = malloc(size);
	u8 *buf = malloc(size);

	if (!in || !buf)
		abort();
	memcpy(in, data, size);
	/* A u32 length: larger inputs cannot reach the codec. */
	if (size <= 0xffffffffu) {
		check_handle(in, buf, size);
		check_finish(in, buf, size, true);
		check_finish(in, buf, size, false);
		check_set_status(in, buf, size);
	}
	free(in);
	free(buf);
	return 0;
}
