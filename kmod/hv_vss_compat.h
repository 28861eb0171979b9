/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hv_vss_compat: the one place for kernel API differences between the
 * kernels the DKMS package supports (4.18 to 6.12), keyed on
 * LINUX_VERSION_CODE or on the macro a newer kernel added.
 */
#ifndef HV_VSS_COMPAT_H
#define HV_VSS_COMPAT_H

#include <linux/hyperv.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sysfs.h>
#include <linux/version.h>

/*
 * sysfs_emit() arrived in 5.10.  A name of our own, so a distro kernel that
 * backported it (RHEL 8) does not see its declaration redefined.
 */
#if KERNEL_VERSION(5, 10, 0) <= LINUX_VERSION_CODE
#define hv_vss_emit(buf, fmt, ...)	sysfs_emit(buf, fmt, ##__VA_ARGS__)
#else
#define hv_vss_emit(buf, fmt, ...)	scnprintf(buf, PAGE_SIZE, fmt, ##__VA_ARGS__)
#endif

/* Hyper-V's page size has its own name since 5.8. */
#ifndef HV_HYP_PAGE_SIZE
#define HV_HYP_PAGE_SIZE	4096
#endif

/*
 * VMBUS_RING_SIZE() (5.11) adds the ring header page to the payload size;
 * older kernels took the plain size, header page included.
 */
#ifndef VMBUS_RING_SIZE
#define VMBUS_RING_SIZE(payload)	PAGE_ALIGN(PAGE_SIZE + (payload))
#endif

/*
 * hv_driver.remove returns void since 6.3: declare it with
 * HV_VSS_REMOVE_RET and end it with "return HV_VSS_REMOVE_VAL;".
 */
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
#define HV_VSS_REMOVE_RET	void
#define HV_VSS_REMOVE_VAL
#else
#define HV_VSS_REMOVE_RET	int
#define HV_VSS_REMOVE_VAL	0
#endif

#endif /* HV_VSS_COMPAT_H */
