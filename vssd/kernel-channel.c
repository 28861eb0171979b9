/*
 * kernel-channel: the daemon's end of /dev/vmbus/hv_vss.
 *
 * The device speaks in whole messages: one read() returns one message, one
 * write() sends one. The inbox hv_utils driver and our hv_vss module share the
 * ABI: write a 12-byte REGISTER1, read the 4-byte ABI version, then read 12-byte
 * requests (only the operation byte set) and write 12-byte answers whose first
 * word is HV_S_OK or HV_E_FAIL. A unix SOCK_SEQPACKET socket has the same
 * message semantics, so tests connect to a fake kernel instead of the device.
 *
 * Everything is driven by the owner's epoll loop: kernel_channel_dispatch()
 * reads until EAGAIN and moves a small state machine, reporting what happened
 * through one callback. Nothing here sleeps except kernel_channel_register_sync(),
 * which is for tools and tests. A broken channel stays broken (and its fd open)
 * until the owner calls kernel_channel_reopen() after the backoff it asks for.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/hyperv.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "kernel-channel.h"

#define MSG_BUF_SIZE 64

struct KernelChannel {
        char *path;
        int fd;
        KernelChannelState state;
        int error;              /* -errno that broke the channel */
        int pending_op;         /* op awaiting a reply, -1 if none */
        unsigned reopen_attempts;
        KernelChannelFn fn;
        void *userdata;
};

static int open_socket(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

static int open_channel(const char *path)
{
        struct stat st;
        int fd;

        if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
                return open_socket(path);

        fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return fd;
}

int kernel_channel_new(KernelChannel **ret, const char *path, KernelChannelFn fn, void *userdata)
{
        KernelChannel *ch;
        int fd;

        ch = calloc(1, sizeof(*ch));
        if (!ch)
                return -ENOMEM;
        ch->fd = -1;
        ch->pending_op = -1;
        ch->fn = fn;
        ch->userdata = userdata;
        ch->path = strdup(path);
        if (!ch->path) {
                kernel_channel_free(ch);
                return -ENOMEM;
        }

        fd = open_channel(path);
        if (fd < 0) {
                kernel_channel_free(ch);
                return fd;
        }
        ch->fd = fd;
        ch->state = KERNEL_CHANNEL_OPEN;

        *ret = ch;
        return 0;
}

KernelChannel *kernel_channel_free(KernelChannel *ch)
{
        if (!ch)
                return NULL;
        if (ch->fd >= 0)
                close(ch->fd);
        free(ch->path);
        free(ch);
        return NULL;
}

int kernel_channel_get_fd(const KernelChannel *ch)
{
        return ch->fd;
}

const char *kernel_channel_get_path(const KernelChannel *ch)
{
        return ch->path;
}

KernelChannelState kernel_channel_get_state(const KernelChannel *ch)
{
        return ch->state;
}

int kernel_channel_get_error(const KernelChannel *ch)
{
        return ch->state == KERNEL_CHANNEL_BROKEN ? ch->error : 0;
}

int kernel_channel_get_pending_op(const KernelChannel *ch)
{
        return ch->pending_op;
}

const char *kernel_channel_state_to_string(KernelChannelState s)
{
        static const char *const names[] = {
                [KERNEL_CHANNEL_CLOSED] = "closed",
                [KERNEL_CHANNEL_OPEN] = "open",
                [KERNEL_CHANNEL_REGISTERING] = "registering",
                [KERNEL_CHANNEL_READY] = "ready",
                [KERNEL_CHANNEL_PENDING] = "pending",
                [KERNEL_CHANNEL_BROKEN] = "broken",
        };

        if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
                return "unknown";
        return names[s];
}

static void emit(KernelChannel *ch, const KernelChannelEvent *ev)
{
        if (ch->fn)
                ch->fn(ch, ev, ch->userdata);
}

static void set_broken(KernelChannel *ch, int error)
{
        ch->state = KERNEL_CHANNEL_BROKEN;
        ch->error = error;
        ch->pending_op = -1;
}

static void break_and_emit(KernelChannel *ch, int error)
{
        KernelChannelEvent ev = { .type = KERNEL_CHANNEL_EVENT_BROKEN, .op = -1,
                                  .superseded_op = -1, .error = error };

        set_broken(ch, error);
        emit(ch, &ev);
}

/* One whole-message write; 0, -EAGAIN, or another -errno. */
static int write_msg(int fd, const void *buf, size_t len)
{
        ssize_t n;

        do
                n = write(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

static int write_status(KernelChannel *ch, uint32_t status)
{
        struct hv_vss_msg msg;

        memset(&msg, 0, sizeof(msg));
        msg.error = (int)status;
        return write_msg(ch->fd, &msg, sizeof(msg));
}

int kernel_channel_register(KernelChannel *ch)
{
        struct hv_vss_msg msg;
        int r;

        switch (ch->state) {
        case KERNEL_CHANNEL_OPEN:
                break;
        case KERNEL_CHANNEL_BROKEN:
                return KERNEL_CHANNEL_E_BROKEN;
        case KERNEL_CHANNEL_CLOSED:
                return -EBADF;
        default:
                return -EALREADY;
        }

        memset(&msg, 0, sizeof(msg));
        msg.vss_hdr.operation = VSS_OP_REGISTER1;
        r = write_msg(ch->fd, &msg, sizeof(msg));
        if (r == -EAGAIN)
                return r;
        if (r < 0) {
                set_broken(ch, r);
                return KERNEL_CHANNEL_E_BROKEN;
        }
        ch->state = KERNEL_CHANNEL_REGISTERING;
        return 0;
}

static bool is_request_op(int op)
{
        return op == VSS_OP_FREEZE || op == VSS_OP_THAW || op == VSS_OP_HOT_BACKUP;
}

/* Handles one message of len bytes; may break the channel. */
static void handle_message(KernelChannel *ch, const uint8_t *buf, size_t len)
{
        KernelChannelEvent ev = { .op = -1, .superseded_op = -1 };

        if (ch->state == KERNEL_CHANNEL_REGISTERING) {
                uint32_t version;

                if (len != sizeof(version)) {
                        break_and_emit(ch, -EPROTO);
                        return;
                }
                memcpy(&version, buf, sizeof(version));
                if (version != KERNEL_CHANNEL_ABI_VERSION) {
                        break_and_emit(ch, -EPROTO);
                        return;
                }
                ch->state = KERNEL_CHANNEL_READY;
                ch->reopen_attempts = 0;
                ev.type = KERNEL_CHANNEL_EVENT_REGISTERED;
                ev.version = version;
                emit(ch, &ev);
                return;
        }

        if ((ch->state != KERNEL_CHANNEL_READY && ch->state != KERNEL_CHANNEL_PENDING) ||
            len != sizeof(struct hv_vss_msg)) {
                break_and_emit(ch, -EPROTO);
                return;
        }

        /* Any new message means the kernel is done with the previous transaction. */
        ev.superseded_op = ch->pending_op;
        ev.op = ((const struct hv_vss_msg *)buf)->vss_hdr.operation;

        if (is_request_op(ev.op)) {
                ch->pending_op = ev.op;
                ch->state = KERNEL_CHANNEL_PENDING;
                ev.type = KERNEL_CHANNEL_EVENT_REQUEST;
                emit(ch, &ev);
                return;
        }

        ch->pending_op = -1;
        ch->state = KERNEL_CHANNEL_READY;
        ev.type = KERNEL_CHANNEL_EVENT_UNEXPECTED;
        {
                int r = write_status(ch, HV_E_FAIL);

                if (r < 0 && r != -EINVAL && r != -EAGAIN) {
                        break_and_emit(ch, r);
                        return;
                }
        }
        emit(ch, &ev);
}

static bool channel_live(const KernelChannel *ch)
{
        return ch->state != KERNEL_CHANNEL_BROKEN && ch->state != KERNEL_CHANNEL_CLOSED;
}

int kernel_channel_dispatch(KernelChannel *ch, uint32_t epoll_events)
{
        if (!channel_live(ch))
                return ch->state == KERNEL_CHANNEL_BROKEN ? KERNEL_CHANNEL_E_BROKEN : -EBADF;

        while (channel_live(ch)) {
                uint8_t buf[MSG_BUF_SIZE];
                ssize_t n;

                n = read(ch->fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        break_and_emit(ch, -errno);
                        break;
                }
                if (n == 0) {
                        /* Only a socket says EOF: the peer is gone. */
                        break_and_emit(ch, -EPIPE);
                        break;
                }
                handle_message(ch, buf, (size_t)n);
        }

        if (channel_live(ch) && (epoll_events & (EPOLLHUP | EPOLLERR)))
                break_and_emit(ch, (epoll_events & EPOLLERR) ? -EIO : -EPIPE);

        return ch->state == KERNEL_CHANNEL_BROKEN ? KERNEL_CHANNEL_E_BROKEN : 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int kernel_channel_register_sync(KernelChannel *ch, int timeout_ms)
{
        uint64_t deadline = now_ms() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms);
        int r;

        if (ch->state == KERNEL_CHANNEL_OPEN) {
                r = kernel_channel_register(ch);
                if (r != 0)
                        return r;
        }
        if (ch->state == KERNEL_CHANNEL_BROKEN)
                return KERNEL_CHANNEL_E_BROKEN;
        if (ch->state != KERNEL_CHANNEL_REGISTERING)
                return ch->state == KERNEL_CHANNEL_CLOSED ? -EBADF : 0;

        for (;;) {
                struct pollfd p = { .fd = ch->fd, .events = POLLIN };
                uint64_t now = now_ms();
                uint32_t ev = 0;

                if (now >= deadline)
                        return -ETIMEDOUT;
                r = poll(&p, 1, (int)(deadline - now));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -ETIMEDOUT;
                if (p.revents & POLLIN)
                        ev |= EPOLLIN;
                if (p.revents & POLLHUP)
                        ev |= EPOLLHUP;
                if (p.revents & (POLLERR | POLLNVAL))
                        ev |= EPOLLERR;
                r = kernel_channel_dispatch(ch, ev);
                if (r != 0)
                        return r;
                if (ch->state != KERNEL_CHANNEL_REGISTERING)
                        return 0;
        }
}

int kernel_channel_reply(KernelChannel *ch, bool ok)
{
        int r;

        if (ch->state == KERNEL_CHANNEL_BROKEN)
                return KERNEL_CHANNEL_E_BROKEN;
        if (ch->state != KERNEL_CHANNEL_PENDING)
                return KERNEL_CHANNEL_E_NO_REQUEST;

        r = write_status(ch, ok ? HV_S_OK : HV_E_FAIL);
        if (r == -EAGAIN)
                return r;
        ch->pending_op = -1;
        if (r == -EINVAL) {
                /* The kernel's timer fired: it answered the host itself and is ready again. */
                ch->state = KERNEL_CHANNEL_READY;
                return KERNEL_CHANNEL_E_LATE;
        }
        if (r < 0) {
                set_broken(ch, r);
                return KERNEL_CHANNEL_E_BROKEN;
        }
        ch->state = KERNEL_CHANNEL_READY;
        return 0;
}

int kernel_channel_reopen(KernelChannel *ch)
{
        int fd;

        if (ch->fd >= 0) {
                close(ch->fd);
                ch->fd = -1;
        }
        ch->state = KERNEL_CHANNEL_CLOSED;
        ch->error = 0;
        ch->pending_op = -1;
        if (ch->reopen_attempts < UINT_MAX)
                ch->reopen_attempts++;

        fd = open_channel(ch->path);
        if (fd < 0)
                return fd;
        ch->fd = fd;
        ch->state = KERNEL_CHANNEL_OPEN;
        return 0;
}

unsigned kernel_channel_backoff_ms(unsigned attempt)
{
        unsigned d = KERNEL_CHANNEL_BACKOFF_BASE_MS;

        for (unsigned i = 0; i < attempt; i++) {
                if (d >= KERNEL_CHANNEL_BACKOFF_MAX_MS / 2)
                        return KERNEL_CHANNEL_BACKOFF_MAX_MS;
                d *= 2;
        }
        return d < KERNEL_CHANNEL_BACKOFF_MAX_MS ? d : KERNEL_CHANNEL_BACKOFF_MAX_MS;
}

unsigned kernel_channel_get_reopen_delay_ms(const KernelChannel *ch)
{
        return kernel_channel_backoff_ms(ch->reopen_attempts);
}

static char *read_comm(const char *proc_root, const char *pid)
{
        char p[PATH_MAX], buf[64];
        ssize_t n;
        int fd;

        if (snprintf(p, sizeof(p), "%s/%s/comm", proc_root, pid) >= (int)sizeof(p))
                return NULL;
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
}

static bool fd_matches(int fd_dir, const char *name, const char *path, dev_t rdev)
{
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;

        n = readlinkat(fd_dir, name, target, sizeof(target) - 1);
        if (n < 0)
                return false;
        target[n] = 0;
        if (strcmp(target, path) == 0)
                return true;
        if (rdev != 0 && fstatat(fd_dir, name, &st, 0) == 0 &&
            S_ISCHR(st.st_mode) && st.st_rdev == rdev)
                return true;
        return false;
}

static bool pid_holds(const char *proc_root, const char *pid, const char *path, dev_t rdev)
{
        char p[PATH_MAX];
        struct dirent *de;
        bool found = false;
        DIR *d;

        if (snprintf(p, sizeof(p), "%s/%s/fd", proc_root, pid) >= (int)sizeof(p))
                return false;
        d = opendir(p);
        if (!d)
                return false;       /* gone, or not ours to look into */
        while (!found && (de = readdir(d)))
                if (de->d_name[0] != '.')
                        found = fd_matches(dirfd(d), de->d_name, path, rdev);
        closedir(d);
        return found;
}

static bool is_pid_name(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

int kernel_channel_find_holder(const char *proc_root, const char *path, dev_t rdev,
                               pid_t *ret_pid, char **ret_comm)
{
        struct dirent *de;
        int r = -ESRCH;
        DIR *d;

        d = opendir(proc_root);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                if (!is_pid_name(de->d_name))
                        continue;
                if (!pid_holds(proc_root, de->d_name, path, rdev))
                        continue;
                *ret_pid = (pid_t)strtol(de->d_name, NULL, 10);
                *ret_comm = read_comm(proc_root, de->d_name);
                r = 0;
                break;
        }
        closedir(d);
        return r;
}

static const char stop_distro_daemon[] =
        "only one VSS daemon can use the channel: stop and disable the distribution's daemon "
        "(systemctl disable --now hv-vss-daemon.service; it is hv_vss_daemon.service or "
        "hypervvssd.service on some distributions)";

int kernel_channel_describe_open_error(const char *path, int error, const char *proc_root,
                                       char **ret_message)
{
        char *m = NULL;
        int r;

        switch (error) {
        case -ENOENT:
        case -ENXIO:
        case -ENODEV:
                r = asprintf(&m, "%s: no VSS channel: not running on Hyper-V, or the VSS "
                             "integration service (\"Backup (volume shadow copy)\") is disabled "
                             "in the VM settings, or the hv_utils / hv_vss module is not loaded",
                             path);
                break;
        case -EBUSY: {
                struct stat st;
                dev_t rdev = 0;
                char *comm = NULL;
                pid_t pid;

                if (stat(path, &st) == 0 && S_ISCHR(st.st_mode))
                        rdev = st.st_rdev;
                if (kernel_channel_find_holder(proc_root ? proc_root : "/proc", path, rdev,
                                               &pid, &comm) == 0)
                        r = asprintf(&m, "%s: busy: held by pid %d (%s); %s", path, (int)pid,
                                     comm ? comm : "?", stop_distro_daemon);
                else
                        r = asprintf(&m, "%s: busy: held by another process (not found in "
                                     "/proc; as root, 'fuser -v %s' shows it); %s",
                                     path, path, stop_distro_daemon);
                free(comm);
                break;
        }
        case -EACCES:
        case -EPERM:
                r = asprintf(&m, "%s: permission denied: hvvssd must run as root", path);
                break;
        case -ECONNREFUSED:
                r = asprintf(&m, "%s: a socket nobody listens on (is the fake kernel running?)",
                             path);
                break;
        default:
                r = asprintf(&m, "%s: cannot open the VSS channel: %s", path, strerror(-error));
                break;
        }
        if (r < 0)
                return -ENOMEM;
        *ret_message = m;
        return 0;
}
