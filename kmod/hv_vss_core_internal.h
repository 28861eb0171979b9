/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hv_vss_core_internal: the channel instance shared by the files of hv_vss.ko
 * (transaction engine, character device, sysfs).
 */
#ifndef HV_VSS_CORE_INTERNAL_H
#define HV_VSS_CORE_INTERNAL_H

#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "hv_vss_core.h"
#include "hv_vss_proto.h"

/* Where the daemon protocol stands; changed only by hv_vss_set_state(). */
enum hv_vss_state {
	/* Nobody registered: FREEZE/THAW/HOT_BACKUP fail at once. */
	HV_VSS_NO_DAEMON,
	/* REGISTER1 accepted, the 4-byte reply waits for the daemon's read. */
	HV_VSS_REGISTERING,
	/* Daemon registered, nothing in flight. */
	HV_VSS_READY,
	/* A request waits in the inbox for the daemon's read. */
	HV_VSS_QUEUED,
	/* The daemon read the request; its reply is awaited. */
	HV_VSS_DAEMON_BUSY,
};

/* How the last daemon operation ended (sysfs last_result, counters). */
enum hv_vss_result {
	HV_VSS_RES_NONE,
	HV_VSS_RES_OK,
	HV_VSS_RES_FAIL,
	HV_VSS_RES_TIMEOUT,
	HV_VSS_RES_NO_DAEMON,
	HV_VSS_RES_DAEMON_GONE,
	HV_VSS_RES_COUNT,
};

/* The operations the daemon serves, as counter rows. */
enum hv_vss_dop {
	HV_VSS_DOP_FREEZE,
	HV_VSS_DOP_THAW,
	HV_VSS_DOP_HOT_BACKUP,
	HV_VSS_DOP_COUNT,
	HV_VSS_DOP_NONE = HV_VSS_DOP_COUNT,
};

/* Counters: one per (daemon op, result other than none), then the rest. */
#define HV_VSS_NR_RESULTS	(HV_VSS_RES_COUNT - 1)
enum hv_vss_stat {
	HV_VSS_STAT_NEGOTIATE_OK = HV_VSS_DOP_COUNT * HV_VSS_NR_RESULTS,
	HV_VSS_STAT_NEGOTIATE_FAILED,
	HV_VSS_STAT_KERNEL_ANSWERED,
	HV_VSS_STAT_DROPPED,
	HV_VSS_STAT_COUNT,
};

/* Index of the counter for daemon operation @op ending with @res. */
#define HV_VSS_OP_STAT(op, res)	((op) * HV_VSS_NR_RESULTS + (res) - 1)

/* Largest message the device hands to the daemon (struct hv_vss_msg). */
#define HV_VSS_INBOX_MAX	12

/*
 * One VSS channel and its daemon device.
 *
 * Lifetime: the provider holds one reference from hv_vss_channel_add() to
 * hv_vss_channel_remove(); an open file holds one more, so a daemon that
 * keeps the device open after the channel is gone only ever sees -ENODEV.
 *
 * Invariant (under @lock): a transaction is pending exactly when @state is
 * QUEUED or DAEMON_BUSY; then @txn_buf/@txn_len/@txn_id hold the host's
 * request, @txn_op its operation and the timeout work is armed for
 * @txn_deadline.  @inbox_len != 0 exactly in REGISTERING and QUEUED.
 */
struct hv_vss_channel {
	struct kref kref;
	struct miscdevice misc;
	/* The provider's device, for log messages only. */
	struct device *parent;
	const struct hv_vss_channel_ops *ops;
	void *ctx;

	/* Protects every field below, the provider callbacks and the timer. */
	spinlock_t lock;
	bool gone;		/* channel removed: no ops calls, -ENODEV */
	bool opened;		/* the single opener holds the device */
	enum hv_vss_state state;

	/* Pending host request, a copy of the packet as received. */
	u8 *txn_buf;
	u32 txn_len;
	u64 txn_id;
	enum hv_vss_dop txn_op;
	ktime_t txn_start;
	unsigned long txn_deadline;	/* jiffies */
	struct delayed_work timeout_work;

	/* What the next read() returns; @inbox_seq changes on every update. */
	u8 inbox[HV_VSS_INBOX_MAX];
	size_t inbox_len;
	u64 inbox_seq;
	wait_queue_head_t wq;

	/* The registered (or registering) daemon. */
	pid_t daemon_pid;
	u32 daemon_abi;

	/* Negotiated versions, valid when @negotiated. */
	bool negotiated;
	struct hvvss_version framework;
	struct hvvss_version message;

	/* The last daemon operation. */
	enum hv_vss_dop last_op;
	enum hv_vss_result last_result;
	s64 last_duration_us;

	u64 stats[HV_VSS_STAT_COUNT];
};

static inline struct hv_vss_channel *hv_vss_from_dev(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct hv_vss_channel, misc);
}

/* hv_vss_core.c */
void hv_vss_set_state(struct hv_vss_channel *ch, enum hv_vss_state state);
void hv_vss_txn_end(struct hv_vss_channel *ch, enum hv_vss_result res);
void hv_vss_get(struct hv_vss_channel *ch);
void hv_vss_put(struct hv_vss_channel *ch);
bool hv_vss_pending(const struct hv_vss_channel *ch);
void hv_vss_inbox_put(struct hv_vss_channel *ch, const void *msg, size_t len);
void hv_vss_inbox_clear(struct hv_vss_channel *ch);
const char *hv_vss_state_name(enum hv_vss_state state);
const char *hv_vss_dop_name(enum hv_vss_dop op);
const char *hv_vss_result_name(enum hv_vss_result res);

/* hv_vss_chardev.c */
extern const struct file_operations hv_vss_fops;

/* hv_vss_sysfs.c */
extern const struct attribute_group *hv_vss_groups[];

#endif /* HV_VSS_CORE_INTERNAL_H */
