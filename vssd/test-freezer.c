/*
 * Unit tests of the freezer and the frozen-state records. No root needed,
 * and nothing here ever freezes a real filesystem: every Freezer is built
 * by new_freezer(), which always installs the fake filesystem operations
 * below (they keep a frozen flag per fake device and log every call).
 * frozen_state_recover() does call the real FITHAW, only on temp dirs that
 * are not frozen (EINVAL, or EPERM without root): harmless.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syncfs, reallocarray */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "freezer.h"
#include "frozen-state.h"

/* --- fake filesystem operations ----------------------------------------- */

#define FAKE_MAX 32
#define FAKE_LOG 256

typedef struct FakeFs {
        dev_t dev;
        bool frozen;
        bool block;             /* freeze waits for the gate */
        int freeze_error;       /* -errno */
        int thaw_error_once;    /* -errno */
        int sync_error;
} FakeFs;

typedef struct Fake {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct { ino_t ino; dev_t dev; } map[FAKE_MAX];
        size_t n_map;
        FakeFs fs[FAKE_MAX];
        size_t n_fs;
        struct { char op; dev_t dev; } log[FAKE_LOG];
        size_t n_log;
        unsigned cur, max_concurrent;
        unsigned freeze_sleep_ms;
        bool gate_open;
        unsigned blocked_returned;      /* blocked freezes that returned */
        /* if set: at every freeze, count the records */
        FrozenState *check_state;
        size_t records_seen;
} Fake;

static Fake fake;

static void fake_reset(void)
{
        pthread_mutex_lock(&fake.lock);
        memset((char *)&fake + offsetof(Fake, map), 0, sizeof(fake) - offsetof(Fake, map));
        pthread_mutex_unlock(&fake.lock);
}

static dev_t fake_dev_of_fd(int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return 0;
        for (size_t i = 0; i < fake.n_map; i++)
                if (fake.map[i].ino == st.st_ino)
                        return fake.map[i].dev;
        return makedev(250, (unsigned)(st.st_ino & 0xfffff));
}

static FakeFs *fake_fs(dev_t dev)
{
        for (size_t i = 0; i < fake.n_fs; i++)
                if (fake.fs[i].dev == dev)
                        return &fake.fs[i];
        assert_true(fake.n_fs < FAKE_MAX);
        fake.fs[fake.n_fs] = (FakeFs){ .dev = dev };
        return &fake.fs[fake.n_fs++];
}

static void fake_log(char op, dev_t dev)
{
        if (fake.n_log < FAKE_LOG) {
                fake.log[fake.n_log].op = op;
                fake.log[fake.n_log].dev = dev;
                fake.n_log++;
        }
}

static int fake_identify(int fd, dev_t *ret_dev, void *userdata)
{
        (void)userdata;
        pthread_mutex_lock(&fake.lock);
        *ret_dev = fake_dev_of_fd(fd);
        pthread_mutex_unlock(&fake.lock);
        return 0;
}

static int fake_sync(int fd, void *userdata)
{
        int r;

        (void)userdata;
        pthread_mutex_lock(&fake.lock);
        dev_t dev = fake_dev_of_fd(fd);
        fake_log('S', dev);
        r = fake_fs(dev)->sync_error;
        pthread_mutex_unlock(&fake.lock);
        return r;
}

static int fake_freeze(int fd, void *userdata)
{
        FakeFs *fs;
        dev_t dev;
        int r = 0;

        (void)userdata;
        pthread_mutex_lock(&fake.lock);
        dev = fake_dev_of_fd(fd);
        fake_log('F', dev);
        if (++fake.cur > fake.max_concurrent)
                fake.max_concurrent = fake.cur;
        if (fake.check_state) {
                FrozenList *l = NULL;

                if (frozen_state_list(fake.check_state, &l) == 0 && l->n_entries > fake.records_seen)
                        fake.records_seen = l->n_entries;
                frozen_list_free(l);
        }
        fs = fake_fs(dev);
        if (fs->block) {
                while (!fake.gate_open)
                        pthread_cond_wait(&fake.cond, &fake.lock);
                fake.blocked_returned++;
        }
        if (fake.freeze_sleep_ms) {
                struct timespec ts = { 0, (long)fake.freeze_sleep_ms * 1000000L };

                pthread_mutex_unlock(&fake.lock);
                nanosleep(&ts, NULL);
                pthread_mutex_lock(&fake.lock);
                fs = fake_fs(dev);
        }
        if (fs->freeze_error)
                r = fs->freeze_error;
        else if (fs->frozen)
                r = -EBUSY;
        else
                fs->frozen = true;
        fake.cur--;
        pthread_cond_broadcast(&fake.cond);
        pthread_mutex_unlock(&fake.lock);
        return r;
}

static int fake_thaw(int fd, void *userdata)
{
        FakeFs *fs;
        int r = 0;

        (void)userdata;
        pthread_mutex_lock(&fake.lock);
        dev_t dev = fake_dev_of_fd(fd);
        fake_log('T', dev);
        fs = fake_fs(dev);
        if (fs->thaw_error_once) {
                r = fs->thaw_error_once;
                fs->thaw_error_once = 0;
        } else if (!fs->frozen) {
                r = -EINVAL;
        } else {
                fs->frozen = false;
        }
        pthread_cond_broadcast(&fake.cond);
        pthread_mutex_unlock(&fake.lock);
        return r;
}

static const FreezerOps fake_ops = {
        .sync = fake_sync,
        .freeze = fake_freeze,
        .thaw = fake_thaw,
        .identify = fake_identify,
};

static void fake_map(const char *path, dev_t dev)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        pthread_mutex_lock(&fake.lock);
        fake.map[fake.n_map].ino = st.st_ino;
        fake.map[fake.n_map].dev = dev;
        fake.n_map++;
        pthread_mutex_unlock(&fake.lock);
}

static bool fake_frozen(dev_t dev)
{
        bool r;

        pthread_mutex_lock(&fake.lock);
        r = fake_fs(dev)->frozen;
        pthread_mutex_unlock(&fake.lock);
        return r;
}

static void fake_set(dev_t dev, bool frozen, bool block, int freeze_error, int thaw_error_once)
{
        pthread_mutex_lock(&fake.lock);
        FakeFs *fs = fake_fs(dev);
        fs->frozen = frozen;
        fs->block = block;
        fs->freeze_error = freeze_error;
        fs->thaw_error_once = thaw_error_once;
        pthread_mutex_unlock(&fake.lock);
}

/* Position of the first log entry (op, dev), or -1. */
static int log_pos(char op, dev_t dev)
{
        for (size_t i = 0; i < fake.n_log; i++)
                if (fake.log[i].op == op && fake.log[i].dev == dev)
                        return (int)i;
        return -1;
}

static size_t log_count(char op)
{
        size_t n = 0;

        for (size_t i = 0; i < fake.n_log; i++)
                n += fake.log[i].op == op;
        return n;
}

/* --- fixtures ----------------------------------------------------------- */

typedef struct Fixture {
        char root[256];
        char state_dir[300];
        FrozenState *state;
} Fixture;

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)st;
        (void)ftw;
        if (type == FTW_DP || type == FTW_D)
                rmdir(path);
        else
                unlink(path);
        return 0;
}

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        Fixture *fx = calloc(1, sizeof(*fx));

        assert_non_null(fx);
        snprintf(fx->root, sizeof(fx->root), "%s/test-freezer.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        assert_non_null(mkdtemp(fx->root));
        snprintf(fx->state_dir, sizeof(fx->state_dir), "%s/state", fx->root);
        assert_int_equal(frozen_state_open(&fx->state, fx->state_dir, FROZEN_STATE_ALLOW_NON_TMPFS), 0);
        fake_reset();
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        Fixture *fx = *state;

        /* Let any worker abandoned by a timeout test finish with the fake. */
        pthread_mutex_lock(&fake.lock);
        fake.gate_open = true;
        pthread_cond_broadcast(&fake.cond);
        pthread_mutex_unlock(&fake.lock);

        frozen_state_unref(fx->state);
        nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(fx);
        return 0;
}

static const char *mkdir_in(Fixture *fx, const char *name)
{
        static char paths[16][320];
        static unsigned next;
        char *p = paths[next++ % 16];

        snprintf(p, 320, "%s/%s", fx->root, name);
        assert_int_equal(mkdir(p, 0755), 0);
        return p;
}

static dev_t dev_of(const char *path)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return makedev(250, (unsigned)(st.st_ino & 0xfffff));
}

/* Every freezer in this file goes through here: fake operations, always. */
static Freezer *new_freezer(Fixture *fx, FreezerOptions *o)
{
        FreezerOptions opts = FREEZER_OPTIONS_INIT;
        Freezer *f = NULL;

        if (o)
                opts = *o;
        opts.ops = &fake_ops;
        if (!opts.state && fx)
                opts.state = fx->state;
        /* Temp dirs may well be on the root filesystem. Safe: fake ops. */
        if (!o)
                opts.allow_root = true;
        assert_int_equal(freezer_new(&f, &opts), 0);
        assert_non_null(f);
        return f;
}

static size_t n_records(Fixture *fx)
{
        FrozenList *l = NULL;
        size_t n;

        assert_int_equal(frozen_state_list(fx->state, &l), 0);
        n = l->n_entries;
        frozen_list_free(l);
        return n;
}

static const FreezerTargetReport *target(Freezer *f, size_t i)
{
        const FreezerReport *rep = freezer_get_report(f);

        assert_true(i < rep->n_targets);
        return &rep->targets[i];
}

/* --- freezer tests ------------------------------------------------------ */

static void test_arguments(void **state)
{
        Fixture *fx = *state;
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        FreezerOps bad = fake_ops;
        Freezer *f = NULL;

        assert_int_equal(freezer_new(NULL, NULL), -EINVAL);
        bad.thaw = NULL;
        o.ops = &bad;
        assert_int_equal(freezer_new(&f, &o), -EINVAL);
        assert_null(f);
        o = (FreezerOptions)FREEZER_OPTIONS_INIT;
        o.on_open_error = 7;
        assert_int_equal(freezer_new(&f, &o), -EINVAL);
        assert_null(f);
        assert_null(freezer_free(NULL));
        assert_null(freezer_get_report(NULL));
        assert_false(freezer_is_frozen(NULL));
        assert_int_equal(freezer_freeze(NULL), -EINVAL);
        assert_int_equal(freezer_thaw(NULL), -EINVAL);

        f = new_freezer(fx, NULL);
        assert_int_equal(freezer_add_target(f, 0, NULL, 0), -EINVAL);
        assert_int_equal(freezer_add_target(f, 0, "", 0), -EINVAL);
        assert_int_equal(freezer_add_target(f, 0, "relative/path", 0), -EINVAL);
        assert_int_equal(freezer_freeze(f), 0); /* nothing to do */
        assert_int_equal(freezer_freeze(f), -EALREADY);
        assert_int_equal(freezer_add_target(f, 0, "/nonexistent", 0), -EINVAL);
        assert_int_equal(freezer_thaw(f), 0);
        assert_int_equal(log_count('F'), 0);
        freezer_free(f);
}

static void test_root_guard_add(void **state)
{
        Fixture *fx = *state;
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        Freezer *f;

        o.allow_root = false;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, "/", 0), -EPERM);
        assert_int_equal(freezer_add_target(f, 0, "//", 0), -EPERM);
        assert_int_equal(freezer_add_target(f, 0, "/.", 0), -EPERM);
        assert_int_equal(freezer_add_target(f, 0, "/./", 0), -EPERM);
        assert_int_equal(freezer_add_target(f, 3, "/..", 0), -EPERM);
        assert_int_equal(freezer_get_report(f)->n_targets, 0);
        freezer_free(f);

        o.allow_root = true;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, "/", 0), 0);
        freezer_free(f); /* never frozen */
        assert_int_equal(fake.n_log, 0);
}

static void test_root_guard_freeze(void **state)
{
        Fixture *fx = *state;
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        char link[320];
        const char *other = mkdir_in(fx, "other");
        Freezer *f;

        /* The path looks harmless when added and leads to "/" at freeze time. */
        snprintf(link, sizeof(link), "%s/link", fx->root);
        o.allow_root = false;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, link, 0), 0);
        assert_int_equal(symlink("/", link), 0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_ROOT);
        assert_int_equal(target(f, 0)->open.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 0)->open.error, EPERM);
        assert_non_null(strstr(target(f, 0)->note, "root"));
        assert_int_equal(fake.n_log, 0); /* no sync, no freeze, nothing */
        assert_int_equal(n_records(fx), 0);
        assert_false(freezer_is_frozen(f));
        freezer_free(f);

        /* Even with skip policy, and with a good target beside it. */
        unlink(link);
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, link, 0), 0);
        assert_int_equal(symlink("/.", link), 0);
        if (freezer_add_target(f, 0, other, 0) == -EPERM) {
                /* the temp dir is on the root fs: then it must be refused too */
                assert_int_equal(freezer_freeze(f), FREEZER_E_ROOT);
        } else {
                assert_int_equal(freezer_freeze(f), FREEZER_E_ROOT);
        }
        assert_int_equal(fake.n_log, 0);
        freezer_free(f);
}

static void test_order_and_records(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b");
        const char *c = mkdir_in(fx, "c"), *d = mkdir_in(fx, "d");
        dev_t da = dev_of(a), db = dev_of(b), dc = dev_of(c), dd = dev_of(d);
        const FreezerReport *rep;
        Freezer *f = new_freezer(fx, NULL);

        /* added out of order on purpose */
        assert_int_equal(freezer_add_target(f, 2, d, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_add_target(f, 0, a, da), 0);
        assert_int_equal(freezer_add_target(f, 1, c, 0), 0);
        fake.check_state = fx->state;

        assert_int_equal(freezer_freeze(f), 0);
        assert_true(freezer_is_frozen(f));
        /* every record was written before the first FIFREEZE */
        assert_int_equal(fake.records_seen, 4);
        assert_int_equal(n_records(fx), 4);
        assert_int_equal(log_count('S'), 4);
        assert_int_equal(log_count('F'), 4);
        /* presync before any freeze; levels in order */
        assert_true(log_pos('S', dd) < log_pos('F', da));
        assert_true(log_pos('F', da) < log_pos('F', db));
        assert_true(log_pos('F', da) < log_pos('F', dc));
        assert_true(log_pos('F', db) < log_pos('F', dd));
        assert_true(log_pos('F', dc) < log_pos('F', dd));
        assert_true(fake_frozen(da) && fake_frozen(db) && fake_frozen(dc) && fake_frozen(dd));

        rep = freezer_get_report(f);
        assert_int_equal(rep->n_targets, 4);
        assert_int_equal(rep->n_frozen, 4);
        assert_int_equal(rep->n_opened, 4);
        assert_int_equal(rep->result, 0);
        assert_int_equal(target(f, 2)->freeze_seq, 1);        /* a */
        assert_true(target(f, 1)->freeze_seq >= 2 && target(f, 1)->freeze_seq <= 3);
        assert_true(target(f, 3)->freeze_seq >= 2 && target(f, 3)->freeze_seq <= 3);
        assert_int_equal(target(f, 0)->freeze_seq, 4);        /* d */
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(target(f, i)->open.outcome, FREEZER_OK);
                assert_int_equal(target(f, i)->sync.outcome, FREEZER_OK);
                assert_int_equal(target(f, i)->freeze.outcome, FREEZER_OK);
                assert_int_equal(target(f, i)->thaw.outcome, FREEZER_NOT_RUN);
                assert_non_null(target(f, i)->path);
                assert_true(target(f, i)->frozen_at_usec > 0);
        }

        fake.check_state = NULL;
        assert_int_equal(freezer_thaw(f), 0);
        assert_false(freezer_is_frozen(f));
        assert_int_equal(n_records(fx), 0);
        assert_true(log_pos('T', dd) < log_pos('T', db));
        assert_true(log_pos('T', dd) < log_pos('T', dc));
        assert_true(log_pos('T', db) < log_pos('T', da));
        assert_true(log_pos('T', dc) < log_pos('T', da));
        assert_int_equal(target(f, 0)->thaw_seq, 1);
        assert_int_equal(target(f, 2)->thaw_seq, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(target(f, i)->thaw.outcome, FREEZER_OK);
                assert_int_equal(target(f, i)->thaw.error, 0);
                assert_null(target(f, i)->note);
                assert_true(target(f, i)->thawed_at_usec >= target(f, i)->frozen_at_usec);
        }
        assert_false(fake_frozen(da) || fake_frozen(db) || fake_frozen(dc) || fake_frozen(dd));
        /* thaw again: nothing to do */
        assert_int_equal(freezer_thaw(f), 0);
        assert_int_equal(log_count('T'), 4);
        freezer_free(f);
}

static void test_open_errors(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a");
        char missing[320], file[320];
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        Freezer *f;
        int fd;

        snprintf(missing, sizeof(missing), "%s/missing", fx->root);
        snprintf(file, sizeof(file), "%s/file", fx->root);
        fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);

        f = new_freezer(fx, NULL);
        assert_int_equal(freezer_add_target(f, 0, missing, 0), 0);
        assert_int_equal(freezer_add_target(f, 0, file, 0), 0);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        assert_int_equal(target(f, 0)->open.outcome, FREEZER_SKIPPED);
        assert_int_equal(target(f, 0)->open.error, ENOENT);
        assert_string_equal(target(f, 0)->note, "does not exist");
        assert_int_equal(target(f, 1)->open.outcome, FREEZER_SKIPPED);
        assert_int_equal(target(f, 1)->open.error, ENOTDIR);
        assert_non_null(target(f, 1)->note);
        assert_int_equal(target(f, 0)->freeze.outcome, FREEZER_NOT_RUN);
        assert_int_equal(target(f, 2)->freeze.outcome, FREEZER_OK);
        assert_int_equal(freezer_get_report(f)->n_skipped, 2);
        assert_int_equal(freezer_get_report(f)->n_frozen, 1);
        assert_int_equal(n_records(fx), 1);
        assert_int_equal(freezer_thaw(f), 0);
        freezer_free(f);

        fake_reset();
        o.on_open_error = FREEZER_POLICY_FAIL;
        o.allow_root = true;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, file, 0), 0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_OPEN);
        assert_int_equal(target(f, 1)->open.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 1)->open.error, ENOTDIR);
        assert_int_equal(log_count('F'), 0);
        assert_int_equal(log_count('S'), 0);
        assert_int_equal(n_records(fx), 0);
        assert_false(freezer_is_frozen(f));
        freezer_free(f);
}

static void test_unsupported(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b"), *c = mkdir_in(fx, "c");
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        Freezer *f;

        fake_set(dev_of(b), false, false, -EOPNOTSUPP, 0);
        f = new_freezer(fx, NULL);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 0, b, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, c, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        assert_int_equal(target(f, 1)->freeze.outcome, FREEZER_SKIPPED);
        assert_int_equal(target(f, 1)->freeze.error, EOPNOTSUPP);
        assert_non_null(strstr(target(f, 1)->note, "does not support"));
        assert_int_equal(freezer_get_report(f)->n_frozen, 2);
        assert_int_equal(n_records(fx), 2); /* b's record is gone */
        assert_int_equal(freezer_thaw(f), 0);
        assert_int_equal(target(f, 1)->thaw.outcome, FREEZER_NOT_RUN);
        freezer_free(f);

        o.on_unsupported = FREEZER_POLICY_FAIL;
        o.allow_root = true;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_UNSUPPORTED);
        assert_int_equal(target(f, 1)->freeze.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 0)->thaw.outcome, FREEZER_OK);
        assert_false(fake_frozen(dev_of(a)));
        assert_false(freezer_is_frozen(f));
        assert_int_equal(n_records(fx), 0);
        freezer_free(f);
}

static void test_busy_rolls_back(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b");
        const char *c = mkdir_in(fx, "c"), *d = mkdir_in(fx, "d");
        Freezer *f;

        fake_set(dev_of(c), true, false, 0, 0); /* frozen by someone else */
        f = new_freezer(fx, NULL);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, c, 0), 0);
        assert_int_equal(freezer_add_target(f, 2, d, 0), 0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_BUSY);
        assert_int_equal(freezer_get_report(f)->result, FREEZER_E_BUSY);
        assert_int_equal(target(f, 2)->freeze.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 2)->freeze.error, EBUSY);
        assert_non_null(strstr(target(f, 2)->note, "someone else"));
        assert_int_equal(target(f, 3)->freeze.outcome, FREEZER_NOT_RUN);
        assert_int_equal(target(f, 0)->thaw.outcome, FREEZER_OK);
        assert_false(fake_frozen(dev_of(a)));
        assert_false(fake_frozen(dev_of(b)));
        assert_true(fake_frozen(dev_of(c)));    /* not ours to thaw */
        assert_false(fake_frozen(dev_of(d)));
        assert_int_equal(log_pos('T', dev_of(c)), -1);
        assert_int_equal(log_pos('F', dev_of(d)), -1);
        assert_true(log_pos('T', dev_of(b)) < log_pos('T', dev_of(a)));
        assert_false(freezer_is_frozen(f));
        assert_int_equal(n_records(fx), 0);
        freezer_free(f);
}

static void test_timeout_abandons(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b"), *c = mkdir_in(fx, "c");
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        struct timespec t0, t1;
        Freezer *f;
        long ms;

        fake_set(dev_of(b), false, true, 0, 0);
        o.freeze_timeout_msec = 200;
        o.allow_root = true;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, c, 0), 0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_TIMEOUT);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        assert_true(ms >= 190 && ms < 5000);

        assert_int_equal(target(f, 1)->freeze.outcome, FREEZER_TIMED_OUT);
        assert_int_equal(freezer_get_report(f)->n_abandoned, 1);
        assert_false(freezer_is_frozen(f));
        assert_false(fake_frozen(dev_of(a)));
        assert_false(fake_frozen(dev_of(c)));
        /* b's FIFREEZE is still "running": its record stays until it is undone */
        assert_int_equal(n_records(fx), 1);
        freezer_free(f);

        /* The freeze finally returns: its worker must thaw it and clean up. */
        pthread_mutex_lock(&fake.lock);
        fake.gate_open = true;
        pthread_cond_broadcast(&fake.cond);
        for (int i = 0; i < 500 && log_pos('T', dev_of(b)) < 0; i++) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10000000;
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&fake.cond, &fake.lock, &ts);
        }
        pthread_mutex_unlock(&fake.lock);
        assert_true(log_pos('T', dev_of(b)) >= 0);
        assert_false(fake_frozen(dev_of(b)));
        for (int i = 0; i < 500 && n_records(fx) > 0; i++)
                usleep(10000);
        assert_int_equal(n_records(fx), 0);
        usleep(50000); /* let the worker drop its batch */
}

static void test_thaw_by_someone_else(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b");
        Freezer *f = new_freezer(fx, NULL);

        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        fake_set(dev_of(a), false, false, 0, 0); /* e.g. fsfreeze -u */
        assert_int_equal(freezer_thaw(f), 0);
        assert_int_equal(target(f, 0)->thaw.outcome, FREEZER_OK);
        assert_int_equal(target(f, 0)->thaw.error, EINVAL);
        assert_non_null(strstr(target(f, 0)->note, "someone else"));
        assert_int_equal(target(f, 1)->thaw.error, 0);
        assert_int_equal(n_records(fx), 0);
        freezer_free(f);
}

static void test_thaw_failure_retry(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b");
        Freezer *f = new_freezer(fx, NULL);

        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_add_target(f, 1, b, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        fake_set(dev_of(b), true, false, 0, -EIO);
        assert_int_equal(freezer_thaw(f), FREEZER_E_THAW);
        assert_int_equal(freezer_get_report(f)->thaw_result, FREEZER_E_THAW);
        assert_int_equal(target(f, 1)->thaw.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 1)->thaw.error, EIO);
        /* a (stacked below b, maybe) is left frozen rather than risk blocking */
        assert_int_equal(log_pos('T', dev_of(a)), -1);
        assert_true(fake_frozen(dev_of(a)));
        assert_true(freezer_is_frozen(f));
        assert_int_equal(n_records(fx), 2);

        assert_int_equal(freezer_thaw(f), 0);
        assert_false(freezer_is_frozen(f));
        assert_false(fake_frozen(dev_of(a)) || fake_frozen(dev_of(b)));
        assert_int_equal(n_records(fx), 0);
        freezer_free(f);
}

static void test_free_thaws(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a");
        Freezer *f = new_freezer(fx, NULL);

        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        assert_true(fake_frozen(dev_of(a)));
        assert_null(freezer_free(f));
        assert_false(fake_frozen(dev_of(a)));
        assert_int_equal(n_records(fx), 0);
}

static void test_duplicates_and_identity(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a"), *b = mkdir_in(fx, "b"), *c = mkdir_in(fx, "c");
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        Freezer *f;

        /* a and b: one superblock (bind mount / subvolume) */
        fake_map(a, makedev(8, 1));
        fake_map(b, makedev(8, 1));
        fake_map(c, makedev(8, 2));
        f = new_freezer(fx, NULL);
        assert_int_equal(freezer_add_target(f, 0, a, makedev(8, 1)), 0);
        assert_int_equal(freezer_add_target(f, 0, b, 0), 0);
        assert_int_equal(freezer_add_target(f, 0, c, makedev(8, 3)), 0); /* plan said 8:3 */
        assert_int_equal(freezer_freeze(f), 0);
        assert_int_equal(target(f, 0)->freeze.outcome, FREEZER_OK);
        assert_int_equal(target(f, 1)->open.outcome, FREEZER_SKIPPED);
        assert_int_equal(target(f, 1)->open.error, 0);
        assert_non_null(strstr(target(f, 1)->note, "same filesystem"));
        assert_int_equal(target(f, 2)->open.outcome, FREEZER_SKIPPED);
        assert_int_equal(target(f, 2)->open.error, EXDEV);
        assert_true(target(f, 2)->dev == makedev(8, 2));
        assert_int_equal(log_count('F'), 1);
        assert_int_equal(freezer_thaw(f), 0);
        freezer_free(f);

        /* the filesystem holding the state dir is never frozen */
        fake_reset();
        fake_map(fx->state_dir, frozen_state_dev(fx->state));
        o.on_open_error = FREEZER_POLICY_FAIL;
        o.allow_root = true;
        f = new_freezer(fx, &o);
        assert_int_equal(freezer_add_target(f, 0, fx->state_dir, 0), 0);
        assert_int_equal(freezer_freeze(f), FREEZER_E_OPEN);
        assert_int_equal(target(f, 0)->open.error, EDEADLK);
        assert_int_equal(log_count('F'), 0);
        freezer_free(f);
}

static void test_bounded_parallel(void **state)
{
        Fixture *fx = *state;
        FreezerOptions o = FREEZER_OPTIONS_INIT;
        char name[16];
        Freezer *f;

        o.max_threads = 2;
        o.allow_root = true;
        f = new_freezer(fx, &o);
        for (int i = 0; i < 6; i++) {
                snprintf(name, sizeof(name), "t%d", i);
                assert_int_equal(freezer_add_target(f, 0, mkdir_in(fx, name), 0), 0);
        }
        fake.freeze_sleep_ms = 50;
        assert_int_equal(freezer_freeze(f), 0);
        assert_int_equal(freezer_get_report(f)->n_frozen, 6);
        assert_true(fake.max_concurrent >= 1 && fake.max_concurrent <= 2);
        for (size_t i = 0; i < 6; i++)
                assert_true(target(f, i)->freeze.usec >= 40000);
        assert_true(freezer_get_report(f)->freeze_usec >= 150000);
        assert_int_equal(freezer_thaw(f), 0);
        freezer_free(f);

        /* unbounded enough: all six at once */
        fake_reset();
        o.max_threads = 0;
        f = new_freezer(fx, &o);
        for (int i = 0; i < 6; i++) {
                snprintf(name, sizeof(name), "u%d", i);
                assert_int_equal(freezer_add_target(f, 0, mkdir_in(fx, name), 0), 0);
        }
        fake.freeze_sleep_ms = 100;
        assert_int_equal(freezer_freeze(f), 0);
        /*
         * More than the bounded case's 2 at once, and well under the 600 ms
         * of one after the other; loose, since the machine may be loaded.
         */
        assert_true(fake.max_concurrent > 2);
        assert_true(freezer_get_report(f)->freeze_usec < 2000000);
        assert_int_equal(freezer_thaw(f), 0);
        freezer_free(f);
}

static void test_presync_errors_are_not_fatal(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a");
        Freezer *f = new_freezer(fx, NULL);

        pthread_mutex_lock(&fake.lock);
        fake_fs(dev_of(a))->sync_error = -EIO;
        pthread_mutex_unlock(&fake.lock);
        assert_int_equal(freezer_add_target(f, 0, a, 0), 0);
        assert_int_equal(freezer_freeze(f), 0);
        assert_int_equal(target(f, 0)->sync.outcome, FREEZER_FAILED);
        assert_int_equal(target(f, 0)->sync.error, EIO);
        assert_int_equal(target(f, 0)->freeze.outcome, FREEZER_OK);
        assert_int_equal(freezer_thaw(f), 0);
        freezer_free(f);
}

static void test_strings(void **state)
{
        (void)state;
        for (int r = -1; r <= FREEZER_E_THAW + 1; r++)
                assert_non_null(freezer_result_to_string(r));
        for (int o = FREEZER_NOT_RUN; o <= FREEZER_TIMED_OUT; o++)
                assert_non_null(freezer_outcome_to_string((FreezerOutcome)o));
        for (int o = FROZEN_RECOVER_THAWED; o <= FROZEN_RECOVER_CORRUPT; o++)
                assert_non_null(frozen_recover_result_to_string((FrozenRecoverResult)o));
}

/* --- frozen-state tests ------------------------------------------------- */

static void test_record_round_trip(void **state)
{
        (void)state;
        FrozenEntry in = {
                .path = (char *)"/mnt/with space/new\nline/back\\slash/\xc3\xa9t\xc3\xa9",
                .dev = makedev(259, 65537),
                .level = 7,
                .frozen_at = { 1700000000, 123456789 },
                .pid = 4242,
                .operation = (char *)"op 1",
        }, out = {};
        char *text = NULL;

        assert_int_equal(frozen_entry_format(&in, &text), 0);
        assert_null(strstr(text, "with space"));   /* escaped */
        assert_non_null(strstr(text, "with\\x20space"));
        assert_int_equal(frozen_entry_parse(text, strlen(text), &out), 0);
        assert_string_equal(out.path, in.path);
        assert_true(out.dev == in.dev);
        assert_int_equal(out.level, 7);
        assert_int_equal(out.frozen_at.tv_sec, 1700000000);
        assert_int_equal(out.frozen_at.tv_nsec, 123456789);
        assert_int_equal(out.pid, 4242);
        assert_string_equal(out.operation, "op 1");
        frozen_entry_clear(&out);
        free(text);

        in.operation = NULL;
        assert_int_equal(frozen_entry_format(&in, &text), 0);
        assert_int_equal(frozen_entry_parse(text, strlen(text), &out), 0);
        assert_null(out.operation);
        frozen_entry_clear(&out);
        free(text);

        in.path = (char *)"";
        assert_int_equal(frozen_entry_format(&in, &text), -EINVAL);
}

static void test_record_parse_rejects(void **state)
{
        static const char *bad[] = {
                "",
                "hyperv-vss-frozen-state 2\npath /a\ndev 1:2\n",
                "hyperv-vss-frozen-state 1\npath /a\n",                 /* no dev */
                "hyperv-vss-frozen-state 1\ndev 1:2\n",                 /* no path */
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:2",          /* no final newline */
                "hyperv-vss-frozen-state 1\npath relative\ndev 1:2\n",
                "hyperv-vss-frozen-state 1\npath /a\\x00b\ndev 1:2\n",  /* NUL */
                "hyperv-vss-frozen-state 1\npath /a\\x4\ndev 1:2\n",
                "hyperv-vss-frozen-state 1\npath /a\\q41\ndev 1:2\n",
                "hyperv-vss-frozen-state 1\npath /a b\ndev 1:2\n",      /* raw space */
                "hyperv-vss-frozen-state 1\npath /a\ndev 1-2\n",
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:99999999999\n",
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:2\nlevel -1\n",
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:2\nfrozen_at 12\n",
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:2\nfrozen_at 12.1000000000\n",
                "hyperv-vss-frozen-state 1\npath /a\ndev 1:2\nnokeyvalue\n",
        };
        FrozenEntry e = {};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = frozen_entry_parse(bad[i], strlen(bad[i]), &e);

                if (r != -EBADMSG)
                        fail_msg("case %zu accepted (%d)", i, r);
        }
        /* unknown keys are fine */
        const char *ok = "hyperv-vss-frozen-state 1\npath /a\ndev 1:2\nfuture x y\n";
        assert_int_equal(frozen_entry_parse(ok, strlen(ok), &e), 0);
        assert_string_equal(e.path, "/a");
        frozen_entry_clear(&e);
        assert_int_equal(frozen_entry_parse(NULL, 0, &e), -EINVAL);
}

static void test_state_dir_checks(void **state)
{
        Fixture *fx = *state;
        struct statfs sfs;
        FrozenState *s = NULL;
        char dir[320];

        assert_int_equal(frozen_state_open(&s, "relative", FROZEN_STATE_ALLOW_NON_TMPFS), -EINVAL);
        assert_int_equal(frozen_state_open(NULL, "/x", 0), -EINVAL);
        assert_null(frozen_state_unref(NULL));

        snprintf(dir, sizeof(dir), "%s/st2", fx->root);
        assert_int_equal(statfs(fx->root, &sfs), 0);
        if (sfs.f_type != TMPFS_MAGIC && sfs.f_type != RAMFS_MAGIC) {
                assert_int_equal(frozen_state_open(&s, dir, 0), -EMEDIUMTYPE);
                assert_null(s);
                assert_false(frozen_state_on_tmpfs(fx->state));
        }
        assert_int_equal(frozen_state_open(&s, dir, FROZEN_STATE_ALLOW_NON_TMPFS), 0);
        assert_string_equal(frozen_state_dir(s), dir);
        /* opening an existing dir is fine */
        FrozenState *s2 = NULL;
        assert_int_equal(frozen_state_open(&s2, dir, FROZEN_STATE_ALLOW_NON_TMPFS), 0);
        frozen_state_unref(s2);
        frozen_state_unref(s);

        /* a real tmpfs, if this machine has one at hand */
        if (statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC &&
            access("/dev/shm", W_OK) == 0) {
                char shm[] = "/dev/shm/test-freezer.XXXXXX";

                if (mkdtemp(shm)) {
                        snprintf(dir, sizeof(dir), "%s/state", shm);
                        assert_int_equal(frozen_state_open(&s, dir, 0), 0);
                        assert_true(frozen_state_on_tmpfs(s));
                        frozen_state_unref(s);
                        rmdir(dir);
                        rmdir(shm);
                }
        }
}

static void test_record_list_remove(void **state)
{
        Fixture *fx = *state;
        FrozenEntry e = { .path = (char *)"/x", .dev = makedev(7, 1), .level = 1,
                          .frozen_at = { 100, 0 }, .pid = 1 };
        FrozenList *l = NULL;
        char p[400];
        int fd;

        assert_int_equal(frozen_state_record(fx->state, &e), 0);
        e.path = (char *)"/y";
        e.dev = makedev(7, 2);
        e.level = 0;
        assert_int_equal(frozen_state_record(fx->state, &e), 0);
        /* rewrite replaces */
        e.frozen_at.tv_sec = 50;
        assert_int_equal(frozen_state_record(fx->state, &e), 0);
        e.dev = 0;
        assert_int_equal(frozen_state_record(fx->state, &e), -EINVAL);
        /* stray files are ignored; leftovers of a crashed write too */
        snprintf(p, sizeof(p), "%s/README", fx->state_dir);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        close(fd);
        snprintf(p, sizeof(p), "%s/.dev-7-9.tmp", fx->state_dir);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        close(fd);

        assert_int_equal(frozen_state_list(fx->state, &l), 0);
        assert_int_equal(l->n_entries, 2);
        assert_string_equal(l->entries[0].path, "/y");     /* level 0 first */
        assert_int_equal(l->entries[0].frozen_at.tv_sec, 50);
        assert_string_equal(l->entries[0].record, "dev-7-2");
        assert_string_equal(l->entries[1].path, "/x");
        assert_false(l->entries[1].corrupt);
        frozen_list_free(l);

        assert_int_equal(frozen_state_remove(fx->state, makedev(7, 2)), 0);
        assert_int_equal(frozen_state_remove(fx->state, makedev(7, 2)), -ENOENT);
        assert_int_equal(n_records(fx), 1);

        /* a corrupt record is listed as such */
        snprintf(p, sizeof(p), "%s/dev-7-3", fx->state_dir);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_int_equal(write(fd, "garbage\n", 8), 8);
        close(fd);
        assert_int_equal(frozen_state_list(fx->state, &l), 0);
        assert_int_equal(l->n_entries, 2);
        bool found = false;
        for (size_t i = 0; i < l->n_entries; i++)
                if (l->entries[i].corrupt) {
                        found = true;
                        assert_null(l->entries[i].path);
                        assert_string_equal(l->entries[i].record, "dev-7-3");
                }
        assert_true(found);
        frozen_list_free(l);
        assert_null(frozen_list_free(NULL));
}

static void test_recover(void **state)
{
        Fixture *fx = *state;
        const char *a = mkdir_in(fx, "a");
        FrozenRecoverReport *rep = NULL;
        struct stat st;
        char missing[320], p[400];
        int fd;

        assert_int_equal(stat(a, &st), 0);
        snprintf(missing, sizeof(missing), "%s/gone", fx->root);

        /* matching dev: FITHAW on a filesystem that is not frozen */
        FrozenEntry e = { .path = (char *)a, .dev = st.st_dev, .level = 0, .pid = 1 };
        assert_int_equal(frozen_state_record(fx->state, &e), 0);
        /* a different filesystem is mounted there now */
        FrozenEntry m = { .path = (char *)a, .dev = makedev(250, 999), .level = 2, .pid = 1 };
        assert_int_equal(frozen_state_record(fx->state, &m), 0);
        /* unmounted meanwhile */
        FrozenEntry g = { .path = missing, .dev = makedev(250, 998), .level = 1, .pid = 1 };
        assert_int_equal(frozen_state_record(fx->state, &g), 0);
        snprintf(p, sizeof(p), "%s/dev-250-997", fx->state_dir);
        fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        close(fd);

        assert_int_equal(frozen_state_recover(fx->state, &rep), 0);
        assert_int_equal(rep->n_items, 4);
        /* corrupt one sorts at level 0; thaw order is highest level first */
        assert_int_equal(rep->items[0].result, FROZEN_RECOVER_MOUNT_CHANGED);
        assert_true(rep->items[0].record_kept);
        assert_true(rep->items[0].found_dev == st.st_dev);
        assert_int_equal(rep->items[1].result, FROZEN_RECOVER_UNREACHABLE);
        assert_int_equal(rep->items[1].error, ENOENT);
        assert_true(rep->items[1].record_kept);
        for (size_t i = 2; i < 4; i++) {
                const FrozenRecoverItem *it = &rep->items[i];

                if (it->entry.corrupt) {
                        assert_int_equal(it->result, FROZEN_RECOVER_CORRUPT);
                        assert_false(it->record_kept);
                } else if (geteuid() == 0) {
                        assert_int_equal(it->result, FROZEN_RECOVER_NOT_FROZEN);
                        assert_int_equal(it->error, EINVAL);
                        assert_false(it->record_kept);
                } else {
                        assert_int_equal(it->result, FROZEN_RECOVER_FAILED);
                        assert_int_equal(it->error, EPERM);
                        assert_true(it->record_kept);
                }
        }
        assert_int_equal(rep->n_kept, geteuid() == 0 ? 2 : 3);
        assert_int_equal(n_records(fx), rep->n_kept);
        frozen_recover_report_free(rep);
        assert_null(frozen_recover_report_free(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_guard_add, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_guard_freeze, setup, teardown),
                cmocka_unit_test_setup_teardown(test_order_and_records, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
                cmocka_unit_test_setup_teardown(test_busy_rolls_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout_abandons, setup, teardown),
                cmocka_unit_test_setup_teardown(test_thaw_by_someone_else, setup, teardown),
                cmocka_unit_test_setup_teardown(test_thaw_failure_retry, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_thaws, setup, teardown),
                cmocka_unit_test_setup_teardown(test_duplicates_and_identity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bounded_parallel, setup, teardown),
                cmocka_unit_test_setup_teardown(test_presync_errors_are_not_fatal, setup, teardown),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_record_round_trip),
                cmocka_unit_test(test_record_parse_rejects),
                cmocka_unit_test_setup_teardown(test_state_dir_checks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_record_list_remove, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        };

        pthread_mutex_init(&fake.lock, NULL);
        pthread_cond_init(&fake.cond, NULL);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
