// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_vmbus: the VMBus driver for the Hyper-V VSS channel; it feeds the
 * channel to hv_vss.ko.
 *
 * The channel callback (tasklet context) reads packets one by one into a
 * 16 KiB buffer and hands them to the core.  When the core is busy with a
 * transaction the packet already read is kept in the buffer, the rest stays
 * in the ring, and reading resumes from a work item when the core kicks.
 * The callback runs in direct mode (like hv_utils): in batched mode VMBus
 * would call it again and again while packets wait in the ring.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hyperv.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "hv_vss_compat.h"
#include "hv_vss_core.h"
#include "hv_vss_proto.h"

/* Room for the largest packet the core accepts, as hv_utils' 3 pages don't. */
#define HV_VSS_VMBUS_RECV_RING	VMBUS_RING_SIZE(HVVSS_MAX_PKT_LEN + HV_HYP_PAGE_SIZE)
#define HV_VSS_VMBUS_SEND_RING	VMBUS_RING_SIZE(3 * HV_HYP_PAGE_SIZE)

/*
 * One bound VSS channel.  @rx_lock serializes the receive loop (callback
 * and work) and protects @closing and the held packet; it is taken before
 * the core's lock, never inside it.
 */
struct hv_vss_vmbus {
	struct hv_device *hdev;
	struct hv_vss_channel *core;
	/* Serializes the receive loop; protects @closing and the held packet. */
	spinlock_t rx_lock;
	bool closing;		/* remove() started: read nothing more */
	bool held;		/* @buf holds a packet the core has not taken */
	u32 held_len;
	u64 held_id;
	u8 *buf;
	struct work_struct rx_work;
};

/* Read the next packet into @vv->buf unless one is held; false when none. */
static bool hv_vss_vmbus_fetch(struct hv_vss_vmbus *vv)
{
	u32 len;
	u64 id;
	int ret;

	if (vv->held)
		return true;
	ret = vmbus_recvpacket(vv->hdev->channel, vv->buf, HVVSS_MAX_PKT_LEN,
			       &len, &id);
	if (ret) {
		dev_err_ratelimited(&vv->hdev->device,
				    "cannot read a host packet (error %d, larger than %u bytes?); VSS requests stay unanswered\n",
				    ret, HVVSS_MAX_PKT_LEN);
		return false;
	}
	if (!len)
		return false;
	vv->held = true;
	vv->held_len = len;
	vv->held_id = id;
	return true;
}

static void hv_vss_vmbus_drain(struct hv_vss_vmbus *vv)
{
	unsigned long flags;

	spin_lock_irqsave(&vv->rx_lock, flags);
	while (!vv->closing && hv_vss_vmbus_fetch(vv)) {
		if (hv_vss_channel_receive(vv->core, vv->held_id, vv->buf,
					   vv->held_len) == -EBUSY)
			break;	/* resumed by kick */
		vv->held = false;
	}
	spin_unlock_irqrestore(&vv->rx_lock, flags);
}

static void hv_vss_vmbus_callback(void *ctx)
{
	hv_vss_vmbus_drain(ctx);
}

static void hv_vss_vmbus_rx_work(struct work_struct *work)
{
	hv_vss_vmbus_drain(container_of(work, struct hv_vss_vmbus, rx_work));
}

static int hv_vss_vmbus_send(void *ctx, u64 request_id, const void *pkt,
			     u32 len)
{
	struct hv_vss_vmbus *vv = ctx;

	return vmbus_sendpacket(vv->hdev->channel, (void *)pkt, len, request_id,
				VM_PKT_DATA_INBAND, 0);
}

static void hv_vss_vmbus_kick(void *ctx)
{
	struct hv_vss_vmbus *vv = ctx;

	schedule_work(&vv->rx_work);
}

static const struct hv_vss_channel_ops hv_vss_vmbus_ops = {
	.send = hv_vss_vmbus_send,
	.kick = hv_vss_vmbus_kick,
};

static int hv_vss_vmbus_probe(struct hv_device *hdev,
			      const struct hv_vmbus_device_id *id)
{
	struct hv_vss_vmbus *vv;
	int ret;

	vv = kzalloc(sizeof(*vv), GFP_KERNEL);
	if (!vv)
		return -ENOMEM;
	vv->buf = kmalloc(HVVSS_MAX_PKT_LEN, GFP_KERNEL);
	if (!vv->buf) {
		ret = -ENOMEM;
		goto err_free_vv;
	}
	vv->hdev = hdev;
	spin_lock_init(&vv->rx_lock);
	INIT_WORK(&vv->rx_work, hv_vss_vmbus_rx_work);
	hv_set_drvdata(hdev, vv);

	/* The core must exist before the first packet can arrive. */
	vv->core = hv_vss_channel_add(&hdev->device, &hv_vss_vmbus_ops, vv);
	if (IS_ERR(vv->core)) {
		ret = PTR_ERR(vv->core);
		goto err_free_buf;
	}
	set_channel_read_mode(hdev->channel, HV_CALL_DIRECT);
	ret = vmbus_open(hdev->channel, HV_VSS_VMBUS_SEND_RING,
			 HV_VSS_VMBUS_RECV_RING, NULL, 0,
			 hv_vss_vmbus_callback, vv);
	if (ret) {
		dev_err(&hdev->device, "cannot open the VSS channel (error %d)\n",
			ret);
		goto err_remove_core;
	}
	return 0;

err_remove_core:
	hv_vss_channel_remove(vv->core);
err_free_buf:
	kfree(vv->buf);
err_free_vv:
	kfree(vv);
	return ret;
}

static HV_VSS_REMOVE_RET hv_vss_vmbus_remove(struct hv_device *hdev)
{
	struct hv_vss_vmbus *vv = hv_get_drvdata(hdev);
	unsigned long flags;

	/* Stop feeding the core; a running drain finishes first. */
	spin_lock_irqsave(&vv->rx_lock, flags);
	vv->closing = true;
	spin_unlock_irqrestore(&vv->rx_lock, flags);
	/* No send() or kick() after this, so the channel can close. */
	hv_vss_channel_remove(vv->core);
	vmbus_close(hdev->channel);
	cancel_work_sync(&vv->rx_work);
	kfree(vv->buf);
	kfree(vv);
	return HV_VSS_REMOVE_VAL;
}

static const struct hv_vmbus_device_id hv_vss_vmbus_id_table[] = {
	{ HV_VSS_GUID, },
	{ },
};
MODULE_DEVICE_TABLE(vmbus, hv_vss_vmbus_id_table);

static struct hv_driver hv_vss_vmbus_driver = {
	.name = "hv_vss_vmbus",
	.id_table = hv_vss_vmbus_id_table,
	.probe = hv_vss_vmbus_probe,
	.remove = hv_vss_vmbus_remove,
	.driver = {
		.probe_type = PROBE_PREFER_ASYNCHRONOUS,
	},
};

static int __init hv_vss_vmbus_init(void)
{
	return vmbus_driver_register(&hv_vss_vmbus_driver);
}

static void __exit hv_vss_vmbus_exit(void)
{
	vmbus_driver_unregister(&hv_vss_vmbus_driver);
}

module_init(hv_vss_vmbus_init);
module_exit(hv_vss_vmbus_exit);

MODULE_AUTHOR("hyperv-vss project");
MODULE_DESCRIPTION("Hyper-V VSS channel driver for hv_vss");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
