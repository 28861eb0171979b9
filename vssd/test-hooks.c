/*
 * Unit tests of the hook runner: real /bin/sh hooks in a temporary
 * directory, no privileges needed (the expected owner is our own uid).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, ppoll, pipe2, posix_spawn *_np, sigabbrev_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hooks.h"

#define _cleanup_hook_runner __attribute__((cleanup(hook_runner_freep)))

struct fixture {
        char tmp[64];       /* scratch root, removed afterwards */
        char dir[128];      /* tmp/hooks.d */
        char out_env[160];  /* "HOOKTEST_OUT=<tmp>" for the hooks */
        const char *extra_env[3];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (flag == FTW_DP)
                return rmdir(path);
        return unlink(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->tmp, sizeof(f->tmp), "/tmp/test-hooks-XXXXXX");
        assert_non_null(mkdtemp(f->tmp));
        assert_int_equal(chmod(f->tmp, 0755), 0);
        snprintf(f->dir, sizeof(f->dir), "%s/hooks.d", f->tmp);
        assert_int_equal(mkdir(f->dir, 0755), 0);
        assert_int_equal(chmod(f->dir, 0755), 0);
        snprintf(f->out_env, sizeof(f->out_env), "HOOKTEST_OUT=%s", f->tmp);
        f->extra_env[0] = f->out_env;
        f->extra_env[1] = "HOOKTEST_EXTRA=a b";
        f->extra_env[2] = NULL;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        nftw(f->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void write_file(const char *path, const char *content, mode_t mode)
{
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        assert_int_equal(fputs(content, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
        assert_int_equal(chmod(path, mode), 0);
}

/* Writes hook @name: "#!/bin/sh" then @body. */
static void hook(struct fixture *f, const char *name, mode_t mode, const char *body)
{
        char path[256], content[4096];

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        snprintf(content, sizeof(content), "#!/bin/sh\n%s", body);
        write_file(path, content, mode);
}

/* Every hook was reaped: no child of ours is left, not even a zombie. */
static void assert_no_children(void)
{
        errno = 0;
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

/* Path of hook @name; static buffer. */
static const char *hook_path_tmp(struct fixture *f, const char *name)
{
        static char path[256];

        snprintf(path, sizeof(path), "%s/%s", f->dir, name);
        return path;
}

/* A hook that appends "<argument> <name>" to $HOOKTEST_OUT/log, then exits with @status. */
static void logging_hook(struct fixture *f, const char *name, int status)
{
        char body[256];

        snprintf(body, sizeof(body), "echo \"$1 %s\" >> \"$HOOKTEST_OUT/log\"\nexit %d\n", name,
                 status);
        hook(f, name, 0755, body);
}

/* Contents of tmp/@name, or "" if missing; static buffer. */
static const char *slurp(struct fixture *f, const char *name)
{
        static char buf[65536];
        char path[256];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", f->tmp, name);
        buf[0] = '\0';
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return buf;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

static struct hook_runner *runner_for(struct fixture *f, uint64_t timeout_ms, size_t output_max,
                                      enum hook_policy policy)
{
        struct hook_config cfg = {
                .dir = f->dir,
                .timeout_ms = timeout_ms,
                .output_max = output_max,
                .expected_uid = getuid(),
                .policy = policy,
                .extra_env = f->extra_env,
        };
        struct hook_runner *r = NULL;

        assert_int_equal(hook_runner_new(&r, &cfg), 0);
        assert_non_null(r);
        return r;
}

static void test_order(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        struct hook_list *list = NULL;

        logging_hook(f, "b", 0);
        logging_hook(f, "a", 0);
        logging_hook(f, "10-x", 0);
        logging_hook(f, "9-y", 0);
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);

        assert_int_equal(hook_runner_list(r, &list), 0);
        assert_int_equal(hook_list_count(list), 4);
        assert_string_equal(hook_list_name(list, 0), "10-x");
        assert_string_equal(hook_list_name(list, 3), "b");
        assert_null(hook_list_problem(list, 0));
        assert_null(hook_list_name(list, 4));
        list = hook_list_free(list);

        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_TEST_FREEZE, NULL, &run), 0);
        assert_int_equal(hook_run_count(run), 4);
        assert_int_equal(hook_run_op(run), HOOK_OP_FREEZE);
        assert_string_equal(hook_run_outcome(run, 1)->name, "9-y");
        run = hook_run_free(run);

        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_TEST_FREEZE, NULL, NULL, &run), 0);
        assert_int_equal(hook_run_count(run), 4);
        assert_int_equal(hook_run_op(run), HOOK_OP_THAW);
        hook_run_free(run);

        assert_string_equal(slurp(f, "log"), "freeze 10-x\nfreeze 9-y\nfreeze a\nfreeze b\n"
                                             "thaw b\nthaw a\nthaw 9-y\nthaw 10-x\n");
        assert_no_children();
}

static void test_ignored(void **state)
{
        static const char *const leftovers[] = {
                "real~",          "real.dpkg-old", "real.dpkg-new", "real.dpkg-dist",
                "real.rpmnew",    "real.rpmsave",  "real.swp",      ".hidden",
                "real.dpkg-tmp",  "real.rpmorig",
        };
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        struct hook_list *list = NULL;
        char path[256];

        logging_hook(f, "real", 0);
        for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
                logging_hook(f, leftovers[i], 0);
        hook(f, "not-executable", 0644, "exit 0\n");
        snprintf(path, sizeof(path), "%s/subdir", f->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/dangling", f->dir);
        assert_int_equal(symlink("/nonexistent/hook", path), 0);

        assert_int_equal(hook_check(f->dir, getuid(), &list), 0);
        assert_int_equal(hook_list_count(list), 1);
        assert_string_equal(hook_list_name(list, 0), "real");
        assert_int_equal(strcmp(hook_list_path(list, 0) + strlen(f->dir), "/real"), 0);
        hook_list_free(list);

        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        assert_int_equal(hook_run_count(run), 1);
        hook_run_free(run);
        assert_string_equal(slurp(f, "log"), "freeze real\n");
}

static void test_missing_dir(void **state)
{
        struct fixture *f = *state;
        struct hook_config cfg = { .expected_uid = getuid() };
        struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        struct hook_list *list = NULL;
        char path[256];

        snprintf(path, sizeof(path), "%s/does-not-exist", f->tmp);
        assert_int_equal(hook_check(path, getuid(), &list), 0);
        assert_int_equal(hook_list_count(list), 0);
        hook_list_free(list);

        cfg.dir = path;
        assert_int_equal(hook_runner_new(&r, &cfg), 0);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        assert_int_equal(hook_run_count(run), 0);
        assert_int_equal(hook_run_skipped(run), 0);
        hook_run_free(run);
        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_RECOVERY, NULL, NULL, &run), 0);
        assert_int_equal(hook_run_count(run), 0);
        hook_run_free(run);
        hook_runner_free(r);

        /* A file where the directory should be is an error, not "no hooks". */
        snprintf(path, sizeof(path), "%s/log", f->tmp);
        write_file(path, "", 0644);
        list = NULL;
        assert_int_equal(hook_check(path, getuid(), &list), -ENOTDIR);
        assert_null(list);
}

static void test_group_writable_refused(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        struct hook_list *list = NULL;
        const struct hook_outcome *o;
        char *line = NULL;

        logging_hook(f, "10-db", 0);
        assert_int_equal(chmod(hook_path_tmp(f, "10-db"), 0775), 0);
        logging_hook(f, "20-ok", 0);

        assert_int_equal(hook_check(f->dir, getuid(), &list), 0);
        assert_int_equal(hook_list_count(list), 2);
        assert_non_null(hook_list_problem(list, 0));
        assert_non_null(strstr(hook_list_problem(list, 0), "writable by group"));
        assert_non_null(strstr(hook_list_problem(list, 0), "chmod go-w "));
        assert_non_null(strstr(hook_list_problem(list, 0), hook_list_path(list, 0)));
        assert_null(hook_list_problem(list, 1));
        hook_list_free(list);

        /* Refusal is a failure: with abort, 20-ok is not run either. */
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 1);
        assert_int_equal(hook_run_skipped(run), 1);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_REFUSED);
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_non_null(strstr(line, "refused"));
        assert_non_null(strstr(line, "chmod go-w"));
        free(line);
        hook_run_free(run);
        assert_string_equal(slurp(f, "log"), "");

        /* A group-writable directory refuses every hook in it. */
        assert_int_equal(chmod(hook_path_tmp(f, "10-db"), 0755), 0);
        assert_int_equal(chmod(f->dir, 0777), 0);
        assert_int_equal(hook_check(f->dir, getuid(), &list), 0);
        assert_int_equal(hook_list_count(list), 2);
        for (size_t i = 0; i < 2; i++) {
                assert_non_null(hook_list_problem(list, i));
                assert_non_null(strstr(hook_list_problem(list, i), "hooks directory"));
                assert_non_null(strstr(hook_list_problem(list, i), "group and other"));
        }
        hook_list_free(list);
        assert_int_equal(chmod(f->dir, 0755), 0);
}

static void test_wrong_owner_refused(void **state)
{
        struct fixture *f = *state;
        struct hook_config cfg = { .dir = f->dir, .expected_uid = getuid() + 1 };
        struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char expect[64];

        logging_hook(f, "10-db", 0);
        assert_int_equal(hook_runner_new(&r, &cfg), 0);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 1);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_REFUSED);
        /* The directory is ours too, so it is the one named. */
        snprintf(expect, sizeof(expect), "owned by uid %u", (unsigned)getuid());
        assert_non_null(strstr(o->problem, expect));
        assert_non_null(strstr(o->problem, "chown "));
        hook_run_free(run);
        hook_runner_free(r);
        assert_string_equal(slurp(f, "log"), "");
}

static void test_symlink_target_dir_checked(void **state)
{
        struct fixture *f = *state;
        struct hook_list *list = NULL;
        char target_dir[256], target[300], link[256];

        snprintf(target_dir, sizeof(target_dir), "%s/shared", f->tmp);
        assert_int_equal(mkdir(target_dir, 0755), 0);
        assert_int_equal(chmod(target_dir, 0775), 0);
        snprintf(target, sizeof(target), "%s/hook", target_dir);
        write_file(target, "#!/bin/sh\nexit 0\n", 0755);
        snprintf(link, sizeof(link), "%s/10-linked", f->dir);
        assert_int_equal(symlink(target, link), 0);

        assert_int_equal(hook_check(f->dir, getuid(), &list), 0);
        assert_int_equal(hook_list_count(list), 1);
        assert_non_null(hook_list_problem(list, 0));
        assert_non_null(strstr(hook_list_problem(list, 0), "directory of hook target"));
        hook_list_free(list);

        assert_int_equal(chmod(target_dir, 0755), 0);
        assert_int_equal(hook_check(f->dir, getuid(), &list), 0);
        assert_null(hook_list_problem(list, 0));
        hook_list_free(list);
}

static void test_abort_policy(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *frun = NULL, *trun = NULL;

        logging_hook(f, "10-a", 0);
        logging_hook(f, "20-fails", 1);
        logging_hook(f, "30-c", 0);
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);

        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &frun),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(frun), 2);
        assert_int_equal(hook_run_skipped(frun), 1);
        assert_int_equal(hook_run_failed(frun), 1);
        assert_int_equal(hook_run_outcome(frun, 0)->result, HOOK_RESULT_OK);
        assert_int_equal(hook_run_outcome(frun, 0)->exit_status, 0);
        assert_int_equal(hook_run_outcome(frun, 1)->result, HOOK_RESULT_FAILED);
        assert_int_equal(hook_run_outcome(frun, 1)->exit_status, 1);
        assert_int_equal(hook_run_outcome(frun, 1)->signal, 0);

        /* Undo: thaw exactly the hooks that ran, in reverse order (20-fails fails again). */
        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_HOST_BACKUP, NULL, frun, &trun),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(trun), 2);
        assert_string_equal(hook_run_outcome(trun, 0)->name, "20-fails");
        assert_string_equal(hook_run_outcome(trun, 1)->name, "10-a");
        hook_run_free(trun);
        hook_run_free(frun);
        assert_string_equal(slurp(f, "log"),
                            "freeze 10-a\nfreeze 20-fails\nthaw 20-fails\nthaw 10-a\n");

        /* A thaw run cannot be undone by a thaw. */
        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_HOST_BACKUP, NULL, NULL, &trun),
                         HOOK_E_FAILED);
        frun = NULL;
        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_HOST_BACKUP, NULL, trun, &frun),
                         -EINVAL);
        assert_null(frun);
        hook_run_free(trun);
}

static void test_continue_policy(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;

        logging_hook(f, "10-a", 0);
        logging_hook(f, "20-fails", 3);
        logging_hook(f, "30-c", 0);
        r = runner_for(f, 3000, 0, HOOK_POLICY_CONTINUE);

        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 3);
        assert_int_equal(hook_run_skipped(run), 0);
        assert_int_equal(hook_run_failed(run), 1);
        assert_int_equal(hook_run_outcome(run, 1)->exit_status, 3);
        hook_run_free(run);
        assert_string_equal(slurp(f, "log"), "freeze 10-a\nfreeze 20-fails\nfreeze 30-c\n");
}

static void test_thaw_runs_all(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;

        logging_hook(f, "10-a", 0);
        hook(f, "20-thaw-fails", 0755,
             "echo \"$1 20\" >> \"$HOOKTEST_OUT/log\"\n[ \"$1\" = thaw ] && exit 7\nexit 0\n");
        logging_hook(f, "30-c", 0);
        /* Abort policy applies to freeze only. */
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);

        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_WATCHDOG, NULL, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 3);
        assert_int_equal(hook_run_failed(run), 1);
        assert_int_equal(hook_run_outcome(run, 1)->exit_status, 7);
        hook_run_free(run);
        assert_string_equal(slurp(f, "log"), "thaw 30-c\nthaw 20\nthaw 10-a\n");
}

static void test_arguments_and_environment(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        const char *const filesystems[] = { "/", "/var/lib/with space", "/srv", NULL };
        struct hook_run *run = NULL;
        const char *s;
        int fd;

        hook(f, "10-env", 0755,
             "exec > \"$HOOKTEST_OUT/seen\" 2>&1\n"
             "echo \"argc=$# arg1=$1\"\n"
             "echo \"cwd=$(pwd)\"\n"
             "echo \"stdin=$(readlink /proc/$$/fd/0)\"\n"
             "[ -e /proc/$$/fd/50 ] && echo LEAKED-FD\n"
             "echo \"sid=$(ps -o sid= -p $$ 2>/dev/null | tr -d ' ') pid=$$\"\n"
             "env | sort\n");

        /* An fd without O_CLOEXEC must not reach the hook, nor our HOME. */
        fd = open("/dev/null", O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(dup2(fd, 50), 50);
        close(fd);
        setenv("HOME", "/root-of-test", 1);

        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, filesystems, &run), 0);
        hook_run_free(run);
        close(50);

        s = slurp(f, "seen");
        assert_non_null(strstr(s, "argc=1 arg1=freeze\n"));
        assert_non_null(strstr(s, "cwd=/\n"));
        assert_non_null(strstr(s, "stdin=/dev/null\n"));
        assert_null(strstr(s, "LEAKED-FD"));
        assert_non_null(strstr(s, "\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_OPERATION=freeze\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_REASON=host-backup\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_FILESYSTEMS=/ /var/lib/with\\040space /srv\n"));
        assert_non_null(strstr(s, "\nHOOKTEST_EXTRA=a b\n"));
        assert_non_null(strstr(s, "\nHOOKTEST_OUT="));
        assert_null(strstr(s, "HOME="));
        if (strstr(s, "sid=") && !strstr(s, "sid= ")) {
                /* Its own session: session id == its pid (only if ps is installed). */
                unsigned sid = 0, pid = 1;

                if (sscanf(strstr(s, "sid="), "sid=%u pid=%u", &sid, &pid) == 2)
                        assert_int_equal(sid, pid);
        }

        /* Thaw says so, with the reason given. */
        assert_int_equal(hook_runner_run_thaw(r, HOOK_REASON_RECOVERY, NULL, NULL, &run), 0);
        hook_run_free(run);
        s = slurp(f, "seen");
        assert_non_null(strstr(s, "argc=1 arg1=thaw\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_OPERATION=thaw\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_REASON=recovery\n"));
        assert_non_null(strstr(s, "\nHYPERV_VSS_FILESYSTEMS=\n"));
}

static void test_output_captured(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char *line = NULL;

        hook(f, "10-talks", 0755, "echo to-stdout\necho to-stderr >&2\necho again\n");
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_OK);
        assert_string_equal(o->output, "to-stdout\nto-stderr\nagain\n");
        assert_int_equal(o->output_len, strlen("to-stdout\nto-stderr\nagain\n"));
        assert_int_equal(o->output_dropped, 0);
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_true(strncmp(line, "hook 10-talks freeze: ok after ", 31) == 0);
        assert_non_null(strstr(line, "(exit status 0, 26 bytes of output)"));
        free(line);
        hook_run_free(run);
}

static void test_output_bounded(void **state)
{
        struct fixture *f = *state;
        struct hook_runner *r;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char *line = NULL;

        hook(f, "10-chatty", 0755, "head -c 1000 /dev/zero | tr '\\0' x\n");
        r = runner_for(f, 3000, 100, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->output_len, 100);
        assert_int_equal(o->output_dropped, 900);
        assert_int_equal(strlen(o->output), 100);
        assert_int_equal(strspn(o->output, "x"), 100);
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_non_null(strstr(line, "100 bytes of output kept, 900 dropped"));
        free(line);
        hook_run_free(run);
        hook_runner_free(r);

        /* Far more than a pipe holds, with the default bound: no stall, first 64 KiB kept. */
        hook(f, "10-chatty", 0755, "head -c 3000000 /dev/zero\necho done >&2\n");
        r = runner_for(f, 5000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_OK);
        assert_int_equal(o->output_len, HOOK_OUTPUT_MAX_DEFAULT);
        assert_int_equal(o->output_dropped, 3000005 - HOOK_OUTPUT_MAX_DEFAULT);
        hook_run_free(run);
        hook_runner_free(r);
}

/*
 * Waits up to 3 s until @pid no longer exists. If it is ours to reap (a
 * subreaper gets orphans), reaps it and checks that it died of SIGKILL.
 */
static int wait_gone(pid_t pid)
{
        for (int i = 0; i < 150; i++) {
                int status = 0;
                pid_t p = waitpid(pid, &status, WNOHANG);

                if (p == pid) {
                        assert_true(WIFSIGNALED(status));
                        assert_int_equal(WTERMSIG(status), SIGKILL);
                        return 0;
                }
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        return 0;
                usleep(20000);
        }
        return -ETIMEDOUT;
}

/* Waits up to 3 s for @pid (our child via the subreaper) to be reaped; returns its status. */
static int reap_within(pid_t pid, int *ret_status)
{
        for (int i = 0; i < 150; i++) {
                pid_t p = waitpid(pid, ret_status, WNOHANG);

                if (p == pid)
                        return 0;
                if (p < 0 && errno != ECHILD)
                        return -errno;
                usleep(20000);
        }
        return -ETIMEDOUT;
}

static void test_timeout_kills_process_group(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char *line = NULL;
        unsigned gc = 0;
        int status = 0;

        /* Orphaned grandchildren come to us, so we can tell how they died. */
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);

        hook(f, "10-hangs", 0755,
             "sleep 30 &\n"
             "echo $! > \"$HOOKTEST_OUT/grandchild\"\n"
             "echo about to hang\n"
             "sleep 30\n");
        logging_hook(f, "20-after", 0);
        /* 2 s: time for sh (under ASan, on a loaded machine) to print first. */
        r = runner_for(f, 2000, 0, HOOK_POLICY_ABORT);

        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 1);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_TIMEOUT);
        assert_int_equal(o->signal, SIGKILL);
        assert_int_equal(o->exit_status, -1);
        assert_true(o->duration_ms >= 1900);
        assert_true(o->duration_ms < 15000); /* the timeout fired, nothing waited 30 s */
        assert_string_equal(o->output, "about to hang\n");
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_non_null(strstr(line, "timeout after"));
        assert_non_null(strstr(line, "limit 2000 ms"));
        free(line);
        hook_run_free(run);
        assert_string_equal(slurp(f, "log"), "");

        assert_int_equal(sscanf(slurp(f, "grandchild"), "%u", &gc), 1);
        /*
         * Dead: reaped by us (the subreaper) with SIGKILL, or already reaped by
         * the hook shell, which can collect it in its last wait4() call.
         */
        assert_int_equal(wait_gone((pid_t)gc), 0);
        /* The hook's foreground "sleep 30" was orphaned to us too, just as dead. */
        for (int i = 0; i < 150; i++) {
                pid_t p = waitpid(-1, &status, WNOHANG);

                if (p < 0)
                        break;
                if (p == 0) {
                        usleep(20000);
                        continue;
                }
                assert_true(WIFSIGNALED(status));
                assert_int_equal(WTERMSIG(status), SIGKILL);
        }
        assert_no_children();

        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

static void test_background_child_does_not_delay(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        unsigned bg = 0;
        int status = 0;

        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
        /* Keeps our pipe open for 30 s: the hook is still done when it exits. */
        hook(f, "10-holds-lock", 0755,
             "sleep 30 &\necho $! > \"$HOOKTEST_OUT/bg\"\necho locked\nexit 0\n");
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_OK);
        assert_true(o->duration_ms < 2500);
        assert_string_equal(o->output, "locked\n");
        hook_run_free(run);

        /* Not killed: a freeze hook may leave a lock holder for its thaw hook. */
        assert_int_equal(sscanf(slurp(f, "bg"), "%u", &bg), 1);
        assert_int_equal(kill((pid_t)bg, 0), 0);
        assert_int_equal(kill((pid_t)bg, SIGKILL), 0);
        assert_int_equal(reap_within((pid_t)bg, &status), 0);
        assert_no_children();
        assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

static void test_killed_by_signal(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char *line = NULL;

        hook(f, "10-dies", 0755, "kill -TERM $$\nsleep 5\n");
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_FAILED);
        assert_int_equal(o->signal, SIGTERM);
        assert_int_equal(o->exit_status, -1);
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_non_null(strstr(line, "failed after"));
        assert_non_null(strstr(line, "killed by signal SIGTERM"));
        free(line);
        hook_run_free(run);
}

static void test_exec_error(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;
        const struct hook_outcome *o;
        char path[256];
        char *line = NULL;

        /* valgrind cannot survive a failed execve() in a posix_spawn() child. */
        if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) {
                skip();
                return;
        }
        snprintf(path, sizeof(path), "%s/10-bad-interpreter", f->dir);
        write_file(path, "#!/nonexistent/interpreter\nexit 0\n", 0755);
        logging_hook(f, "20-fine", 0);
        r = runner_for(f, 3000, 0, HOOK_POLICY_CONTINUE);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run),
                         HOOK_E_FAILED);
        assert_int_equal(hook_run_count(run), 2);
        o = hook_run_outcome(run, 0);
        assert_int_equal(o->result, HOOK_RESULT_EXEC_ERROR);
        assert_int_equal(o->error, ENOENT);
        assert_int_equal(hook_run_outcome(run, 1)->result, HOOK_RESULT_OK);
        assert_int_equal(hook_run_summary(run, 0, &line), 0);
        assert_non_null(strstr(line, "exec_error"));
        assert_non_null(strstr(line, "interpreter"));
        free(line);
        hook_run_free(run);
}

static void test_duration(void **state)
{
        struct fixture *f = *state;
        _cleanup_hook_runner struct hook_runner *r = NULL;
        struct hook_run *run = NULL;

        hook(f, "10-slow", 0755, "sleep 0.2\n");
        r = runner_for(f, 3000, 0, HOOK_POLICY_ABORT);
        assert_int_equal(hook_runner_run_freeze(r, HOOK_REASON_HOST_BACKUP, NULL, &run), 0);
        assert_true(hook_run_outcome(run, 0)->duration_ms >= 150);
        assert_true(hook_run_outcome(run, 0)->duration_ms < 3000);
        hook_run_free(run);
}

static void test_runner_new_invalid(void **state)
{
        static const char *const bad_path[] = { "PATH=/tmp", NULL };
        static const char *const bad_reserved[] = { "HYPERV_VSS_REASON=x", NULL };
        static const char *const bad_noeq[] = { "NOEQUALS", NULL };
        static const char *const bad_name[] = { "1X=y", NULL };
        struct hook_config cfg = {};
        struct hook_runner *r = NULL;
        struct hook_run *run = NULL;

        (void)state;
        assert_int_equal(hook_runner_new(&r, NULL), -EINVAL);
        cfg.extra_env = bad_path;
        assert_int_equal(hook_runner_new(&r, &cfg), -EINVAL);
        cfg.extra_env = bad_reserved;
        assert_int_equal(hook_runner_new(&r, &cfg), -EINVAL);
        cfg.extra_env = bad_noeq;
        assert_int_equal(hook_runner_new(&r, &cfg), -EINVAL);
        cfg.extra_env = bad_name;
        assert_int_equal(hook_runner_new(&r, &cfg), -EINVAL);
        cfg.extra_env = NULL;
        cfg.policy = (enum hook_policy)42;
        assert_int_equal(hook_runner_new(&r, &cfg), -EINVAL);
        assert_null(r);

        /* Defaults: NULL dir is the system directory. */
        cfg.policy = HOOK_POLICY_ABORT;
        assert_int_equal(hook_runner_new(&r, &cfg), 0);
        assert_int_equal(hook_runner_run_freeze(r, (enum hook_reason)99, NULL, &run), -EINVAL);
        assert_null(run);
        assert_null(hook_runner_free(r));

        assert_null(hook_runner_free(NULL));
        assert_null(hook_run_free(NULL));
        assert_null(hook_list_free(NULL));
        assert_int_equal(hook_run_count(NULL), 0);
        assert_null(hook_run_outcome(NULL, 0));
        assert_string_equal(hook_result_to_string(HOOK_RESULT_EXEC_ERROR), "exec_error");
        assert_string_equal(hook_reason_to_string(HOOK_REASON_TEST_FREEZE), "test-freeze");
        assert_string_equal(hook_op_to_string(HOOK_OP_THAW), "thaw");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
                T(test_order),
                T(test_ignored),
                T(test_missing_dir),
                T(test_group_writable_refused),
                T(test_wrong_owner_refused),
                T(test_symlink_target_dir_checked),
                T(test_abort_policy),
                T(test_continue_policy),
                T(test_thaw_runs_all),
                T(test_arguments_and_environment),
                T(test_output_captured),
                T(test_output_bounded),
                T(test_timeout_kills_process_group),
                T(test_background_child_does_not_delay),
                T(test_killed_by_signal),
                T(test_exec_error),
                T(test_duration),
                cmocka_unit_test(test_runner_new_invalid),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
