// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_proto: the Hyper-V VSS wire codec.
 *
 * Design note: the host's packet is validated and answered in place, so the
 * reply has exactly the length the host sent (it expects its own bytes
 * back).  Every field access goes through a bounds check against @len
 * followed by a byte-wise little-endian accessor: no struct overlays, so
 * alignment, padding and host endianness never matter, and a malformed
 * packet can at worst be dropped or refused, never read past.
 *
 * Negotiation mirrors the inbox driver: anything that holds the two counts
 * gets a reply, and a reply agrees on a version only when every declared
 * version is inside the packet and the host offers message version 5.0.
 * Only 5.0 is offered back: FREEZE/THAW need 5.0, and 6.0/7.0 add
 * operations this guest cannot serve.
 */
#include "hv_vss_proto.h"

#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

#define HVVSS_NEG_VERSION_LEN	4	/* one ic_version on the wire */
#define HVVSS_NEG_FIXED_LEN	(HVVSS_OFF_NEG_DATA)
/* The two u16 counts must be present for a negotiate to be answered. */
#define HVVSS_NEG_COUNTS_END	(HVVSS_OFF_NEG_MSGCNT + 2)
#define HVVSS_OFF_VSS_OP	(HVVSS_HDRS_LEN)
#define HVVSS_VSS_MIN_LEN	(HVVSS_HDRS_LEN + HVVSS_VSS_HDR_LEN)
#define HVVSS_VSS_FLAGS_END	(HVVSS_VSS_FLAGS_OFF + 4)
#define HVVSS_ICFLAGS_RESPONSE	\
	(HVVSS_ICFLAG_TRANSACTION | HVVSS_ICFLAG_RESPONSE)

/* The only message version served (see the design note). */
#define HVVSS_MSG_MAJOR		5
#define HVVSS_FW_PREFERRED	3
#define HVVSS_FW_FALLBACK	1

u16 hvvss_get_le16(const u8 *p)
{
	return (u16)(p[0] | (p[1] << 8));
}

u32 hvvss_get_le32(const u8 *p)
{
	return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) |
	       ((u32)p[3] << 24);
}

void hvvss_put_le16(u8 *p, u16 v)
{
	p[0] = (u8)(v & 0xff);
	p[1] = (u8)(v >> 8);
}

void hvvss_put_le32(u8 *p, u32 v)
{
	p[0] = (u8)(v & 0xff);
	p[1] = (u8)((v >> 8) & 0xff);
	p[2] = (u8)((v >> 16) & 0xff);
	p[3] = (u8)(v >> 24);
}

u8 hvvss_proto_operation(const u8 *pkt)
{
	return pkt[HVVSS_OFF_VSS_OP];
}

const char *hvvss_proto_op_name(u8 op)
{
	static const char *const names[HVVSS_OP_COUNT] = {
		[HVVSS_OP_CREATE] = "create",
		[HVVSS_OP_DELETE] = "delete",
		[HVVSS_OP_HOT_BACKUP] = "hot_backup",
		[HVVSS_OP_GET_DM_INFO] = "get_dm_info",
		[HVVSS_OP_BU_COMPLETE] = "bu_complete",
		[HVVSS_OP_FREEZE] = "freeze",
		[HVVSS_OP_THAW] = "thaw",
		[HVVSS_OP_AUTO_RECOVER] = "auto_recover",
	};

	if (op >= HVVSS_OP_COUNT)
		return "unknown";
	return names[op];
}

void hvvss_proto_set_status(u8 *pkt, u32 len, u32 status)
{
	if (len < HVVSS_HDRS_LEN)
		return;
	hvvss_put_le32(pkt + HVVSS_OFF_STATUS, status);
	pkt[HVVSS_OFF_ICFLAGS] = HVVSS_ICFLAGS_RESPONSE;
}

void hvvss_proto_finish_daemon_op(u8 *pkt, u32 len, bool ok)
{
	hvvss_proto_set_status(pkt, len, ok ? HVVSS_S_OK : HVVSS_E_FAIL);
	/*
	 * Tell the host we do no auto-recovery, so it never sends
	 * AUTO_RECOVER; only a successful capability check carries it.
	 */
	if (ok && len >= HVVSS_VSS_FLAGS_END &&
	    hvvss_proto_operation(pkt) == HVVSS_OP_HOT_BACKUP)
		hvvss_put_le32(pkt + HVVSS_VSS_FLAGS_OFF,
			       HVVSS_HBU_NO_AUTO_RECOVERY);
}

static struct hvvss_version hvvss_neg_version(const u8 *pkt, u32 idx)
{
	const u8 *p = pkt + HVVSS_OFF_NEG_DATA + idx * HVVSS_NEG_VERSION_LEN;
	struct hvvss_version v;

	v.major = hvvss_get_le16(p);
	v.minor = hvvss_get_le16(p + 2);
	return v;
}

static void hvvss_neg_put_version(u8 *pkt, u32 idx, struct hvvss_version v)
{
	u8 *p = pkt + HVVSS_OFF_NEG_DATA + idx * HVVSS_NEG_VERSION_LEN;

	hvvss_put_le16(p, v.major);
	hvvss_put_le16(p + 2, v.minor);
}

/* Is @major.0 among the @cnt versions starting at index @first? */
static bool hvvss_neg_offers(const u8 *pkt, u32 first, u32 cnt, u16 major)
{
	u32 i;

	for (i = first; i < first + cnt; i++) {
		struct hvvss_version v = hvvss_neg_version(pkt, i);

		if (v.major == major && v.minor == 0)
			return true;
	}
	return false;
}

/*
 * Do the declared counts describe versions that are all inside the packet?
 * The 100 limit keeps the arithmetic small and matches the inbox driver.
 */
static bool hvvss_neg_fits(u32 len, u32 fw_cnt, u32 msg_cnt)
{
	if (fw_cnt > HVVSS_NEG_MAX_COUNT || msg_cnt > HVVSS_NEG_MAX_COUNT)
		return false;
	return HVVSS_NEG_FIXED_LEN +
	       (fw_cnt + msg_cnt) * HVVSS_NEG_VERSION_LEN <= len;
}

/* Pick framework and message versions; false when there is no match. */
static bool hvvss_neg_choose(const u8 *pkt, u32 len,
			     struct hvvss_host_msg *ret)
{
	u32 fw_cnt = hvvss_get_le16(pkt + HVVSS_OFF_NEG_FWCNT);
	u32 msg_cnt = hvvss_get_le16(pkt + HVVSS_OFF_NEG_MSGCNT);
	u16 fw;

	if (!hvvss_neg_fits(len, fw_cnt, msg_cnt))
		return false;
	if (hvvss_neg_offers(pkt, 0, fw_cnt, HVVSS_FW_PREFERRED))
		fw = HVVSS_FW_PREFERRED;
	else if (hvvss_neg_offers(pkt, 0, fw_cnt, HVVSS_FW_FALLBACK))
		fw = HVVSS_FW_FALLBACK;
	else
		return false;
	if (!hvvss_neg_offers(pkt, fw_cnt, msg_cnt, HVVSS_MSG_MAJOR))
		return false;
	ret->framework.major = fw;
	ret->message.major = HVVSS_MSG_MAJOR;
	return true;
}

static enum hvvss_verdict hvvss_negotiate(u8 *pkt, u32 len,
					  struct hvvss_host_msg *ret)
{
	if (len < HVVSS_NEG_COUNTS_END) {
		ret->drop_reason = HVVSS_DROP_NEG_SHORT;
		return HVVSS_VERDICT_DROP;
	}
	ret->agreed = hvvss_neg_choose(pkt, len, ret);
	if (ret->agreed) {
		/* Agreement implies room for two versions (36 + 8 <= len). */
		hvvss_put_le16(pkt + HVVSS_OFF_NEG_FWCNT, 1);
		hvvss_put_le16(pkt + HVVSS_OFF_NEG_MSGCNT, 1);
		hvvss_neg_put_version(pkt, 0, ret->framework);
		hvvss_neg_put_version(pkt, 1, ret->message);
		hvvss_put_le16(pkt + HVVSS_OFF_ICMSGSIZE,
			       HVVSS_NEG_REPLY_MSGSIZE);
	} else {
		/* Both counts 0 is how the host learns nothing was agreed. */
		hvvss_put_le16(pkt + HVVSS_OFF_NEG_FWCNT, 0);
		hvvss_put_le16(pkt + HVVSS_OFF_NEG_MSGCNT, 0);
	}
	hvvss_proto_set_status(pkt, len, HVVSS_S_OK);
	return HVVSS_VERDICT_REPLY;
}

static enum hvvss_verdict hvvss_vss(u8 *pkt, u32 len,
				    struct hvvss_host_msg *ret)
{
	if (len < HVVSS_VSS_MIN_LEN) {
		ret->drop_reason = HVVSS_DROP_VSS_SHORT;
		return HVVSS_VERDICT_DROP;
	}
	ret->operation = hvvss_proto_operation(pkt);
	switch (ret->operation) {
	case HVVSS_OP_FREEZE:
	case HVVSS_OP_THAW:
	case HVVSS_OP_HOT_BACKUP:
		return HVVSS_VERDICT_DAEMON;
	case HVVSS_OP_GET_DM_INFO:
		/* No dynamic-disk information to report. */
		if (len >= HVVSS_VSS_FLAGS_END)
			hvvss_put_le32(pkt + HVVSS_VSS_FLAGS_OFF, 0);
		break;
	default:
		/* CREATE, DELETE, BU_COMPLETE, AUTO_RECOVER, unknown: ack. */
		break;
	}
	hvvss_proto_set_status(pkt, len, HVVSS_S_OK);
	return HVVSS_VERDICT_REPLY;
}

enum hvvss_verdict hvvss_proto_handle(u8 *pkt, u32 len,
				      struct hvvss_host_msg *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (len < HVVSS_HDRS_LEN) {
		ret->drop_reason = HVVSS_DROP_SHORT;
		return HVVSS_VERDICT_DROP;
	}
	ret->msgtype = hvvss_get_le16(pkt + HVVSS_OFF_ICMSGTYPE);
	if (len > HVVSS_MAX_PKT_LEN) {
		ret->drop_reason = HVVSS_DROP_TOO_LONG;
		return HVVSS_VERDICT_DROP;
	}
	switch (ret->msgtype) {
	case HVVSS_MSGTYPE_NEGOTIATE:
		return hvvss_negotiate(pkt, len, ret);
	case HVVSS_MSGTYPE_VSS:
		return hvvss_vss(pkt, len, ret);
	default:
		ret->drop_reason = HVVSS_DROP_TYPE;
		return HVVSS_VERDICT_DROP;
	}
}
