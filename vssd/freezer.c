/*
 * freezer: the freeze engine (design.md "The freeze engine", steps 3, 4, 6).
 *
 * Input: targets {mount point, expected st_dev} in levels; level 0 is frozen
 * first, levels one after the other, the targets of one level in parallel.
 * freezer_freeze() runs four phases:
 *
 *   open     every target O_RDONLY|O_DIRECTORY|O_CLOEXEC, in the calling
 *            thread. No O_NOFOLLOW: the identity that matters is checked on
 *            the fd (st_dev against the plan's), not the spelling of the
 *            path. The root guard runs here on the fd: anything on the
 *            root filesystem fails the whole operation unless allow_root.
 *            Targets that cannot be opened, moved to another filesystem,
 *            hold the state dir, or repeat an earlier superblock (failure
 *            mode 8) are skipped or fail everything (on_open_error).
 *   presync  syncfs() on every opened target in parallel while applications
 *            still run, so FIFREEZE has little left to write. Best effort:
 *            errors and the optional deadline are reported, not fatal.
 *   record   one frozen-state record per target, before any FIFREEZE, so a
 *            daemon that dies while holding a freeze is followed by one
 *            that thaws (failure mode 4).
 *   freeze   FIFREEZE level by level. A failure (EBUSY: frozen by someone
 *            else; EOPNOTSUPP under on_unsupported = fail; anything else)
 *            or the deadline thaws what was frozen, in reverse order.
 *
 * Threads. syncfs() and FIFREEZE can block for a long time under heavy
 * writes (failure mode 7), and the caller must be able to answer the host
 * in time. So each phase hands its calls to a Batch: up to max_threads
 * detached worker threads (all signals blocked) pull jobs from it, and the
 * caller waits on a condition variable with a CLOCK_MONOTONIC deadline. The
 * Batch is reference counted (the caller plus every worker) and each job
 * owns a dup of its target's fd, so the caller can walk away at the
 * deadline: it marks the Batch abandoned and drops its reference. A worker
 * whose FIFREEZE returns after that sees the mark, thaws its own target
 * through its own fd and removes the record itself; until then the record
 * stays, so even a daemon dying meanwhile leaves nothing frozen for good.
 * Jobs not started by the deadline are never started.
 *
 * Thaw runs in the calling thread, levels in reverse, and keeps the fd
 * opened at freeze time: exactly what was frozen is thawed, even if the
 * mount table changed. EINVAL (not frozen: someone else thawed) counts as
 * thawed. If a FITHAW fails, lower levels are left frozen (thawing a
 * loop-backed filesystem while the host of its backing file is frozen
 * would block) and freezer_thaw() may be called again.
 *
 * Nothing here logs or writes anywhere but the state dir: the report holds
 * everything for the caller to log after thaw (failure mode 1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syncfs, reallocarray */
#endif
#include "freezer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define WORKER_STACK_SIZE (512 * 1024)

typedef struct Target {
        int fd;                 /* held from open until thawed */
        bool recorded;          /* a frozen-state record exists and is ours to remove */
        bool frozen;
} Target;

struct Freezer {
        FreezerPolicy on_open_error;
        FreezerPolicy on_unsupported;
        unsigned freeze_timeout_msec;
        unsigned sync_timeout_msec;
        unsigned max_threads;
        bool allow_root;
        FrozenState *state;
        char *operation_id;
        FreezerOps ops;

        Target *targets;        /* parallel to report.targets */
        size_t cap;
        unsigned max_level;
        bool ran;
        dev_t root_dev;         /* st_dev of "/", once root_dev_known */
        bool root_dev_known;
        unsigned freeze_seq, thaw_seq;
        FreezerReport report;
};

static uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- the real operations ------------------------------------------------ */

static int real_sync(int fd, void *userdata)
{
        (void)userdata;
        return syncfs(fd) < 0 ? -errno : 0;
}

static int real_freeze(int fd, void *userdata)
{
        (void)userdata;
        return ioctl(fd, FIFREEZE, 0) < 0 ? -errno : 0;
}

static int real_thaw(int fd, void *userdata)
{
        (void)userdata;
        return ioctl(fd, FITHAW, 0) < 0 ? -errno : 0;
}

static int real_identify(int fd, dev_t *ret_dev, void *userdata)
{
        struct stat st;

        (void)userdata;
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret_dev = st.st_dev;
        return 0;
}

static const FreezerOps real_ops = {
        .sync = real_sync,
        .freeze = real_freeze,
        .thaw = real_thaw,
        .identify = real_identify,
};

/* --- batches of parallel calls ------------------------------------------ */

typedef enum BatchKind {
        BATCH_SYNC,
        BATCH_FREEZE,
} BatchKind;

typedef struct Job {
        size_t index;           /* target index */
        int fd;                 /* dup owned by the job */
        dev_t dev;
        int error;              /* 0 or -errno */
        uint64_t usec;
        uint64_t done_at;
        bool started, done;
} Job;

/* All fields below lock are protected by it. */
typedef struct Batch {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned refs;          /* the caller until it returns + each worker */
        BatchKind kind;
        FreezerOps ops;
        FreezerPolicy on_unsupported;
        FrozenState *state;     /* ref; for abandoned freezes */
        size_t n_jobs, next, n_done;
        bool stop;              /* start no more jobs */
        bool abandoned;         /* the caller left; a worker undoes its own freeze */
        Job jobs[];
} Batch;

static void batch_free(Batch *b)
{
        for (size_t i = 0; i < b->n_jobs; i++)
                if (b->jobs[i].fd >= 0)
                        close(b->jobs[i].fd);
        frozen_state_unref(b->state);
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b);
}

static bool batch_fatal(const Batch *b, int error)
{
        if (b->kind != BATCH_FREEZE || error == 0)
                return false;
        return !(error == -EOPNOTSUPP && b->on_unsupported == FREEZER_POLICY_SKIP);
}

static void batch_unref_locked(Batch *b)
{
        bool last = --b->refs == 0;

        pthread_mutex_unlock(&b->lock);
        if (last)
                batch_free(b);
}

static void *batch_worker(void *userdata)
{
        Batch *b = userdata;

        pthread_mutex_lock(&b->lock);
        while (!b->stop && b->next < b->n_jobs) {
                Job *j = &b->jobs[b->next++];
                uint64_t t0, t1;
                int r;

                j->started = true;
                pthread_mutex_unlock(&b->lock);

                t0 = now_usec();
                if (b->kind == BATCH_SYNC)
                        r = b->ops.sync(j->fd, b->ops.userdata);
                else
                        r = b->ops.freeze(j->fd, b->ops.userdata);
                t1 = now_usec();

                pthread_mutex_lock(&b->lock);
                if (b->abandoned && b->kind == BATCH_FREEZE) {
                        /* Nobody will thaw this but us. */
                        pthread_mutex_unlock(&b->lock);
                        if (r == 0)
                                b->ops.thaw(j->fd, b->ops.userdata);
                        if (b->state)
                                frozen_state_remove(b->state, j->dev);
                        pthread_mutex_lock(&b->lock);
                }
                j->error = r;
                j->usec = t1 - t0;
                j->done_at = t1;
                j->done = true;
                b->n_done++;
                if (batch_fatal(b, r))
                        b->stop = true;
                pthread_cond_broadcast(&b->cond);
        }
        batch_unref_locked(b);
        return NULL;
}

static int batch_new(Batch **ret, BatchKind kind, const Freezer *f, const size_t *indices, size_t n)
{
        pthread_condattr_t ca;
        Batch *b;
        int r;

        b = calloc(1, sizeof(*b) + n * sizeof(Job));
        if (!b)
                return -ENOMEM;
        r = pthread_mutex_init(&b->lock, NULL);
        if (r) {
                free(b);
                return -r;
        }
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        r = pthread_cond_init(&b->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (r) {
                pthread_mutex_destroy(&b->lock);
                free(b);
                return -r;
        }
        b->refs = 1;
        b->kind = kind;
        b->ops = f->ops;
        b->on_unsupported = f->on_unsupported;
        b->state = frozen_state_ref(f->state);
        b->n_jobs = n;
        for (size_t i = 0; i < n; i++)
                b->jobs[i].fd = -1;
        for (size_t i = 0; i < n; i++) {
                b->jobs[i].index = indices[i];
                b->jobs[i].dev = f->report.targets[indices[i]].dev;
                b->jobs[i].fd = fcntl(f->targets[indices[i]].fd, F_DUPFD_CLOEXEC, 3);
                if (b->jobs[i].fd < 0) {
                        r = -errno;
                        batch_free(b);
                        return r;
                }
        }
        *ret = b;
        return 0;
}

/* Start up to max_threads workers. 0, or -errno if not even one started. */
static int batch_start(Batch *b, unsigned max_threads)
{
        size_t want = b->n_jobs < max_threads ? b->n_jobs : max_threads;
        sigset_t all, old;
        pthread_attr_t attr;
        size_t started = 0;
        int r = 0;

        if (pthread_attr_init(&attr))
                return -ENOMEM;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);

        /* Workers never take signals: the daemon handles them via signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (size_t i = 0; i < want; i++) {
                pthread_t t;

                pthread_mutex_lock(&b->lock);
                b->refs++;
                pthread_mutex_unlock(&b->lock);
                r = pthread_create(&t, &attr, batch_worker, b);
                if (r) {
                        pthread_mutex_lock(&b->lock);
                        b->refs--;
                        pthread_mutex_unlock(&b->lock);
                        break;
                }
                started++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&attr);

        return started > 0 ? 0 : -r;
}

/* A new batch of the targets at indices, its workers started; *ret only on success. */
static int batch_new_started(Batch **ret, BatchKind kind, const Freezer *f, const size_t *indices, size_t n)
{
        Batch *b = NULL;
        int r;

        r = batch_new(&b, kind, f, indices, n);
        if (r < 0)
                return r;
        r = batch_start(b, f->max_threads);
        if (r < 0) {
                batch_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

static bool batch_finished(const Batch *b)
{
        return b->n_done == b->next && (b->stop || b->next == b->n_jobs);
}

/*
 * Wait until every started job is done and nothing more will start, or
 * until deadline (CLOCK_MONOTONIC usec, 0 = none). Returns with the lock
 * held; true if the deadline passed (the batch is then abandoned).
 */
static bool batch_wait_locked(Batch *b, uint64_t deadline)
{
        struct timespec ts = {
                .tv_sec = (time_t)(deadline / 1000000u),
                .tv_nsec = (long)(deadline % 1000000u) * 1000,
        };

        pthread_mutex_lock(&b->lock);
        while (!batch_finished(b)) {
                int r;

                if (deadline == 0) {
                        pthread_cond_wait(&b->cond, &b->lock);
                        continue;
                }
                r = pthread_cond_timedwait(&b->cond, &b->lock, &ts);
                if (r == ETIMEDOUT && !batch_finished(b)) {
                        b->stop = true;
                        b->abandoned = true;
                        return true;
                }
        }
        return false;
}

/* --- object ------------------------------------------------------------- */

int freezer_new(Freezer **ret, const FreezerOptions *options)
{
        static const FreezerOptions defaults = FREEZER_OPTIONS_INIT;
        const FreezerOptions *o = options ? options : &defaults;
        Freezer *f;

        if (!ret)
                return -EINVAL;
        if (o->ops && (!o->ops->sync || !o->ops->freeze || !o->ops->thaw || !o->ops->identify))
                return -EINVAL;
        if ((o->on_open_error != FREEZER_POLICY_SKIP && o->on_open_error != FREEZER_POLICY_FAIL) ||
            (o->on_unsupported != FREEZER_POLICY_SKIP && o->on_unsupported != FREEZER_POLICY_FAIL))
                return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        if (o->operation_id) {
                f->operation_id = strdup(o->operation_id);
                if (!f->operation_id) {
                        free(f);
                        return -ENOMEM;
                }
        }
        f->on_open_error = o->on_open_error;
        f->on_unsupported = o->on_unsupported;
        f->freeze_timeout_msec = o->freeze_timeout_msec;
        f->sync_timeout_msec = o->sync_timeout_msec;
        f->max_threads = o->max_threads ? o->max_threads : FREEZER_DEFAULT_MAX_THREADS;
        f->allow_root = o->allow_root;
        f->state = frozen_state_ref(o->state);
        f->ops = o->ops ? *o->ops : real_ops;

        *ret = f;
        return 0;
}

static int thaw_all(Freezer *f);

Freezer *freezer_free(Freezer *f)
{
        if (!f)
                return NULL;
        /* Never leave a freeze behind just because the caller let go. */
        if (freezer_is_frozen(f))
                thaw_all(f);
        for (size_t i = 0; i < f->report.n_targets; i++) {
                if (f->targets[i].fd >= 0)
                        close(f->targets[i].fd);
                free(f->report.targets[i].path);
        }
        free(f->targets);
        free(f->report.targets);
        frozen_state_unref(f->state);
        free(f->operation_id);
        free(f);
        return NULL;
}

/* The st_dev of "/", stat()ed once per freezer (not once per target). */
static int root_dev(Freezer *f, dev_t *ret)
{
        struct stat st;

        if (!f->root_dev_known) {
                if (stat("/", &st) < 0)
                        return -errno;
                f->root_dev = st.st_dev;
                f->root_dev_known = true;
        }
        *ret = f->root_dev;
        return 0;
}

int freezer_add_target(Freezer *f, unsigned level, const char *path, dev_t expected_dev)
{
        struct stat st;
        char *copy;
        dev_t rdev = 0;
        int r;

        if (!f || !path || path[0] != '/' || f->ran)
                return -EINVAL;

        if (!f->allow_root) {
                if (path[strspn(path, "/")] == '\0')
                        return -EPERM;
                r = root_dev(f, &rdev);
                if (r < 0)
                        return r;
                /* Checked again on the fd at freeze time; this is the early warning. */
                if (stat(path, &st) == 0 && st.st_dev == rdev)
                        return -EPERM;
        }

        if (f->report.n_targets == f->cap) {
                size_t ncap = f->cap ? f->cap * 2 : 8;
                Target *t = reallocarray(f->targets, ncap, sizeof(*t));
                FreezerTargetReport *tr;

                if (!t)
                        return -ENOMEM;
                f->targets = t;
                tr = reallocarray(f->report.targets, ncap, sizeof(*tr));
                if (!tr)
                        return -ENOMEM;
                f->report.targets = tr;
                f->cap = ncap;
        }

        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        f->targets[f->report.n_targets] = (Target){ .fd = -1 };
        f->report.targets[f->report.n_targets] = (FreezerTargetReport){
                .path = copy,
                .level = level,
                .expected_dev = expected_dev,
        };
        f->report.n_targets++;
        if (level > f->max_level)
                f->max_level = level;
        return 0;
}

bool freezer_is_frozen(const Freezer *f)
{
        if (!f)
                return false;
        for (size_t i = 0; i < f->report.n_targets; i++)
                if (f->targets[i].frozen)
                        return true;
        return false;
}

const FreezerReport *freezer_get_report(const Freezer *f)
{
        return f ? &f->report : NULL;
}

/* --- phases ------------------------------------------------------------- */

static void close_target(Freezer *f, size_t i)
{
        Target *t = &f->targets[i];

        if (t->recorded && f->state)
                frozen_state_remove(f->state, f->report.targets[i].dev);
        t->recorded = false;
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
}

static const char *open_error_note(int error)
{
        switch (error) {
        case ENOENT:
                return "does not exist";
        case ENOTDIR:
                return "not a directory (a bind-mounted file or socket?)";
        case EACCES:
        case EPERM:
                return "permission denied";
        case ELOOP:
                return "too many symbolic links";
        default:
                return "cannot open";
        }
}

/* 0, or FREEZER_E_ROOT / FREEZER_E_OPEN for this target. */
static int open_one(Freezer *f, size_t i, dev_t rdev)
{
        FreezerTargetReport *tr = &f->report.targets[i];
        _cleanup_close_ int fd = -1;
        uint64_t t0 = now_usec();
        const char *note = NULL;
        struct stat st;
        int error = 0;
        dev_t dev;
        int r;

        fd = open(tr->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                error = errno;
                note = open_error_note(error);
                goto fail;
        }

        /* The root guard, on what was actually opened. */
        if (!f->allow_root && st.st_dev == rdev) {
                tr->open = (FreezerStep){ FREEZER_FAILED, EPERM, now_usec() - t0 };
                tr->dev = st.st_dev;
                tr->note = "on the root filesystem; refused without allow_root";
                return FREEZER_E_ROOT;
        }

        r = f->ops.identify(fd, &dev, f->ops.userdata);
        if (r < 0) {
                error = -r;
                note = "cannot stat";
                goto fail;
        }
        tr->dev = dev;
        if (tr->expected_dev != 0 && dev != tr->expected_dev) {
                error = EXDEV;
                note = "mount changed: not the filesystem that was planned";
                goto fail;
        }
        if (f->state && dev == frozen_state_dev(f->state)) {
                error = EDEADLK;
                note = "holds the frozen-state directory";
                goto fail;
        }
        for (size_t j = 0; j < i; j++) {
                if (f->targets[j].fd >= 0 && f->report.targets[j].dev == dev) {
                        /* One superblock, two paths (bind mount, subvolume): freeze once. */
                        tr->open = (FreezerStep){ FREEZER_SKIPPED, 0, now_usec() - t0 };
                        tr->note = "same filesystem as an earlier target";
                        return 0;
                }
        }

        tr->open = (FreezerStep){ FREEZER_OK, 0, now_usec() - t0 };
        f->targets[i].fd = fd;
        fd = -1;
        return 0;

fail:
        tr->open = (FreezerStep){
                f->on_open_error == FREEZER_POLICY_SKIP ? FREEZER_SKIPPED : FREEZER_FAILED,
                error, now_usec() - t0,
        };
        tr->note = note;
        return f->on_open_error == FREEZER_POLICY_SKIP ? 0 : FREEZER_E_OPEN;
}

static int phase_open(Freezer *f)
{
        uint64_t t0 = now_usec();
        int result = 0;
        dev_t rdev = 0;
        int r;

        r = root_dev(f, &rdev);
        if (r < 0)
                return r;

        for (size_t i = 0; i < f->report.n_targets; i++) {
                r = open_one(f, i, rdev);
                if (r == FREEZER_E_ROOT || (r && !result))
                        result = r;
        }
        f->report.open_usec = now_usec() - t0;
        return result;
}

/* Indices of opened targets, in input order, optionally of one level only. */
static size_t collect(const Freezer *f, bool by_level, unsigned level, size_t *out)
{
        size_t n = 0;

        for (size_t i = 0; i < f->report.n_targets; i++)
                if (f->targets[i].fd >= 0 && (!by_level || f->report.targets[i].level == level))
                        out[n++] = i;
        return n;
}

static uint64_t deadline_after(unsigned msec)
{
        return msec ? now_usec() + (uint64_t)msec * 1000u : 0;
}

static int phase_presync(Freezer *f, size_t *idx)
{
        uint64_t t0 = now_usec();
        Batch *b = NULL;
        bool timed_out;
        size_t n;
        int r;

        n = collect(f, false, 0, idx);
        if (n == 0)
                return 0;

        r = batch_new_started(&b, BATCH_SYNC, f, idx, n);
        if (r < 0)
                return r;
        timed_out = batch_wait_locked(b, deadline_after(f->sync_timeout_msec));
        for (size_t k = 0; k < n; k++) {
                const Job *j = &b->jobs[k];
                FreezerTargetReport *tr = &f->report.targets[j->index];

                if (j->done)
                        tr->sync = (FreezerStep){ j->error ? FREEZER_FAILED : FREEZER_OK,
                                                  -j->error, j->usec };
                else if (j->started)
                        tr->sync = (FreezerStep){ FREEZER_TIMED_OUT, ETIMEDOUT, now_usec() - t0 };
        }
        (void)timed_out;
        batch_unref_locked(b);
        f->report.sync_usec = now_usec() - t0;
        return 0;
}

static int phase_record(Freezer *f)
{
        struct timespec now;

        if (!f->state)
                return 0;
        clock_gettime(CLOCK_REALTIME, &now);
        for (size_t i = 0; i < f->report.n_targets; i++) {
                FreezerTargetReport *tr = &f->report.targets[i];
                FrozenEntry e = {
                        .path = tr->path,
                        .dev = tr->dev,
                        .level = tr->level,
                        .frozen_at = now,
                        .pid = getpid(),
                        .operation = f->operation_id,
                };
                int r;

                if (f->targets[i].fd < 0)
                        continue;
                r = frozen_state_record(f->state, &e);
                if (r < 0) {
                        tr->freeze = (FreezerStep){ FREEZER_FAILED, -r, 0 };
                        tr->note = "cannot write the frozen-state record";
                        return FREEZER_E_STATE;
                }
                f->targets[i].recorded = true;
        }
        return 0;
}

static int rank(int result)
{
        switch (result) {
        case FREEZER_E_BUSY:
                return 4;
        case FREEZER_E_FREEZE:
                return 3;
        case FREEZER_E_UNSUPPORTED:
                return 2;
        case FREEZER_E_TIMEOUT:
                return 1;
        default:
                return 0;
        }
}

static int merge(int a, int b)
{
        if (a < 0)
                return a;
        if (b < 0)
                return b;
        return rank(b) > rank(a) ? b : a;
}

static int freeze_level(Freezer *f, unsigned level, uint64_t deadline, size_t *idx)
{
        Batch *b = NULL;
        size_t n, n_frozen = 0;
        uint64_t t_start;
        int result = 0;
        bool timed_out;
        int r;

        n = collect(f, true, level, idx);
        if (n == 0)
                return 0;

        if (deadline && now_usec() >= deadline) {
                for (size_t k = 0; k < n; k++)
                        f->report.targets[idx[k]].note = "not attempted: freeze deadline passed";
                return FREEZER_E_TIMEOUT;
        }

        t_start = now_usec();
        r = batch_new_started(&b, BATCH_FREEZE, f, idx, n);
        if (r < 0)
                return r;

        timed_out = batch_wait_locked(b, deadline);
        for (size_t k = 0; k < n; k++) {
                const Job *j = &b->jobs[k];
                FreezerTargetReport *tr = &f->report.targets[j->index];
                Target *t = &f->targets[j->index];

                if (j->done) {
                        tr->freeze.usec = j->usec;
                        tr->freeze.error = -j->error;
                        if (j->error == 0) {
                                tr->freeze.outcome = FREEZER_OK;
                                tr->frozen_at_usec = j->done_at;
                                t->frozen = true;
                                n_frozen++;
                        } else if (j->error == -EOPNOTSUPP) {
                                tr->note = "filesystem does not support freezing";
                                if (f->on_unsupported == FREEZER_POLICY_SKIP) {
                                        tr->freeze.outcome = FREEZER_SKIPPED;
                                } else {
                                        tr->freeze.outcome = FREEZER_FAILED;
                                        result = merge(result, FREEZER_E_UNSUPPORTED);
                                }
                        } else if (j->error == -EBUSY) {
                                tr->freeze.outcome = FREEZER_FAILED;
                                tr->note = "already frozen by someone else";
                                result = merge(result, FREEZER_E_BUSY);
                        } else {
                                tr->freeze.outcome = FREEZER_FAILED;
                                result = merge(result, FREEZER_E_FREEZE);
                        }
                } else if (j->started) {
                        /* Abandoned: the worker thaws it and removes the record. */
                        tr->freeze = (FreezerStep){ FREEZER_TIMED_OUT, ETIMEDOUT, now_usec() - t_start };
                        tr->note = "FIFREEZE still blocked at the deadline; its worker thaws it when it returns";
                        t->recorded = false;
                        f->report.n_abandoned++;
                        result = merge(result, FREEZER_E_TIMEOUT);
                } else if (timed_out) {
                        tr->note = "not attempted: freeze deadline passed";
                        result = merge(result, FREEZER_E_TIMEOUT);
                }
        }
        batch_unref_locked(b);

        /* Order of the successful FIFREEZE returns within the level. */
        while (n_frozen-- > 0) {
                FreezerTargetReport *first = NULL;

                for (size_t k = 0; k < n; k++) {
                        FreezerTargetReport *tr = &f->report.targets[idx[k]];

                        if (f->targets[idx[k]].frozen && tr->freeze_seq == 0 &&
                            (!first || tr->frozen_at_usec < first->frozen_at_usec))
                                first = tr;
                }
                if (first)
                        first->freeze_seq = ++f->freeze_seq;
        }

        /* Done with what did not freeze. */
        for (size_t k = 0; k < n; k++)
                if (!f->targets[idx[k]].frozen)
                        close_target(f, idx[k]);

        return result;
}

static int thaw_all(Freezer *f)
{
        uint64_t t0 = now_usec();
        int result = 0;

        for (unsigned level = f->max_level + 1; level-- > 0;) {
                for (size_t i = f->report.n_targets; i-- > 0;) {
                        FreezerTargetReport *tr = &f->report.targets[i];
                        Target *t = &f->targets[i];
                        uint64_t t1;
                        int r;

                        if (tr->level != level || !t->frozen)
                                continue;

                        t1 = now_usec();
                        r = f->ops.thaw(t->fd, f->ops.userdata);
                        tr->thaw.usec = now_usec() - t1;
                        if (r < 0 && r != -EINVAL) {
                                tr->thaw.outcome = FREEZER_FAILED;
                                tr->thaw.error = -r;
                                result = FREEZER_E_THAW;
                                continue;
                        }
                        if (r == -EINVAL) {
                                tr->thaw.error = EINVAL;
                                tr->note = "was not frozen any more (thawed by someone else)";
                        } else {
                                tr->thaw.error = 0;
                        }
                        tr->thaw.outcome = FREEZER_OK;
                        tr->thawed_at_usec = now_usec();
                        tr->thaw_seq = ++f->thaw_seq;
                        t->frozen = false;
                        close_target(f, i);
                }
                /* Lower levels may be stacked on this one: leave them frozen. */
                if (result)
                        break;
        }
        f->report.thaw_usec += now_usec() - t0;
        return result;
}

static void count(Freezer *f)
{
        FreezerReport *rep = &f->report;

        rep->n_opened = rep->n_frozen = rep->n_skipped = rep->n_failed = 0;
        for (size_t i = 0; i < rep->n_targets; i++) {
                const FreezerTargetReport *tr = &rep->targets[i];

                if (tr->open.outcome == FREEZER_OK)
                        rep->n_opened++;
                if (f->targets[i].frozen)
                        rep->n_frozen++;
                if (tr->open.outcome == FREEZER_SKIPPED || tr->freeze.outcome == FREEZER_SKIPPED)
                        rep->n_skipped++;
                if (tr->open.outcome == FREEZER_FAILED || tr->freeze.outcome == FREEZER_FAILED ||
                    tr->freeze.outcome == FREEZER_TIMED_OUT || tr->thaw.outcome == FREEZER_FAILED)
                        rep->n_failed++;
        }
}

static int freeze_run(Freezer *f)
{
        _cleanup_free_ size_t *idx = NULL;
        uint64_t t0, deadline;
        int r;

        idx = calloc(f->report.n_targets ? f->report.n_targets : 1, sizeof(*idx));
        if (!idx)
                return -ENOMEM;

        r = phase_open(f);
        if (r)
                goto fail;

        r = phase_presync(f, idx);
        if (r)
                goto fail;

        r = phase_record(f);
        if (r)
                goto fail;

        t0 = now_usec();
        deadline = deadline_after(f->freeze_timeout_msec);
        for (unsigned level = 0; level <= f->max_level; level++) {
                r = freeze_level(f, level, deadline, idx);
                if (r)
                        break;
        }
        f->report.freeze_usec = now_usec() - t0;
        if (r)
                goto fail;
        return 0;

fail:
        thaw_all(f);
        for (size_t i = 0; i < f->report.n_targets; i++)
                if (!f->targets[i].frozen)
                        close_target(f, i);
        return r;
}

int freezer_freeze(Freezer *f)
{
        int r;

        if (!f)
                return -EINVAL;
        if (f->ran)
                return -EALREADY;
        f->ran = true;

        r = freeze_run(f);
        f->report.result = r;
        count(f);
        return r;
}

int freezer_thaw(Freezer *f)
{
        int r;

        if (!f)
                return -EINVAL;
        r = thaw_all(f);
        f->report.thaw_result = r;
        count(f);
        return r;
}

const char *freezer_result_to_string(int result)
{
        switch (result) {
        case 0:
                return "ok";
        case FREEZER_E_ROOT:
                return "refusing to freeze the root filesystem";
        case FREEZER_E_OPEN:
                return "a mount point could not be opened";
        case FREEZER_E_STATE:
                return "cannot record the frozen state";
        case FREEZER_E_UNSUPPORTED:
                return "a filesystem does not support freezing";
        case FREEZER_E_BUSY:
                return "a filesystem was already frozen by someone else";
        case FREEZER_E_FREEZE:
                return "freeze failed";
        case FREEZER_E_TIMEOUT:
                return "freeze timed out";
        case FREEZER_E_THAW:
                return "thaw failed";
        default:
                return result < 0 ? "internal error" : "unknown";
        }
}

const char *freezer_outcome_to_string(FreezerOutcome outcome)
{
        switch (outcome) {
        case FREEZER_NOT_RUN:
                return "not-run";
        case FREEZER_OK:
                return "ok";
        case FREEZER_SKIPPED:
                return "skipped";
        case FREEZER_FAILED:
                return "failed";
        case FREEZER_TIMED_OUT:
                return "timed-out";
        }
        return "unknown";
}
