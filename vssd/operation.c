/*
 * operation: one freeze/thaw cycle.
 *
 * The blocking steps (hooks, syncfs, FIFREEZE, FITHAW) run in a worker
 * thread so the event loop keeps answering the kernel channel and the
 * control socket. There are two workers, one after the other, never at
 * the same time: the freeze worker (plan -> freeze hooks -> presync +
 * freeze through the freezer; on failure it has already thawed and run
 * the thaw hooks of the hooks that ran) and the thaw worker (thaw in
 * reverse, then thaw hooks). Each posts progress events and one final
 * event to a mutex-protected queue and writes the daemon's eventfd; the
 * loop joins the worker when it sees the final event, and only then
 * reads what the worker produced (plan, freezer report, hook runs) to
 * fill in the history record. Nothing the worker owns is touched by the
 * loop while the worker runs, and the other way round.
 *
 * The log goes into its in-memory (frozen) mode right before the freezer
 * starts and back out right after the last FITHAW: while anything is
 * frozen no thread writes to any file (failure mode 1). Per-target
 * results and hook output are logged by operation_log_results() after thaw.
 */
#include "operation.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "freezer.h"
#include "log.h"
#include "plan.h"
#include "util.h"

typedef struct QueuedEvent {
        struct QueuedEvent *next;
        OperationEventType type;
        char *name, *phase, *mount_point, *message;
} QueuedEvent;

struct Operation {
        /* Set at creation, read-only afterwards. */
        OpKind kind;
        bool run_hooks;
        char **scope;
        char *mountinfo, *sysfs, *root_prefix;
        bool allow_root;
        FrozenState *state;
        int notify_fd;
        struct config cfg;              /* the scalars only */
        char *hooks_dir;
        struct config *plan_config;     /* a full copy for the plan */
        char *id_text;

        /* Loop thread only. */
        OperationState state_;
        OpRecord *record;
        pthread_t thread;
        bool thread_running;
        uint64_t frozen_event_usec;     /* when the loop saw FROZEN: the hold starts */

        /* Worker-owned while it runs; the loop reads them after joining it. */
        struct plan *plan;
        char **filesystems;             /* the plan's targets, given to the hooks */
        struct hook_runner *runner;
        struct hook_run *freeze_run, *thaw_run, *abort_thaw_run;
        Freezer *freezer;
        enum hook_reason thaw_reason;
        int freeze_result;              /* 0 ok, else failed (error says why) */
        char *error;
        bool thaw_failed;
        uint64_t hooks_freeze_usec, hooks_thaw_usec;

        /* The event queue, shared. */
        pthread_mutex_t lock;
        QueuedEvent *head, *tail;
};

static uint64_t mono_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double ms(uint64_t usec)
{
        return (double)usec / 1000.0;
}

/* --- a copy of the configuration the plan needs ------------------------- */

static int copy_config(struct config **ret, const struct config *c)
{
        struct config *n;
        int r;

        r = config_new(&n);
        if (r < 0)
                return r;
#define COPY_STRV(field)                                        \
        do {                                                    \
                strv_free(n->field);                            \
                n->field = NULL;                                \
                r = strv_copy(&n->field, c->field);             \
                if (r < 0)                                      \
                        goto fail;                              \
        } while (0)
        COPY_STRV(include_mounts);
        COPY_STRV(exclude_mounts);
        COPY_STRV(exclude_types);
        COPY_STRV(exclude_devices);
        COPY_STRV(never_freeze_types);
#undef COPY_STRV
        n->on_unsupported = c->on_unsupported;
        n->on_open_error = c->on_open_error;
        *ret = n;
        return 0;
fail:
        config_free(n);
        return r;
}

int operation_new(Operation **ret, const OperationParams *p, OpRecord *record)
{
        _cleanup_(operation_freep) Operation *op = NULL;
        int r;

        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        pthread_mutex_init(&op->lock, NULL);
        op->notify_fd = -1;
        op->kind = p->kind;
        op->run_hooks = p->run_hooks;
        op->allow_root = p->allow_root;
        op->state = frozen_state_ref(p->state);
        op->notify_fd = p->notify_fd;
        op->record = op_record_ref(record);
        op->cfg.hook_timeout_usec = p->config->hook_timeout_usec;
        op->cfg.hook_failure = p->config->hook_failure;
        op->cfg.hook_output_max = p->config->hook_output_max;
        op->cfg.freeze_timeout_usec = p->config->freeze_timeout_usec;
        op->cfg.on_unsupported = p->config->on_unsupported;
        op->cfg.on_open_error = p->config->on_open_error;
        if (p->scope) {
                r = strv_copy(&op->scope, p->scope);
                if (r < 0)
                        return r;
        }
        if ((p->mountinfo && !(op->mountinfo = strdup(p->mountinfo))) ||
            (p->sysfs && !(op->sysfs = strdup(p->sysfs))) ||
            (p->root_prefix && !(op->root_prefix = strdup(p->root_prefix))) ||
            !(op->hooks_dir = strdup(p->config->hooks_dir ? p->config->hooks_dir : HOOK_DIR_DEFAULT)))
                return -ENOMEM;
        if (asprintf(&op->id_text, "%" PRIu64, record->id) < 0) {
                op->id_text = NULL;
                return -ENOMEM;
        }
        r = copy_config(&op->plan_config, p->config);
        if (r < 0)
                return r;
        op->state_ = OPERATION_NEW;
        *ret = steal_ptr(&op);
        return 0;
}

static void event_free(QueuedEvent *e)
{
        free(e->name);
        free(e->phase);
        free(e->mount_point);
        free(e->message);
        free(e);
}

Operation *operation_free(Operation *op)
{
        if (!op)
                return NULL;
        if (op->thread_running) {
                /* Never leave a freeze behind: wait for the worker. */
                pthread_join(op->thread, NULL);
                op->thread_running = false;
        }
        while (op->head) {
                QueuedEvent *e = op->head;

                op->head = e->next;
                event_free(e);
        }
        freezer_free(op->freezer); /* thaws anything still frozen */
        if (op->freezer)
                log_set_frozen(false);
        hook_run_free(op->freeze_run);
        hook_run_free(op->thaw_run);
        hook_run_free(op->abort_thaw_run);
        hook_runner_free(op->runner);
        plan_free(op->plan);
        strv_free(op->filesystems);
        config_free(op->plan_config);
        strv_free(op->scope);
        free(op->mountinfo);
        free(op->sysfs);
        free(op->root_prefix);
        free(op->hooks_dir);
        free(op->id_text);
        free(op->error);
        frozen_state_unref(op->state);
        op_record_unref(op->record);
        pthread_mutex_destroy(&op->lock);
        free(op);
        return NULL;
}

/* --- the event queue ---------------------------------------------------- */

static char *dup_or_null(const char *s)
{
        return s ? strdup(s) : NULL;
}

/* Worker side. Allocation failures drop progress events, never the final one.
 * @fmt may be NULL: the event then carries no message. */
static void post(Operation *op, OperationEventType type, const char *name, const char *phase,
                 const char *mount_point, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void post(Operation *op, OperationEventType type, const char *name, const char *phase,
                 const char *mount_point, const char *fmt, ...)
{
        QueuedEvent *e = calloc(1, sizeof(*e));
        uint64_t one = 1;

        if (!e) {
                if (type == OPERATION_EVENT_PROGRESS)
                        return;
                /* Retry until memory is there: the loop must learn the worker ended. */
                while (!(e = calloc(1, sizeof(*e))))
                        usleep(10000);
        }
        e->type = type;
        e->name = dup_or_null(name);
        e->phase = dup_or_null(phase);
        e->mount_point = dup_or_null(mount_point);
        if (fmt) {
                va_list ap;

                va_start(ap, fmt);
                if (vasprintf(&e->message, fmt, ap) < 0)
                        e->message = NULL;
                va_end(ap);
        }
        pthread_mutex_lock(&op->lock);
        if (op->tail)
                op->tail->next = e;
        else
                op->head = e;
        op->tail = e;
        pthread_mutex_unlock(&op->lock);
        if (op->notify_fd >= 0)
                (void)!write(op->notify_fd, &one, sizeof(one));
}

/* --- the record --------------------------------------------------------- */

static const char *target_result(const FreezerTargetReport *t, bool thawed)
{
        if (t->open.outcome == FREEZER_SKIPPED || t->freeze.outcome == FREEZER_SKIPPED)
                return "skipped";
        if (t->open.outcome == FREEZER_FAILED || t->freeze.outcome == FREEZER_FAILED)
                return "failed";
        if (t->freeze.outcome == FREEZER_TIMED_OUT)
                return "timeout";
        if (t->freeze.outcome == FREEZER_OK) {
                if (t->thaw.outcome == FREEZER_OK)
                        return "frozen-thawed";
                if (t->thaw.outcome == FREEZER_FAILED)
                        return "failed";
                return thawed ? "frozen-thawed" : "frozen";
        }
        return "not-run";
}

static const char *target_note(const FreezerTargetReport *t, char *buf, size_t size)
{
        const FreezerStep *s = NULL;

        if (!t->note)
                return NULL;
        if (t->open.error)
                s = &t->open;
        else if (t->freeze.error)
                s = &t->freeze;
        else if (t->thaw.error)
                s = &t->thaw;
        if (s) {
                snprintf(buf, size, "%s: %s", t->note, strerror(s->error));
                return buf;
        }
        return t->note;
}

const char *operation_strip_root_prefix(const char *root_prefix, const char *path)
{
        size_t n;

        if (!root_prefix)
                return path;
        n = strlen(root_prefix);
        if (strncmp(path, root_prefix, n) == 0 && path[n] == '/')
                return path + n;
        return path;
}

/* The mount point as the host sees it: the freezer's path without the root prefix. */
static const char *host_path(const Operation *op, const char *path)
{
        return operation_strip_root_prefix(op->root_prefix, path);
}

static const char *fstype_of(const Operation *op, const char *mount_point)
{
        const struct plan_entry *e;

        if (!op->plan)
                return NULL;
        e = plan_find(op->plan, mount_point);
        return e ? e->fstype : NULL;
}

static void record_targets(Operation *op, bool thawed)
{
        OpRecord *rec = op->record;
        const FreezerReport *rep;
        uint64_t first = 0, last = 0;

        for (size_t i = 0; i < rec->n_targets; i++) {
                free(rec->targets[i].mount_point);
                free(rec->targets[i].fstype);
                free(rec->targets[i].result);
                free(rec->targets[i].note);
        }
        rec->n_targets = 0;
        if (!op->freezer)
                return;
        rep = freezer_get_report(op->freezer);
        for (size_t i = 0; i < rep->n_targets; i++) {
                const FreezerTargetReport *t = &rep->targets[i];
                const char *mp = host_path(op, t->path);
                char note[256];
                OpTarget ot = {
                        .mount_point = (char *)mp,
                        .fstype = (char *)fstype_of(op, mp),
                        .level = (int)t->level,
                        .result = (char *)target_result(t, thawed),
                        .note = (char *)target_note(t, note, sizeof(note)),
                        .open_ms = ms(t->open.usec),
                        .sync_ms = ms(t->sync.usec),
                        .freeze_ms = ms(t->freeze.usec),
                        .thaw_ms = ms(t->thaw.usec),
                        .freeze_seq = t->freeze_seq,
                        .thaw_seq = t->thaw_seq,
                };

                op_record_add_target(rec, &ot);
                if (t->freeze_seq) {
                        if (!first || t->frozen_at_usec < first)
                                first = t->frozen_at_usec;
                        if (t->thawed_at_usec > last)
                                last = t->thawed_at_usec;
                }
        }
        if (first && last >= first)
                rec->frozen_ms = ms(last - first);
}

static void record_hooks(Operation *op, const struct hook_run *run)
{
        if (!run)
                return;
        for (size_t i = 0; i < hook_run_count(run); i++) {
                const struct hook_outcome *o = hook_run_outcome(run, i);
                OpHook h = {
                        .name = o->name,
                        .operation = (char *)hook_op_to_string(hook_run_op(run)),
                        .result = (char *)hook_result_to_string(o->result),
                        .exit_status = o->exit_status,
                        .signal = o->signal,
                        .duration_ms = (double)o->duration_ms,
                        .output = o->output,
                        .output_dropped = o->output_dropped,
                };

                op_record_add_hook(op->record, &h);
        }
}

/* --- the freeze worker -------------------------------------------------- */

static enum hook_reason freeze_reason(const Operation *op)
{
        return op->kind == OP_KIND_TEST_FREEZE ? HOOK_REASON_TEST_FREEZE : HOOK_REASON_HOST_BACKUP;
}

static int set_error(Operation *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(Operation *op, const char *fmt, ...)
{
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(op->error);
        op->error = s;
        return -1;
}

static int filesystems_of(const Operation *op, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = strv_copy(&l, NULL);
        if (r < 0)
                return r;
        for (unsigned lv = 0; lv < plan_n_levels(op->plan); lv++) {
                const struct plan_entry *const *es;
                size_t n;

                es = plan_level(op->plan, lv, &n);
                for (size_t i = 0; i < n; i++) {
                        r = strv_extend(&l, es[i]->target);
                        if (r < 0)
                                return r;
                }
        }
        *ret = steal_ptr(&l);
        return 0;
}

static const char *first_failed_hook(const struct hook_run *run)
{
        for (size_t i = 0; run && i < hook_run_count(run); i++)
                if (hook_run_outcome(run, i)->result != HOOK_RESULT_OK)
                        return hook_run_outcome(run, i)->name;
        return "?";
}

static void post_hooks(Operation *op, const struct hook_run *run)
{
        for (size_t i = 0; run && i < hook_run_count(run); i++) {
                const struct hook_outcome *o = hook_run_outcome(run, i);

                post(op, OPERATION_EVENT_PROGRESS, "hook", hook_op_to_string(hook_run_op(run)), NULL,
                     "%s: %s", o->name, hook_result_to_string(o->result));
        }
}

static int add_targets(Operation *op)
{
        for (unsigned lv = 0; lv < plan_n_levels(op->plan); lv++) {
                const struct plan_entry *const *es;
                size_t n;

                es = plan_level(op->plan, lv, &n);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_free_ char *path = NULL;
                        dev_t expected;
                        int r;

                        if (asprintf(&path, "%s%s", op->root_prefix ? op->root_prefix : "",
                                     es[i]->target) < 0)
                                return -ENOMEM;
                        /* btrfs: a subvolume's st_dev is not the mountinfo device. */
                        expected = streq_ptr(es[i]->fstype, "btrfs") ? 0 : es[i]->devno;
                        r = freezer_add_target(op->freezer, lv, path, expected);
                        if (r == -EPERM)
                                return set_error(op, "%s is on the root filesystem: refused "
                                                 "(only the system service may freeze it)",
                                                 es[i]->target);
                        if (r < 0)
                                return set_error(op, "%s: cannot add freeze target: %s",
                                                 es[i]->target, strerror(-r));
                }
        }
        return 0;
}

static void worker_freeze_run(Operation *op)
{
        char **fs = NULL;
        struct diag diag = DIAG_NULL;
        struct plan_input in = {
                .mountinfo = op->mountinfo,
                .sysfs = op->sysfs,
                .config = op->plan_config,
                .scope = op->scope,
                .diag = &diag,
        };
        FreezerOptions fo = FREEZER_OPTIONS_INIT;
        const FreezerReport *rep;
        uint64_t t0;
        int r;

        post(op, OPERATION_EVENT_PROGRESS, "phase", "plan", NULL, NULL);
        r = plan_new(&op->plan, &in);
        if (r < 0) {
                set_error(op, "cannot plan the freeze: %s",
                          diag_first(&diag, DIAG_ERROR) ?: strerror(-r));
                diag_clear(&diag);
                return;
        }
        diag_clear(&diag);
        post(op, OPERATION_EVENT_PROGRESS, "phase", "plan", NULL, "%zu filesystem(s) to freeze, %zu mount(s) skipped",
             plan_n_targets(op->plan), plan_n_skipped(op->plan));
        if (filesystems_of(op, &op->filesystems) < 0) {
                set_error(op, "out of memory");
                return;
        }
        fs = op->filesystems;

        if (op->run_hooks) {
                struct hook_config hc = {
                        .dir = op->hooks_dir,
                        .timeout_ms = op->cfg.hook_timeout_usec / 1000u,
                        .output_max = (size_t)op->cfg.hook_output_max,
                        .expected_uid = 0,
                        .policy = op->cfg.hook_failure == CONFIG_HOOK_FAILURE_ABORT ?
                                  HOOK_POLICY_ABORT : HOOK_POLICY_CONTINUE,
                };

                r = hook_runner_new(&op->runner, &hc);
                if (r < 0) {
                        set_error(op, "cannot set up the hook runner: %s", strerror(-r));
                        return;
                }
                post(op, OPERATION_EVENT_PROGRESS, "phase", "hooks-freeze", NULL, NULL);
                t0 = mono_usec();
                r = hook_runner_run_freeze(op->runner, freeze_reason(op), (const char *const *)fs,
                                           &op->freeze_run);
                op->hooks_freeze_usec = mono_usec() - t0;
                post_hooks(op, op->freeze_run);
                if (r < 0) {
                        set_error(op, "cannot run the freeze hooks in %s: %s", op->hooks_dir, strerror(-r));
                        return;
                }
                if (r == HOOK_E_FAILED && op->cfg.hook_failure == CONFIG_HOOK_FAILURE_ABORT) {
                        set_error(op, "freeze hook %s failed: nothing was frozen",
                                  first_failed_hook(op->freeze_run));
                        goto undo_hooks;
                }
        }

        fo.on_open_error = op->cfg.on_open_error == CONFIG_ON_ERROR_FAIL ? FREEZER_POLICY_FAIL : FREEZER_POLICY_SKIP;
        fo.on_unsupported = op->cfg.on_unsupported == CONFIG_ON_ERROR_FAIL ? FREEZER_POLICY_FAIL : FREEZER_POLICY_SKIP;
        fo.freeze_timeout_msec = (unsigned)(op->cfg.freeze_timeout_usec / 1000u);
        fo.sync_timeout_msec = fo.freeze_timeout_msec;
        fo.allow_root = op->allow_root;
        fo.state = op->state;
        fo.operation_id = op->id_text;
        r = freezer_new(&op->freezer, &fo);
        if (r < 0) {
                set_error(op, "cannot set up the freezer: %s", strerror(-r));
                goto undo_hooks;
        }
        if (add_targets(op) < 0)
                goto undo_hooks;

        post(op, OPERATION_EVENT_PROGRESS, "phase", "freeze", NULL, NULL);
        /* From here until the last FITHAW nothing is written to any file. */
        log_set_frozen(true);
        r = freezer_freeze(op->freezer);
        rep = freezer_get_report(op->freezer);
        if (!freezer_is_frozen(op->freezer))
                log_set_frozen(false);
        for (size_t i = 0; i < rep->n_targets; i++)
                post(op, OPERATION_EVENT_PROGRESS, "target", "freeze", host_path(op, rep->targets[i].path),
                     "%s", target_result(&rep->targets[i], false));
        if (r != 0) {
                set_error(op, "freeze failed: %s; everything was thawed", freezer_result_to_string(r));
                goto undo_hooks;
        }
        op->freeze_result = 0;
        return;

undo_hooks:
        op->freeze_result = -1;
        if (op->runner && op->freeze_run && hook_run_count(op->freeze_run) > 0) {
                t0 = mono_usec();
                (void)hook_runner_run_thaw(op->runner, freeze_reason(op), (const char *const *)fs,
                                           op->freeze_run, &op->abort_thaw_run);
                op->hooks_thaw_usec = mono_usec() - t0;
                post_hooks(op, op->abort_thaw_run);
        }
}

static void *worker_freeze(void *userdata)
{
        Operation *op = userdata;

        op->freeze_result = -1;
        worker_freeze_run(op);
        if (op->freeze_result != 0 && !op->error)
                set_error(op, "freeze failed");
        post(op, OPERATION_EVENT_FROZEN, NULL, NULL, NULL, NULL);
        return NULL;
}

static void *worker_thaw(void *userdata)
{
        Operation *op = userdata;
        uint64_t t0;
        int r = 0;

        post(op, OPERATION_EVENT_PROGRESS, "phase", "thaw", NULL, NULL);
        if (op->freezer) {
                for (int attempt = 0; attempt < 5; attempt++) {
                        r = freezer_thaw(op->freezer);
                        if (r == 0)
                                break;
                        usleep(200000);
                }
                op->thaw_failed = r != 0;
                if (!freezer_is_frozen(op->freezer))
                        log_set_frozen(false);
        }
        if (op->runner && op->freeze_run && hook_run_count(op->freeze_run) > 0) {
                post(op, OPERATION_EVENT_PROGRESS, "phase", "hooks-thaw", NULL, NULL);
                t0 = mono_usec();
                (void)hook_runner_run_thaw(op->runner, op->thaw_reason, (const char *const *)op->filesystems,
                                           op->freeze_run, &op->thaw_run);
                op->hooks_thaw_usec = mono_usec() - t0;
                post_hooks(op, op->thaw_run);
        }
        post(op, OPERATION_EVENT_THAWED, NULL, NULL, NULL, NULL);
        return NULL;
}

static int start_worker(Operation *op, void *(*fn)(void *))
{
        sigset_t all, old;
        pthread_attr_t attr;
        int r;

        /* The loop reads signals through a signalfd: no worker may take one. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_init(&attr);
        r = -pthread_create(&op->thread, &attr, fn, op);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        op->thread_running = true;
        return 0;
}

int operation_start_freeze(Operation *op)
{
        int r;

        if (op->state_ != OPERATION_NEW)
                return -EBUSY;
        r = start_worker(op, worker_freeze);
        if (r < 0)
                return r;
        op->state_ = OPERATION_FREEZING;
        return 0;
}

int operation_start_thaw(Operation *op, enum hook_reason reason)
{
        int r;

        if (op->state_ != OPERATION_FROZEN && !(op->state_ == OPERATION_DONE && op->thaw_failed))
                return -EBUSY;
        if (op->state_ == OPERATION_FROZEN && op->frozen_event_usec)
                op_record_add_phase(op->record, "hold", ms(mono_usec() - op->frozen_event_usec));
        hook_run_free(op->thaw_run);
        op->thaw_run = NULL;
        op->thaw_reason = reason;
        r = start_worker(op, worker_thaw);
        if (r < 0)
                return r;
        op->state_ = OPERATION_THAWING;
        return 0;
}

/* --- the loop side ------------------------------------------------------ */

static void fold_frozen(Operation *op)
{
        const FreezerReport *rep = op->freezer ? freezer_get_report(op->freezer) : NULL;

        if (op->run_hooks)
                op_record_add_phase(op->record, "hooks-freeze", ms(op->hooks_freeze_usec));
        if (rep) {
                op_record_add_phase(op->record, "presync", ms(rep->sync_usec));
                op_record_add_phase(op->record, "freeze", ms(rep->open_usec + rep->freeze_usec));
        }
        record_hooks(op, op->freeze_run);
        if (op->freeze_result != 0) {
                if (op->abort_thaw_run)
                        op_record_add_phase(op->record, "hooks-thaw", ms(op->hooks_thaw_usec));
                record_hooks(op, op->abort_thaw_run);
                record_targets(op, true);
                op->record->result = OP_RESULT_FAILED;
                op_record_set_error(op->record, "%s", op->error ? op->error : "freeze failed");
                op->state_ = OPERATION_FAILED;
        } else {
                record_targets(op, false);
                op->state_ = OPERATION_FROZEN;
                op->frozen_event_usec = mono_usec();
        }
}

static void fold_thawed(Operation *op)
{
        const FreezerReport *rep = op->freezer ? freezer_get_report(op->freezer) : NULL;

        if (rep)
                op_record_add_phase(op->record, "thaw", ms(rep->thaw_usec));
        if (op->thaw_run) {
                op_record_add_phase(op->record, "hooks-thaw", ms(op->hooks_thaw_usec));
                record_hooks(op, op->thaw_run);
        }
        record_targets(op, !op->thaw_failed);
        op->state_ = OPERATION_DONE;
}

void operation_dispatch(Operation *op, OperationEventFn fn, void *userdata)
{
        for (;;) {
                QueuedEvent *e;
                OperationEvent ev;

                pthread_mutex_lock(&op->lock);
                e = op->head;
                if (e) {
                        op->head = e->next;
                        if (!op->head)
                                op->tail = NULL;
                }
                pthread_mutex_unlock(&op->lock);
                if (!e)
                        return;

                if (e->type != OPERATION_EVENT_PROGRESS && op->thread_running) {
                        pthread_join(op->thread, NULL);
                        op->thread_running = false;
                        if (e->type == OPERATION_EVENT_FROZEN)
                                fold_frozen(op);
                        else
                                fold_thawed(op);
                }
                ev = (OperationEvent){
                        .type = e->type,
                        .name = e->name,
                        .phase = e->phase,
                        .mount_point = e->mount_point,
                        .message = e->message,
                };
                if (fn)
                        fn(op, &ev, userdata);
                event_free(e);
        }
}

OperationState operation_get_state(const Operation *op)
{
        return op->state_;
}

bool operation_worker_running(const Operation *op)
{
        return op->thread_running;
}

OpRecord *operation_get_record(const Operation *op)
{
        return op->record;
}

const char *operation_get_error(const Operation *op)
{
        return op->state_ == OPERATION_FAILED ? op->error : NULL;
}

size_t operation_n_frozen(const Operation *op)
{
        if (op->thread_running || !op->freezer)
                return 0;
        return freezer_get_report(op->freezer)->n_frozen;
}

uint64_t operation_first_frozen_usec(const Operation *op)
{
        const FreezerReport *rep;
        uint64_t first = 0;

        if (op->thread_running || !op->freezer)
                return 0;
        rep = freezer_get_report(op->freezer);
        for (size_t i = 0; i < rep->n_targets; i++)
                if (rep->targets[i].freeze_seq &&
                    (!first || rep->targets[i].frozen_at_usec < first))
                        first = rep->targets[i].frozen_at_usec;
        return first;
}

bool operation_thaw_failed(const Operation *op)
{
        return op->thaw_failed;
}

int operation_thawed_paths(const Operation *op, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        const FreezerReport *rep;
        int r;

        r = strv_copy(&l, NULL);
        if (r < 0)
                return r;
        if (op->freezer && !op->thread_running) {
                rep = freezer_get_report(op->freezer);
                for (size_t i = 0; i < rep->n_targets; i++)
                        if (rep->targets[i].freeze_seq && rep->targets[i].thaw.outcome == FREEZER_OK) {
                                r = strv_extend(&l, host_path(op, rep->targets[i].path));
                                if (r < 0)
                                        return r;
                        }
        }
        *ret = steal_ptr(&l);
        return 0;
}

static void log_run(const struct hook_run *run)
{
        for (size_t i = 0; run && i < hook_run_count(run); i++) {
                const struct hook_outcome *o = hook_run_outcome(run, i);
                _cleanup_free_ char *line = NULL;

                if (hook_run_summary(run, i, &line) >= 0)
                        log_write(o->result == HOOK_RESULT_OK ? LOG_INFO : LOG_WARNING, "%s", line);
                if (o->problem)
                        log_warning("hook %s: %s", o->name, o->problem);
                if (o->output && o->output_len > 0) {
                        char *save = NULL;
                        _cleanup_free_ char *copy = strndup(o->output, o->output_len);

                        for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; l;
                             l = strtok_r(NULL, "\n", &save))
                                log_info("hook %s %s: %s", o->name, hook_op_to_string(hook_run_op(run)), l);
                }
        }
}

void operation_log_results(const Operation *op)
{
        const OpRecord *rec = op->record;

        if (op->thread_running)
                return;
        log_run(op->freeze_run);
        for (size_t i = 0; i < rec->n_targets; i++) {
                const OpTarget *t = &rec->targets[i];

                log_write(streq(t->result, "frozen-thawed") || streq(t->result, "frozen") ? LOG_INFO : LOG_WARNING,
                          "operation %" PRIu64 ": %s (%s, level %d): %s%s%s (freeze #%u, thaw #%u, "
                          "sync %.1f ms, freeze %.1f ms, thaw %.1f ms)",
                          rec->id, t->mount_point, t->fstype ? t->fstype : "?", t->level, t->result,
                          t->note ? ": " : "", t->note ? t->note : "", t->freeze_seq, t->thaw_seq,
                          t->sync_ms, t->freeze_ms, t->thaw_ms);
        }
        log_run(op->abort_thaw_run);
        log_run(op->thaw_run);
}
