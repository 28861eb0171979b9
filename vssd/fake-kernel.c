/*
 * fake-kernel: a unix SOCK_SEQPACKET listener that behaves like the kernel end
 * of /dev/vmbus/hv_vss: one message per read/write, REGISTER1 answered with the
 * 4-byte ABI version, requests as 12-byte struct hv_vss_msg. Single-threaded:
 * the daemon side may connect and write before the fake accepts (the listen
 * backlog holds it), so a test can drive both ends from one thread.
 * What a socket cannot do: make a late write() fail with EINVAL.
 */

#include <errno.h>
#include <linux/hyperv.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake-kernel.h"

struct FakeKernel {
        char *path;
        int listen_fd;
        int conn_fd;
};

int fake_kernel_new(FakeKernel **ret, const char *socket_path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        FakeKernel *fk;

        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);

        fk = calloc(1, sizeof(*fk));
        if (!fk)
                return -ENOMEM;
        fk->listen_fd = -1;
        fk->conn_fd = -1;
        fk->path = strdup(socket_path);
        if (!fk->path) {
                free(fk);
                return -ENOMEM;
        }

        if (lstat(socket_path, &st) == 0 && S_ISSOCK(st.st_mode))
                unlink(socket_path);

        fk->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fk->listen_fd < 0 ||
            bind(fk->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(fk->listen_fd, 4) < 0) {
                int r = -errno;

                if (fk->listen_fd >= 0)
                        close(fk->listen_fd);
                free(fk->path);
                free(fk);
                return r;
        }

        *ret = fk;
        return 0;
}

FakeKernel *fake_kernel_free(FakeKernel *fk)
{
        if (!fk)
                return NULL;
        if (fk->conn_fd >= 0)
                close(fk->conn_fd);
        if (fk->listen_fd >= 0) {
                close(fk->listen_fd);
                unlink(fk->path);
        }
        free(fk->path);
        free(fk);
        return NULL;
}

const char *fake_kernel_get_path(const FakeKernel *fk)
{
        return fk->path;
}

bool fake_kernel_is_connected(const FakeKernel *fk)
{
        return fk->conn_fd >= 0;
}

void fake_kernel_disconnect(FakeKernel *fk)
{
        if (fk->conn_fd >= 0) {
                close(fk->conn_fd);
                fk->conn_fd = -1;
        }
}

static int wait_readable(int fd, int timeout_ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        if (r == 0)
                return -ETIMEDOUT;
        return 0;
}

int fake_kernel_accept(FakeKernel *fk, int timeout_ms)
{
        int r, fd;

        if (fk->conn_fd >= 0)
                return -EISCONN;
        r = wait_readable(fk->listen_fd, timeout_ms);
        if (r < 0)
                return r;
        fd = accept4(fk->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        fk->conn_fd = fd;
        return 0;
}

/* Reads one message of up to size bytes; 0, -ETIMEDOUT, FAKE_KERNEL_E_CLOSED or -errno. */
static int recv_msg(FakeKernel *fk, void *buf, size_t size, int timeout_ms, size_t *ret_len)
{
        ssize_t n;
        int r;

        if (fk->conn_fd < 0)
                return -ENOTCONN;
        r = wait_readable(fk->conn_fd, timeout_ms);
        if (r < 0)
                return r;
        do
                n = recv(fk->conn_fd, buf, size, MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
                if (errno == EAGAIN)
                        return -ETIMEDOUT;
                if (errno == ECONNRESET)
                        return FAKE_KERNEL_E_CLOSED;
                return -errno;
        }
        if (n == 0)
                return FAKE_KERNEL_E_CLOSED;
        *ret_len = (size_t)n;
        return 0;
}

int fake_kernel_accept_register(FakeKernel *fk, int timeout_ms)
{
        uint32_t version = VSS_OP_REGISTER1;
        struct hv_vss_msg msg;
        size_t len = 0;
        int r;

        if (fk->conn_fd < 0) {
                r = fake_kernel_accept(fk, timeout_ms);
                if (r < 0)
                        return r;
        }
        r = recv_msg(fk, &msg, sizeof(msg) + 1, timeout_ms, &len);
        if (r != 0)
                return r;
        if (len != sizeof(msg) || msg.vss_hdr.operation != VSS_OP_REGISTER1)
                return FAKE_KERNEL_E_HANDSHAKE;
        return fake_kernel_send_raw(fk, &version, sizeof(version));
}

int fake_kernel_send_raw(FakeKernel *fk, const void *buf, size_t len)
{
        ssize_t n;

        if (fk->conn_fd < 0)
                return -ENOTCONN;
        do
                n = send(fk->conn_fd, buf, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EPIPE || errno == ECONNRESET ? FAKE_KERNEL_E_CLOSED : -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int fake_kernel_send_op(FakeKernel *fk, uint8_t op)
{
        struct hv_vss_msg msg;

        memset(&msg, 0, sizeof(msg));
        msg.vss_hdr.operation = op;
        return fake_kernel_send_raw(fk, &msg, sizeof(msg));
}

int fake_kernel_wait_reply(FakeKernel *fk, int timeout_ms, uint32_t *ret_status)
{
        struct hv_vss_msg msg;
        size_t len = 0;
        int r;

        r = recv_msg(fk, &msg, sizeof(msg) + 1, timeout_ms, &len);
        if (r != 0)
                return r;
        if (len != sizeof(msg))
                return FAKE_KERNEL_E_MESSAGE;
        *ret_status = (uint32_t)msg.error;
        return 0;
}
