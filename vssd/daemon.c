/*
 * daemon: one epoll loop, single-threaded apart from the operation
 * workers. Sources, each tagged in epoll_event.data.u32:
 *
 *   signalfd   SIGTERM/SIGINT: thaw everything, run thaw hooks, exit;
 *              SIGHUP: reload the configuration.
 *   channel    the kernel device (or the fake kernel socket): HOT_BACKUP,
 *              FREEZE, THAW requests.
 *   control    the varlink server (one fd for all its connections).
 *   op         an eventfd the operation worker writes when it queued events.
 *   timers     watchdog (max_frozen_time from the first FIFREEZE), the test
 *              freeze hold, the channel reopen backoff, sd_notify WATCHDOG.
 *
 * At most one Operation exists. The host is never kept waiting on a
 * control client: replies to the kernel are made from channel and
 * operation events only, and the control socket's framing and timeouts
 * live in the varlink server, which never blocks.
 *
 * The host's requests:
 *   HOT_BACKUP  ok when a plan can be computed (recorded as
 *               hot-backup-check);
 *   FREEZE      a host-backup Operation; a running test freeze is ended
 *               first (thaw, thaw hooks, its stream told it was pre-empted),
 *               then the host is served; answered when the freeze step ends;
 *   THAW        thaw and thaw hooks, then answered; HV_E_FAIL when nothing
 *               is frozen (the watchdog was first: the snapshot may be
 *               inconsistent).
 * A broken channel thaws whatever is frozen and reopens with backoff.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/hyperv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "channel-driver.h"
#include "config.h"
#include "control.h"
#include "frozen-state.h"
#include "history.h"
#include "hooks.h"
#include "kernel-channel.h"
#include "log.h"
#include "operation.h"
#include "plan.h"
#include "util.h"

#define MOUNTINFO_DEFAULT "/proc/1/mountinfo"

enum {
        SRC_SIGNAL = 1,
        SRC_CHANNEL,
        SRC_CONTROL,
        SRC_OP,
        SRC_WATCHDOG,
        SRC_HOLD,
        SRC_REOPEN,
        SRC_SD_WATCHDOG,
};

/* Why the current operation is being ended early. */
typedef enum EndReason {
        END_NONE,
        END_PREEMPTED,          /* a host FREEZE arrived during a test freeze */
        END_EMERGENCY,          /* the Thaw method */
        END_STOPPING,           /* SIGTERM/SIGINT */
        END_CHANNEL,            /* the kernel channel broke */
} EndReason;

struct Daemon {
        DaemonOptions opt;
        char **scope;
        char *config_path;
        struct config *config;
        const char *mountinfo;
        char *root_prefix;
        bool allow_root;
        uint64_t start_usec;

        int epoll_fd, signal_fd, op_fd, watchdog_fd, hold_fd, reopen_fd, sd_watchdog_fd;

        FrozenState *state;
        History *history;
        Control *control;

        KernelChannel *channel;
        int channel_fd;                 /* the fd registered in epoll, -1 if none */
        unsigned open_attempts;         /* consecutive failed opens, for the backoff */
        int open_error;                 /* -errno of the last failed open, 0 if open */
        char *open_error_text;
        int owed_op;                    /* the host request we owe a reply, -1 if none */

        Operation *op;
        bool op_done;                   /* the operation finished: free it after dispatch */
        EndReason end_reason;
        bool thaw_asap;                 /* thaw as soon as the freeze step ends */
        bool watchdog_fired;
        bool host_freeze_queued;        /* a host FREEZE waits for a pre-empted test to end */
        struct varlink_call *test_call;
        double test_hold_s;
        struct varlink_call *thaw_call;

        bool exiting;
        bool quit;
};

/* --- options ------------------------------------------------------------ */

int daemon_root_prefix(const char *mountinfo, char **ret)
{
        _cleanup_free_ char *ns = NULL;
        struct stat self, other;
        unsigned long pid;
        char *end;

        *ret = NULL;
        /* Only a mount table of the form /proc/PID/mountinfo names a namespace to reach. */
        if (!mountinfo || !startswith(mountinfo, "/proc/"))
                return 0;
        pid = strtoul(mountinfo + 6, &end, 10);
        if (end == mountinfo + 6 || !streq(end, "/mountinfo") || pid == 0)
                return 0;
        if (asprintf(&ns, "/proc/%lu/ns/mnt", pid) < 0)
                return -ENOMEM;
        if (stat("/proc/self/ns/mnt", &self) < 0 || stat(ns, &other) < 0)
                return 0; /* cannot tell (no access): use paths as they are */
        if (self.st_dev == other.st_dev && self.st_ino == other.st_ino)
                return 0;
        if (asprintf(ret, "/proc/%lu/root", pid) < 0)
                return -ENOMEM;
        return 1;
}

int daemon_check_scope(char *const *scope, const char *root_prefix, char **ret_message)
{
        _cleanup_free_ char *root = NULL;
        struct stat rst, st;

        if (asprintf(&root, "%s/", root_prefix ? root_prefix : "") < 0)
                return -ENOMEM;
        if (stat(root, &rst) < 0)
                return -errno;
        for (char *const *s = scope; s && *s; s++) {
                _cleanup_free_ char *p = NULL;

                if ((*s)[0] != '/') {
                        if (asprintf(ret_message, "--scope %s: not an absolute path", *s) < 0)
                                return -ENOMEM;
                        return DAEMON_E_REFUSED;
                }
                if ((*s)[strspn(*s, "/")] == '\0') {
                        if (asprintf(ret_message, "--scope %s: the root filesystem is never in a test scope "
                                     "(freezing it hangs the machine; only the system service may)", *s) < 0)
                                return -ENOMEM;
                        return DAEMON_E_REFUSED;
                }
                if (asprintf(&p, "%s%s", root_prefix ? root_prefix : "", *s) < 0)
                        return -ENOMEM;
                if (stat(p, &st) < 0) {
                        if (asprintf(ret_message, "--scope %s: %s", *s, strerror(errno)) < 0)
                                return -ENOMEM;
                        return DAEMON_E_REFUSED;
                }
                if (st.st_dev == rst.st_dev) {
                        if (asprintf(ret_message, "--scope %s: on the root filesystem's device; refused "
                                     "(freezing it hangs the machine)", *s) < 0)
                                return -ENOMEM;
                        return DAEMON_E_REFUSED;
                }
        }
        return 0;
}

/* --- small helpers ------------------------------------------------------ */

static int epoll_add(Daemon *d, int fd, uint32_t tag)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

        return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int new_timer(Daemon *d, uint32_t tag, int *ret_fd)
{
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        r = epoll_add(d, fd, tag);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* Arms fd to fire once at the CLOCK_MONOTONIC time usec (0 disarms). */
static void timer_at(int fd, uint64_t usec)
{
        struct itimerspec its = {};

        if (usec) {
                its.it_value.tv_sec = (time_t)(usec / 1000000u);
                its.it_value.tv_nsec = (long)(usec % 1000000u) * 1000;
                if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
                        its.it_value.tv_nsec = 1;
        }
        timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timer_every(int fd, uint64_t usec)
{
        struct itimerspec its = {};

        its.it_value.tv_sec = its.it_interval.tv_sec = (time_t)(usec / 1000000u);
        its.it_value.tv_nsec = its.it_interval.tv_nsec = (long)(usec % 1000000u) * 1000;
        timerfd_settime(fd, 0, &its, NULL);
}

static void drain_fd(int fd)
{
        uint64_t v;

        while (read(fd, &v, sizeof(v)) > 0)
                ;
}

static const char *op_state_name(const Daemon *d)
{
        if (!d->op)
                return "idle";
        switch (operation_get_state(d->op)) {
        case OPERATION_NEW:
        case OPERATION_FREEZING:
                return "freezing";
        case OPERATION_FROZEN:
                return "frozen";
        case OPERATION_THAWING:
                return "thawing";
        default:
                return "idle";
        }
}

static void notify_status(Daemon *d)
{
        OpRecord *last = history_get(d->history, 0);

        if (d->op)
                log_notify_status("%s (%s, operation %" PRIu64 ")", op_state_name(d),
                                  op_kind_to_string(operation_get_record(d->op)->kind),
                                  operation_get_record(d->op)->id);
        else if (last)
                log_notify_status("idle; last: %s %s", op_kind_to_string(last->kind),
                                  op_result_to_string(last->result));
        else
                log_notify_status("idle, waiting for the host");
}

/* --- the kernel channel ------------------------------------------------- */

static void channel_event(KernelChannel *ch, const KernelChannelEvent *ev, void *userdata);
static void end_operation(Daemon *d, EndReason why);

static const char *device_path(const Daemon *d)
{
        if (d->opt.device)
                return d->opt.device;
        return d->config->device ? d->config->device : KERNEL_CHANNEL_DEFAULT_PATH;
}

static const char *device_state(const Daemon *d)
{
        if (!d->channel) {
                if (d->open_error == -EBUSY)
                        return "busy";
                if (d->open_error == -ENOENT || d->open_error == -ENODEV || d->open_error == -ENXIO)
                        return "absent";
                return d->open_error ? "broken" : "opening";
        }
        switch (kernel_channel_get_state(d->channel)) {
        case KERNEL_CHANNEL_READY:
        case KERNEL_CHANNEL_PENDING:
                return "registered";
        case KERNEL_CHANNEL_OPEN:
        case KERNEL_CHANNEL_REGISTERING:
                return "opening";
        default:
                return "broken";
        }
}

static void channel_unwatch(Daemon *d)
{
        if (d->channel_fd >= 0) {
                epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, d->channel_fd, NULL);
                d->channel_fd = -1;
        }
}

static void schedule_reopen(Daemon *d)
{
        unsigned ms = kernel_channel_backoff_ms(d->open_attempts);

        timer_at(d->reopen_fd, varlink_now_usec() + (uint64_t)ms * 1000u);
}

static void channel_open(Daemon *d)
{
        int r;

        channel_unwatch(d);
        if (d->channel)
                r = kernel_channel_reopen(d->channel);
        else
                r = kernel_channel_new(&d->channel, device_path(d), channel_event, d);
        if (r == 0)
                r = kernel_channel_register(d->channel);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;

                if (r != d->open_error || d->open_attempts == 0) {
                        kernel_channel_describe_open_error(device_path(d), r, d->opt.proc, &why);
                        log_warning("%s", why ? why : "cannot open the VSS device");
                }
                free(d->open_error_text);
                d->open_error_text = NULL;
                kernel_channel_describe_open_error(device_path(d), r, d->opt.proc, &d->open_error_text);
                d->open_error = r;
                kernel_channel_free(d->channel);
                d->channel = NULL;
                schedule_reopen(d);
                d->open_attempts++;
                return;
        }
        d->open_error = 0;
        d->channel_fd = kernel_channel_get_fd(d->channel);
        if (epoll_add(d, d->channel_fd, SRC_CHANNEL) < 0) {
                d->channel_fd = -1;
                schedule_reopen(d);
        }
}

static void channel_broken(Daemon *d)
{
        int error = d->channel ? kernel_channel_get_error(d->channel) : 0;

        log_warning_errno(error ? error : -EIO, "%s: the VSS channel broke (%m); thawing and reopening",
                          device_path(d));
        channel_unwatch(d);
        d->owed_op = -1;
        d->open_error = error ? error : -EIO;
        end_operation(d, END_CHANNEL);
        if (d->channel)
                kernel_channel_free(d->channel);
        d->channel = NULL;
        if (!d->exiting)
                schedule_reopen(d);
        d->open_attempts++;
}

static void reply_host(Daemon *d, int op, bool ok)
{
        int r;

        if (!d->channel || d->owed_op != op)
                return;
        d->owed_op = -1;
        r = kernel_channel_reply(d->channel, ok);
        if (r == KERNEL_CHANNEL_E_LATE)
                log_warning("reply %s to %s came too late: the kernel already answered the host HV_E_FAIL",
                            ok ? "ok" : "fail", op == VSS_OP_FREEZE ? "FREEZE" : op == VSS_OP_THAW ? "THAW" : "HOT_BACKUP");
        else if (r == KERNEL_CHANNEL_E_BROKEN)
                channel_broken(d);
        else if (r < 0 && r != -EAGAIN)
                log_warning_errno(r, "cannot reply to the host: %m");
        else
                log_debug("replied %s to op %d", ok ? "ok" : "fail", op);
}

/* --- operations --------------------------------------------------------- */

static int test_notify(Daemon *d, const char *event, const char *phase, const char *mp, const char *message,
                       const OpRecord *rec)
{
        json_object *o;
        int r;

        if (!d->test_call || !varlink_call_more(d->test_call) || !varlink_call_is_connected(d->test_call))
                return 0;
        r = control_event_to_json(event, phase, mp, message, rec, &o);
        if (r < 0)
                return r;
        r = varlink_call_notify(d->test_call, o);
        json_object_put(o);
        return r;
}

static void test_finish(Daemon *d)
{
        OpRecord *rec = d->op ? operation_get_record(d->op) : NULL;
        json_object *o;

        if (!d->test_call)
                return;
        if (control_event_to_json("done", NULL, NULL, rec && rec->error ? rec->error : NULL, rec, &o) >= 0) {
                (void)varlink_call_reply(d->test_call, o);
                json_object_put(o);
        }
        d->test_call = varlink_call_unref(d->test_call);
}

static int start_operation(Daemon *d, OpKind kind, bool hooks)
{
        _cleanup_(op_record_unrefp) OpRecord *rec = NULL;
        OperationParams p = {
                .kind = kind,
                .run_hooks = hooks,
                .config = d->config,
                .scope = d->scope,
                .mountinfo = d->mountinfo,
                .sysfs = d->opt.sysfs,
                .root_prefix = d->root_prefix,
                .allow_root = d->allow_root,
                .state = d->state,
                .notify_fd = d->op_fd,
        };
        int r;

        r = op_record_new(&rec, history_next_id(d->history), kind);
        if (r < 0)
                return r;
        r = operation_new(&d->op, &p, rec);
        if (r < 0)
                return r;
        history_add(d->history, rec);
        d->end_reason = END_NONE;
        d->thaw_asap = false;
        d->watchdog_fired = false;
        d->op_done = false;
        r = operation_start_freeze(d->op);
        if (r < 0) {
                rec->result = OP_RESULT_FAILED;
                op_record_set_error(rec, "cannot start the operation: %s", strerror(-r));
                d->op = operation_free(d->op);
                return r;
        }
        log_info("operation %" PRIu64 " (%s) started", rec->id, op_kind_to_string(kind));
        notify_status(d);
        return 0;
}

static const char *end_text(EndReason why)
{
        switch (why) {
        case END_PREEMPTED:
                return "pre-empted by a host backup request";
        case END_EMERGENCY:
                return "ended by an emergency thaw";
        case END_STOPPING:
                return "ended because hvvssd is stopping";
        case END_CHANNEL:
                return "ended because the VSS channel broke";
        default:
                return NULL;
        }
}

static enum hook_reason thaw_reason(const Daemon *d)
{
        if (d->watchdog_fired)
                return HOOK_REASON_WATCHDOG;
        return operation_get_record(d->op)->kind == OP_KIND_TEST_FREEZE ? HOOK_REASON_TEST_FREEZE
                                                                          : HOOK_REASON_HOST_BACKUP;
}

static void start_thaw(Daemon *d)
{
        int r;

        timer_at(d->watchdog_fd, 0);
        timer_at(d->hold_fd, 0);
        r = operation_start_thaw(d->op, thaw_reason(d));
        if (r < 0) {
                log_error_errno(r, "cannot start the thaw worker: %m");
                return;
        }
        notify_status(d);
}

/* Ends the current operation early; does nothing when there is none. */
static void end_operation(Daemon *d, EndReason why)
{
        if (!d->op)
                return;
        if (d->end_reason == END_NONE || why == END_STOPPING)
                d->end_reason = why;
        switch (operation_get_state(d->op)) {
        case OPERATION_NEW:
        case OPERATION_FREEZING:
                d->thaw_asap = true;
                break;
        case OPERATION_FROZEN:
                start_thaw(d);
                break;
        default:
                break; /* thawing or failed: it ends by itself */
        }
}

static void on_frozen(Daemon *d)
{
        OpRecord *rec = operation_get_record(d->op);
        uint64_t first;

        if (operation_get_state(d->op) == OPERATION_FAILED) {
                if (rec->kind == OP_KIND_HOST_BACKUP)
                        reply_host(d, VSS_OP_FREEZE, false);
                d->op_done = true;
                return;
        }

        /* Frozen. The host first: a FREEZE answered late is a failed backup. */
        if (rec->kind == OP_KIND_HOST_BACKUP) {
                bool ok = !d->thaw_asap;

                reply_host(d, VSS_OP_FREEZE, ok);
        }
        first = operation_first_frozen_usec(d->op);
        if (!first)
                first = varlink_now_usec();
        timer_at(d->watchdog_fd, first + d->config->max_frozen_time_usec);

        if (d->thaw_asap) {
                start_thaw(d);
                return;
        }
        if (rec->kind == OP_KIND_TEST_FREEZE) {
                char msg[64];

                snprintf(msg, sizeof(msg), "%zu filesystem(s) frozen, holding %.1f s",
                         operation_n_frozen(d->op), d->test_hold_s);
                test_notify(d, "held", NULL, NULL, msg, NULL);
                timer_at(d->hold_fd, varlink_now_usec() + (uint64_t)(d->test_hold_s * 1e6));
        }
        notify_status(d);
}

static void on_thawed(Daemon *d)
{
        OpRecord *rec = operation_get_record(d->op);

        if (d->watchdog_fired) {
                rec->result = OP_RESULT_WATCHDOG;
                rec->may_be_inconsistent = true;
                op_record_set_error(rec, "the host did not send THAW within max_frozen_time (%.1f s): "
                                    "thawed by the watchdog; the snapshot may be inconsistent",
                                    (double)d->config->max_frozen_time_usec / 1e6);
        } else if (operation_thaw_failed(d->op)) {
                rec->result = OP_RESULT_FAILED;
                op_record_set_error(rec, "a filesystem could not be thawed: see the targets; "
                                    "run 'hvvssctl thaw' or fsfreeze -u");
        } else if (d->end_reason != END_NONE) {
                rec->result = OP_RESULT_ABORTED;
                op_record_set_error(rec, "%s", end_text(d->end_reason));
                if (rec->kind == OP_KIND_HOST_BACKUP)
                        rec->may_be_inconsistent = d->end_reason != END_STOPPING || d->owed_op != VSS_OP_THAW;
        } else {
                rec->result = OP_RESULT_OK;
        }
        if (rec->kind == OP_KIND_HOST_BACKUP)
                reply_host(d, VSS_OP_THAW, rec->result == OP_RESULT_OK);
        if (rec->kind == OP_KIND_TEST_FREEZE)
                test_notify(d, "thawed", NULL, NULL, end_text(d->end_reason), NULL);
        d->op_done = true;
}

static void op_event(Operation *op, const OperationEvent *ev, void *userdata)
{
        Daemon *d = userdata;

        (void)op;
        switch (ev->type) {
        case OPERATION_EVENT_PROGRESS:
                test_notify(d, ev->name, ev->phase, ev->mount_point, ev->message, NULL);
                break;
        case OPERATION_EVENT_FROZEN:
                on_frozen(d);
                break;
        case OPERATION_EVENT_THAWED:
                on_thawed(d);
                break;
        }
}

static int recover_left_over(Daemon *d, OpKind kind, char ***ret_thawed);

/* Replies to a Thaw call: {"thawed": [mount points]}. */
static int reply_thawed(struct varlink_call *call, char *const *thawed)
{
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        int r;

        for (char *const *i = thawed; i && *i; i++)
                json_object_array_add(a, json_object_new_string(*i));
        json_object_object_add(o, "thawed", a);
        r = varlink_call_reply(call, o);
        json_object_put(o);
        return r;
}

static void finish_operation(Daemon *d)
{
        OpRecord *rec = operation_get_record(d->op);
        _cleanup_strv_free_ char **thawed = NULL;
        double freeze_ms = op_record_phase(rec, "freeze"), thaw_ms = op_record_phase(rec, "thaw");

        timer_at(d->watchdog_fd, 0);
        timer_at(d->hold_fd, 0);
        operation_log_results(d->op);
        if (rec->result == OP_RESULT_IN_PROGRESS)
                rec->result = OP_RESULT_FAILED;
        log_write(rec->result == OP_RESULT_OK ? LOG_INFO : LOG_WARNING,
                  "operation %" PRIu64 " (%s): %s%s%s; freeze %.1f ms, thaw %.1f ms, frozen %.1f ms",
                  rec->id, op_kind_to_string(rec->kind), op_result_to_string(rec->result),
                  rec->error ? ": " : "", rec->error ? rec->error : "", freeze_ms < 0 ? 0 : freeze_ms,
                  thaw_ms < 0 ? 0 : thaw_ms, rec->frozen_ms < 0 ? 0 : rec->frozen_ms);
        if (rec->kind == OP_KIND_TEST_FREEZE)
                test_finish(d);
        if (d->thaw_call) {
                (void)operation_thawed_paths(d->op, &thawed);
                recover_left_over(d, OP_KIND_EMERGENCY_THAW, &thawed);
                (void)reply_thawed(d->thaw_call, thawed);
                d->thaw_call = varlink_call_unref(d->thaw_call);
        }
        d->op = operation_free(d->op);
        d->op_done = false;
        d->end_reason = END_NONE;
        d->thaw_asap = false;
        d->watchdog_fired = false;

        if (d->exiting) {
                d->quit = true;
                return;
        }
        if (d->host_freeze_queued) {
                d->host_freeze_queued = false;
                if (d->owed_op == VSS_OP_FREEZE && start_operation(d, OP_KIND_HOST_BACKUP, true) < 0)
                        reply_host(d, VSS_OP_FREEZE, false);
        }
        notify_status(d);
}

static void dispatch_op(Daemon *d)
{
        drain_fd(d->op_fd);
        if (!d->op)
                return;
        operation_dispatch(d->op, op_event, d);
        if (d->op_done)
                finish_operation(d);
}

/* --- host requests ------------------------------------------------------ */

static int current_plan(Daemon *d, struct plan **ret, struct diag *diag)
{
        struct plan_input in = {
                .mountinfo = d->mountinfo,
                .sysfs = d->opt.sysfs,
                .config = d->config,
                .scope = d->scope,
                .diag = diag,
        };

        return plan_new(ret, &in);
}

static void host_hot_backup(Daemon *d)
{
        _cleanup_(op_record_unrefp) OpRecord *rec = NULL;
        _cleanup_plan_free_ struct plan *p = NULL;
        struct diag diag = DIAG_NULL;
        int r;

        r = current_plan(d, &p, &diag);
        if (op_record_new(&rec, history_next_id(d->history), OP_KIND_HOT_BACKUP_CHECK) >= 0) {
                rec->result = r < 0 ? OP_RESULT_FAILED : OP_RESULT_OK;
                if (r < 0)
                        op_record_set_error(rec, "cannot plan the freeze: %s",
                                            diag_first(&diag, DIAG_ERROR) ?: strerror(-r));
                history_add(d->history, rec);
        }
        if (r < 0)
                log_warning("host capability check: answering fail: %s",
                            diag_first(&diag, DIAG_ERROR) ?: strerror(-r));
        else
                log_info("host capability check: ok (%zu filesystem(s) to freeze)", plan_n_targets(p));
        diag_clear(&diag);
        reply_host(d, VSS_OP_HOT_BACKUP, r >= 0);
}

static void host_freeze(Daemon *d)
{
        log_info("host: FREEZE");
        if (d->exiting) {
                reply_host(d, VSS_OP_FREEZE, false);
                return;
        }
        if (d->op) {
                OpRecord *rec = operation_get_record(d->op);

                if (rec->kind == OP_KIND_TEST_FREEZE) {
                        log_notice("host FREEZE during test freeze %" PRIu64 ": ending the test first", rec->id);
                        d->host_freeze_queued = true;
                        test_notify(d, "phase", "pre-empted", NULL, "a host backup request arrived: ending the test", NULL);
                        end_operation(d, END_PREEMPTED);
                        return;
                }
                log_warning("host FREEZE while operation %" PRIu64 " is %s: answering fail", rec->id, op_state_name(d));
                reply_host(d, VSS_OP_FREEZE, false);
                return;
        }
        if (start_operation(d, OP_KIND_HOST_BACKUP, true) < 0)
                reply_host(d, VSS_OP_FREEZE, false);
}

static void host_thaw(Daemon *d)
{
        OpRecord *last;

        log_info("host: THAW");
        if (d->op && operation_get_record(d->op)->kind == OP_KIND_HOST_BACKUP) {
                switch (operation_get_state(d->op)) {
                case OPERATION_FROZEN:
                        start_thaw(d);
                        return;
                case OPERATION_NEW:
                case OPERATION_FREEZING:
                        /* The kernel gave up on the FREEZE: thaw as soon as it is done. */
                        d->thaw_asap = true;
                        return;
                default:
                        return; /* thawing: answered when done */
                }
        }
        /* Nothing of the host's is frozen: the watchdog (or an emergency thaw) came first. */
        last = history_last_of_kind(d->history, OP_KIND_HOST_BACKUP);
        if (last && (last->result == OP_RESULT_WATCHDOG || last->result == OP_RESULT_ABORTED) &&
            last->may_be_inconsistent) {
                op_record_set_error(last, "%s; the host's THAW came afterwards and was answered HV_E_FAIL",
                                    last->error ? last->error : "thawed before the host's THAW");
                log_warning("host THAW after operation %" PRIu64 " was already thawed (%s): answering fail",
                            last->id, op_result_to_string(last->result));
        } else {
                _cleanup_(op_record_unrefp) OpRecord *rec = NULL;

                if (op_record_new(&rec, history_next_id(d->history), OP_KIND_HOST_BACKUP) >= 0) {
                        rec->result = OP_RESULT_FAILED;
                        op_record_set_error(rec, "THAW received while nothing was frozen: answered HV_E_FAIL");
                        history_add(d->history, rec);
                }
                log_warning("host THAW while nothing is frozen: answering fail");
        }
        reply_host(d, VSS_OP_THAW, false);
}

static void channel_event(KernelChannel *ch, const KernelChannelEvent *ev, void *userdata)
{
        Daemon *d = userdata;

        (void)ch;
        switch (ev->type) {
        case KERNEL_CHANNEL_EVENT_REGISTERED:
                d->open_attempts = 0;
                log_info("%s: registered with the kernel (ABI %" PRIu32 ")", device_path(d), ev->version);
                notify_status(d);
                break;
        case KERNEL_CHANNEL_EVENT_REQUEST:
                if (ev->superseded_op >= 0)
                        log_warning("the kernel timed out request %d before we answered it", ev->superseded_op);
                d->owed_op = ev->op;
                if (ev->op == VSS_OP_HOT_BACKUP)
                        host_hot_backup(d);
                else if (ev->op == VSS_OP_FREEZE)
                        host_freeze(d);
                else if (ev->op == VSS_OP_THAW)
                        host_thaw(d);
                break;
        case KERNEL_CHANNEL_EVENT_UNEXPECTED:
                log_warning("unexpected request %d from the kernel: answered fail", ev->op);
                break;
        case KERNEL_CHANNEL_EVENT_BROKEN:
                break; /* handled when dispatch returns */
        }
}

static void dispatch_channel(Daemon *d, uint32_t events)
{
        int r;

        if (!d->channel)
                return;
        r = kernel_channel_dispatch(d->channel, events);
        if (r == KERNEL_CHANNEL_E_BROKEN)
                channel_broken(d);
}

/* --- recovery and the emergency thaw ------------------------------------ */

static const char *strip_prefix(const Daemon *d, const char *path)
{
        return operation_strip_root_prefix(d->root_prefix, path);
}

/* Thaws what the state dir records (left by a dead instance); records it as kind. */
static int recover_left_over(Daemon *d, OpKind kind, char ***thawed)
{
        FrozenRecoverReport *rep = NULL;
        _cleanup_(op_record_unrefp) OpRecord *rec = NULL;
        int r;

        r = frozen_state_recover(d->state, &rep);
        if (r < 0) {
                log_error_errno(r, "%s: cannot read the frozen-state records: %m", frozen_state_dir(d->state));
                return r;
        }
        if (rep->n_items == 0) {
                frozen_recover_report_free(rep);
                return 0;
        }
        r = op_record_new(&rec, history_next_id(d->history), kind);
        if (r < 0) {
                frozen_recover_report_free(rep);
                return r;
        }
        for (size_t i = 0; i < rep->n_items; i++) {
                const FrozenRecoverItem *it = &rep->items[i];
                const char *mp = it->entry.path ? strip_prefix(d, it->entry.path) : "?";
                bool ok = it->result == FROZEN_RECOVER_THAWED;
                OpTarget t = {
                        .mount_point = (char *)mp,
                        .level = (int)it->entry.level,
                        .result = (char *)(ok ? "frozen-thawed" :
                                           it->result == FROZEN_RECOVER_NOT_FROZEN ? "skipped" : "failed"),
                        .note = (char *)frozen_recover_result_to_string(it->result),
                };

                op_record_add_target(rec, &t);
                log_write(ok || it->result == FROZEN_RECOVER_NOT_FROZEN ? LOG_NOTICE : LOG_ERR,
                          "%s: left frozen by pid %d (operation %s): %s%s%s", mp, (int)it->entry.pid,
                          it->entry.operation ? it->entry.operation : "?",
                          frozen_recover_result_to_string(it->result), it->error ? ": " : "",
                          it->error ? strerror(it->error) : "");
                if (ok && thawed)
                        strv_extend(thawed, mp);
        }
        rec->result = rep->n_kept ? OP_RESULT_FAILED : OP_RESULT_OK;
        op_record_set_error(rec, "%zu filesystem(s) left frozen by an earlier instance: %zu thawed, %zu kept",
                            rep->n_items, rep->n_thawed, rep->n_kept);
        if (!rep->n_kept) {
                free(rec->error);
                rec->error = NULL;
        }
        history_add(d->history, rec);
        frozen_recover_report_free(rep);
        return 0;
}

/* --- control backend ---------------------------------------------------- */

typedef struct StatusScratch {
        char **warnings;
        ChannelDriverInfo driver;
} StatusScratch;

static StatusScratch status_scratch;

static void warn_add(char ***l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn_add(char ***l, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) >= 0) {
                strv_extend(l, s);
                free(s);
        }
        va_end(ap);
}

static int be_get_status(void *ud, ControlStatus *s)
{
        Daemon *d = ud;
        struct hook_list *hooks = NULL;
        FrozenList *fl = NULL;
        const char *dstate = device_state(d);
        OpRecord *last = history_get(d->history, 0);

        strv_free(status_scratch.warnings);
        status_scratch.warnings = NULL;
        strv_copy(&status_scratch.warnings, NULL);
        channel_driver_info_clear(&status_scratch.driver);
        channel_driver_detect(d->opt.sysfs, &status_scratch.driver);

        *s = (ControlStatus){
                .uptime_s = (double)(varlink_now_usec() - d->start_usec) / 1e6,
                .state = op_state_name(d),
                .operation = d->op ? op_kind_to_string(operation_get_record(d->op)->kind) : NULL,
                .device = device_path(d),
                .device_state = dstate,
                .channel_driver = channel_driver_to_string(status_scratch.driver.driver),
                .framework_version = status_scratch.driver.framework_version,
                .message_version = status_scratch.driver.message_version,
                .max_frozen_time_s = (double)d->config->max_frozen_time_usec / 1e6,
                .hooks_dir = d->config->hooks_dir ? d->config->hooks_dir : HOOK_DIR_DEFAULT,
                .last = last,
        };
        if (!d->op && last && last->kind == OP_KIND_HOT_BACKUP_CHECK) {
                /* Prefer the last real operation when the newest is only a capability check. */
                for (size_t i = 1; i < history_count(d->history); i++)
                        if (history_get(d->history, i)->kind != OP_KIND_HOT_BACKUP_CHECK) {
                                s->last = history_get(d->history, i);
                                break;
                        }
        }

        if (frozen_state_list(d->state, &fl) >= 0) {
                s->frozen_count = (unsigned)fl->n_entries;
                for (size_t i = 0; i < fl->n_entries; i++)
                        if (fl->entries[i].pid != getpid())
                                warn_add(&status_scratch.warnings, "%s was left frozen by pid %d: run 'hvvssctl thaw'",
                                         fl->entries[i].path ? strip_prefix(d, fl->entries[i].path) : "?",
                                         (int)fl->entries[i].pid);
                frozen_list_free(fl);
        }

        if (streq(dstate, "absent") && status_scratch.driver.driver == CHANNEL_DRIVER_NONE)
                warn_add(&status_scratch.warnings, "no VSS channel: not running on Hyper-V, or the Hyper-V "
                         "VSS integration service is disabled (%s is missing)", device_path(d));
        else if (streq(dstate, "absent"))
                warn_add(&status_scratch.warnings, "%s is missing although %s holds the VSS channel",
                         device_path(d), channel_driver_to_string(status_scratch.driver.driver));
        else if (streq(dstate, "busy"))
                warn_add(&status_scratch.warnings, "%s", d->open_error_text ? d->open_error_text :
                         "the VSS device is held by another process");
        else if (streq(dstate, "broken"))
                warn_add(&status_scratch.warnings, "the VSS channel is broken (%s); reopening",
                         d->open_error_text ? d->open_error_text : strerror(-(d->open_error ?: EIO)));
        if (status_scratch.driver.ours_loaded && status_scratch.driver.inbox_has_channel)
                warn_add(&status_scratch.warnings, "hv_vss is loaded but hv_utils owns the VSS channel: "
                         "reload hv_utils without VSS or reboot to let hv_vss take it");
        if (!frozen_state_on_tmpfs(d->state))
                warn_add(&status_scratch.warnings, "state directory %s is not on tmpfs: a daemon restart after "
                         "a crash may not find what was frozen, and writing it may block while frozen",
                         frozen_state_dir(d->state));
        if (d->scope && d->scope[0])
                warn_add(&status_scratch.warnings, "running with --scope (test mode): only %zu mount point(s) "
                         "are considered", strv_length(d->scope));
        if (hook_check(s->hooks_dir, 0, &hooks) >= 0) {
                s->hooks_count = (unsigned)hook_list_count(hooks);
                for (size_t i = 0; i < hook_list_count(hooks); i++)
                        if (hook_list_problem(hooks, i))
                                warn_add(&status_scratch.warnings, "insecure hook: %s", hook_list_problem(hooks, i));
                hook_list_free(hooks);
        }
        if (s->last && s->last->may_be_inconsistent)
                warn_add(&status_scratch.warnings, "the last backup (operation %" PRIu64 ") may be inconsistent: %s",
                         s->last->id, s->last->error ? s->last->error : "thawed before the host's THAW");
        s->warnings = status_scratch.warnings;
        return 0;
}

static void be_status_done(void *ud, ControlStatus *s)
{
        (void)ud;
        (void)s;
        strv_free(status_scratch.warnings);
        status_scratch.warnings = NULL;
        channel_driver_info_clear(&status_scratch.driver);
}

static int be_get_plan(void *ud, struct plan **ret)
{
        struct diag diag = DIAG_NULL;
        int r = current_plan(ud, ret, &diag);

        diag_clear(&diag);
        return r;
}

static char **frozen_scratch;

static int be_list_frozen(void *ud, ControlFrozen **ret, size_t *ret_n)
{
        Daemon *d = ud;
        FrozenList *fl = NULL;
        ControlFrozen *a;
        struct timespec now;
        int r;

        strv_free(frozen_scratch);
        frozen_scratch = NULL;
        r = frozen_state_list(d->state, &fl);
        if (r < 0)
                return r;
        a = calloc(fl->n_entries + 1, sizeof(*a));
        if (!a) {
                frozen_list_free(fl);
                return -ENOMEM;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        strv_copy(&frozen_scratch, NULL);
        for (size_t i = 0; i < fl->n_entries; i++) {
                const FrozenEntry *e = &fl->entries[i];
                bool ours = e->pid == getpid() && d->op;

                strv_extend(&frozen_scratch, e->path ? strip_prefix(d, e->path) : "?");
                a[i] = (ControlFrozen){
                        .since = e->frozen_at,
                        .frozen_for_ms = (double)(now.tv_sec - e->frozen_at.tv_sec) * 1e3 +
                                         (double)(now.tv_nsec - e->frozen_at.tv_nsec) / 1e6,
                        .operation_id = e->operation ? strtoll(e->operation, NULL, 10) : 0,
                        .by = ours ? op_kind_to_string(operation_get_record(d->op)->kind) : "left-over",
                };
        }
        for (size_t i = 0; i < fl->n_entries; i++)
                a[i].mount_point = frozen_scratch[i];
        *ret = a;
        *ret_n = fl->n_entries;
        frozen_list_free(fl);
        return 0;
}

static int be_list_hooks(void *ud, struct hook_list **ret)
{
        Daemon *d = ud;

        return hook_check(d->config->hooks_dir ? d->config->hooks_dir : HOOK_DIR_DEFAULT, 0, ret);
}

static History *be_get_history(void *ud)
{
        return ((Daemon *)ud)->history;
}

static void test_call_gone(struct varlink_call *call, void *userdata)
{
        Daemon *d = userdata;

        (void)call;
        /* The client left: the test goes on to its normal end, silently. */
        log_info("the test freeze client disconnected; the test completes without it");
        (void)d;
}

static int be_test_freeze(void *ud, struct varlink_call *call, double hold_s, bool hooks, const char **ret_message)
{
        Daemon *d = ud;
        int r;

        if (d->exiting) {
                *ret_message = "hvvssd is stopping";
                return CONTROL_E_BUSY;
        }
        if (d->op) {
                *ret_message = operation_get_record(d->op)->kind == OP_KIND_HOST_BACKUP ?
                               "a host backup is running; try again when it is done" :
                               "a test freeze is already running";
                return CONTROL_E_BUSY;
        }
        if (d->owed_op >= 0) {
                *ret_message = "a host request is being answered; try again";
                return CONTROL_E_BUSY;
        }
        d->test_hold_s = hold_s;
        d->test_call = varlink_call_ref(call);
        varlink_call_set_disconnect(call, test_call_gone, d);
        r = start_operation(d, OP_KIND_TEST_FREEZE, hooks);
        if (r < 0) {
                d->test_call = varlink_call_unref(d->test_call);
                *ret_message = "cannot start the test freeze";
                return r;
        }
        test_notify(d, "started", NULL, NULL, NULL, NULL);
        return 0;
}

static int be_thaw(void *ud, struct varlink_call *call, const char **ret_message)
{
        Daemon *d = ud;
        _cleanup_strv_free_ char **thawed = NULL;
        int r;

        if (d->thaw_call) {
                *ret_message = "an emergency thaw is already in progress";
                return CONTROL_E_BUSY;
        }
        if (d->op) {
                log_warning("emergency thaw requested for operation %" PRIu64,
                            operation_get_record(d->op)->id);
                d->thaw_call = varlink_call_ref(call);
                end_operation(d, END_EMERGENCY);
                return 0;
        }
        r = recover_left_over(d, OP_KIND_EMERGENCY_THAW, &thawed);
        if (r < 0) {
                *ret_message = "cannot read the frozen-state records";
                return r;
        }
        r = reply_thawed(call, thawed);
        return r == -ENOTCONN ? 0 : r;
}

static const ControlBackend backend = {
        .get_status = be_get_status,
        .status_done = be_status_done,
        .get_plan = be_get_plan,
        .list_frozen = be_list_frozen,
        .list_hooks = be_list_hooks,
        .get_history = be_get_history,
        .test_freeze = be_test_freeze,
        .thaw = be_thaw,
};

/* --- signals and the configuration --------------------------------------- */

static int load_config(const Daemon *d, struct config **ret)
{
        struct diag diag = DIAG_NULL;
        const char *path = d->config_path;
        int r;

        r = config_load(ret, path, &diag);
        if (r == -ENOENT && !d->opt.config_explicit) {
                diag_clear(&diag);
                return config_new(ret);
        }
        for (size_t i = 0; i < diag.n_msgs; i++) {
                const struct diag_msg *m = &diag.msgs[i];

                log_write(m->level == DIAG_ERROR ? LOG_ERR : LOG_WARNING, "%s%s%.0u%s%s",
                          m->file ? m->file : "", m->file ? ":" : "", m->line, m->line || m->file ? ": " : "",
                          m->text);
        }
        diag_clear(&diag);
        return r;
}

static void reload(Daemon *d)
{
        struct config *c = NULL;
        int r;

        log_info("SIGHUP: reloading %s", d->config_path);
        r = load_config(d, &c);
        if (r < 0) {
                log_error("%s: not reloaded, keeping the running configuration", d->config_path);
                return;
        }
        if (!streq_ptr(c->device, d->config->device) || !streq_ptr(c->socket, d->config->socket) ||
            !streq_ptr(c->state_dir, d->config->state_dir))
                log_warning("device, socket and state_dir changes take effect after a restart");
        /* The running operation keeps the settings it started with. */
        free(c->device);
        c->device = d->config->device ? strdup(d->config->device) : NULL;
        log_set_max_level(c->log_level);
        history_resize(d->history, c->history_size);
        config_free(d->config);
        d->config = c;
        log_info("configuration reloaded");
}

static void dispatch_signal(Daemon *d)
{
        struct signalfd_siginfo si;

        while (read(d->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        if (d->exiting)
                                break;
                        log_notice("%s: thawing whatever is frozen and exiting", strsignal((int)si.ssi_signo));
                        log_notify_stopping();
                        d->exiting = true;
                        timer_at(d->reopen_fd, 0);
                        if (!d->op) {
                                d->quit = true;
                                break;
                        }
                        if (d->owed_op == VSS_OP_FREEZE && operation_get_state(d->op) != OPERATION_FROZEN)
                                d->thaw_asap = true;
                        end_operation(d, END_STOPPING);
                        break;
                case SIGHUP:
                        reload(d);
                        break;
                default:
                        break;
                }
        }
}

static void on_watchdog(Daemon *d)
{
        drain_fd(d->watchdog_fd);
        if (!d->op || operation_get_state(d->op) != OPERATION_FROZEN)
                return;
        log_warning("watchdog: frozen for max_frozen_time (%.1f s) without THAW: thawing",
                    (double)d->config->max_frozen_time_usec / 1e6);
        d->watchdog_fired = true;
        start_thaw(d);
}

static void on_hold(Daemon *d)
{
        drain_fd(d->hold_fd);
        if (d->op && operation_get_record(d->op)->kind == OP_KIND_TEST_FREEZE &&
            operation_get_state(d->op) == OPERATION_FROZEN)
                start_thaw(d);
}

/* --- set-up --------------------------------------------------------------- */

Daemon *daemon_free(Daemon *d)
{
        if (!d)
                return NULL;
        if (d->op) {
                /* Never leave anything frozen: operation_free() waits and thaws. */
                d->op = operation_free(d->op);
        }
        d->test_call = varlink_call_unref(d->test_call);
        d->thaw_call = varlink_call_unref(d->thaw_call);
        control_free(d->control);
        kernel_channel_free(d->channel);
        history_free(d->history);
        frozen_state_unref(d->state);
        config_free(d->config);
        strv_free(d->scope);
        free(d->config_path);
        free(d->root_prefix);
        free(d->open_error_text);
        strv_free(frozen_scratch);
        frozen_scratch = NULL;
        be_status_done(NULL, NULL);
        for (int *fd = &d->epoll_fd; fd <= &d->sd_watchdog_fd; fd++)
                if (*fd >= 0)
                        close(*fd);
        free(d);
        return NULL;
}

static int setup_sources(Daemon *d)
{
        sigset_t mask;
        int r;

        d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (d->epoll_fd < 0)
                return -errno;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        d->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (d->signal_fd < 0)
                return -errno;
        r = epoll_add(d, d->signal_fd, SRC_SIGNAL);
        if (r < 0)
                return r;
        d->op_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (d->op_fd < 0)
                return -errno;
        r = epoll_add(d, d->op_fd, SRC_OP);
        if (r < 0)
                return r;
        if ((r = new_timer(d, SRC_WATCHDOG, &d->watchdog_fd)) < 0 ||
            (r = new_timer(d, SRC_HOLD, &d->hold_fd)) < 0 ||
            (r = new_timer(d, SRC_REOPEN, &d->reopen_fd)) < 0 ||
            (r = new_timer(d, SRC_SD_WATCHDOG, &d->sd_watchdog_fd)) < 0)
                return r;
        return 0;
}

static void setup_sd_watchdog(Daemon *d)
{
#ifdef HAVE_SYSTEMD
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
                log_info("systemd watchdog: pinging every %.1f s", (double)usec / 2e6);
                timer_every(d->sd_watchdog_fd, usec / 2);
        }
#else
        (void)d;
        (void)timer_every;
#endif
}

int daemon_new(Daemon **ret, const DaemonOptions *options)
{
        _cleanup_(daemon_freep) Daemon *d = NULL;
        _cleanup_free_ char *why = NULL;
        ControlConfig cc = {};
        const char *state_dir;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->opt = *options;
        d->epoll_fd = d->signal_fd = d->op_fd = d->watchdog_fd = d->hold_fd = d->reopen_fd = d->sd_watchdog_fd = -1;
        d->channel_fd = -1;
        d->owed_op = -1;
        d->start_usec = varlink_now_usec();
        d->mountinfo = options->mountinfo ? options->mountinfo : MOUNTINFO_DEFAULT;
        d->config_path = strdup(options->config_path ? options->config_path : CONFIG_DEFAULT_PATH);
        if (!d->config_path)
                return -ENOMEM;

        /* Safety first: nothing unscoped outside the system service. */
        if (options->scope && options->scope[0]) {
                r = strv_copy(&d->scope, options->scope);
                if (r < 0)
                        return r;
        } else if (!options->system) {
                log_error("refusing to run unscoped: without --system (set only by the hvvssd.service "
                          "unit) hvvssd needs --scope MOUNTPOINT for each filesystem it may freeze; "
                          "freezing every filesystem, \"/\" included, is for the system service only");
                return DAEMON_E_REFUSED;
        }
        r = daemon_root_prefix(d->mountinfo, &d->root_prefix);
        if (r < 0)
                return r;
        if (d->scope) {
                r = daemon_check_scope(d->scope, d->root_prefix, &why);
                if (r == DAEMON_E_REFUSED) {
                        log_error("%s", why);
                        return r;
                }
                if (r < 0)
                        return log_error_errno(r, "cannot check the scope: %m");
        }
        d->allow_root = options->system && !d->scope;
        if (d->root_prefix)
                log_info("running in another mount namespace than the one of %s: mount points are "
                         "opened through %s", d->mountinfo, d->root_prefix);

        r = load_config(d, &d->config);
        if (r < 0) {
                log_error("%s: invalid configuration", d->config_path);
                return DAEMON_E_CONFIG;
        }
        log_set_max_level(d->config->log_level);

        r = setup_sources(d);
        if (r < 0) {
                log_error_errno(r, "cannot set up the event loop: %m");
                return DAEMON_E_SETUP;
        }
        r = history_new(&d->history, d->config->history_size);
        if (r < 0)
                return r;

        state_dir = options->state_dir ? options->state_dir :
                    d->config->state_dir ? d->config->state_dir : FROZEN_STATE_DEFAULT_DIR;
        r = frozen_state_open(&d->state, state_dir,
                              options->allow_non_tmpfs_state ? FROZEN_STATE_ALLOW_NON_TMPFS : 0);
        if (r == -EMEDIUMTYPE) {
                log_error("%s: the state directory must be on tmpfs (it is written while filesystems are frozen)",
                          state_dir);
                return DAEMON_E_SETUP;
        }
        if (r < 0) {
                log_error_errno(r, "%s: cannot open the state directory: %m", state_dir);
                return DAEMON_E_SETUP;
        }

        /* Listening first: a second instance fails here (socket in use) before touching any freeze. */
        cc.socket_path = options->socket ? options->socket :
                         d->config->socket ? d->config->socket : CONTROL_SOCKET_DEFAULT;
        cc.group_name = options->control_group;
        r = control_new(&d->control, &cc, &backend, d);
        if (r < 0) {
                log_error_errno(r, "%s: cannot listen on the control socket: %m%s", cc.socket_path,
                                r == -EADDRINUSE ? " (another hvvssd is running)" : "");
                return DAEMON_E_SETUP;
        }
        if (control_get_group(d->control) == (gid_t)-1)
                log_notice("group %s does not exist: only root may use %s",
                           options->control_group ? options->control_group : CONTROL_GROUP_DEFAULT, cc.socket_path);
        r = epoll_add(d, control_get_fd(d->control), SRC_CONTROL);
        if (r < 0)
                return DAEMON_E_SETUP;

        /* Before serving anything: thaw what a dead instance left frozen. */
        recover_left_over(d, OP_KIND_RECOVERY, NULL);

        setup_sd_watchdog(d);
        *ret = steal_ptr(&d);
        return 0;
}

int daemon_run(Daemon *d)
{
        channel_open(d);
        log_notify_ready();
        notify_status(d);
        log_info("hvvssd %s ready: device %s, %s", HVVSS_VERSION, device_path(d),
                 d->scope ? "scope limited to the --scope mount points" : "all filesystems (--system)");
        for (char **s = d->scope; s && *s; s++)
                log_info("scope: %s", *s);

        while (!d->quit) {
                struct epoll_event evs[16];
                int n;

                n = epoll_wait(d->epoll_fd, evs, (int)ELEMENTSOF(evs), -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "epoll_wait: %m");
                }
                for (int i = 0; i < n && !d->quit; i++) {
                        switch (evs[i].data.u32) {
                        case SRC_SIGNAL:
                                dispatch_signal(d);
                                break;
                        case SRC_CHANNEL:
                                dispatch_channel(d, evs[i].events);
                                break;
                        case SRC_CONTROL:
                                if (control_dispatch(d->control) < 0)
                                        log_warning("control socket: dispatch failed");
                                break;
                        case SRC_OP:
                                dispatch_op(d);
                                break;
                        case SRC_WATCHDOG:
                                on_watchdog(d);
                                break;
                        case SRC_HOLD:
                                on_hold(d);
                                break;
                        case SRC_REOPEN:
                                drain_fd(d->reopen_fd);
                                if (!d->exiting)
                                        channel_open(d);
                                break;
                        case SRC_SD_WATCHDOG:
                                drain_fd(d->sd_watchdog_fd);
                                log_notify_watchdog();
                                break;
                        }
                }
        }
        /* Answer anything still owed and let the clients see it. */
        if (d->owed_op >= 0)
                reply_host(d, d->owed_op, false);
        control_dispatch(d->control);
        log_info("hvvssd stopped");
        return 0;
}
