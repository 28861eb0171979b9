// SPDX-License-Identifier: GPL-2.0-only
/*
 * host_packets: host-side packet builders and reply decoder.
 *
 * Builders always write the full packet into a zeroed area first and cut
 * it afterwards, so a truncated packet holds exactly the prefix a real
 * host's packet would have.
 */
#include "host_packets.h"

#include <string.h>

#define PIPE_FLAG_DATA		1
#define OFF_PIPE_FLAGS		0
#define OFF_PIPE_MSGSIZE	4
#define REQUEST_ICFLAGS	(HVVSS_ICFLAG_TRANSACTION | HVVSS_ICFLAG_REQUEST)

/* FREEZE / AUTO_RECOVER fixed part after the hv_vss_hdr. */
#define OFF_BACKUP_TYPE		(HVVSS_HDRS_LEN + HVVSS_VSS_HDR_LEN)
#define OFF_LUN_COUNT		(OFF_BACKUP_TYPE + 8)
#define OFF_LUNS		(HVVSS_HDRS_LEN + HOSTPKT_FREEZE_FIXED_LEN)
#define HOST_BACKUP_TYPE_FULL	1

const struct hvvss_version hostpkt_host_fw[2] = { { 1, 0 }, { 3, 0 } };
const struct hvvss_version hostpkt_host_msg[4] = {
	{ 4, 0 }, { 5, 0 }, { 6, 0 }, { 7, 0 },
};

void hostpkt_set_len(u8 *pkt, size_t len)
{
	size_t payload;

	if (len < HVVSS_HDRS_LEN)
		return;
	hvvss_put_le32(pkt + OFF_PIPE_MSGSIZE, (u32)(len - HVVSS_PIPE_HDR_LEN));
	payload = len - HVVSS_HDRS_LEN;
	hvvss_put_le16(pkt + HVVSS_OFF_ICMSGSIZE,
		       (u16)(payload > 0xffff ? 0xffff : payload));
}

static void put_version(u8 *p, struct hvvss_version v)
{
	hvvss_put_le16(p, v.major);
	hvvss_put_le16(p + 2, v.minor);
}

/* Headers common to every host request; @pkt holds @len >= 28 bytes. */
static void put_headers(u8 *pkt, size_t len, u16 msgtype,
			struct hvvss_version frame, struct hvvss_version msg,
			u8 transid)
{
	hvvss_put_le32(pkt + OFF_PIPE_FLAGS, PIPE_FLAG_DATA);
	put_version(pkt + HVVSS_OFF_ICVERFRAME, frame);
	hvvss_put_le16(pkt + HVVSS_OFF_ICMSGTYPE, msgtype);
	put_version(pkt + HVVSS_OFF_ICVERMSG, msg);
	hvvss_put_le32(pkt + HVVSS_OFF_STATUS, 0);
	pkt[HVVSS_OFF_TRANSID] = transid;
	pkt[HVVSS_OFF_ICFLAGS] = REQUEST_ICFLAGS;
	hostpkt_set_len(pkt, len);
}

static void put_versions(u8 *p, const struct hvvss_version *v, u16 cnt)
{
	u16 i;

	for (i = 0; i < cnt; i++)
		put_version(p + 4 * (size_t)i, v[i]);
}

/* The full negotiate, before any truncation. */
static size_t neg_full(u8 *buf, size_t cap, const struct hostpkt_neg *n)
{
	static const struct hvvss_version zero = { 0, 0 };
	size_t len = HVVSS_OFF_NEG_DATA + 4 * ((size_t)n->fw_cnt + n->msg_cnt);

	if (len > cap)
		return 0;
	memset(buf, 0, len);
	put_headers(buf, len, HVVSS_MSGTYPE_NEGOTIATE, zero, zero, n->transid);
	hvvss_put_le16(buf + HVVSS_OFF_NEG_FWCNT,
		       n->override_counts ? n->fw_cnt_declared : n->fw_cnt);
	hvvss_put_le16(buf + HVVSS_OFF_NEG_MSGCNT,
		       n->override_counts ? n->msg_cnt_declared : n->msg_cnt);
	put_versions(buf + HVVSS_OFF_NEG_DATA, n->fw, n->fw_cnt);
	put_versions(buf + HVVSS_OFF_NEG_DATA + 4 * (size_t)n->fw_cnt, n->msg,
		     n->msg_cnt);
	return len;
}

size_t hostpkt_negotiate(u8 *buf, size_t cap, const struct hostpkt_neg *n)
{
	size_t len;

	/* Build at full length in a scratch area when cutting a long one. */
	if (n->truncate_to) {
		u8 tmp[HVVSS_MAX_PKT_LEN];

		len = neg_full(tmp, sizeof(tmp), n);
		if (!len || n->truncate_to > len || n->truncate_to > cap)
			return 0;
		len = n->truncate_to;
		memcpy(buf, tmp, len);
		hostpkt_set_len(buf, len);
		return len;
	}
	return neg_full(buf, cap, n);
}

size_t hostpkt_negotiate_default(u8 *buf, size_t cap)
{
	struct hostpkt_neg n = {
		.fw = hostpkt_host_fw,
		.fw_cnt = 2,
		.msg = hostpkt_host_msg,
		.msg_cnt = 4,
	};

	return hostpkt_negotiate(buf, cap, &n);
}

/* One LUN entry: SCSI bus, a controller GUID made from @i, port/target/lun. */
static void put_lun(u8 *p, unsigned int i)
{
	unsigned int b;

	p[0] = 1;
	for (b = 0; b < 16; b++)
		p[4 + b] = (u8)(0xa0 + b + i);
	p[20] = (u8)(i / 64);
	p[21] = 0;
	p[22] = (u8)(i % 64);
	p[23] = 0;
}

/* backup_type, flags, lun_count, then LUN entries as far as @len allows. */
static void put_lun_list(u8 *pkt, size_t len)
{
	size_t room, n, i;

	if (len < OFF_LUNS)
		return;
	room = (len - OFF_LUNS) / HOSTPKT_LUN_LEN;
	n = room < HOSTPKT_MAX_LUNS ? room : HOSTPKT_MAX_LUNS;
	hvvss_put_le32(pkt + OFF_BACKUP_TYPE, HOST_BACKUP_TYPE_FULL);
	hvvss_put_le32(pkt + OFF_LUN_COUNT, (u32)n);
	for (i = 0; i < n; i++)
		put_lun(pkt + OFF_LUNS + i * HOSTPKT_LUN_LEN, (unsigned int)i);
}

size_t hostpkt_vss(u8 *buf, size_t cap, u8 op, size_t total_len, u8 transid)
{
	static const struct hvvss_version fw = {
		HOSTPKT_NEGOTIATED_FW_MAJOR, 0 };
	static const struct hvvss_version msg = {
		HOSTPKT_NEGOTIATED_MSG_MAJOR, 0 };

	if (total_len < HVVSS_HDRS_LEN || total_len > cap)
		return 0;
	memset(buf, 0, total_len);
	put_headers(buf, total_len, HVVSS_MSGTYPE_VSS, fw, msg, transid);
	if (total_len > HVVSS_HDRS_LEN)
		buf[HVVSS_HDRS_LEN] = op;
	if (op == HVVSS_OP_FREEZE || op == HVVSS_OP_AUTO_RECOVER)
		put_lun_list(buf, total_len);
	return total_len;
}

size_t hostpkt_vss_default_len(u8 op)
{
	if (op == HVVSS_OP_FREEZE)
		return HOSTPKT_FULL_FREEZE_LEN;
	return HVVSS_VSS_FLAGS_OFF + 4;
}

static int parse_negotiate(const u8 *pkt, size_t len, struct hostpkt_reply *r)
{
	if (len < HVVSS_OFF_NEG_MSGCNT + 2)
		return -1;
	r->fw_cnt = hvvss_get_le16(pkt + HVVSS_OFF_NEG_FWCNT);
	r->msg_cnt = hvvss_get_le16(pkt + HVVSS_OFF_NEG_MSGCNT);
	if (r->fw_cnt == 1 && r->msg_cnt == 1 &&
	    len >= HVVSS_OFF_NEG_DATA + 8) {
		const u8 *d = pkt + HVVSS_OFF_NEG_DATA;

		r->fw.major = hvvss_get_le16(d);
		r->fw.minor = hvvss_get_le16(d + 2);
		r->msg.major = hvvss_get_le16(d + 4);
		r->msg.minor = hvvss_get_le16(d + 6);
	}
	return 0;
}

static int parse_vss(const u8 *pkt, size_t len, struct hostpkt_reply *r)
{
	if (len < HVVSS_HDRS_LEN + HVVSS_VSS_HDR_LEN)
		return -1;
	r->operation = pkt[HVVSS_HDRS_LEN];
	r->has_flags = len >= HVVSS_VSS_FLAGS_OFF + 4;
	if (r->has_flags)
		r->flags = hvvss_get_le32(pkt + HVVSS_VSS_FLAGS_OFF);
	return 0;
}

int hostpkt_parse_reply(const u8 *pkt, size_t len, struct hostpkt_reply *ret)
{
	struct hostpkt_reply r;
	int rc = 0;

	if (len < HVVSS_HDRS_LEN)
		return -1;
	memset(&r, 0, sizeof(r));
	r.msgtype = hvvss_get_le16(pkt + HVVSS_OFF_ICMSGTYPE);
	r.transid = pkt[HVVSS_OFF_TRANSID];
	r.icflags = pkt[HVVSS_OFF_ICFLAGS];
	r.status = hvvss_get_le32(pkt + HVVSS_OFF_STATUS);
	r.icmsgsize = hvvss_get_le16(pkt + HVVSS_OFF_ICMSGSIZE);
	if (r.msgtype == HVVSS_MSGTYPE_NEGOTIATE)
		rc = parse_negotiate(pkt, len, &r);
	else if (r.msgtype == HVVSS_MSGTYPE_VSS)
		rc = parse_vss(pkt, len, &r);
	if (rc == 0)
		*ret = r;
	return rc;
}

bool hostpkt_is_response(const struct hostpkt_reply *r)
{
	return r->icflags == (HVVSS_ICFLAG_TRANSACTION | HVVSS_ICFLAG_RESPONSE);
}
