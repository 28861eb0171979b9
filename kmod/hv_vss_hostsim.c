// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_hostsim: a fake Hyper-V host for tests.  Loading it offers the core
 * a VSS channel as VMBus would; /dev/hv_vss_hostsim carries the packets.
 *
 * A frame in either direction is a 16-byte header { le64 request_id;
 * le32 length; le32 flags (0) } followed by one packet exactly as it travels
 * on VMBus.  write() queues one host-to-guest frame; a work item feeds the
 * queue to the core in order and stops when the core is busy with a
 * transaction, until the core kicks it.  The core's replies are queued for
 * read(), each with the request id of the request it answers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "hv_vss_core.h"
#include "hv_vss_proto.h"

#define HOSTSIM_IN_MAX	16	/* host-to-guest frames waiting for the core */
#define HOSTSIM_OUT_MAX	256	/* guest-to-host frames waiting for read() */

struct hostsim_hdr {
	__le64 request_id;
	__le32 length;
	__le32 flags;
} __packed;

struct hostsim_frame {
	struct list_head node;
	u64 request_id;
	u32 len;
	u8 pkt[];
};

/*
 * The simulator instance (one per module).  @lock protects @ch, @stopping,
 * both queues and their counts; it nests inside the core's lock (send and
 * kick run under it) and is never held while calling into the core.
 */
struct hostsim {
	struct miscdevice misc;
	/* Protects @ch, @stopping and both queues with their counts. */
	spinlock_t lock;
	struct hv_vss_channel *ch;
	bool stopping;			/* unloading: deliver nothing more */
	struct list_head in_q;		/* written by the test, for the core */
	unsigned int in_count;
	struct list_head out_q;		/* sent by the core, for read() */
	unsigned int out_count;
	wait_queue_head_t out_wq;	/* readers of out_q */
	struct work_struct deliver_work;
};

static struct hostsim hostsim;

/* The oldest host frame, or NULL when there is nothing to deliver. */
static struct hostsim_frame *hostsim_next_in(struct hostsim *hs,
					     struct hv_vss_channel **ch)
{
	struct hostsim_frame *f = NULL;
	unsigned long flags;

	spin_lock_irqsave(&hs->lock, flags);
	if (!hs->stopping && hs->ch)
		f = list_first_entry_or_null(&hs->in_q, struct hostsim_frame, node);
	*ch = hs->ch;
	spin_unlock_irqrestore(&hs->lock, flags);
	return f;
}

static void hostsim_deliver(struct work_struct *work)
{
	struct hostsim *hs = container_of(work, struct hostsim, deliver_work);
	struct hv_vss_channel *ch;
	struct hostsim_frame *f;
	unsigned long flags;

	/* Only this work item removes from in_q, so @f stays valid. */
	while ((f = hostsim_next_in(hs, &ch))) {
		if (hv_vss_channel_receive(ch, f->request_id, f->pkt, f->len))
			break;	/* busy: wait for the kick; gone: unloading */
		spin_lock_irqsave(&hs->lock, flags);
		list_del(&f->node);
		hs->in_count--;
		spin_unlock_irqrestore(&hs->lock, flags);
		kfree(f);
	}
}

static int hostsim_send(void *ctx, u64 request_id, const void *pkt, u32 len)
{
	struct hostsim *hs = ctx;
	struct hostsim_frame *f, *old = NULL;
	unsigned long flags;

	f = kmalloc(sizeof(*f) + len, GFP_ATOMIC);
	if (!f)
		return -ENOMEM;
	f->request_id = request_id;
	f->len = len;
	memcpy(f->pkt, pkt, len);
	spin_lock_irqsave(&hs->lock, flags);
	list_add_tail(&f->node, &hs->out_q);
	if (++hs->out_count > HOSTSIM_OUT_MAX) {
		old = list_first_entry(&hs->out_q, struct hostsim_frame, node);
		list_del(&old->node);
		hs->out_count--;
	}
	spin_unlock_irqrestore(&hs->lock, flags);
	if (old) {
		pr_warn_ratelimited("%d replies unread: dropped the one to request %llu; read /dev/hv_vss_hostsim\n",
				    HOSTSIM_OUT_MAX, old->request_id);
		kfree(old);
	}
	wake_up_interruptible(&hs->out_wq);
	return 0;
}

static void hostsim_kick(void *ctx)
{
	struct hostsim *hs = ctx;
	unsigned long flags;

	spin_lock_irqsave(&hs->lock, flags);
	if (!hs->stopping)
		schedule_work(&hs->deliver_work);
	spin_unlock_irqrestore(&hs->lock, flags);
}

static const struct hv_vss_channel_ops hostsim_ops = {
	.send = hostsim_send,
	.kick = hostsim_kick,
};

/* Read and check one frame from userspace; an ERR_PTR on bad input. */
static struct hostsim_frame *hostsim_frame_from_user(const char __user *buf,
						     size_t count)
{
	struct hostsim_frame *f;
	struct hostsim_hdr hdr;
	u32 len;

	if (count < sizeof(hdr))
		return ERR_PTR(-EINVAL);
	if (copy_from_user(&hdr, buf, sizeof(hdr)))
		return ERR_PTR(-EFAULT);
	len = le32_to_cpu(hdr.length);
	if (le32_to_cpu(hdr.flags) || len < HVVSS_HDRS_LEN)
		return ERR_PTR(-EINVAL);
	if (len > HVVSS_MAX_PKT_LEN)
		return ERR_PTR(-EMSGSIZE);
	if (count != sizeof(hdr) + len)
		return ERR_PTR(-EINVAL);
	f = kmalloc(sizeof(*f) + len, GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(f->pkt, buf + sizeof(hdr), len)) {
		kfree(f);
		return ERR_PTR(-EFAULT);
	}
	f->request_id = le64_to_cpu(hdr.request_id);
	f->len = len;
	return f;
}

static ssize_t hostsim_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct hostsim *hs = &hostsim;
	struct hostsim_frame *f;
	unsigned long flags;
	int ret = 0;

	f = hostsim_frame_from_user(buf, count);
	if (IS_ERR(f))
		return PTR_ERR(f);
	spin_lock_irqsave(&hs->lock, flags);
	if (hs->in_count >= HOSTSIM_IN_MAX) {
		ret = -EAGAIN;
	} else {
		list_add_tail(&f->node, &hs->in_q);
		hs->in_count++;
		if (!hs->stopping)
			schedule_work(&hs->deliver_work);
	}
	spin_unlock_irqrestore(&hs->lock, flags);
	if (ret) {
		kfree(f);
		return ret;
	}
	return count;
}

static bool hostsim_readable(struct hostsim *hs)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&hs->lock, flags);
	ret = hs->out_count;
	spin_unlock_irqrestore(&hs->lock, flags);
	return ret;
}

/* Take the oldest reply if it fits in @count bytes. */
static struct hostsim_frame *hostsim_take_out(struct hostsim *hs, size_t count)
{
	struct hostsim_frame *f;
	unsigned long flags;

	spin_lock_irqsave(&hs->lock, flags);
	f = list_first_entry_or_null(&hs->out_q, struct hostsim_frame, node);
	if (!f) {
		f = ERR_PTR(-EAGAIN);
	} else if (count < sizeof(struct hostsim_hdr) + f->len) {
		f = ERR_PTR(-EINVAL);
	} else {
		list_del(&f->node);
		hs->out_count--;
	}
	spin_unlock_irqrestore(&hs->lock, flags);
	return f;
}

static ssize_t hostsim_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct hostsim *hs = &hostsim;
	struct hostsim_frame *f;
	struct hostsim_hdr hdr;
	unsigned long flags;
	int ret;

	for (;;) {
		if ((file->f_flags & O_NONBLOCK) && !hostsim_readable(hs))
			return -EAGAIN;
		ret = wait_event_interruptible(hs->out_wq, hostsim_readable(hs));
		if (ret)
			return ret;
		f = hostsim_take_out(hs, count);
		if (!IS_ERR(f))
			break;
		if (PTR_ERR(f) != -EAGAIN)	/* another reader was faster */
			return PTR_ERR(f);
	}
	hdr.request_id = cpu_to_le64(f->request_id);
	hdr.length = cpu_to_le32(f->len);
	hdr.flags = 0;
	if (copy_to_user(buf, &hdr, sizeof(hdr)) ||
	    copy_to_user(buf + sizeof(hdr), f->pkt, f->len)) {
		/* Keep the reply for the next read. */
		spin_lock_irqsave(&hs->lock, flags);
		list_add(&f->node, &hs->out_q);
		hs->out_count++;
		spin_unlock_irqrestore(&hs->lock, flags);
		return -EFAULT;
	}
	ret = sizeof(hdr) + f->len;
	kfree(f);
	return ret;
}

static __poll_t hostsim_poll(struct file *file, poll_table *wait)
{
	struct hostsim *hs = &hostsim;
	unsigned long flags;
	__poll_t mask = 0;

	poll_wait(file, &hs->out_wq, wait);
	spin_lock_irqsave(&hs->lock, flags);
	if (hs->out_count)
		mask |= EPOLLIN | EPOLLRDNORM;
	if (hs->in_count < HOSTSIM_IN_MAX)
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_irqrestore(&hs->lock, flags);
	return mask;
}

static const struct file_operations hostsim_fops = {
	.owner = THIS_MODULE,
	.open = nonseekable_open,
	.read = hostsim_read,
	.write = hostsim_write,
	.poll = hostsim_poll,
	.llseek = noop_llseek,
};

static void hostsim_free_queue(struct list_head *q)
{
	struct hostsim_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, q, node) {
		list_del(&f->node);
		kfree(f);
	}
}

static int __init hostsim_init(void)
{
	struct hostsim *hs = &hostsim;
	struct hv_vss_channel *ch;
	unsigned long flags;
	int ret;

	spin_lock_init(&hs->lock);
	INIT_LIST_HEAD(&hs->in_q);
	INIT_LIST_HEAD(&hs->out_q);
	init_waitqueue_head(&hs->out_wq);
	INIT_WORK(&hs->deliver_work, hostsim_deliver);
	hs->misc.minor = MISC_DYNAMIC_MINOR;
	hs->misc.name = "hv_vss_hostsim";
	hs->misc.fops = &hostsim_fops;
	hs->misc.mode = 0600;
	ret = misc_register(&hs->misc);
	if (ret) {
		pr_err("cannot create /dev/hv_vss_hostsim (error %d)\n", ret);
		return ret;
	}
	ch = hv_vss_channel_add(hs->misc.this_device, &hostsim_ops, hs);
	if (IS_ERR(ch)) {
		ret = PTR_ERR(ch);
		pr_err("cannot offer the simulated VSS channel (error %d); is hv_vss_vmbus bound to a real one?\n",
		       ret);
		goto err_deregister;
	}
	spin_lock_irqsave(&hs->lock, flags);
	hs->ch = ch;
	schedule_work(&hs->deliver_work);	/* frames written meanwhile */
	spin_unlock_irqrestore(&hs->lock, flags);
	return 0;

err_deregister:
	misc_deregister(&hs->misc);
	cancel_work_sync(&hs->deliver_work);
	hostsim_free_queue(&hs->in_q);
	return ret;
}

static void __exit hostsim_exit(void)
{
	struct hostsim *hs = &hostsim;
	unsigned long flags;

	/* No kick schedules the work after this; none runs after the cancel. */
	spin_lock_irqsave(&hs->lock, flags);
	hs->stopping = true;
	spin_unlock_irqrestore(&hs->lock, flags);
	cancel_work_sync(&hs->deliver_work);
	/* The core logs on our device: remove the channel while it exists. */
	hv_vss_channel_remove(hs->ch);
	misc_deregister(&hs->misc);
	hostsim_free_queue(&hs->in_q);
	hostsim_free_queue(&hs->out_q);
}

module_init(hostsim_init);
module_exit(hostsim_exit);

MODULE_AUTHOR("hyperv-vss project");
MODULE_DESCRIPTION("Hyper-V VSS host simulator (/dev/hv_vss_hostsim) for tests");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
