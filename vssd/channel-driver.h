/* channel-driver: which kernel driver owns the Hyper-V VSS channel, and the versions it negotiated. */
#pragma once

#include <stdbool.h>

#define CHANNEL_DRIVER_VSS_CLASS_ID "{35fa2e29-ea23-4236-96ae-3a6ebacba440}"

typedef enum ChannelDriver {
        CHANNEL_DRIVER_NONE,            /* no driver holds a VSS channel (not on Hyper-V, or unbound) */
        CHANNEL_DRIVER_HV_VSS,          /* ours: hv_vss.ko */
        CHANNEL_DRIVER_HV_UTILS,        /* the inbox hv_utils driver */
} ChannelDriver;

typedef struct ChannelDriverInfo {
        ChannelDriver driver;
        bool ours_loaded;               /* /sys/module/hv_vss exists */
        bool inbox_has_channel;         /* hv_utils is bound to a device of the VSS class */
        char *framework_version;        /* ours only, "3.0"; NULL if unknown or not negotiated */
        char *message_version;          /* ours only, "5.0"; NULL likewise */
} ChannelDriverInfo;

/*
 * Reads the facts under sysfs_root (NULL: "/sys"): ours when
 * class/misc/vmbus!hv_vss/state exists, or module/hv_vss is loaded and
 * hv_utils holds no VSS device; the inbox hv_utils when
 * bus/vmbus/drivers/hv_utils has a device whose class_id is the VSS
 * class; none otherwise. Missing files are not errors.
 * Returns 0 or -ENOMEM; on success the caller clears *ret.
 */
int channel_driver_detect(const char *sysfs_root, ChannelDriverInfo *ret);
void channel_driver_info_clear(ChannelDriverInfo *info);

/* "hv_vss", "hv_utils", "none": the GetStatus channel_driver values. */
const char *channel_driver_to_string(ChannelDriver d);
