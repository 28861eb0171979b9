/* kernel-channel: the daemon's end of /dev/vmbus/hv_vss (inbox hv_utils or our hv_vss module), driven by the epoll loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define KERNEL_CHANNEL_DEFAULT_PATH "/dev/vmbus/hv_vss"

/* The ABI version the kernel answers VSS_OP_REGISTER1 with. */
#define KERNEL_CHANNEL_ABI_VERSION 129u

/* Reopen backoff: 250 ms doubling per attempt, capped. */
#define KERNEL_CHANNEL_BACKOFF_BASE_MS 250u
#define KERNEL_CHANNEL_BACKOFF_MAX_MS 30000u

typedef struct KernelChannel KernelChannel;

/* Positive results; negative values are -errno. */
enum {
        KERNEL_CHANNEL_E_LATE = 1,      /* reply: EINVAL, the kernel already timed the request out
                                           (the host gave up waiting and was answered HV_E_FAIL) */
        KERNEL_CHANNEL_E_BROKEN,        /* the channel is broken (see kernel_channel_get_error()) */
        KERNEL_CHANNEL_E_NO_REQUEST,    /* reply: no request is waiting for an answer */
};

typedef enum KernelChannelState {
        KERNEL_CHANNEL_CLOSED,          /* no fd (only between a failed reopen and the next one) */
        KERNEL_CHANNEL_OPEN,            /* fd open, registration not yet sent */
        KERNEL_CHANNEL_REGISTERING,     /* REGISTER1 written, waiting for the kernel's version */
        KERNEL_CHANNEL_READY,           /* registered, no request outstanding */
        KERNEL_CHANNEL_PENDING,         /* a request was delivered and awaits kernel_channel_reply() */
        KERNEL_CHANNEL_BROKEN,          /* read/write error or hangup: remove the fd from epoll, reopen */
} KernelChannelState;

typedef enum KernelChannelEventType {
        KERNEL_CHANNEL_EVENT_REGISTERED,        /* handshake done; version = the kernel's answer */
        KERNEL_CHANNEL_EVENT_REQUEST,           /* op is FREEZE, THAW or HOT_BACKUP: answer with
                                                   kernel_channel_reply() (now or later) */
        KERNEL_CHANNEL_EVENT_UNEXPECTED,        /* op is anything else: already answered HV_E_FAIL;
                                                   the caller logs it */
        KERNEL_CHANNEL_EVENT_BROKEN,            /* error = -errno: -ENODEV rescinded, -EIO, -EPIPE
                                                   hangup/EOF, -EPROTO malformed message */
} KernelChannelEventType;

typedef struct KernelChannelEvent {
        KernelChannelEventType type;
        int op;                 /* REQUEST, UNEXPECTED: the operation byte */
        int superseded_op;      /* REQUEST, UNEXPECTED: -1, or the op of an earlier request still
                                   unanswered: the kernel timed it out, a reply to it now would
                                   answer this one instead */
        uint32_t version;       /* REGISTERED */
        int error;              /* BROKEN */
} KernelChannelEvent;

/*
 * Called from kernel_channel_dispatch() and kernel_channel_register_sync().
 * It may call kernel_channel_reply(); it must not free the channel or reopen it.
 */
typedef void (*KernelChannelFn)(KernelChannel *ch, const KernelChannelEvent *ev, void *userdata);

/*
 * Opens path (O_RDWR|O_CLOEXEC|O_NONBLOCK). If path is a unix socket, connects to it
 * with SOCK_SEQPACKET instead (the fake kernel end of the tests). Does not register.
 * Returns 0 or -errno from open()/connect(); explain with kernel_channel_describe_open_error().
 */
int kernel_channel_new(KernelChannel **ret, const char *path, KernelChannelFn fn, void *userdata);
KernelChannel *kernel_channel_free(KernelChannel *ch);

static inline void kernel_channel_freep(KernelChannel **ch)
{
        kernel_channel_free(*ch);
}
#define _cleanup_kernel_channel_ __attribute__((cleanup(kernel_channel_freep)))

/* The fd to add to epoll (EPOLLIN); -1 when closed. Changes on reopen. */
int kernel_channel_get_fd(const KernelChannel *ch);
const char *kernel_channel_get_path(const KernelChannel *ch);
KernelChannelState kernel_channel_get_state(const KernelChannel *ch);
const char *kernel_channel_state_to_string(KernelChannelState s);
/* The -errno that broke the channel, 0 if it is not broken. */
int kernel_channel_get_error(const KernelChannel *ch);
/* The op awaiting a reply, or -1. */
int kernel_channel_get_pending_op(const KernelChannel *ch);

/* Sends REGISTER1; the answer arrives through kernel_channel_dispatch() as REGISTERED. */
int kernel_channel_register(KernelChannel *ch);

/*
 * Sends REGISTER1 if not yet sent and waits up to timeout_ms for the answer
 * (for tools and tests; the daemon uses kernel_channel_register()).
 * Returns 0, -ETIMEDOUT, KERNEL_CHANNEL_E_BROKEN, or -errno.
 */
int kernel_channel_register_sync(KernelChannel *ch, int timeout_ms);

/*
 * The epoll handler: reads until EAGAIN and delivers each message to the callback.
 * Never blocks. Returns 0, or KERNEL_CHANNEL_E_BROKEN once the channel is broken
 * (the BROKEN event was delivered the first time).
 */
int kernel_channel_dispatch(KernelChannel *ch, uint32_t epoll_events);

/*
 * Answers the pending request: HV_S_OK if ok, HV_E_FAIL otherwise.
 * Returns 0, KERNEL_CHANNEL_E_LATE (the kernel timed the request out; the channel
 * stays usable), KERNEL_CHANNEL_E_NO_REQUEST, -EAGAIN (try again), or
 * KERNEL_CHANNEL_E_BROKEN (the channel is now broken; no callback is made).
 */
int kernel_channel_reply(KernelChannel *ch, bool ok);

/*
 * Closes the fd (remove it from epoll first) and opens the path again; does not
 * register. Returns 0 or -errno as kernel_channel_new(). Counts attempts for
 * kernel_channel_get_reopen_delay_ms(); a successful registration resets them.
 */
int kernel_channel_reopen(KernelChannel *ch);

/* How long the loop should wait before the next kernel_channel_reopen(). */
unsigned kernel_channel_get_reopen_delay_ms(const KernelChannel *ch);
/* The backoff for the n-th consecutive attempt (0-based), capped. */
unsigned kernel_channel_backoff_ms(unsigned attempt);

/*
 * Finds a process holding path open: scans proc_root/PID/fd/N for a link to path,
 * or to a character device with the same dev_t (rdev, if not 0).
 * Returns 0 and the pid and comm (comm may be NULL if unreadable), or -ESRCH.
 * Processes it cannot look into (not root) are skipped.
 */
int kernel_channel_find_holder(const char *proc_root, const char *path, dev_t rdev,
                               pid_t *ret_pid, char **ret_comm);

/*
 * An actionable one-line explanation of an open failure (error = -errno from
 * kernel_channel_new() / kernel_channel_reopen()). For -EBUSY it names the holder,
 * searched under proc_root (NULL: "/proc").
 */
int kernel_channel_describe_open_error(const char *path, int error, const char *proc_root,
                                       char **ret_message);
