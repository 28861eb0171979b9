/* hostsim: test-freeze --kernel, a Hyper-V host backup played through the kernel's host simulator device. */
#pragma once

struct hvvssctl;

/*
 * Negotiates, sends HOT_BACKUP, a full-size FREEZE, holds, sends THAW on
 * ctl->hostsim, reports every reply and its timing, then shows the
 * daemon's history entry for the backup. Returns 0 if every reply was
 * HV_S_OK, HVVSSCTL_R_FAILED if one was not (or none came), or -errno.
 */
int hostsim_run(struct hvvssctl *ctl);
