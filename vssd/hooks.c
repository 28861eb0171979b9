/*
 * Hook runner
 *
 * Runs the executables of a hooks directory with the argument "freeze" (in
 * ascending strcmp() order of their names) or "thaw" (descending), the
 * calling convention of qemu-ga's fsfreeze-hook.d, so existing database
 * quiesce scripts work unchanged.
 *
 * Every pass starts by scanning the directory: leftovers of editors and
 * package managers, dot files, non-regular and non-executable files are
 * ignored; a hook (or the directory, or a symlinked hook's target directory)
 * not owned by the expected uid or writable by group/other is refused and
 * counts as a failure. A thaw that undoes a freeze re-checks exactly the hooks
 * that freeze started, in reverse order.
 *
 * A hook is started with posix_spawn() into a new session (so its process
 * group is its own), with default signal dispositions, an empty signal mask,
 * cwd "/", stdin /dev/null, stdout+stderr on one pipe, no other fds, and a
 * clean environment. The parent then waits on a pidfd and the pipe with one
 * ppoll() loop against a monotonic deadline: output is read as it comes (the
 * first output_max bytes are kept, the rest counted), and the hook is done
 * when its pidfd says it exited -- not when the pipe reaches EOF, because a
 * hook may leave a background process behind on purpose (the MySQL read lock
 * pattern). On the deadline the whole process group gets SIGKILL. A hook that
 * does not die even then (uninterruptible sleep) is not waited for: its pidfd
 * is parked and reaped without blocking on later passes.
 *
 * The runner must be the only one reaping its children: the caller must not
 * set SIGCHLD to SIG_IGN nor call wait(-1)/waitpid(-1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, ppoll, pipe2, posix_spawn *_np, sigabbrev_np */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hooks.h"
#include "util.h"

#define HOOK_KILL_GRACE_MS UINT64_C(2000) /* wait for a SIGKILLed hook to die */
#define HOOK_READ_CHUNK 4096
#define HOOK_READ_BURST 16                /* chunks read before looking at the clock again */
#define HOOK_STUCK_MAX 16                 /* parked hooks that would not die */
#define HOOK_TICK_MS UINT64_C(20)         /* exit polling, only where pidfds are missing */

struct hook_entry {
        char *name;
        char *path;
        char *problem;
};

struct hook_list {
        struct hook_entry *entries;
        size_t n;
};

struct hook_run {
        enum hook_op op;
        uint64_t timeout_ms;
        struct hook_outcome *outcomes;
        size_t n;
        size_t skipped;
        size_t failed;
};

struct hook_runner {
        char *dir;
        uint64_t timeout_ms;
        size_t output_max;
        uid_t expected_uid;
        enum hook_policy policy;
        char **extra_env; /* NULL-terminated */
        struct hook_child {
                pid_t pid;
                int pidfd; /* -1 if pidfd_open() is not available */
        } stuck[HOOK_STUCK_MAX];
        size_t n_stuck;
};

/* ---- small helpers ---- */

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int sys_pidfd_open(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static struct timespec timespec_from_ms(uint64_t ms)
{
        return (struct timespec){ .tv_sec = (time_t)(ms / 1000),
                                  .tv_nsec = (long)(ms % 1000) * 1000000 };
}

/* Reaps @c if it has exited, without blocking: 1 reaped (*si set), 0 not yet, or -errno. */
static int child_reap(const struct hook_child *c, siginfo_t *si)
{
        int r;

        *si = (siginfo_t){};
        do {
                if (c->pidfd >= 0)
                        r = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, si, WEXITED | WNOHANG);
                else
                        r = waitid(P_PID, (id_t)c->pid, si, WEXITED | WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
                return -errno;
        return si->si_pid != 0;
}

/* Waits until @c exits and reaps it, or until @deadline: 1, 0 (still there) or -errno. */
static int child_reap_until(const struct hook_child *c, uint64_t deadline, siginfo_t *si)
{
        for (;;) {
                struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
                uint64_t now = now_ms(), left;
                struct timespec ts;
                int r;

                r = child_reap(c, si);
                if (r != 0)
                        return r;
                if (now >= deadline)
                        return 0;
                left = deadline - now;
                if (c->pidfd < 0 && left > HOOK_TICK_MS)
                        left = HOOK_TICK_MS;
                ts = timespec_from_ms(left);
                if (ppoll(&p, c->pidfd >= 0 ? 1 : 0, &ts, NULL) < 0 && errno != EINTR)
                        return -errno;
        }
}

static bool has_suffix(const char *s, const char *suffix)
{
        size_t ls = strlen(s), lx = strlen(suffix);

        return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Names that are not hooks: dot files and editor or package manager leftovers. */
static bool hook_name_ignored(const char *name)
{
        static const char *const suffixes[] = {
                "~",         ".swp",      ".dpkg-old", ".dpkg-new", ".dpkg-dist",
                ".dpkg-tmp", ".dpkg-bak", ".rpmnew",   ".rpmsave",  ".rpmorig",
                ".ucf-old",  ".ucf-new",  ".ucf-dist",
        };

        if (name[0] == '.' || name[0] == '\0')
                return true;
        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
                if (has_suffix(name, suffixes[i]))
                        return true;
        return false;
}

/*
 * Checks owner and mode of @path (a @what: "hook", "hooks directory", ...).
 * Sets *ret_problem to NULL if fine, else to a message naming the fix.
 */
static int check_owner_mode(const char *what, const char *path, const struct stat *st,
                            uid_t uid, char **ret_problem)
{
        char owner[32], wrong_owner[64] = "", fix_chown[PATH_MAX + 48] = "";
        const char *writable = NULL;
        char *msg = NULL;
        int r;

        if (uid == 0)
                snprintf(owner, sizeof(owner), "root");
        else
                snprintf(owner, sizeof(owner), "uid %u", (unsigned)uid);

        if (st->st_uid != uid) {
                snprintf(wrong_owner, sizeof(wrong_owner), "owned by uid %u, not %s",
                         (unsigned)st->st_uid, owner);
                snprintf(fix_chown, sizeof(fix_chown), "chown %s %s",
                         uid == 0 ? "root" : owner + 4, path);
        }
        if ((st->st_mode & S_IWGRP) && (st->st_mode & S_IWOTH))
                writable = "writable by group and other";
        else if (st->st_mode & S_IWGRP)
                writable = "writable by group";
        else if (st->st_mode & S_IWOTH)
                writable = "writable by other";

        if (!wrong_owner[0] && !writable) {
                *ret_problem = NULL;
                return 0;
        }

        r = asprintf(&msg, "%s %s is %s%s%s; fix with: %s%s%s%s", what, path,
                     wrong_owner, wrong_owner[0] && writable ? " and " : "",
                     writable ? writable : "", fix_chown,
                     fix_chown[0] && writable ? " && " : "",
                     writable ? "chmod go-w " : "", writable ? path : "");
        if (r < 0)
                return -ENOMEM;
        *ret_problem = msg;
        return 0;
}

static void hook_entry_clear(struct hook_entry *e)
{
        free(e->name);
        free(e->path);
        free(e->problem);
        *e = (struct hook_entry){};
}

/*
 * Fills @e for @name in the directory @dfd (@dir). With @listing, returns 1
 * for what is not a hook (vanished, not a regular executable file); without,
 * keeps such an entry so that running it reports why it cannot run.
 */
static int hook_entry_init(struct hook_entry *e, int dfd, const char *dir, const char *name,
                           const char *dir_problem, uid_t uid, bool listing)
{
        _cleanup_free_ char *n = NULL, *path = NULL, *problem = NULL;
        struct stat st, lst;
        int r;

        if (fstatat(dfd, name, &st, 0) < 0) {
                if (listing)
                        return 1;
                st = (struct stat){ .st_uid = uid };
        } else if (listing && (!S_ISREG(st.st_mode) ||
                               !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)))) {
                return 1;
        }

        n = strdup(name);
        if (asprintf(&path, "%s/%s", dir, name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        if (!n)
                return -ENOMEM;

        if (dir_problem) {
                problem = strdup(dir_problem);
                if (!problem)
                        return -ENOMEM;
        } else {
                r = check_owner_mode("hook", path, &st, uid, &problem);
                if (r < 0)
                        return r;
        }

        /* A symlinked hook: whoever can write the target's directory controls it. */
        if (!problem && fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(lst.st_mode)) {
                _cleanup_free_ char *target = realpath(path, NULL);
                struct stat tst;

                if (target) {
                        char *slash = strrchr(target, '/');

                        if (slash == target)
                                slash[1] = '\0';
                        else if (slash)
                                *slash = '\0';
                        if (stat(target, &tst) == 0) {
                                r = check_owner_mode("directory of hook target", target, &tst,
                                                     uid, &problem);
                                if (r < 0)
                                        return r;
                        }
                }
        }

        e->name = steal_ptr(&n);
        e->path = steal_ptr(&path);
        e->problem = steal_ptr(&problem);
        return 0;
}

/* Opens @dir; *ret_fd = -1 if it does not exist. Sets *ret_dir_problem. */
static int hook_dir_open(const char *dir, uid_t uid, int *ret_fd, char **ret_dir_problem)
{
        _cleanup_close_ int fd = -1;
        char *problem = NULL;
        struct stat st;
        int r;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno != ENOENT)
                        return -errno;
                *ret_fd = -1;
                *ret_dir_problem = NULL;
                return 0;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        r = check_owner_mode("hooks directory", dir, &st, uid, &problem);
        if (r < 0)
                return r;

        *ret_fd = fd;
        fd = -1;
        *ret_dir_problem = problem;
        return 0;
}

static int hook_entry_cmp(const void *a, const void *b)
{
        const struct hook_entry *x = a, *y = b;

        return strcmp(x->name, y->name);
}

/* ---- hook_list ---- */

struct hook_list *hook_list_free(struct hook_list *list)
{
        if (!list)
                return NULL;
        for (size_t i = 0; i < list->n; i++)
                hook_entry_clear(&list->entries[i]);
        free(list->entries);
        free(list);
        return NULL;
}

size_t hook_list_count(const struct hook_list *list)
{
        return list ? list->n : 0;
}

const char *hook_list_name(const struct hook_list *list, size_t i)
{
        return i < hook_list_count(list) ? list->entries[i].name : NULL;
}

const char *hook_list_path(const struct hook_list *list, size_t i)
{
        return i < hook_list_count(list) ? list->entries[i].path : NULL;
}

const char *hook_list_problem(const struct hook_list *list, size_t i)
{
        return i < hook_list_count(list) ? list->entries[i].problem : NULL;
}

static int hook_list_append(struct hook_list *list, size_t *allocated, struct hook_entry *e)
{
        if (list->n == *allocated) {
                size_t na = *allocated ? *allocated * 2 : 8;
                struct hook_entry *ne = reallocarray(list->entries, na, sizeof(*ne));

                if (!ne)
                        return -ENOMEM;
                list->entries = ne;
                *allocated = na;
        }
        list->entries[list->n++] = *e;
        *e = (struct hook_entry){};
        return 0;
}

int hook_check(const char *dir, uid_t expected_uid, struct hook_list **ret_list)
{
        _cleanup_(hook_list_freep) struct hook_list *list = NULL;
        _cleanup_free_ char *dir_problem = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_closedir_ DIR *d = NULL;
        size_t allocated = 0;
        struct dirent *de;
        int r;

        if (!dir || !ret_list)
                return -EINVAL;

        list = calloc(1, sizeof(*list));
        if (!list)
                return -ENOMEM;

        r = hook_dir_open(dir, expected_uid, &fd, &dir_problem);
        if (r < 0)
                return r;
        if (fd < 0) {
                *ret_list = steal_ptr(&list);
                return 0;
        }

        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -1; /* owned by d now */

        for (;;) {
                struct hook_entry e = {};

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno)
                                return -errno;
                        break;
                }
                if (hook_name_ignored(de->d_name))
                        continue;
                r = hook_entry_init(&e, dirfd(d), dir, de->d_name, dir_problem, expected_uid,
                                    true);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = hook_list_append(list, &allocated, &e);
                if (r < 0) {
                        hook_entry_clear(&e);
                        return r;
                }
        }

        if (list->n > 1)
                qsort(list->entries, list->n, sizeof(list->entries[0]), hook_entry_cmp);
        *ret_list = steal_ptr(&list);
        return 0;
}

/* ---- names ---- */

const char *hook_op_to_string(enum hook_op op)
{
        switch (op) {
        case HOOK_OP_FREEZE:
                return "freeze";
        case HOOK_OP_THAW:
                return "thaw";
        }
        return NULL;
}

const char *hook_reason_to_string(enum hook_reason reason)
{
        switch (reason) {
        case HOOK_REASON_HOST_BACKUP:
                return "host-backup";
        case HOOK_REASON_TEST_FREEZE:
                return "test-freeze";
        case HOOK_REASON_WATCHDOG:
                return "watchdog";
        case HOOK_REASON_RECOVERY:
                return "recovery";
        }
        return NULL;
}

const char *hook_result_to_string(enum hook_result result)
{
        switch (result) {
        case HOOK_RESULT_OK:
                return "ok";
        case HOOK_RESULT_FAILED:
                return "failed";
        case HOOK_RESULT_TIMEOUT:
                return "timeout";
        case HOOK_RESULT_REFUSED:
                return "refused";
        case HOOK_RESULT_EXEC_ERROR:
                return "exec_error";
        }
        return NULL;
}

/* ---- hook_run ---- */

static struct hook_run *hook_run_alloc(enum hook_op op, uint64_t timeout_ms, size_t n)
{
        struct hook_run *run = calloc(1, sizeof(*run));

        if (!run)
                return NULL;
        run->op = op;
        run->timeout_ms = timeout_ms;
        if (n > 0) {
                run->outcomes = calloc(n, sizeof(run->outcomes[0]));
                if (!run->outcomes) {
                        free(run);
                        return NULL;
                }
        }
        return run;
}

struct hook_run *hook_run_free(struct hook_run *run)
{
        if (!run)
                return NULL;
        for (size_t i = 0; i < run->n; i++) {
                struct hook_outcome *o = &run->outcomes[i];

                free(o->name);
                free(o->path);
                free(o->problem);
                free(o->output);
        }
        free(run->outcomes);
        free(run);
        return NULL;
}

enum hook_op hook_run_op(const struct hook_run *run)
{
        return run->op;
}

size_t hook_run_count(const struct hook_run *run)
{
        return run ? run->n : 0;
}

const struct hook_outcome *hook_run_outcome(const struct hook_run *run, size_t i)
{
        return i < hook_run_count(run) ? &run->outcomes[i] : NULL;
}

size_t hook_run_skipped(const struct hook_run *run)
{
        return run ? run->skipped : 0;
}

size_t hook_run_failed(const struct hook_run *run)
{
        return run ? run->failed : 0;
}

int hook_run_summary(const struct hook_run *run, size_t i, char **ret_line)
{
        const struct hook_outcome *o = hook_run_outcome(run, i);
        char out[96], detail[128];
        const char *op;
        char *line;
        int r;

        if (!o || !ret_line)
                return -EINVAL;
        op = hook_op_to_string(run->op);

        if (o->output_dropped > 0)
                snprintf(out, sizeof(out), "%zu bytes of output kept, %llu dropped",
                         o->output_len, (unsigned long long)o->output_dropped);
        else
                snprintf(out, sizeof(out), "%zu bytes of output", o->output_len);

        switch (o->result) {
        case HOOK_RESULT_REFUSED:
                r = asprintf(&line, "hook %s %s: refused: %s", o->name, op,
                             o->problem ? o->problem : "unsafe permissions");
                break;
        case HOOK_RESULT_EXEC_ERROR:
                r = asprintf(&line, "hook %s %s: exec_error: cannot run %s: %s%s", o->name, op,
                             o->path, strerror(o->error),
                             o->error == ENOENT ? " (missing file or #! interpreter)" : "");
                break;
        case HOOK_RESULT_TIMEOUT:
                r = asprintf(&line,
                             "hook %s %s: timeout after %llu ms (limit %llu ms; process group "
                             "killed, %s)",
                             o->name, op, (unsigned long long)o->duration_ms,
                             (unsigned long long)run->timeout_ms, out);
                break;
        case HOOK_RESULT_OK:
        case HOOK_RESULT_FAILED:
        default:
                if (o->signal > 0) {
                        const char *abbrev = sigabbrev_np(o->signal);

                        if (abbrev)
                                snprintf(detail, sizeof(detail), "killed by signal SIG%s",
                                         abbrev);
                        else
                                snprintf(detail, sizeof(detail), "killed by signal %d",
                                         o->signal);
                } else {
                        snprintf(detail, sizeof(detail), "exit status %d", o->exit_status);
                }
                r = asprintf(&line, "hook %s %s: %s after %llu ms (%s, %s)", o->name, op,
                             hook_result_to_string(o->result),
                             (unsigned long long)o->duration_ms, detail, out);
                break;
        }
        if (r < 0)
                return -ENOMEM;
        *ret_line = line;
        return 0;
}

/* ---- hook_runner ---- */

static bool env_name_reserved(const char *assignment)
{
        static const char *const reserved[] = {
                "PATH",
                "HYPERV_VSS_OPERATION",
                "HYPERV_VSS_REASON",
                "HYPERV_VSS_FILESYSTEMS",
        };
        size_t len = strcspn(assignment, "=");

        for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
                if (strlen(reserved[i]) == len && strncmp(assignment, reserved[i], len) == 0)
                        return true;
        return false;
}

static bool env_assignment_valid(const char *s)
{
        size_t i;

        if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
                return false;
        for (i = 1; s[i] && s[i] != '='; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return s[i] == '=';
}

int hook_runner_new(struct hook_runner **ret, const struct hook_config *cfg)
{
        struct hook_runner *runner;

        if (!ret || !cfg)
                return -EINVAL;
        if (cfg->policy != HOOK_POLICY_ABORT && cfg->policy != HOOK_POLICY_CONTINUE)
                return -EINVAL;
        for (const char *const *e = cfg->extra_env; e && *e; e++)
                if (!env_assignment_valid(*e) || env_name_reserved(*e))
                        return -EINVAL;

        runner = calloc(1, sizeof(*runner));
        if (!runner)
                return -ENOMEM;
        runner->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : HOOK_TIMEOUT_MS_DEFAULT;
        runner->output_max = cfg->output_max ? cfg->output_max : HOOK_OUTPUT_MAX_DEFAULT;
        runner->expected_uid = cfg->expected_uid;
        runner->policy = cfg->policy;
        runner->dir = strdup(cfg->dir ? cfg->dir : HOOK_DIR_DEFAULT);
        if (!runner->dir || strv_copy(&runner->extra_env, (char *const *)cfg->extra_env) < 0)
                return hook_runner_free(runner), -ENOMEM;

        *ret = runner;
        return 0;
}

/* Reaps, without blocking, hooks that did not die on SIGKILL in time. */
static void hook_runner_reap_stuck(struct hook_runner *runner)
{
        size_t j = 0;

        for (size_t i = 0; i < runner->n_stuck; i++) {
                struct hook_child *c = &runner->stuck[i];
                siginfo_t si;

                if (child_reap(c, &si) == 0) {
                        runner->stuck[j++] = *c; /* still there */
                        continue;
                }
                if (c->pidfd >= 0)
                        close(c->pidfd);
        }
        runner->n_stuck = j;
}

struct hook_runner *hook_runner_free(struct hook_runner *runner)
{
        if (!runner)
                return NULL;
        hook_runner_reap_stuck(runner);
        for (size_t i = 0; i < runner->n_stuck; i++)
                if (runner->stuck[i].pidfd >= 0)
                        close(runner->stuck[i].pidfd);
        strv_free(runner->extra_env);
        free(runner->dir);
        free(runner);
        return NULL;
}

int hook_runner_list(struct hook_runner *runner, struct hook_list **ret_list)
{
        if (!runner)
                return -EINVAL;
        return hook_check(runner->dir, runner->expected_uid, ret_list);
}

/* "a b" from mount points; ' ', tab, newline and '\' escaped as in mountinfo. */
static int join_filesystems(const char *const *filesystems, char **ret)
{
        size_t len = 1;
        char *s, *p;

        for (size_t i = 0; filesystems && filesystems[i]; i++)
                len += strlen(filesystems[i]) * 4 + 1;
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        p = s;
        for (size_t i = 0; filesystems && filesystems[i]; i++) {
                if (i > 0)
                        *p++ = ' ';
                for (const char *c = filesystems[i]; *c; c++) {
                        if (*c == ' ' || *c == '\t' || *c == '\n' || *c == '\\')
                                p += sprintf(p, "\\%03o", (unsigned)(unsigned char)*c);
                        else
                                *p++ = *c;
                }
        }
        *p = '\0';
        *ret = s;
        return 0;
}

static int build_env(struct hook_runner *runner, enum hook_op op, enum hook_reason reason,
                     const char *const *filesystems, char ***ret_env)
{
        _cleanup_free_ char *fs = NULL;
        size_t n_extra = strv_length(runner->extra_env), n = 0;
        char **env;
        int r;

        if (!hook_reason_to_string(reason))
                return -EINVAL;
        r = join_filesystems(filesystems, &fs);
        if (r < 0)
                return r;
        env = calloc(n_extra + 5, sizeof(char *));
        if (!env)
                return -ENOMEM;

        env[n++] = strdup(HOOK_PATH_ENV);
        if (asprintf(&env[n++], "HYPERV_VSS_OPERATION=%s", hook_op_to_string(op)) < 0)
                env[n - 1] = NULL;
        if (asprintf(&env[n++], "HYPERV_VSS_REASON=%s", hook_reason_to_string(reason)) < 0)
                env[n - 1] = NULL;
        if (asprintf(&env[n++], "HYPERV_VSS_FILESYSTEMS=%s", fs) < 0)
                env[n - 1] = NULL;
        for (size_t i = 0; i < n_extra; i++)
                env[n++] = strdup(runner->extra_env[i]);

        for (size_t i = 0; i < n; i++)
                if (!env[i]) {
                        for (size_t k = 0; k < n; k++)
                                free(env[k]);
                        free(env);
                        return -ENOMEM;
                }
        *ret_env = env;
        return 0;
}

/* Appends @len bytes of output, keeping at most @max and counting the rest. */
static void output_append(struct hook_outcome *o, size_t *allocated, size_t max,
                          const char *buf, size_t len)
{
        size_t keep = 0;

        if (o->output_len < max)
                keep = len < max - o->output_len ? len : max - o->output_len;
        if (keep > 0 && o->output_len + keep + 1 > *allocated) {
                size_t na = *allocated ? *allocated : 1024;
                char *nb;

                while (na < o->output_len + keep + 1)
                        na *= 2;
                if (na > max + 1)
                        na = max + 1;
                nb = realloc(o->output, na);
                if (!nb) {
                        keep = 0; /* out of memory: drop rather than fail the hook */
                } else {
                        o->output = nb;
                        *allocated = na;
                }
        }
        if (keep > 0) {
                memcpy(o->output + o->output_len, buf, keep);
                o->output_len += keep;
                o->output[o->output_len] = '\0';
        }
        o->output_dropped += len - keep;
}

/*
 * Reads what the pipe has, up to a burst. Returns 1 at EOF (or a read
 * error), 0 if it would block or the burst is used up.
 */
static int output_drain(int fd, struct hook_outcome *o, size_t *allocated, size_t max)
{
        char buf[HOOK_READ_CHUNK];

        for (int i = 0; i < HOOK_READ_BURST; i++) {
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : 1;
                }
                if (n == 0)
                        return 1;
                output_append(o, allocated, max, buf, (size_t)n);
        }
        return 0;
}

static void outcome_from_siginfo(struct hook_outcome *o, const siginfo_t *si)
{
        if (si->si_code == CLD_EXITED) {
                o->exit_status = si->si_status;
                o->result = si->si_status == 0 ? HOOK_RESULT_OK : HOOK_RESULT_FAILED;
        } else {
                o->signal = si->si_status;
                o->result = HOOK_RESULT_FAILED;
        }
}

static void hook_runner_park(struct hook_runner *runner, const struct hook_child *c)
{
        if (runner->n_stuck < HOOK_STUCK_MAX)
                runner->stuck[runner->n_stuck++] = *c;
        else if (c->pidfd >= 0)
                close(c->pidfd); /* gives up on reaping it: it stays a zombie */
}

/* Runs one hook to completion or timeout; records everything in @o. */
static void hook_execute(struct hook_runner *runner, struct hook_outcome *o, enum hook_op op,
                         char **env)
{
        _cleanup_close_ int out_fd = -1;
        struct hook_child child = { .pid = -1, .pidfd = -1 };
        int pipefd[2] = { -1, -1 };
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        char *argv[] = { o->path, (char *)hook_op_to_string(op), NULL };
        uint64_t start = now_ms(), deadline;
        size_t allocated = 0;
        siginfo_t si = {};
        int r, reaped = 0;
        pid_t pid;

        o->exit_status = -1;
        deadline = start + runner->timeout_ms;

        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = errno;
                goto out;
        }
        out_fd = pipefd[0];
        if (pipefd[1] <= STDERR_FILENO) {
                /* Keep the write end clear of the fds the file actions below set up. */
                int fd = fcntl(pipefd[1], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

                close(pipefd[1]);
                pipefd[1] = fd;
                if (fd < 0) {
                        o->result = HOOK_RESULT_EXEC_ERROR;
                        o->error = errno;
                        goto out;
                }
        }
        if (fcntl(out_fd, F_SETFL, O_NONBLOCK) < 0) {
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = errno;
                close(pipefd[1]);
                goto out;
        }

        sigemptyset(&none);
        sigfillset(&all);
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0) {
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = r;
                close(pipefd[1]);
                goto out;
        }
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = r;
                close(pipefd[1]);
                goto out;
        }
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
        if (r == 0)
                r = posix_spawn_file_actions_addchdir_np(&fa, "/");
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                                            POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawn(&pid, o->path, &fa, &attr, argv, env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r != 0) {
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = r;
                goto out;
        }

        /*
         * Not reaped yet, so @pid (and the process group @pid) cannot be reused.
         * Without pidfds (old kernel, valgrind) fall back to polling its exit.
         */
        child.pid = pid;
        child.pidfd = sys_pidfd_open(pid);

        for (;;) {
                struct pollfd p[2];
                nfds_t n = 0;
                int pi = -1, oi = -1;
                uint64_t now = now_ms(), left;
                struct timespec ts;

                if (now >= deadline)
                        break;
                left = deadline - now;
                if (child.pidfd < 0 && left > HOOK_TICK_MS)
                        left = HOOK_TICK_MS;
                ts = timespec_from_ms(left);
                if (child.pidfd >= 0) {
                        pi = (int)n;
                        p[n++] = (struct pollfd){ .fd = child.pidfd, .events = POLLIN };
                }
                if (out_fd >= 0) {
                        oi = (int)n;
                        p[n++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
                }
                r = ppoll(p, n, &ts, NULL);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        break; /* cannot wait: handle as a timeout, never block */
                }
                if (oi >= 0 && p[oi].revents &&
                    output_drain(out_fd, o, &allocated, runner->output_max) > 0) {
                        close(out_fd);
                        out_fd = -1;
                }
                if (pi < 0 || p[pi].revents) {
                        reaped = child_reap(&child, &si);
                        if (reaped != 0)
                                break;
                }
        }

        if (reaped == 0 || (reaped < 0 && reaped != -ECHILD)) {
                /* Deadline (or no way to wait): kill the whole process group. */
                kill(-pid, SIGKILL);
                o->result = HOOK_RESULT_TIMEOUT;
                o->signal = SIGKILL;
                if (child_reap_until(&child, now_ms() + HOOK_KILL_GRACE_MS, &si) == 0) {
                        hook_runner_park(runner, &child);
                        child.pidfd = -1;
                }
        } else if (reaped > 0) {
                outcome_from_siginfo(o, &si);
        } else {
                /* Someone else reaped it: the outcome is unknown. */
                o->result = HOOK_RESULT_EXEC_ERROR;
                o->error = -reaped;
        }
        if (child.pidfd >= 0)
                close(child.pidfd);

        /* What the hook wrote before it ended; leftovers of background children are not waited for. */
        if (out_fd >= 0)
                (void)output_drain(out_fd, o, &allocated, runner->output_max);
out:
        o->duration_ms = now_ms() - start;
}

/* Fills the next outcome of @run from @e and runs it, unless refused. */
static int hook_run_one(struct hook_runner *runner, struct hook_run *run, struct hook_entry *e,
                        char **env)
{
        struct hook_outcome *o = &run->outcomes[run->n++];

        o->name = steal_ptr(&e->name);
        o->path = steal_ptr(&e->path);
        o->exit_status = -1;
        if (e->problem) {
                o->problem = steal_ptr(&e->problem);
                o->result = HOOK_RESULT_REFUSED;
        } else {
                hook_execute(runner, o, run->op, env);
        }
        if (o->result != HOOK_RESULT_OK) {
                run->failed++;
                return 1;
        }
        return 0;
}

static int hook_runner_run_list(struct hook_runner *runner, enum hook_op op,
                                enum hook_reason reason, const char *const *filesystems,
                                struct hook_list *list, bool descending,
                                struct hook_run **ret_run)
{
        _cleanup_(hook_run_freep) struct hook_run *run = NULL;
        _cleanup_strv_free_ char **env = NULL;
        int r;

        r = build_env(runner, op, reason, filesystems, &env);
        if (r < 0)
                return r;
        run = hook_run_alloc(op, runner->timeout_ms, list->n);
        if (!run)
                return -ENOMEM;

        for (size_t k = 0; k < list->n; k++) {
                size_t i = descending ? list->n - 1 - k : k;

                r = hook_run_one(runner, run, &list->entries[i], env);
                if (r > 0 && op == HOOK_OP_FREEZE && runner->policy == HOOK_POLICY_ABORT) {
                        run->skipped = list->n - 1 - k;
                        break;
                }
        }

        *ret_run = steal_ptr(&run);
        return (*ret_run)->failed > 0 ? HOOK_E_FAILED : 0;
}

int hook_runner_run_freeze(struct hook_runner *runner, enum hook_reason reason,
                           const char *const *filesystems, struct hook_run **ret_run)
{
        _cleanup_(hook_list_freep) struct hook_list *list = NULL;
        int r;

        if (!runner || !ret_run)
                return -EINVAL;
        hook_runner_reap_stuck(runner);
        r = hook_check(runner->dir, runner->expected_uid, &list);
        if (r < 0)
                return r;
        return hook_runner_run_list(runner, HOOK_OP_FREEZE, reason, filesystems, list, false,
                                    ret_run);
}

static bool outcome_started(const struct hook_outcome *o)
{
        return o->result == HOOK_RESULT_OK || o->result == HOOK_RESULT_FAILED ||
               o->result == HOOK_RESULT_TIMEOUT;
}

/* The hooks @freeze_run started, re-checked, in the order they ran. */
static int hook_list_from_run(struct hook_runner *runner, const struct hook_run *freeze_run,
                              struct hook_list **ret_list)
{
        _cleanup_(hook_list_freep) struct hook_list *list = NULL;
        _cleanup_free_ char *dir_problem = NULL;
        _cleanup_close_ int fd = -1;
        size_t allocated = 0;
        int r;

        list = calloc(1, sizeof(*list));
        if (!list)
                return -ENOMEM;
        r = hook_dir_open(runner->dir, runner->expected_uid, &fd, &dir_problem);
        if (r < 0)
                return r;

        for (size_t i = 0; i < freeze_run->n; i++) {
                const struct hook_outcome *o = &freeze_run->outcomes[i];
                struct hook_entry e = {};

                if (!outcome_started(o))
                        continue;
                if (fd >= 0) {
                        r = hook_entry_init(&e, fd, runner->dir, o->name, dir_problem,
                                            runner->expected_uid, false);
                        if (r < 0)
                                return r;
                } else {
                        /* The directory vanished: running the hook reports ENOENT. */
                        e.name = strdup(o->name);
                        if (asprintf(&e.path, "%s/%s", runner->dir, o->name) < 0)
                                e.path = NULL;
                        if (!e.name || !e.path) {
                                hook_entry_clear(&e);
                                return -ENOMEM;
                        }
                }
                r = hook_list_append(list, &allocated, &e);
                if (r < 0) {
                        hook_entry_clear(&e);
                        return r;
                }
        }
        *ret_list = steal_ptr(&list);
        return 0;
}

int hook_runner_run_thaw(struct hook_runner *runner, enum hook_reason reason,
                         const char *const *filesystems, const struct hook_run *freeze_run,
                         struct hook_run **ret_run)
{
        _cleanup_(hook_list_freep) struct hook_list *list = NULL;
        int r;

        if (!runner || !ret_run)
                return -EINVAL;
        if (freeze_run && freeze_run->op != HOOK_OP_FREEZE)
                return -EINVAL;
        hook_runner_reap_stuck(runner);
        if (freeze_run)
                r = hook_list_from_run(runner, freeze_run, &list);
        else
                r = hook_check(runner->dir, runner->expected_uid, &list);
        if (r < 0)
                return r;
        return hook_runner_run_list(runner, HOOK_OP_THAW, reason, filesystems, list, true,
                                    ret_run);
}
