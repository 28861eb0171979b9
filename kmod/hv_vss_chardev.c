// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_chardev: /dev/vmbus/hv_vss, the daemon's end, with the inbox
 * driver's ABI (struct hv_vss_msg from <linux/hyperv.h>).
 *
 * read() hands out the inbox (a request, or the REGISTER1 reply) and only
 * then moves the protocol on; copy_to_user() runs without the lock, so the
 * inbox sequence number tells whether the message was withdrawn (timeout)
 * in the meantime, in which case the read waits for the next one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/hyperv.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "hv_vss_compat.h"
#include "hv_vss_core_internal.h"

static struct device *hv_vss_cdev(struct hv_vss_channel *ch)
{
	return ch->misc.this_device;
}

static int hv_vss_open(struct inode *inode, struct file *file)
{
	struct hv_vss_channel *ch = container_of(file->private_data,
						 struct hv_vss_channel, misc);
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone) {
		ret = -ENODEV;
	} else if (ch->opened) {
		ret = -EBUSY;
	} else {
		ch->opened = true;
		hv_vss_get(ch);
	}
	spin_unlock_irqrestore(&ch->lock, flags);
	if (ret)
		return ret;
	file->private_data = ch;
	return nonseekable_open(inode, file);
}

/* The daemon closed the device or died: reset the protocol. */
static void hv_vss_daemon_gone(struct hv_vss_channel *ch)
{
	if (hv_vss_pending(ch)) {
		dev_warn(hv_vss_cdev(ch),
			 "daemon (pid %d) closed the device with %s pending; answered the host HV_E_FAIL\n",
			 ch->daemon_pid, hv_vss_dop_name(ch->txn_op));
		hv_vss_txn_end(ch, HV_VSS_RES_DAEMON_GONE);
	} else {
		hv_vss_inbox_clear(ch);
		hv_vss_set_state(ch, HV_VSS_NO_DAEMON);
	}
	if (ch->daemon_pid)
		dev_info(hv_vss_cdev(ch), "daemon (pid %d) unregistered\n",
			 ch->daemon_pid);
	ch->daemon_pid = 0;
	ch->daemon_abi = 0;
}

static int hv_vss_release(struct inode *inode, struct file *file)
{
	struct hv_vss_channel *ch = file->private_data;
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	ch->opened = false;
	if (!ch->gone)
		hv_vss_daemon_gone(ch);
	spin_unlock_irqrestore(&ch->lock, flags);
	hv_vss_put(ch);
	return 0;
}

static bool hv_vss_readable(struct hv_vss_channel *ch)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&ch->lock, flags);
	ret = ch->gone || ch->inbox_len;
	spin_unlock_irqrestore(&ch->lock, flags);
	return ret;
}

/* Wait for the inbox and copy it out; 0, or a negative errno. */
static int hv_vss_inbox_peek(struct hv_vss_channel *ch, bool nonblock,
			     u8 *msg, size_t *len, u64 *seq)
{
	unsigned long flags;
	int ret;

	if (nonblock && !hv_vss_readable(ch))
		return -EAGAIN;
	ret = wait_event_interruptible(ch->wq, hv_vss_readable(ch));
	if (ret)
		return ret;
	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone) {
		ret = -ENODEV;
	} else if (!ch->inbox_len) {
		ret = -EAGAIN;
	} else {
		memcpy(msg, ch->inbox, ch->inbox_len);
		*len = ch->inbox_len;
		*seq = ch->inbox_seq;
	}
	spin_unlock_irqrestore(&ch->lock, flags);
	return ret;
}

/*
 * The daemon has the message: empty the inbox and move the protocol on.
 * -EAGAIN when the message was withdrawn or replaced meanwhile.
 */
static int hv_vss_inbox_take(struct hv_vss_channel *ch, u64 seq)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone) {
		ret = -ENODEV;
	} else if (!ch->inbox_len || ch->inbox_seq != seq) {
		ret = -EAGAIN;
	} else {
		hv_vss_inbox_clear(ch);
		if (ch->state == HV_VSS_REGISTERING) {
			hv_vss_set_state(ch, HV_VSS_READY);
			dev_info(hv_vss_cdev(ch), "daemon (pid %d) registered, ABI %u\n",
				 ch->daemon_pid, ch->daemon_abi);
		} else if (ch->state == HV_VSS_QUEUED) {
			hv_vss_set_state(ch, HV_VSS_DAEMON_BUSY);
		}
	}
	spin_unlock_irqrestore(&ch->lock, flags);
	return ret;
}

static ssize_t hv_vss_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct hv_vss_channel *ch = file->private_data;
	bool nonblock = file->f_flags & O_NONBLOCK;
	u8 msg[HV_VSS_INBOX_MAX];
	size_t len;
	u64 seq;
	int ret;

	do {
		ret = hv_vss_inbox_peek(ch, nonblock, msg, &len, &seq);
		if (ret == -EAGAIN && !nonblock)
			continue;
		if (ret)
			return ret;
		if (count < len)
			return -EINVAL;
		if (copy_to_user(buf, msg, len))
			return -EFAULT;
		ret = hv_vss_inbox_take(ch, seq);
	} while (ret == -EAGAIN && !nonblock);
	return ret ? ret : len;
}

static int hv_vss_register(struct hv_vss_channel *ch, u8 operation)
{
	u32 abi = operation;

	if (ch->state != HV_VSS_NO_DAEMON) {
		dev_warn_ratelimited(hv_vss_cdev(ch),
				     "pid %d: registration refused in state %s (a request is in flight or a daemon is registered on this file)\n",
				     task_tgid_nr(current),
				     hv_vss_state_name(ch->state));
		return -EINVAL;
	}
	ch->daemon_pid = task_tgid_nr(current);
	ch->daemon_abi = abi;
	if (operation == VSS_OP_REGISTER) {
		hv_vss_set_state(ch, HV_VSS_READY);
		dev_info(hv_vss_cdev(ch), "daemon (pid %d) registered, legacy ABI %u\n",
			 ch->daemon_pid, abi);
		return 0;
	}
	/* The reply is the kernel's ABI version as a native u32. */
	hv_vss_inbox_put(ch, &abi, sizeof(abi));
	hv_vss_set_state(ch, HV_VSS_REGISTERING);
	return 0;
}

static int hv_vss_daemon_reply(struct hv_vss_channel *ch, int error)
{
	if (ch->state != HV_VSS_DAEMON_BUSY) {
		dev_dbg_ratelimited(hv_vss_cdev(ch),
				    "reply in state %s refused: no request awaits one\n",
				    hv_vss_state_name(ch->state));
		return -EINVAL;
	}
	hv_vss_txn_end(ch, error == HV_S_OK ? HV_VSS_RES_OK : HV_VSS_RES_FAIL);
	return 0;
}

static ssize_t hv_vss_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct hv_vss_channel *ch = file->private_data;
	struct hv_vss_msg msg;
	unsigned long flags;
	u8 op;
	int ret;

	if (count != sizeof(msg))
		return -EINVAL;
	if (copy_from_user(&msg, buf, sizeof(msg)))
		return -EFAULT;
	op = msg.vss_hdr.operation;
	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone)
		ret = -ENODEV;
	else if (op == VSS_OP_REGISTER || op == VSS_OP_REGISTER1)
		ret = hv_vss_register(ch, op);
	else
		ret = hv_vss_daemon_reply(ch, msg.error);
	spin_unlock_irqrestore(&ch->lock, flags);
	return ret ? ret : count;
}

static __poll_t hv_vss_poll(struct file *file, poll_table *wait)
{
	struct hv_vss_channel *ch = file->private_data;
	unsigned long flags;
	__poll_t mask = 0;

	poll_wait(file, &ch->wq, wait);
	spin_lock_irqsave(&ch->lock, flags);
	if (ch->gone)
		mask = EPOLLHUP | EPOLLERR;
	else if (ch->inbox_len)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_irqrestore(&ch->lock, flags);
	return mask;
}

const struct file_operations hv_vss_fops = {
	.owner = THIS_MODULE,
	.open = hv_vss_open,
	.release = hv_vss_release,
	.read = hv_vss_read,
	.write = hv_vss_write,
	.poll = hv_vss_poll,
	.llseek = noop_llseek,
};
