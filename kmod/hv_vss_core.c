// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_core: the transaction engine of the guest VSS service.
 *
 * One channel at a time, one transaction at a time.  A host packet is copied
 * into the instance's preallocated buffer and handed to the codec, which
 * either builds the reply in place (negotiation, GET_DM_INFO, operations the
 * kernel answers alone), drops it, or asks for the daemon.  A daemon request
 * goes into the inbox of /dev/vmbus/hv_vss and a delayed work item guards it.
 *
 * Three events can end a transaction: the daemon's reply, the timeout and
 * the daemon closing the device.  Each runs under the instance lock and
 * first checks that the transaction is still pending, so the first one
 * sends the only reply and the others find nothing to do.  The timeout work
 * also compares the deadline, because a stale run of the work item can meet
 * the next transaction, which re-armed it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hyperv.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/slab.h>

#include "hv_vss_compat.h"
#include "hv_vss_core_internal.h"

/* The host waits minutes at most; a day is far beyond any sane setting. */
#define HV_VSS_TIMEOUT_MAX	86400

static unsigned int freeze_timeout = 900;
static unsigned int thaw_timeout = 30;
static unsigned int hot_backup_timeout = 30;

static int hv_vss_timeout_set(const char *val, const struct kernel_param *kp)
{
	unsigned int secs;
	int ret;

	ret = kstrtouint(val, 0, &secs);
	if (ret || secs < 1 || secs > HV_VSS_TIMEOUT_MAX) {
		pr_warn("%s: '%.*s' is not a timeout; give whole seconds from 1 to %u\n",
			kp->name, (int)strcspn(val, "\n"), val,
			HV_VSS_TIMEOUT_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, secs);
	return 0;
}

static const struct kernel_param_ops hv_vss_timeout_ops = {
	.set = hv_vss_timeout_set,
	.get = param_get_uint,
};

module_param_cb(freeze_timeout, &hv_vss_timeout_ops, &freeze_timeout, 0644);
MODULE_PARM_DESC(freeze_timeout,
		 "Seconds the daemon has to answer FREEZE before the host gets HV_E_FAIL (1-86400, default 900)");
module_param_cb(thaw_timeout, &hv_vss_timeout_ops, &thaw_timeout, 0644);
MODULE_PARM_DESC(thaw_timeout,
		 "Seconds the daemon has to answer THAW before the host gets HV_E_FAIL (1-86400, default 30)");
module_param_cb(hot_backup_timeout, &hv_vss_timeout_ops, &hot_backup_timeout, 0644);
MODULE_PARM_DESC(hot_backup_timeout,
		 "Seconds the daemon has to answer HOT_BACKUP before the host gets HV_E_FAIL (1-86400, default 30)");

/* Serializes channel add and remove; protects hv_vss_current. */
static DEFINE_MUTEX(hv_vss_current_lock);
static struct hv_vss_channel *hv_vss_current;

static const char * const hv_vss_state_names[] = {
	[HV_VSS_NO_DAEMON] = "no_daemon",
	[HV_VSS_REGISTERING] = "registering",
	[HV_VSS_READY] = "ready",
	[HV_VSS_QUEUED] = "queued",
	[HV_VSS_DAEMON_BUSY] = "daemon_busy",
};

static const char * const hv_vss_dop_names[] = {
	[HV_VSS_DOP_FREEZE] = "freeze",
	[HV_VSS_DOP_THAW] = "thaw",
	[HV_VSS_DOP_HOT_BACKUP] = "hot_backup",
	[HV_VSS_DOP_NONE] = "none",
};

static const char * const hv_vss_result_names[] = {
	[HV_VSS_RES_NONE] = "none",
	[HV_VSS_RES_OK] = "ok",
	[HV_VSS_RES_FAIL] = "fail",
	[HV_VSS_RES_TIMEOUT] = "timeout",
	[HV_VSS_RES_NO_DAEMON] = "no_daemon",
	[HV_VSS_RES_DAEMON_GONE] = "daemon_gone",
};

const char *hv_vss_state_name(enum hv_vss_state state)
{
	return state < ARRAY_SIZE(hv_vss_state_names) ?
	       hv_vss_state_names[state] : "unknown";
}

const char *hv_vss_dop_name(enum hv_vss_dop op)
{
	return op < ARRAY_SIZE(hv_vss_dop_names) ? hv_vss_dop_names[op] : "unknown";
}

const char *hv_vss_result_name(enum hv_vss_result res)
{
	return res < ARRAY_SIZE(hv_vss_result_names) ?
	       hv_vss_result_names[res] : "unknown";
}

static enum hv_vss_dop hv_vss_dop_of(u8 operation)
{
	switch (operation) {
	case VSS_OP_FREEZE:
		return HV_VSS_DOP_FREEZE;
	case VSS_OP_THAW:
		return HV_VSS_DOP_THAW;
	case VSS_OP_HOT_BACKUP:
		return HV_VSS_DOP_HOT_BACKUP;
	default:
		return HV_VSS_DOP_NONE;
	}
}

static unsigned long hv_vss_timeout_jiffies(enum hv_vss_dop op)
{
	unsigned int secs;

	switch (op) {
	case HV_VSS_DOP_FREEZE:
		secs = READ_ONCE(freeze_timeout);
		break;
	case HV_VSS_DOP_THAW:
		secs = READ_ONCE(thaw_timeout);
		break;
	default:
		secs = READ_ONCE(hot_backup_timeout);
		break;
	}
	return msecs_to_jiffies(secs * MSEC_PER_SEC);
}

void hv_vss_set_state(struct hv_vss_channel *ch, enum hv_vss_state state)
{
	lockdep_assert_held(&ch->lock);
	if (ch->state != state)
		pr_debug("state %s -> %s\n", hv_vss_state_name(ch->state),
			 hv_vss_state_name(state));
	ch->state = state;
}

bool hv_vss_pending(const struct hv_vss_channel *ch)
{
	return ch->state == HV_VSS_QUEUED || ch->state == HV_VSS_DAEMON_BUSY;
}

static void hv_vss_release_kref(struct kref *kref)
{
	struct hv_vss_channel *ch = container_of(kref, struct hv_vss_channel, kref);

	kfree(ch->txn_buf);
	kfree(ch);
}

void hv_vss_get(struct hv_vss_channel *ch)
{
	kref_get(&ch->kref);
}

void hv_vss_put(struct hv_vss_channel *ch)
{
	kref_put(&ch->kref, hv_vss_release_kref);
}

/* Send the packet in the transaction buffer back to the host. */
static void hv_vss_send(struct hv_vss_channel *ch)
{
	int ret;

	ret = ch->ops->send(ch->ctx, ch->txn_id, ch->txn_buf, ch->txn_len);
	if (ret)
		dev_warn_ratelimited(ch->parent,
				     "cannot send the reply to host request %llu (error %d); the host sees no answer to it\n",
				     ch->txn_id, ret);
}

void hv_vss_inbox_put(struct hv_vss_channel *ch, const void *msg, size_t len)
{
	if (WARN_ON_ONCE(len > sizeof(ch->inbox)))
		return;
	memcpy(ch->inbox, msg, len);
	ch->inbox_len = len;
	ch->inbox_seq++;
	wake_up_interruptible(&ch->wq);
}

void hv_vss_inbox_clear(struct hv_vss_channel *ch)
{
	ch->inbox_len = 0;
	ch->inbox_seq++;
}

static void hv_vss_record(struct hv_vss_channel *ch, enum hv_vss_dop op,
			  enum hv_vss_result res, s64 duration_us)
{
	ch->last_op = op;
	ch->last_result = res;
	ch->last_duration_us = duration_us;
	ch->stats[HV_VSS_OP_STAT(op, res)]++;
}

void hv_vss_txn_end(struct hv_vss_channel *ch, enum hv_vss_result res)
{
	lockdep_assert_held(&ch->lock);
	if (WARN_ON_ONCE(!hv_vss_pending(ch) || ch->gone))
		return;
	cancel_delayed_work(&ch->timeout_work);
	hv_vss_inbox_clear(ch);
	hvvss_proto_finish_daemon_op(ch->txn_buf, ch->txn_len,
				     res == HV_VSS_RES_OK);
	hv_vss_send(ch);
	hv_vss_record(ch, ch->txn_op, res,
		      ktime_us_delta(ktime_get(), ch->txn_start));
	hv_vss_set_state(ch, res == HV_VSS_RES_DAEMON_GONE ?
			 HV_VSS_NO_DAEMON : HV_VSS_READY);
	ch->ops->kick(ch->ctx);
}

static void hv_vss_timeout_fn(struct work_struct *work)
{
	struct hv_vss_channel *ch = container_of(to_delayed_work(work),
						 struct hv_vss_channel,
						 timeout_work);
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	if (!ch->gone && hv_vss_pending(ch) &&
	    !time_before(jiffies, ch->txn_deadline)) {
		dev_warn(ch->parent,
			 "daemon (pid %d) did not answer %s in time; answered the host HV_E_FAIL (raise %s_timeout if the daemon needs longer)\n",
			 ch->daemon_pid, hv_vss_dop_name(ch->txn_op),
			 hv_vss_dop_name(ch->txn_op));
		hv_vss_txn_end(ch, HV_VSS_RES_TIMEOUT);
	}
	spin_unlock_irqrestore(&ch->lock, flags);
}

/* A FREEZE, THAW or HOT_BACKUP from the host: queue it for the daemon. */
static void hv_vss_txn_start(struct hv_vss_channel *ch, u8 operation)
{
	enum hv_vss_dop op = hv_vss_dop_of(operation);
	struct hv_vss_msg msg = {};
	unsigned long timeout;

	if (WARN_ON_ONCE(op == HV_VSS_DOP_NONE)) {
		hvvss_proto_set_status(ch->txn_buf, ch->txn_len, HVVSS_E_FAIL);
		hv_vss_send(ch);
		return;
	}
	if (ch->state != HV_VSS_READY) {
		dev_warn_ratelimited(ch->parent,
				     "host asked for %s but no daemon is registered on /dev/vmbus/hv_vss; answered HV_E_FAIL (start hvvssd or hv_vss_daemon)\n",
				     hv_vss_dop_name(op));
		hvvss_proto_finish_daemon_op(ch->txn_buf, ch->txn_len, false);
		hv_vss_send(ch);
		hv_vss_record(ch, op, HV_VSS_RES_NO_DAEMON, 0);
		return;
	}
	ch->txn_op = op;
	ch->txn_start = ktime_get();
	timeout = hv_vss_timeout_jiffies(op);
	ch->txn_deadline = jiffies + timeout;
	msg.vss_hdr.operation = operation;
	hv_vss_inbox_put(ch, &msg, sizeof(msg));
	hv_vss_set_state(ch, HV_VSS_QUEUED);
	mod_delayed_work(system_wq, &ch->timeout_work, timeout);
}

/* The codec built a reply: note what it was, then send it. */
static void hv_vss_kernel_reply(struct hv_vss_channel *ch,
				const struct hvvss_host_msg *msg)
{
	if (msg->msgtype != HVVSS_MSGTYPE_NEGOTIATE) {
		ch->stats[HV_VSS_STAT_KERNEL_ANSWERED]++;
	} else if (msg->agreed) {
		ch->negotiated = true;
		ch->framework = msg->framework;
		ch->message = msg->message;
		ch->stats[HV_VSS_STAT_NEGOTIATE_OK]++;
	} else {
		ch->negotiated = false;
		ch->stats[HV_VSS_STAT_NEGOTIATE_FAILED]++;
		dev_warn_ratelimited(ch->parent,
				     "no common protocol version with the host (needs VSS message version 5.0, Windows Server 2012 R2 or later)\n");
	}
	hv_vss_send(ch);
}

static void hv_vss_handle(struct hv_vss_channel *ch, u64 request_id,
			  const void *pkt, u32 len)
{
	struct hvvss_host_msg msg;

	memcpy(ch->txn_buf, pkt, len);
	ch->txn_len = len;
	ch->txn_id = request_id;
	switch (hvvss_proto_handle(ch->txn_buf, len, &msg)) {
	case HVVSS_VERDICT_REPLY:
		hv_vss_kernel_reply(ch, &msg);
		break;
	case HVVSS_VERDICT_DAEMON:
		hv_vss_txn_start(ch, msg.operation);
		break;
	default:
		ch->stats[HV_VSS_STAT_DROPPED]++;
		dev_dbg_ratelimited(ch->parent,
				    "dropped host packet %llu (reason %d)\n",
				    request_id, msg.drop_reason);
		break;
	}
}

int hv_vss_channel_receive(struct hv_vss_channel *ch, u64 request_id,
			   const void *pkt, u32 len)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone) {
		ret = -ENODEV;
	} else if (hv_vss_pending(ch)) {
		ret = -EBUSY;
	} else if (len < HVVSS_HDRS_LEN || len > HVVSS_MAX_PKT_LEN) {
		ch->stats[HV_VSS_STAT_DROPPED]++;
		dev_dbg_ratelimited(ch->parent,
				    "dropped host packet %llu of %u bytes\n",
				    request_id, len);
	} else {
		hv_vss_handle(ch, request_id, pkt, len);
	}
	spin_unlock_irqrestore(&ch->lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(hv_vss_channel_receive);

static struct hv_vss_channel *hv_vss_alloc(struct device *parent,
					   const struct hv_vss_channel_ops *ops,
					   void *ctx)
{
	struct hv_vss_channel *ch;

	ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch)
		return NULL;
	ch->txn_buf = kmalloc(HVVSS_MAX_PKT_LEN, GFP_KERNEL);
	if (!ch->txn_buf) {
		kfree(ch);
		return NULL;
	}
	kref_init(&ch->kref);
	spin_lock_init(&ch->lock);
	init_waitqueue_head(&ch->wq);
	INIT_DELAYED_WORK(&ch->timeout_work, hv_vss_timeout_fn);
	ch->parent = parent;
	ch->ops = ops;
	ch->ctx = ctx;
	ch->state = HV_VSS_NO_DAEMON;
	ch->last_op = HV_VSS_DOP_NONE;
	ch->last_result = HV_VSS_RES_NONE;
	/*
	 * No parent for the misc device: its sysfs path stays
	 * /sys/devices/virtual/misc/vmbus!hv_vss as with the inbox driver,
	 * which systemd units of existing daemons name.
	 */
	ch->misc.minor = MISC_DYNAMIC_MINOR;
	ch->misc.name = "vmbus/hv_vss";
	ch->misc.fops = &hv_vss_fops;
	ch->misc.groups = hv_vss_groups;
	return ch;
}

/*
 * On Hyper-V the inbox hv_utils driver may own /dev/vmbus/hv_vss already.
 * misc_register() would then fail only after sysfs has dumped a stack for
 * the duplicate name, so look for the node first and fail cleanly.
 */
static bool hv_vss_node_taken(void)
{
	struct path path;

	if (kern_path("/sys/class/misc/vmbus!hv_vss", LOOKUP_FOLLOW, &path))
		return false;
	path_put(&path);
	return true;
}

struct hv_vss_channel *hv_vss_channel_add(struct device *parent,
					  const struct hv_vss_channel_ops *ops,
					  void *ctx)
{
	struct hv_vss_channel *ch;
	int ret;

	BUILD_BUG_ON(sizeof(struct hv_vss_msg) != HV_VSS_INBOX_MAX);
	mutex_lock(&hv_vss_current_lock);
	if (hv_vss_current) {
		dev_err(parent, "a VSS channel is already active; only one is served\n");
		ret = -EBUSY;
		goto err_unlock;
	}
	if (hv_vss_node_taken()) {
		dev_err(parent, "/dev/vmbus/hv_vss belongs to another driver (hv_utils?): unbind the VSS channel from it first (see the hyperv-vss kmod README)\n");
		ret = -EBUSY;
		goto err_unlock;
	}
	ch = hv_vss_alloc(parent, ops, ctx);
	if (!ch) {
		ret = -ENOMEM;
		goto err_unlock;
	}
	ret = misc_register(&ch->misc);
	if (ret) {
		dev_err(parent, "cannot create /dev/vmbus/hv_vss (error %d); is the inbox hv_utils VSS driver holding it? Unbind it first\n",
			ret);
		goto err_put;
	}
	hv_vss_current = ch;
	mutex_unlock(&hv_vss_current_lock);
	dev_info(parent, "VSS channel up, daemon device /dev/vmbus/hv_vss\n");
	return ch;

err_put:
	hv_vss_put(ch);
err_unlock:
	mutex_unlock(&hv_vss_current_lock);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(hv_vss_channel_add);

void hv_vss_channel_remove(struct hv_vss_channel *ch)
{
	unsigned long flags;

	mutex_lock(&hv_vss_current_lock);
	spin_lock_irqsave(&ch->lock, flags);
	if (hv_vss_pending(ch))
		dev_warn(ch->parent, "channel removed with %s pending; the request is dropped\n",
			 hv_vss_dop_name(ch->txn_op));
	ch->gone = true;
	hv_vss_inbox_clear(ch);
	hv_vss_set_state(ch, HV_VSS_NO_DAEMON);
	spin_unlock_irqrestore(&ch->lock, flags);
	/* Readers return -ENODEV, pollers see POLLHUP. */
	wake_up_interruptible_all(&ch->wq);
	cancel_delayed_work_sync(&ch->timeout_work);
	misc_deregister(&ch->misc);
	WARN_ON_ONCE(hv_vss_current != ch);
	hv_vss_current = NULL;
	mutex_unlock(&hv_vss_current_lock);
	dev_info(ch->parent, "VSS channel removed\n");
	hv_vss_put(ch);
}
EXPORT_SYMBOL_GPL(hv_vss_channel_remove);

MODULE_AUTHOR("hyperv-vss project");
MODULE_DESCRIPTION("Hyper-V VSS guest service core (/dev/vmbus/hv_vss)");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
