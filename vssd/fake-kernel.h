/* fake-kernel: plays the kernel end of /dev/vmbus/hv_vss over a unix SOCK_SEQPACKET socket, for tests. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct FakeKernel FakeKernel;

/* Positive results; negative values are -errno. */
enum {
        FAKE_KERNEL_E_CLOSED = 1,       /* the daemon closed its end */
        FAKE_KERNEL_E_HANDSHAKE,        /* the daemon's first message was not a 12-byte REGISTER1 */
        FAKE_KERNEL_E_MESSAGE,          /* a reply that was not 12 bytes */
};

/* Binds and listens on socket_path (an existing socket file there is replaced). */
int fake_kernel_new(FakeKernel **ret, const char *socket_path);
/* Closes both ends and removes the socket file. */
FakeKernel *fake_kernel_free(FakeKernel *fk);

static inline void fake_kernel_freep(FakeKernel **fk)
{
        fake_kernel_free(*fk);
}
#define _cleanup_fake_kernel_ __attribute__((cleanup(fake_kernel_freep)))

const char *fake_kernel_get_path(const FakeKernel *fk);
bool fake_kernel_is_connected(const FakeKernel *fk);

/* Accepts the daemon (up to timeout_ms) without any handshake. */
int fake_kernel_accept(FakeKernel *fk, int timeout_ms);

/*
 * Accepts the daemon if not yet connected, reads its REGISTER1 and answers the
 * 4-byte ABI version 129. Returns 0, -ETIMEDOUT, FAKE_KERNEL_E_HANDSHAKE,
 * FAKE_KERNEL_E_CLOSED or -errno.
 */
int fake_kernel_accept_register(FakeKernel *fk, int timeout_ms);

/* Queues a request: a zeroed 12-byte struct hv_vss_msg with only operation set. */
int fake_kernel_send_op(FakeKernel *fk, uint8_t op);
/* Sends arbitrary bytes as one message (malformed-message tests). */
int fake_kernel_send_raw(FakeKernel *fk, const void *buf, size_t len);

/*
 * Waits up to timeout_ms for the daemon's 12-byte reply; returns 0 and its
 * error word (HV_S_OK, HV_E_FAIL), -ETIMEDOUT, FAKE_KERNEL_E_CLOSED,
 * FAKE_KERNEL_E_MESSAGE or -errno.
 */
int fake_kernel_wait_reply(FakeKernel *fk, int timeout_ms, uint32_t *ret_status);

/* Closes the connection (as a rescinded channel would); keeps listening for a reconnect. */
void fake_kernel_disconnect(FakeKernel *fk);
