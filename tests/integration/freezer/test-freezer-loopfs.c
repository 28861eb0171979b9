/*
 * Integration test of the freezer and the frozen-state records on real
 * filesystems. Run by run-freezer-loopfs.sh, which creates (and always
 * removes) the loop mounts and passes them in the environment:
 *
 *   FZ_EXT4   ext4 on a loop device; also holds the image of FZ_INNER
 *   FZ_INNER  ext4 on a loop device backed by a file inside FZ_EXT4
 *   FZ_XFS, FZ_BTRFS, FZ_TMPFS (a tmpfs), FZ_STATE (a tmpfs for the records)
 *   FZ_BINDFILE (a regular file bind-mounted on a file), FZ_MISSING (absent)
 *   FZ_WORK   the wrapper's scratch dir (on the root filesystem)
 *
 * SAFETY: only those mounts are ever frozen. Before anything else every one
 * is checked to be a mount point on a device other than "/"'s. Every exit
 * path (exit(), fatal signals) thaws all of them, host of the loop image
 * first, and kills the writer children. The root-guard test runs with
 * operations that refuse, on their own, any fd not on a test mount.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freezer.h"
#include "frozen-state.h"

enum { M_EXT4, M_XFS, M_BTRFS, M_TMPFS, M_INNER, M_COUNT };
/* Thaw order for emergencies: the host of the inner image before the inner. */
static const char *mnt[M_COUNT];
static const char *mnt_env[M_COUNT] = { "FZ_EXT4", "FZ_XFS", "FZ_BTRFS", "FZ_TMPFS", "FZ_INNER" };
static dev_t mnt_dev[M_COUNT];
static const char *state_mnt, *bindfile, *missing, *work;
static dev_t root_dev;
static FrozenState *state;

#define MAX_CHILDREN 16
static volatile pid_t children[MAX_CHILDREN];

static int n_pass, n_fail;

/* --- emergency cleanup (async-signal-safe) ------------------------------- */

static void emergency(void)
{
        for (int i = 0; i < MAX_CHILDREN; i++)
                if (children[i] > 0)
                        kill(children[i], SIGKILL);
        for (int i = 0; i < M_COUNT; i++) {
                int fd;

                if (!mnt[i])
                        continue;
                fd = open(mnt[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                        ioctl(fd, FITHAW, 0); /* EINVAL when not frozen: fine */
                        close(fd);
                }
        }
}

static void on_signal(int sig)
{
        emergency();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void add_child(pid_t pid)
{
        for (int i = 0; i < MAX_CHILDREN; i++)
                if (children[i] <= 0) {
                        children[i] = pid;
                        return;
                }
}

static void forget_child(pid_t pid)
{
        for (int i = 0; i < MAX_CHILDREN; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

/* --- checks -------------------------------------------------------------- */

#define CHECK(cond, ...) do {                                                   \
        if (!(cond)) {                                                          \
                fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
                fprintf(stderr, __VA_ARGS__);                                   \
                fputc('\n', stderr);                                            \
                exit(1); /* atexit thaws everything */                          \
        }                                                                       \
} while (0)

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * 1 if frozen, 0 if not (then it was frozen and thawed again at once).
 * Never call it on M_INNER while M_EXT4 might be frozen and M_INNER not:
 * that FIFREEZE would block on the frozen host of its image.
 */
static int probe_frozen(int m)
{
        int fd = open(mnt[m], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        CHECK(fd >= 0, "open %s: %m", mnt[m]);
        if (ioctl(fd, FIFREEZE, 0) == 0) {
                CHECK(ioctl(fd, FITHAW, 0) == 0, "thaw %s: %m", mnt[m]);
                r = 0;
        } else {
                CHECK(errno == EBUSY, "probe %s: %m", mnt[m]);
                r = 1;
        }
        close(fd);
        return r;
}

static void direct(int m, unsigned long op)
{
        int fd = open(mnt[m], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        CHECK(fd >= 0, "open %s: %m", mnt[m]);
        CHECK(ioctl(fd, op, 0) == 0, "%s %s: %m", op == FIFREEZE ? "FIFREEZE" : "FITHAW", mnt[m]);
        close(fd);
}

static size_t n_records(void)
{
        FrozenList *l = NULL;
        size_t n;

        CHECK(frozen_state_list(state, &l) == 0, "list");
        n = l->n_entries;
        frozen_list_free(l);
        return n;
}

/* --- writers ------------------------------------------------------------- */

#define WRITE_SIZE (1024 * 1024)

typedef struct Writers {
        int pipe[2];
        pid_t pid[M_COUNT];
        int which[M_COUNT];
        size_t n;
} Writers;

static void writer_child(int m, int wfd)
{
        static char buf[WRITE_SIZE];
        char path[PATH_MAX];
        size_t off = 0;
        int fd;

        memset(buf, 'a' + m, sizeof(buf));
        snprintf(path, sizeof(path), "%s/writer.dat", mnt[m]);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                _exit(2);
        while (off < sizeof(buf)) {
                ssize_t n = write(fd, buf + off, sizeof(buf) - off);

                if (n <= 0)
                        _exit(3);
                off += (size_t)n;
        }
        if (fsync(fd) < 0 || close(fd) < 0)
                _exit(4);
        char c = (char)m;
        if (write(wfd, &c, 1) != 1)
                _exit(5);
        _exit(0);
}

static void writers_start(Writers *w, const int *which, size_t n)
{
        *w = (Writers){};
        CHECK(pipe2(w->pipe, O_CLOEXEC) == 0, "pipe");
        for (size_t i = 0; i < n; i++) {
                pid_t pid = fork();

                CHECK(pid >= 0, "fork");
                if (pid == 0) {
                        signal(SIGTERM, SIG_DFL);
                        signal(SIGINT, SIG_DFL);
                        close(w->pipe[0]);
                        writer_child(which[i], w->pipe[1]);
                }
                add_child(pid);
                w->pid[i] = pid;
                w->which[i] = which[i];
        }
        w->n = n;
        close(w->pipe[1]);
        w->pipe[1] = -1;
}

/* How many writers reported completion within timeout_ms (total so far). */
static size_t writers_done(Writers *w, unsigned timeout_ms, size_t *done)
{
        uint64_t deadline = now_ms() + timeout_ms;

        while (*done < w->n) {
                struct pollfd p = { .fd = w->pipe[0], .events = POLLIN };
                uint64_t now = now_ms();
                char c;
                int r;

                if (now >= deadline)
                        break;
                r = poll(&p, 1, (int)(deadline - now));
                if (r < 0 && errno == EINTR)
                        continue;
                CHECK(r >= 0, "poll: %m");
                if (r == 0)
                        break;
                if (read(w->pipe[0], &c, 1) == 1)
                        (*done)++;
                else
                        break;
        }
        return *done;
}

static void writers_finish(Writers *w)
{
        for (size_t i = 0; i < w->n; i++) {
                char path[PATH_MAX], buf[4096];
                int status, fd;
                size_t total = 0;
                ssize_t n;

                CHECK(waitpid(w->pid[i], &status, 0) == w->pid[i], "waitpid");
                forget_child(w->pid[i]);
                CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer on %s: status %d",
                      mnt[w->which[i]], status);
                snprintf(path, sizeof(path), "%s/writer.dat", mnt[w->which[i]]);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                CHECK(fd >= 0, "open %s", path);
                while ((n = read(fd, buf, sizeof(buf))) > 0) {
                        for (ssize_t k = 0; k < n; k++)
                                CHECK(buf[k] == 'a' + w->which[i], "data on %s", path);
                        total += (size_t)n;
                }
                close(fd);
                CHECK(total == WRITE_SIZE, "%s: %zu bytes", path, total);
                unlink(path);
        }
        close(w->pipe[0]);
}

/* Writers on these mounts block while frozen and complete after thaw. */
static void check_writers_blocked(const int *which, size_t n, void (*thaw)(void *), void *userdata)
{
        Writers w;
        size_t done = 0;

        writers_start(&w, which, n);
        CHECK(writers_done(&w, 1000, &done) == 0, "%zu writer(s) finished while frozen", done);
        for (size_t i = 0; i < n; i++)
                CHECK(waitpid(w.pid[i], NULL, WNOHANG) == 0, "writer %zu exited while frozen", i);
        thaw(userdata);
        CHECK(writers_done(&w, 60000, &done) == n, "only %zu of %zu writers finished after thaw", done, n);
        writers_finish(&w);
}

/* --- helpers ------------------------------------------------------------- */

static Freezer *make(const FreezerOptions *o, const int (*levels)[M_COUNT + 1], size_t n_levels)
{
        FreezerOptions opts = FREEZER_OPTIONS_INIT;
        Freezer *f = NULL;

        if (o)
                opts = *o;
        if (!opts.state)
                opts.state = state;
        CHECK(freezer_new(&f, &opts) == 0, "freezer_new");
        for (size_t l = 0; l < n_levels; l++)
                for (size_t k = 0; levels[l][k] >= 0; k++)
                        CHECK(freezer_add_target(f, (unsigned)l, mnt[levels[l][k]], mnt_dev[levels[l][k]]) == 0,
                              "add %s", mnt[levels[l][k]]);
        return f;
}

static const FreezerTargetReport *find(Freezer *f, const char *path)
{
        const FreezerReport *rep = freezer_get_report(f);

        for (size_t i = 0; i < rep->n_targets; i++)
                if (strcmp(rep->targets[i].path, path) == 0)
                        return &rep->targets[i];
        CHECK(0, "no target %s", path);
        return NULL;
}

static void print_report(const char *title, Freezer *f)
{
        const FreezerReport *rep = freezer_get_report(f);

        printf("  %s: result %s, phases open %.3f ms, presync %.3f ms, freeze %.3f ms, thaw %.3f ms\n",
               title, freezer_result_to_string(rep->result), rep->open_usec / 1000.0,
               rep->sync_usec / 1000.0, rep->freeze_usec / 1000.0, rep->thaw_usec / 1000.0);
        for (size_t i = 0; i < rep->n_targets; i++) {
                const FreezerTargetReport *t = &rep->targets[i];

                printf("    L%u %-40s open %s %.3f  sync %s %.3f  freeze %s %.3f (#%u)  thaw %s %.3f (#%u)  frozen %.3f ms%s%s\n",
                       t->level, t->path,
                       freezer_outcome_to_string(t->open.outcome), t->open.usec / 1000.0,
                       freezer_outcome_to_string(t->sync.outcome), t->sync.usec / 1000.0,
                       freezer_outcome_to_string(t->freeze.outcome), t->freeze.usec / 1000.0, t->freeze_seq,
                       freezer_outcome_to_string(t->thaw.outcome), t->thaw.usec / 1000.0, t->thaw_seq,
                       t->thawed_at_usec ? (t->thawed_at_usec - t->frozen_at_usec) / 1000.0 : 0.0,
                       t->note ? "  note: " : "", t->note ? t->note : "");
        }
}

static void dirty(int m, size_t size)
{
        char path[PATH_MAX];
        char *buf = malloc(size);
        int fd;

        CHECK(buf, "malloc");
        memset(buf, 'd', size);
        snprintf(path, sizeof(path), "%s/dirty.dat", mnt[m]);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0, "open %s", path);
        CHECK(write(fd, buf, size) == (ssize_t)size, "write %s", path);
        close(fd);
        free(buf);
}

static void thaw_freezer(void *userdata)
{
        Freezer *f = userdata;

        CHECK(freezer_thaw(f) == 0, "thaw: %s", freezer_result_to_string(freezer_get_report(f)->thaw_result));
}

/* The standard layout: the loop-backed inner fs first, then everything else. */
static const int stack_levels[2][M_COUNT + 1] = {
        { M_INNER, -1 },
        { M_EXT4, M_XFS, M_BTRFS, -1 },
};
static const int all_four[] = { M_INNER, M_EXT4, M_XFS, M_BTRFS };

/* --- tests --------------------------------------------------------------- */

static void test_freeze_thaw(void)
{
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        const FreezerTargetReport *inner;
        FrozenList *l = NULL;
        Freezer *f;

        for (int m = 0; m < M_COUNT; m++)
                if (m != M_TMPFS)
                        dirty(m, 8 << 20);

        o.operation_id = "it-freeze-thaw";
        o.freeze_timeout_msec = 60000;
        f = make(&o, stack_levels, 2);
        CHECK(freezer_freeze(f) == 0, "freeze: %s", freezer_result_to_string(freezer_get_report(f)->result));
        CHECK(freezer_is_frozen(f), "frozen");
        CHECK(freezer_get_report(f)->n_frozen == 4, "n_frozen %zu", freezer_get_report(f)->n_frozen);

        /* inner first, strictly before any of the next level */
        inner = find(f, mnt[M_INNER]);
        CHECK(inner->freeze_seq == 1, "inner frozen #%u", inner->freeze_seq);
        for (int m = M_EXT4; m <= M_BTRFS; m++) {
                const FreezerTargetReport *t = find(f, mnt[m]);

                CHECK(t->freeze.outcome == FREEZER_OK, "%s", mnt[m]);
                CHECK(t->freeze_seq >= 2 && t->freeze_seq <= 4, "%s #%u", mnt[m], t->freeze_seq);
                CHECK(t->frozen_at_usec > inner->frozen_at_usec, "%s frozen before inner", mnt[m]);
                CHECK(t->sync.outcome == FREEZER_OK, "%s presync", mnt[m]);
                CHECK(t->open.outcome == FREEZER_OK && t->dev == mnt_dev[m], "%s open", mnt[m]);
                CHECK(t->freeze.usec > 0, "%s freeze time", mnt[m]);
        }
        CHECK(freezer_get_report(f)->freeze_usec > 0 && freezer_get_report(f)->sync_usec > 0, "phase times");

        /* records during the freeze */
        CHECK(frozen_state_list(state, &l) == 0, "list");
        CHECK(l->n_entries == 4, "%zu records", l->n_entries);
        CHECK(strcmp(l->entries[0].path, mnt[M_INNER]) == 0 && l->entries[0].level == 0, "first record");
        for (size_t i = 0; i < l->n_entries; i++) {
                CHECK(l->entries[i].pid == getpid(), "pid");
                CHECK(l->entries[i].operation && strcmp(l->entries[i].operation, "it-freeze-thaw") == 0, "op id");
                CHECK(l->entries[i].frozen_at.tv_sec > 1600000000, "time");
        }
        frozen_list_free(l);

        for (int m = M_EXT4; m <= M_BTRFS; m++)
                CHECK(probe_frozen(m) == 1, "%s not frozen", mnt[m]);
        CHECK(probe_frozen(M_INNER) == 1, "inner not frozen");

        check_writers_blocked(all_four, 4, thaw_freezer, f);

        CHECK(!freezer_is_frozen(f), "still frozen");
        CHECK(n_records() == 0, "records left after thaw");
        /* outer level thawed before the inner one */
        CHECK(find(f, mnt[M_INNER])->thaw_seq == 4, "inner thawed #%u", find(f, mnt[M_INNER])->thaw_seq);
        for (int m = M_EXT4; m <= M_BTRFS; m++)
                CHECK(probe_frozen(m) == 0, "%s still frozen", mnt[m]);
        CHECK(probe_frozen(M_INNER) == 0, "inner still frozen");
        print_report("freeze/thaw", f);
        freezer_free(f);
}

static void test_crash_recovery(void)
{
        FrozenRecoverReport *rep = NULL;
        FrozenList *l = NULL;
        int p[2], status;
        char c = 0;
        pid_t pid;

        CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
        pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
                /* the "daemon": freeze, report, hold until killed */
                FreezerOptions o = FREEZER_OPTIONS_INIT;
                Freezer *f;
                int r;

                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                o.operation_id = "it-crash";
                f = make(&o, stack_levels, 2);
                r = freezer_freeze(f);
                c = r == 0 ? 'F' : 'E';
                if (write(p[1], &c, 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        add_child(pid);
        close(p[1]);
        CHECK(read(p[0], &c, 1) == 1 && c == 'F', "child freeze failed (%c)", c);
        close(p[0]);

        CHECK(frozen_state_list(state, &l) == 0 && l->n_entries == 4, "records while the child holds the freeze");
        for (size_t i = 0; i < l->n_entries; i++)
                CHECK(l->entries[i].pid == pid, "record pid");
        frozen_list_free(l);

        CHECK(kill(pid, SIGKILL) == 0, "kill");
        CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status), "child status");
        forget_child(pid);

        /* The kernel never thaws: still frozen with the daemon gone. */
        for (int m = M_EXT4; m <= M_BTRFS; m++)
                CHECK(probe_frozen(m) == 1, "%s thawed by itself?", mnt[m]);
        CHECK(n_records() == 4, "records");

        Writers w;
        size_t done = 0;
        writers_start(&w, all_four, 4);
        CHECK(writers_done(&w, 1000, &done) == 0, "writer finished while frozen");

        uint64_t t0 = now_ms();
        CHECK(frozen_state_recover(state, &rep) == 0, "recover");
        uint64_t t1 = now_ms();
        CHECK(rep->n_items == 4 && rep->n_thawed == 4 && rep->n_kept == 0,
              "recover: %zu items %zu thawed %zu kept", rep->n_items, rep->n_thawed, rep->n_kept);
        for (size_t i = 0; i < rep->n_items; i++)
                CHECK(rep->items[i].result == FROZEN_RECOVER_THAWED, "%s: %s", rep->items[i].entry.path,
                      frozen_recover_result_to_string(rep->items[i].result));
        /* the inner fs is thawed last (its image lives on ext4) */
        CHECK(strcmp(rep->items[3].entry.path, mnt[M_INNER]) == 0, "inner not last");
        printf("  crash recovery: thawed %zu filesystems in %llu ms:", rep->n_thawed, (unsigned long long)(t1 - t0));
        for (size_t i = 0; i < rep->n_items; i++)
                printf(" %s", rep->items[i].entry.path);
        printf("\n");
        frozen_recover_report_free(rep);

        CHECK(writers_done(&w, 60000, &done) == 4, "writers after recovery: %zu", done);
        writers_finish(&w);
        CHECK(n_records() == 0, "records after recovery");
        for (int m = M_EXT4; m <= M_BTRFS; m++)
                CHECK(probe_frozen(m) == 0, "%s still frozen", mnt[m]);
        CHECK(probe_frozen(M_INNER) == 0, "inner still frozen");
}

static void test_already_frozen(void)
{
        Freezer *f;
        const FreezerTargetReport *t;

        direct(M_XFS, FIFREEZE); /* "someone else" */
        f = make(NULL, stack_levels, 2);
        CHECK(freezer_freeze(f) == FREEZER_E_BUSY, "freeze over a frozen fs: %s",
              freezer_result_to_string(freezer_get_report(f)->result));
        t = find(f, mnt[M_XFS]);
        CHECK(t->freeze.outcome == FREEZER_FAILED && t->freeze.error == EBUSY, "xfs outcome");
        CHECK(t->note && strstr(t->note, "someone else"), "xfs note");
        CHECK(!freezer_is_frozen(f), "freezer holds something");
        CHECK(n_records() == 0, "records");
        /* ours were all thawed again; xfs is still frozen by its owner */
        CHECK(probe_frozen(M_EXT4) == 0 && probe_frozen(M_BTRFS) == 0, "rolled back");
        CHECK(probe_frozen(M_INNER) == 0, "inner rolled back");
        CHECK(probe_frozen(M_XFS) == 1, "xfs thawed by the freezer");
        print_report("already frozen", f);
        freezer_free(f);
        direct(M_XFS, FITHAW);
        CHECK(probe_frozen(M_XFS) == 0, "xfs");
}

static void test_unopenable(void)
{
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        Freezer *f;
        const FreezerTargetReport *t;

        for (int pass = 0; pass < 2; pass++) {
                o.on_open_error = pass ? FREEZER_POLICY_FAIL : FREEZER_POLICY_SKIP;
                CHECK(freezer_new(&f, &(FreezerOptions){ .on_open_error = o.on_open_error, .state = state }) == 0, "new");
                CHECK(freezer_add_target(f, 0, bindfile, 0) == 0, "add bindfile");
                CHECK(freezer_add_target(f, 0, missing, 0) == 0, "add missing");
                CHECK(freezer_add_target(f, 0, mnt[M_EXT4], mnt_dev[M_EXT4]) == 0, "add ext4");
                if (!pass) {
                        CHECK(freezer_freeze(f) == 0, "skip policy");
                        t = find(f, bindfile);
                        CHECK(t->open.outcome == FREEZER_SKIPPED && t->open.error == ENOTDIR && t->note, "bindfile");
                        t = find(f, missing);
                        CHECK(t->open.outcome == FREEZER_SKIPPED && t->open.error == ENOENT && t->note, "missing");
                        CHECK(find(f, mnt[M_EXT4])->freeze.outcome == FREEZER_OK, "ext4 frozen");
                        CHECK(probe_frozen(M_EXT4) == 1, "ext4 frozen");
                        CHECK(n_records() == 1, "records");
                        CHECK(freezer_thaw(f) == 0, "thaw");
                        print_report("unopenable, skip", f);
                } else {
                        CHECK(freezer_freeze(f) == FREEZER_E_OPEN, "fail policy");
                        CHECK(find(f, bindfile)->open.outcome == FREEZER_FAILED, "bindfile");
                        CHECK(find(f, mnt[M_EXT4])->freeze.outcome == FREEZER_NOT_RUN, "ext4 untouched");
                }
                CHECK(probe_frozen(M_EXT4) == 0, "ext4 left frozen");
                CHECK(n_records() == 0, "records");
                freezer_free(f);
        }
}

static void test_unsupported(void)
{
        static const int levels[1][M_COUNT + 1] = { { M_EXT4, M_TMPFS, -1 } };
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        int fd, supported;
        Freezer *f;

        /* What does this kernel do with tmpfs? Ask it, and test that. */
        fd = open(mnt[M_TMPFS], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0, "open tmpfs");
        if (ioctl(fd, FIFREEZE, 0) == 0) {
                CHECK(ioctl(fd, FITHAW, 0) == 0, "thaw tmpfs");
                supported = 1;
        } else {
                CHECK(errno == EOPNOTSUPP, "tmpfs FIFREEZE: %m");
                supported = 0;
        }
        close(fd);
        printf("  tmpfs on this kernel: FIFREEZE %s\n", supported ? "supported" : "EOPNOTSUPP");

        for (int pass = 0; pass < 2; pass++) {
                o.on_unsupported = pass ? FREEZER_POLICY_FAIL : FREEZER_POLICY_SKIP;
                f = make(&o, levels, 1);
                if (supported) {
                        CHECK(freezer_freeze(f) == 0, "freeze with tmpfs");
                        CHECK(find(f, mnt[M_TMPFS])->freeze.outcome == FREEZER_OK, "tmpfs frozen");
                        CHECK(freezer_thaw(f) == 0, "thaw");
                } else if (!pass) {
                        const FreezerTargetReport *t;

                        CHECK(freezer_freeze(f) == 0, "skip policy");
                        t = find(f, mnt[M_TMPFS]);
                        CHECK(t->freeze.outcome == FREEZER_SKIPPED && t->freeze.error == EOPNOTSUPP, "tmpfs skipped");
                        CHECK(t->note && strstr(t->note, "does not support"), "note");
                        CHECK(probe_frozen(M_EXT4) == 1, "ext4 frozen");
                        CHECK(n_records() == 1, "records");
                        CHECK(freezer_thaw(f) == 0, "thaw");
                        print_report("unsupported, skip", f);
                } else {
                        CHECK(freezer_freeze(f) == FREEZER_E_UNSUPPORTED, "fail policy");
                        CHECK(find(f, mnt[M_TMPFS])->freeze.outcome == FREEZER_FAILED, "tmpfs failed");
                        CHECK(!freezer_is_frozen(f), "holds something");
                }
                CHECK(probe_frozen(M_EXT4) == 0, "ext4 left frozen");
                CHECK(n_records() == 0, "records");
                freezer_free(f);
        }
}

/* Operations that refuse, by themselves, anything but a test mount. */
static unsigned belt_calls;

static int belt_check(int fd)
{
        struct stat st;

        __atomic_add_fetch(&belt_calls, 1, __ATOMIC_SEQ_CST);
        if (fstat(fd, &st) < 0 || st.st_dev == root_dev)
                return -EDEADLK;
        for (int m = 0; m < M_COUNT; m++)
                if (st.st_dev == mnt_dev[m])
                        return 0;
        return -EDEADLK;
}

static int belt_sync(int fd, void *u)
{
        (void)u;
        return belt_check(fd) ?: (syncfs(fd) < 0 ? -errno : 0);
}

static int belt_freeze(int fd, void *u)
{
        (void)u;
        return belt_check(fd) ?: (ioctl(fd, FIFREEZE, 0) < 0 ? -errno : 0);
}

static int belt_thaw(int fd, void *u)
{
        (void)u;
        return ioctl(fd, FITHAW, 0) < 0 ? -errno : 0;
}

static int belt_identify(int fd, dev_t *ret, void *u)
{
        struct stat st;

        (void)u;
        if (fstat(fd, &st) < 0)
                return -errno;
        *ret = st.st_dev;
        return 0;
}

static const FreezerOps belt_ops = { belt_sync, belt_freeze, belt_thaw, belt_identify, NULL };

static void test_root_guard(void)
{
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        char link[PATH_MAX];
        struct stat st;
        Freezer *f;

        CHECK(stat(work, &st) == 0, "stat work");
        o.ops = &belt_ops;
        o.state = state;

        CHECK(freezer_new(&f, &o) == 0, "new");
        CHECK(freezer_add_target(f, 0, "/", 0) == -EPERM, "/ accepted");
        CHECK(freezer_add_target(f, 0, "/.", 0) == -EPERM, "/. accepted");
        if (st.st_dev == root_dev)
                CHECK(freezer_add_target(f, 0, work, 0) == -EPERM, "path on the root device accepted");

        /* harmless when added, "/" when frozen; plus a good target beside it */
        snprintf(link, sizeof(link), "%s/rootlink", work);
        unlink(link);
        CHECK(freezer_add_target(f, 0, mnt[M_EXT4], 0) == 0, "add ext4");
        CHECK(freezer_add_target(f, 1, link, 0) == 0, "add link");
        CHECK(symlink("/", link) == 0, "symlink");
        CHECK(freezer_freeze(f) == FREEZER_E_ROOT, "root guard: %s",
              freezer_result_to_string(freezer_get_report(f)->result));
        CHECK(find(f, link)->open.outcome == FREEZER_FAILED && find(f, link)->open.error == EPERM, "link outcome");
        CHECK(belt_calls == 0, "the freezer called %u operations", belt_calls);
        CHECK(probe_frozen(M_EXT4) == 0, "ext4 frozen");
        CHECK(n_records() == 0, "records");
        print_report("root guard", f);
        freezer_free(f);
        unlink(link);
}

/*
 * Failure modes 2 and 7 for real: with the host of its image frozen, the
 * inner filesystem's syncfs and FIFREEZE block (they must write to the
 * loop device). Both deadlines must fire, the caller must get its answer,
 * and once the host is thawed the abandoned worker must undo its freeze.
 */
static void test_blocked_freeze_times_out(void)
{
        static const int levels[1][M_COUNT + 1] = { { M_INNER, -1 } };
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        uint64_t t0, t1;
        Freezer *f;
        int i;

        dirty(M_INNER, 8 << 20);
        direct(M_EXT4, FIFREEZE);
        o.sync_timeout_msec = 500;
        o.freeze_timeout_msec = 1000;
        f = make(&o, levels, 1);
        t0 = now_ms();
        CHECK(freezer_freeze(f) == FREEZER_E_TIMEOUT, "blocked freeze: %s",
              freezer_result_to_string(freezer_get_report(f)->result));
        t1 = now_ms();
        CHECK(t1 - t0 >= 1000 && t1 - t0 < 10000, "took %llu ms", (unsigned long long)(t1 - t0));
        CHECK(find(f, mnt[M_INNER])->sync.outcome == FREEZER_TIMED_OUT, "presync not timed out");
        CHECK(find(f, mnt[M_INNER])->freeze.outcome == FREEZER_TIMED_OUT, "freeze not timed out");
        CHECK(freezer_get_report(f)->n_abandoned == 1, "abandoned");
        CHECK(!freezer_is_frozen(f), "frozen");
        CHECK(n_records() == 1, "the abandoned freeze keeps its record");
        print_report("blocked freeze", f);
        freezer_free(f);

        direct(M_EXT4, FITHAW);
        for (i = 0; i < 600 && n_records() > 0; i++)
                usleep(50000);
        CHECK(n_records() == 0, "the worker did not undo its freeze");
        printf("  abandoned freeze undone %d ms after the host was thawed\n", i * 50);
        usleep(100000);
        CHECK(probe_frozen(M_EXT4) == 0, "ext4 frozen");
        CHECK(probe_frozen(M_INNER) == 0, "inner left frozen");
}

/* --- main ---------------------------------------------------------------- */

static void setup(void)
{
        struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
        struct stat st;
        char path[PATH_MAX];

        for (int i = 0; i < M_COUNT; i++) {
                mnt[i] = getenv(mnt_env[i]);
                CHECK(mnt[i] && mnt[i][0] == '/', "%s not set (run me through run-freezer-loopfs.sh)", mnt_env[i]);
        }
        state_mnt = getenv("FZ_STATE");
        bindfile = getenv("FZ_BINDFILE");
        missing = getenv("FZ_MISSING");
        work = getenv("FZ_WORK");
        CHECK(state_mnt && bindfile && missing && work, "FZ_STATE/FZ_BINDFILE/FZ_MISSING/FZ_WORK");

        CHECK(stat("/", &st) == 0, "stat /");
        root_dev = st.st_dev;
        /* every mount must be its own filesystem, not "/", and not another's */
        for (int i = 0; i < M_COUNT; i++) {
                struct stat parent;

                CHECK(stat(mnt[i], &st) == 0 && S_ISDIR(st.st_mode), "%s", mnt[i]);
                CHECK(st.st_dev != root_dev, "REFUSING: %s is on the root filesystem", mnt[i]);
                snprintf(path, sizeof(path), "%s/..", mnt[i]);
                CHECK(stat(path, &parent) == 0 && parent.st_dev != st.st_dev, "REFUSING: %s is not a mount point", mnt[i]);
                for (int j = 0; j < i; j++)
                        CHECK(st.st_dev != mnt_dev[j], "REFUSING: %s and %s are one filesystem", mnt[i], mnt[j]);
                mnt_dev[i] = st.st_dev;
        }

        atexit(emergency);
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
                sigaction(sigs[i], &sa, NULL);

        snprintf(path, sizeof(path), "%s/state", state_mnt);
        CHECK(frozen_state_open(&state, path, 0) == 0, "state dir on tmpfs");
        CHECK(frozen_state_on_tmpfs(state), "tmpfs");
        CHECK(n_records() == 0, "stale records");
}

int main(void)
{
        static const struct {
                const char *name;
                void (*fn)(void);
        } tests[] = {
                { "root_guard", test_root_guard },
                { "freeze_thaw", test_freeze_thaw },
                { "crash_recovery", test_crash_recovery },
                { "already_frozen", test_already_frozen },
                { "unopenable", test_unopenable },
                { "unsupported", test_unsupported },
                { "blocked_freeze_times_out", test_blocked_freeze_times_out },
        };

        setvbuf(stdout, NULL, _IOLBF, 0);
        setup();
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
                printf("RUN  %s\n", tests[i].name);
                tests[i].fn();  /* a failed check exits, thawing everything */
                printf("PASS %s\n", tests[i].name);
                n_pass++;
        }
        frozen_state_unref(state);
        printf("%d tests passed, %d failed\n", n_pass, n_fail);
        return n_fail ? 1 : 0;
}
