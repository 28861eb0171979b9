/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vss-host: the frame format of /dev/hv_vss_hostsim and the checks of its
 * write()/read() contract, shared by the vss-host tool's source files.
 */
#ifndef VSS_HOST_H
#define VSS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "hv_vss_proto.h"

#define VSS_HOSTSIM_DEV		"/dev/hv_vss_hostsim"

/* Frame header: { u64 request_id; u32 length; u32 flags (0) }, LE. */
#define VSS_FRAME_HDR_LEN	16

static inline void vss_frame_hdr_put(u8 *buf, u64 reqid, u32 len)
{
	hvvss_put_le32(buf, (u32)reqid);
	hvvss_put_le32(buf + 4, (u32)(reqid >> 32));
	hvvss_put_le32(buf + 8, len);
	hvvss_put_le32(buf + 12, 0);
}

/*
 * Validate a frame read from the simulator: header present, length field
 * equal to the bytes that follow.  Returns 0 and the fields, or -1 with a
 * message on stderr (the simulator broke its contract).
 */
int vss_frame_check(const u8 *buf, size_t n, u64 *ret_reqid, u32 *ret_len);

/*
 * Check the simulator's write()/read() error contract on @fd and print one
 * "check ok|FAILED: ..." line per check.  With @fill, a transaction must
 * be pending: frames are queued until EAGAIN (request ids @base_reqid + 1
 * upwards), and exactly 16 must fit.  Returns an exit status of vss-host.
 */
int vss_host_write_errors(int fd, const char *dev, u64 base_reqid, bool fill);

#endif /* VSS_HOST_H */
