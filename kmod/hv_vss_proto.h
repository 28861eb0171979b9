/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hv_vss_proto: the Hyper-V VSS wire codec (ICMSG packets, negotiation).
 *
 * Pure C with no kernel calls: the same file is compiled into hv_vss.ko and
 * into the userspace unit tests and fuzz targets.  Every function works on a
 * packet buffer exactly as it travels on VMBus (vmbuspipe_hdr, icmsg_hdr,
 * payload; all little-endian, all packed) and never reads or writes outside
 * [pkt, pkt + len).  Replies are built in place: the host expects its own
 * bytes back with the status and flags changed, at the same length.
 */
#ifndef HV_VSS_PROTO_H
#define HV_VSS_PROTO_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

/* Sizes of the fixed headers. */
#define HVVSS_PIPE_HDR_LEN	8	/* vmbuspipe_hdr */
#define HVVSS_ICMSG_HDR_LEN	20	/* icmsg_hdr */
#define HVVSS_HDRS_LEN		(HVVSS_PIPE_HDR_LEN + HVVSS_ICMSG_HDR_LEN)
#define HVVSS_VSS_HDR_LEN	8	/* hv_vss_hdr: operation + 7 reserved */
/* Offset of the u32 flags word of HOT_BACKUP / GET_DM_INFO. */
#define HVVSS_VSS_FLAGS_OFF	(HVVSS_HDRS_LEN + HVVSS_VSS_HDR_LEN)
/* Largest host packet the guest accepts (real FREEZE: 28 + 6,260). */
#define HVVSS_MAX_PKT_LEN	16384

/* Offsets of icmsg_hdr fields from the start of the packet. */
#define HVVSS_OFF_ICVERFRAME	(HVVSS_PIPE_HDR_LEN + 0)
#define HVVSS_OFF_ICMSGTYPE	(HVVSS_PIPE_HDR_LEN + 4)
#define HVVSS_OFF_ICVERMSG	(HVVSS_PIPE_HDR_LEN + 6)
#define HVVSS_OFF_ICMSGSIZE	(HVVSS_PIPE_HDR_LEN + 10)
#define HVVSS_OFF_STATUS	(HVVSS_PIPE_HDR_LEN + 12)
#define HVVSS_OFF_TRANSID	(HVVSS_PIPE_HDR_LEN + 16)
#define HVVSS_OFF_ICFLAGS	(HVVSS_PIPE_HDR_LEN + 17)

/* icmsg_negotiate, from the start of the packet. */
#define HVVSS_OFF_NEG_FWCNT	(HVVSS_HDRS_LEN + 0)
#define HVVSS_OFF_NEG_MSGCNT	(HVVSS_HDRS_LEN + 2)
#define HVVSS_OFF_NEG_DATA	(HVVSS_HDRS_LEN + 8)
#define HVVSS_NEG_MAX_COUNT	100
#define HVVSS_NEG_REPLY_MSGSIZE	0x10

/* icmsgtype values. */
#define HVVSS_MSGTYPE_NEGOTIATE	0
#define HVVSS_MSGTYPE_VSS	5

/* icflags bits. */
#define HVVSS_ICFLAG_TRANSACTION	0x1
#define HVVSS_ICFLAG_REQUEST		0x2
#define HVVSS_ICFLAG_RESPONSE		0x4

/* Status codes (HRESULT). */
#define HVVSS_S_OK		0x00000000u
#define HVVSS_E_FAIL		0x80004005u

/* VSS operations. */
enum hvvss_op {
	HVVSS_OP_CREATE = 0,
	HVVSS_OP_DELETE = 1,
	HVVSS_OP_HOT_BACKUP = 2,
	HVVSS_OP_GET_DM_INFO = 3,
	HVVSS_OP_BU_COMPLETE = 4,
	HVVSS_OP_FREEZE = 5,
	HVVSS_OP_THAW = 6,
	HVVSS_OP_AUTO_RECOVER = 7,
	HVVSS_OP_COUNT = 8,
};

/* Flag word returned to HOT_BACKUP: this guest does no auto-recovery. */
#define HVVSS_HBU_NO_AUTO_RECOVERY	0x00000005u

struct hvvss_version {
	u16 major;
	u16 minor;
};

/* What the guest must do with one host packet. */
enum hvvss_verdict {
	/* Malformed or not ours: send nothing back. */
	HVVSS_VERDICT_DROP = 0,
	/* The reply has been built in place: send the buffer back as is. */
	HVVSS_VERDICT_REPLY,
	/*
	 * FREEZE, THAW or HOT_BACKUP: the daemon decides.  The buffer is
	 * untouched; finish it with hvvss_proto_finish_daemon_op() or
	 * hvvss_proto_set_status().
	 */
	HVVSS_VERDICT_DAEMON,
};

/* Why a packet was dropped (for counters and tests). */
enum hvvss_drop_reason {
	HVVSS_DROP_NONE = 0,
	HVVSS_DROP_SHORT,		/* shorter than ICMSG_HDR */
	HVVSS_DROP_TOO_LONG,		/* longer than HVVSS_MAX_PKT_LEN */
	HVVSS_DROP_TYPE,		/* neither NEGOTIATE nor VSS */
	HVVSS_DROP_NEG_SHORT,		/* negotiate too short for the counts */
	HVVSS_DROP_VSS_SHORT,		/* VSS packet without an hv_vss_hdr */
};

/* Everything the caller learns from hvvss_proto_handle(). */
struct hvvss_host_msg {
	u16 msgtype;			/* icmsgtype, when not DROP_SHORT */
	u8 operation;			/* VSS operation, when msgtype is VSS */
	enum hvvss_drop_reason drop_reason;
	/* Negotiation only: */
	bool agreed;			/* a common version was found */
	struct hvvss_version framework;	/* chosen, when agreed */
	struct hvvss_version message;	/* chosen, when agreed */
};

/*
 * Validate one host packet and decide what to do with it.  For NEGOTIATE,
 * GET_DM_INFO and every operation the daemon does not handle, the reply is
 * built in place (verdict REPLY).  @ret is always filled in.
 */
enum hvvss_verdict hvvss_proto_handle(u8 *pkt, u32 len,
				      struct hvvss_host_msg *ret);

/*
 * Turn the request in @pkt into a response with @status: status field set,
 * icflags = TRANSACTION | RESPONSE.  Safe on any buffer of at least
 * HVVSS_HDRS_LEN bytes; does nothing on a shorter one.
 */
void hvvss_proto_set_status(u8 *pkt, u32 len, u32 status);

/*
 * Finish a FREEZE / THAW / HOT_BACKUP request with the daemon's verdict:
 * HV_S_OK or HV_E_FAIL, and for a successful HOT_BACKUP the flag word
 * VSS_HBU_NO_AUTO_RECOVERY (when the packet is long enough to hold it).
 */
void hvvss_proto_finish_daemon_op(u8 *pkt, u32 len, bool ok);

/* Read the operation byte of a VSS packet (caller checked the length). */
u8 hvvss_proto_operation(const u8 *pkt);

/* Name of an operation for logs and sysfs ("freeze", ..., "unknown"). */
const char *hvvss_proto_op_name(u8 op);

/* Little-endian accessors, exposed for the simulator and tests. */
u16 hvvss_get_le16(const u8 *p);
u32 hvvss_get_le32(const u8 *p);
void hvvss_put_le16(u8 *p, u16 v);
void hvvss_put_le32(u8 *p, u32 v);

#endif /* HV_VSS_PROTO_H */
