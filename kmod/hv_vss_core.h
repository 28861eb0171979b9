/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hv_vss_core: the guest VSS service behind /dev/vmbus/hv_vss, fed by one
 * channel provider (the VMBus binding on Hyper-V, the host simulator in
 * tests).
 *
 * A provider hands every host packet to hv_vss_channel_receive() and sends
 * what the core gives to ops->send().  Only one transaction is in flight:
 * while one is pending, receive() returns -EBUSY without consuming the
 * packet, and the provider keeps it (in the VMBus ring, in the simulator's
 * queue) until ops->kick() says the core can take another.
 */
#ifndef HV_VSS_CORE_H
#define HV_VSS_CORE_H

#include <linux/device.h>
#include <linux/types.h>

struct hv_vss_channel;

struct hv_vss_channel_ops {
	/*
	 * Send one packet to the host with the request id it came with.
	 * Called with the core's spinlock held, possibly in atomic context:
	 * must not sleep.
	 */
	int (*send)(void *ctx, u64 request_id, const void *pkt, u32 len);
	/*
	 * The pending transaction is over: call receive() again for any
	 * packet left waiting.  Atomic context, core lock held: schedule
	 * work, do not call receive() from here.
	 */
	void (*kick)(void *ctx);
};

/*
 * Offer a VSS channel: creates /dev/vmbus/hv_vss.  Only one channel exists
 * at a time (-EBUSY otherwise).  Returns an ERR_PTR on failure.
 */
struct hv_vss_channel *hv_vss_channel_add(struct device *parent,
					  const struct hv_vss_channel_ops *ops,
					  void *ctx);

/*
 * Rescind the channel: a pending transaction is dropped (the host is gone),
 * the device node disappears, an open daemon sees POLLHUP and -ENODEV.
 * After this returns the core never calls ops again.  May sleep.
 */
void hv_vss_channel_remove(struct hv_vss_channel *ch);

/*
 * One packet from the host.  Returns 0 when consumed (answered, dropped or
 * handed to the daemon), -EBUSY when a transaction is pending (retry after
 * kick), -ENODEV after remove.  Callable in atomic context.
 */
int hv_vss_channel_receive(struct hv_vss_channel *ch, u64 request_id,
			   const void *pkt, u32 len);

#endif /* HV_VSS_CORE_H */
