/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * host_packets: builds and reads VSS packets the way a Hyper-V host does.
 *
 * Used by the codec unit tests, the fuzz seed generator and the VM test
 * tools (tools/vss-host.c) that play the host through /dev/hv_vss_hostsim.
 * Every builder writes one packet exactly as it travels on VMBus
 * (vmbuspipe_hdr + icmsg_hdr + payload, little-endian) into a caller buffer
 * and returns its total length, or 0 when @cap is too small (nothing is
 * then guaranteed about the buffer).  Host conventions applied everywhere:
 * pipe flags = 1 (data), msgsize = len - 8, icflags = TRANSACTION|REQUEST,
 * status 0, icmsgsize = payload length (capped to 0xffff).
 *
 * Link with the CMake target hvvss_hostpkt (pulls in hvvss_proto).
 */
#ifndef HVVSS_HOST_PACKETS_H
#define HVVSS_HOST_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_vss_proto.h"

/* What a WS2016+ host offers: framework 1.0, 3.0; message 4.0 .. 7.0. */
extern const struct hvvss_version hostpkt_host_fw[2];
extern const struct hvvss_version hostpkt_host_msg[4];

/* The versions a host puts in later requests once 3.0/5.0 was agreed. */
#define HOSTPKT_NEGOTIATED_FW_MAJOR	3
#define HOSTPKT_NEGOTIATED_MSG_MAJOR	5

/* Bytes of a FREEZE payload before the LUN array, and of one LUN entry. */
#define HOSTPKT_FREEZE_FIXED_LEN	(HVVSS_VSS_HDR_LEN + 12)
#define HOSTPKT_LUN_LEN			24
#define HOSTPKT_MAX_LUNS		260
/* Length of the largest real FREEZE: 28 + 8 + 12 + 260 * 24 = 6,288. */
#define HOSTPKT_FULL_FREEZE_LEN \
	(HVVSS_HDRS_LEN + HOSTPKT_FREEZE_FIXED_LEN + \
	 HOSTPKT_MAX_LUNS * HOSTPKT_LUN_LEN)

/* A negotiate request; zero-initialise, then set what you need. */
struct hostpkt_neg {
	const struct hvvss_version *fw;	/* framework versions offered */
	u16 fw_cnt;
	const struct hvvss_version *msg;	/* message versions offered */
	u16 msg_cnt;
	u8 transid;			/* host uses 0 */
	/*
	 * Malformation knobs for tests.  override_counts: write
	 * fw_cnt_declared / msg_cnt_declared into the header instead of the
	 * real counts (the version array still holds fw_cnt + msg_cnt
	 * entries).  truncate_to: when non-zero, cut the packet to this total
	 * length (msgsize follows; may be below 28).
	 */
	bool override_counts;
	u16 fw_cnt_declared;
	u16 msg_cnt_declared;
	u32 truncate_to;
};

/* Build a negotiate request as described by @n. */
size_t hostpkt_negotiate(u8 *buf, size_t cap, const struct hostpkt_neg *n);

/* Build the negotiate a real host sends (hostpkt_host_fw / _msg). */
size_t hostpkt_negotiate_default(u8 *buf, size_t cap);

/*
 * Build a VSS request for operation @op (any byte value) of exactly
 * @total_len bytes (>= 28; a length below 36 cuts into the hv_vss_hdr).
 * Header versions 3.0 / 5.0.  FREEZE and AUTO_RECOVER carry the LUN-list
 * shape of a real host (backup_type, flags, lun_count, then as many
 * 24-byte LUN entries as fit, at most 260); other operations carry zeros.
 */
size_t hostpkt_vss(u8 *buf, size_t cap, u8 op, size_t total_len, u8 transid);

/* The natural length of each op: 40 (flags word), FULL_FREEZE for FREEZE. */
size_t hostpkt_vss_default_len(u8 op);

/*
 * Fix msgsize/icmsgsize after a caller changed the length of a packet it
 * built (e.g. cut it short).  No-op below 28 bytes.
 */
void hostpkt_set_len(u8 *pkt, size_t len);

/* A guest reply, decoded for assertions (host side of the wire). */
struct hostpkt_reply {
	u16 msgtype;
	u8 transid;
	u8 icflags;
	u32 status;
	u16 icmsgsize;
	/* NEGOTIATE: declared counts and, when both are 1, the choice. */
	u16 fw_cnt;
	u16 msg_cnt;
	struct hvvss_version fw;
	struct hvvss_version msg;
	/* VSS: operation and, when the packet holds one, the flag word. */
	u8 operation;
	bool has_flags;
	u32 flags;
};

/*
 * Decode a reply.  Returns 0, or -1 when @len < 28, a NEGOTIATE reply is
 * too short for its counts, or a VSS reply has no hv_vss_hdr.
 * @ret is written only on success.
 */
int hostpkt_parse_reply(const u8 *pkt, size_t len, struct hostpkt_reply *ret);

/* True when icflags says TRANSACTION|RESPONSE and not REQUEST. */
bool hostpkt_is_response(const struct hostpkt_reply *r);

#endif /* HVVSS_HOST_PACKETS_H */
