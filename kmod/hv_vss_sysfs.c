// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv_vss_sysfs: state and counters of the VSS channel, as read-only
 * attributes of /sys/class/misc/vmbus!hv_vss (one value per file).
 * Tests and hvvssctl rely on these names.  Every show function prints from
 * a snapshot taken under the instance lock, so no value is torn.
 */
#include <linux/device.h>

#include "hv_vss_compat.h"
#include "hv_vss_core_internal.h"

/* What the attributes print, copied under the lock. */
struct hv_vss_snap {
	enum hv_vss_state state;
	enum hv_vss_dop in_flight;
	bool negotiated;
	struct hvvss_version framework;
	struct hvvss_version message;
	pid_t daemon_pid;
	u32 daemon_abi;
	enum hv_vss_dop last_op;
	enum hv_vss_result last_result;
	s64 last_duration_us;
	u64 stats[HV_VSS_STAT_COUNT];
};

static void hv_vss_snap(struct device *dev, struct hv_vss_snap *s)
{
	struct hv_vss_channel *ch = hv_vss_from_dev(dev);
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	s->state = ch->state;
	s->in_flight = hv_vss_pending(ch) ? ch->txn_op : HV_VSS_DOP_NONE;
	s->negotiated = ch->negotiated;
	s->framework = ch->framework;
	s->message = ch->message;
	s->daemon_pid = ch->daemon_pid;
	s->daemon_abi = ch->daemon_abi;
	s->last_op = ch->last_op;
	s->last_result = ch->last_result;
	s->last_duration_us = ch->last_duration_us;
	memcpy(s->stats, ch->stats, sizeof(s->stats));
	spin_unlock_irqrestore(&ch->lock, flags);
}

/*
 * NAME_show prints FMT of EXPR, an expression over the snapshot s; one
 * definition for the attributes that print one field of it.
 */
#define HV_VSS_SNAP_ATTR(_name, _fmt, _expr)				\
static ssize_t _name##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct hv_vss_snap s;						\
									\
	hv_vss_snap(dev, &s);						\
	return hv_vss_emit(buf, _fmt "\n", _expr);			\
}									\
static DEVICE_ATTR_RO(_name)

HV_VSS_SNAP_ATTR(state, "%s", hv_vss_state_name(s.state));
HV_VSS_SNAP_ATTR(in_flight, "%s", hv_vss_dop_name(s.in_flight));

static ssize_t hv_vss_version_show(struct device *dev, bool framework,
				   char *buf)
{
	struct hvvss_version v;
	struct hv_vss_snap s;

	hv_vss_snap(dev, &s);
	if (!s.negotiated)
		return hv_vss_emit(buf, "none\n");
	v = framework ? s.framework : s.message;
	return hv_vss_emit(buf, "%u.%u\n", v.major, v.minor);
}

static ssize_t framework_version_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return hv_vss_version_show(dev, true, buf);
}
static DEVICE_ATTR_RO(framework_version);

static ssize_t message_version_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	return hv_vss_version_show(dev, false, buf);
}
static DEVICE_ATTR_RO(message_version);

HV_VSS_SNAP_ATTR(daemon_registered, "%d", s.state >= HV_VSS_READY);
HV_VSS_SNAP_ATTR(daemon_pid, "%d", s.daemon_pid);
HV_VSS_SNAP_ATTR(daemon_abi, "%u", s.daemon_abi);
HV_VSS_SNAP_ATTR(last_operation, "%s", hv_vss_dop_name(s.last_op));
HV_VSS_SNAP_ATTR(last_result, "%s", hv_vss_result_name(s.last_result));
HV_VSS_SNAP_ATTR(last_duration_us, "%lld", (long long)s.last_duration_us);

static struct attribute *hv_vss_attrs[] = {
	&dev_attr_state.attr,
	&dev_attr_in_flight.attr,
	&dev_attr_framework_version.attr,
	&dev_attr_message_version.attr,
	&dev_attr_daemon_registered.attr,
	&dev_attr_daemon_pid.attr,
	&dev_attr_daemon_abi.attr,
	&dev_attr_last_operation.attr,
	&dev_attr_last_result.attr,
	&dev_attr_last_duration_us.attr,
	NULL,
};

static const struct attribute_group hv_vss_group = {
	.attrs = hv_vss_attrs,
};

/* stats/: one counter per file, the index into hv_vss_channel.stats. */
struct hv_vss_stat_attr {
	struct device_attribute attr;
	unsigned int index;
};

static ssize_t hv_vss_stat_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct hv_vss_stat_attr *sa = container_of(attr, struct hv_vss_stat_attr,
						   attr);
	struct hv_vss_snap s;

	hv_vss_snap(dev, &s);
	return hv_vss_emit(buf, "%llu\n", (unsigned long long)s.stats[sa->index]);
}

#define HV_VSS_STAT(_name, _index)					\
	static struct hv_vss_stat_attr hv_vss_stat_##_name = {		\
		.attr = __ATTR(_name, 0444, hv_vss_stat_show, NULL),	\
		.index = (_index),					\
	}

HV_VSS_STAT(freeze_ok, HV_VSS_OP_STAT(HV_VSS_DOP_FREEZE, HV_VSS_RES_OK));
HV_VSS_STAT(freeze_fail, HV_VSS_OP_STAT(HV_VSS_DOP_FREEZE, HV_VSS_RES_FAIL));
HV_VSS_STAT(freeze_timeout, HV_VSS_OP_STAT(HV_VSS_DOP_FREEZE, HV_VSS_RES_TIMEOUT));
HV_VSS_STAT(freeze_no_daemon, HV_VSS_OP_STAT(HV_VSS_DOP_FREEZE, HV_VSS_RES_NO_DAEMON));
HV_VSS_STAT(freeze_daemon_gone, HV_VSS_OP_STAT(HV_VSS_DOP_FREEZE, HV_VSS_RES_DAEMON_GONE));
HV_VSS_STAT(thaw_ok, HV_VSS_OP_STAT(HV_VSS_DOP_THAW, HV_VSS_RES_OK));
HV_VSS_STAT(thaw_fail, HV_VSS_OP_STAT(HV_VSS_DOP_THAW, HV_VSS_RES_FAIL));
HV_VSS_STAT(thaw_timeout, HV_VSS_OP_STAT(HV_VSS_DOP_THAW, HV_VSS_RES_TIMEOUT));
HV_VSS_STAT(thaw_no_daemon, HV_VSS_OP_STAT(HV_VSS_DOP_THAW, HV_VSS_RES_NO_DAEMON));
HV_VSS_STAT(thaw_daemon_gone, HV_VSS_OP_STAT(HV_VSS_DOP_THAW, HV_VSS_RES_DAEMON_GONE));
HV_VSS_STAT(hot_backup_ok, HV_VSS_OP_STAT(HV_VSS_DOP_HOT_BACKUP, HV_VSS_RES_OK));
HV_VSS_STAT(hot_backup_fail, HV_VSS_OP_STAT(HV_VSS_DOP_HOT_BACKUP, HV_VSS_RES_FAIL));
HV_VSS_STAT(hot_backup_timeout, HV_VSS_OP_STAT(HV_VSS_DOP_HOT_BACKUP, HV_VSS_RES_TIMEOUT));
HV_VSS_STAT(hot_backup_no_daemon, HV_VSS_OP_STAT(HV_VSS_DOP_HOT_BACKUP, HV_VSS_RES_NO_DAEMON));
HV_VSS_STAT(hot_backup_daemon_gone, HV_VSS_OP_STAT(HV_VSS_DOP_HOT_BACKUP, HV_VSS_RES_DAEMON_GONE));
HV_VSS_STAT(negotiate_ok, HV_VSS_STAT_NEGOTIATE_OK);
HV_VSS_STAT(negotiate_failed, HV_VSS_STAT_NEGOTIATE_FAILED);
HV_VSS_STAT(kernel_answered, HV_VSS_STAT_KERNEL_ANSWERED);
HV_VSS_STAT(dropped, HV_VSS_STAT_DROPPED);

static struct attribute *hv_vss_stat_attrs[] = {
	&hv_vss_stat_freeze_ok.attr.attr,
	&hv_vss_stat_freeze_fail.attr.attr,
	&hv_vss_stat_freeze_timeout.attr.attr,
	&hv_vss_stat_freeze_no_daemon.attr.attr,
	&hv_vss_stat_freeze_daemon_gone.attr.attr,
	&hv_vss_stat_thaw_ok.attr.attr,
	&hv_vss_stat_thaw_fail.attr.attr,
	&hv_vss_stat_thaw_timeout.attr.attr,
	&hv_vss_stat_thaw_no_daemon.attr.attr,
	&hv_vss_stat_thaw_daemon_gone.attr.attr,
	&hv_vss_stat_hot_backup_ok.attr.attr,
	&hv_vss_stat_hot_backup_fail.attr.attr,
	&hv_vss_stat_hot_backup_timeout.attr.attr,
	&hv_vss_stat_hot_backup_no_daemon.attr.attr,
	&hv_vss_stat_hot_backup_daemon_gone.attr.attr,
	&hv_vss_stat_negotiate_ok.attr.attr,
	&hv_vss_stat_negotiate_failed.attr.attr,
	&hv_vss_stat_kernel_answered.attr.attr,
	&hv_vss_stat_dropped.attr.attr,
	NULL,
};

static const struct attribute_group hv_vss_stats_group = {
	.name = "stats",
	.attrs = hv_vss_stat_attrs,
};

const struct attribute_group *hv_vss_groups[] = {
	&hv_vss_group,
	&hv_vss_stats_group,
	NULL,
};
