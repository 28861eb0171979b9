/* Unit tests of log: prefixes, levels, frozen buffering (nothing reaches the fd), flush order and timestamps, the ring bound. */

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

typedef struct Fixture {
        int pipe[2];
        char out[512 * 1024];
} Fixture;

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_int_equal(pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK), 0);
        /* Room for a whole flushed ring. */
        fcntl(f->pipe[1], F_SETPIPE_SZ, 1024 * 1024);
        log_set_output_fd(f->pipe[1]);
        assert_int_equal(log_init("test", LOG_INFO, LOG_TARGET_JOURNAL), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        Fixture *f = *state;

        log_close();
        close(f->pipe[0]);
        close(f->pipe[1]);
        free(f);
        return 0;
}

/* Everything written so far, as a string. */
static const char *drain(Fixture *f)
{
        size_t len = 0;
        ssize_t n;

        while ((n = read(f->pipe[0], f->out + len, sizeof(f->out) - 1 - len)) > 0)
                len += (size_t)n;
        f->out[len] = 0;
        return f->out;
}

static int pending_bytes(const Fixture *f)
{
        struct pollfd p = { .fd = f->pipe[0], .events = POLLIN };
        int n = -1;

        assert_int_equal(ioctl(f->pipe[0], FIONREAD, &n), 0);
        if (n == 0)
                assert_int_equal(poll(&p, 1, 0), 0);
        return n;
}

static void assert_matches(const char *text, const char *pattern)
{
        regex_t re;
        int r;

        assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE), 0);
        r = regexec(&re, text, 0, NULL, 0);
        regfree(&re);
        if (r != 0)
                fail_msg("'%s' does not match /%s/", text, pattern);
}

static void test_journal_prefixes(void **state)
{
        Fixture *f = *state;

        assert_int_equal(log_get_target(), LOG_TARGET_JOURNAL);
        log_error("boom %d", 1);
        log_warning("careful");
        log_notice("note");
        log_info("hello\n");            /* a trailing newline is not doubled */
        log_debug("hidden");
        assert_string_equal(drain(f), "<3>boom 1\n<4>careful\n<5>note\n<6>hello\n");

        /* Every line of a multi-line message carries the prefix. */
        log_warning("first\nsecond");
        assert_string_equal(drain(f), "<4>first\n<4>second\n");
}

static void test_errno(void **state)
{
        Fixture *f = *state;

        errno = ENOENT;
        log_error("open: %m");
        assert_int_equal(errno, ENOENT);
        assert_int_equal(log_error_errno(-EACCES, "x: %m"), -EACCES);
        assert_int_equal(errno, ENOENT);
        {
                char expect[256];

                snprintf(expect, sizeof(expect), "<3>open: %s\n<3>x: %s\n", strerror(ENOENT), strerror(EACCES));
                assert_string_equal(drain(f), expect);
        }
}

static void test_console_format(void **state)
{
        Fixture *f = *state;

        assert_int_equal(log_init("hvvssd", LOG_DEBUG, LOG_TARGET_CONSOLE), 0);
        log_error("broken");
        log_info("fine");
        log_debug("detail");
        assert_matches(drain(f),
                       "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} hvvssd: error: broken\n"
                       "[0-9-]+ [0-9:.]+ hvvssd: fine\n"
                       "[0-9-]+ [0-9:.]+ hvvssd: debug: detail\n$");
}

static void test_level_filtering(void **state)
{
        Fixture *f = *state;

        log_set_max_level(LOG_WARNING);
        assert_int_equal(log_get_max_level(), LOG_WARNING);
        log_info("no");
        log_notice("no");
        log_warning("yes");
        log_error("yes too");
        assert_string_equal(drain(f), "<4>yes\n<3>yes too\n");

        log_set_max_level(LOG_DEBUG);
        log_debug("now visible");
        assert_string_equal(drain(f), "<7>now visible\n");

        /* Filtered lines are not kept either, frozen or not. */
        log_set_max_level(LOG_ERR);
        log_set_frozen(true);
        log_warning("dropped by level");
        log_set_frozen(false);
        assert_string_equal(drain(f), "");
        assert_int_equal(log_get_dropped(), 0);

        assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
        assert_int_equal(log_level_from_string("warning"), LOG_WARNING);
        assert_int_equal(log_level_from_string("warn"), LOG_WARNING);
        assert_int_equal(log_level_from_string("err"), LOG_ERR);
        assert_int_equal(log_level_from_string("error"), LOG_ERR);
        assert_int_equal(log_level_from_string("6"), LOG_INFO);
        assert_int_equal(log_level_from_string("loud"), -EINVAL);
        assert_string_equal(log_level_to_string(LOG_NOTICE), "notice");
}

static void now_string(char *buf, size_t size)
{
        struct timespec ts;
        struct tm tm;
        size_t n;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03ld", ts.tv_nsec / 1000000L);
}

static void sleep_ms(long ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

static void test_frozen_buffers_everything(void **state)
{
        Fixture *f = *state;
        char before[64], after[64], thawed[64], line[128], expect[32];
        const char *out, *p;

        log_info("before");
        assert_string_equal(drain(f), "<6>before\n");

        log_set_frozen(true);
        assert_true(log_is_frozen());
        now_string(before, sizeof(before));
        for (int i = 0; i < 10; i++)
                log_write(i % 2 ? LOG_ERR : LOG_INFO, "frozen %d", i);
        now_string(after, sizeof(after));
        /* Nothing at all reached the fd. */
        assert_int_equal(pending_bytes(f), 0);
        log_notify_status("still frozen");      /* sd_notify is not buffered and writes no fd of ours */
        assert_int_equal(pending_bytes(f), 0);

        sleep_ms(30);
        now_string(thawed, sizeof(thawed));
        log_set_frozen(false);
        assert_false(log_is_frozen());
        log_info("after");

        out = drain(f);
        p = out;
        for (int i = 0; i < 10; i++) {
                char ts[64];
                int prio;

                assert_int_equal(sscanf(p, "<%d>[logged at %23[0-9: .-]] %127[^\n]", &prio, ts, line), 3);
                assert_int_equal(prio, i % 2 ? LOG_ERR : LOG_INFO);
                /* The time of the call, not of the flush. */
                assert_true(strcmp(ts, before) >= 0);
                assert_true(strcmp(ts, after) <= 0);
                assert_true(strcmp(ts, thawed) < 0);
                snprintf(expect, sizeof(expect), "frozen %d", i);
                assert_string_equal(line, expect);
                p = strchr(p, '\n') + 1;
        }
        assert_string_equal(p, "<6>after\n");
        assert_int_equal(log_get_dropped(), 0);
}

static void test_frozen_console(void **state)
{
        Fixture *f = *state;

        assert_int_equal(log_init("hvvssd", LOG_INFO, LOG_TARGET_CONSOLE), 0);
        log_set_frozen(true);
        log_warning("one");
        log_info("two");
        assert_int_equal(pending_bytes(f), 0);
        log_set_frozen(false);
        assert_matches(drain(f), "^[0-9-]+ [0-9:.]+ hvvssd: warning: one\n[0-9-]+ [0-9:.]+ hvvssd: two\n$");
}

static void test_ring_bound_lines(void **state)
{
        Fixture *f = *state;
        const char *out;
        char expect[64];

        log_set_ring_limits(10, 0);
        log_set_frozen(true);
        for (int i = 0; i < 25; i++)
                log_info("line %d", i);
        assert_int_equal(pending_bytes(f), 0);
        assert_int_equal(log_get_dropped(), 15);
        log_set_frozen(false);

        out = drain(f);
        assert_true(strncmp(out, "<4>log: 15 earlier lines logged while frozen were dropped", 57) == 0);
        out = strchr(out, '\n') + 1;
        for (int i = 15; i < 25; i++) {
                snprintf(expect, sizeof(expect), "] line %d\n", i);
                assert_non_null(strstr(out, expect));
                assert_true(strncmp(out, "<6>[logged at ", 14) == 0);
                out = strchr(out, '\n') + 1;
        }
        assert_string_equal(out, "");
        assert_int_equal(log_get_dropped(), 15);

        /* A second freeze reports only its own drops. */
        log_set_frozen(true);
        log_info("x");
        log_set_frozen(false);
        assert_null(strstr(drain(f), "dropped"));
}

static void test_ring_bound_bytes(void **state)
{
        Fixture *f = *state;
        char **lines = NULL;

        log_set_ring_limits(0, 100);
        log_set_frozen(true);
        for (int i = 0; i < 10; i++)
                log_info("%029d", i);          /* 29 bytes each: 3 fit in 100 */
        assert_int_equal(log_get_dropped(), 7);
        assert_int_equal(log_get_recent(100, &lines), 0);
        assert_non_null(lines[0]);
        assert_non_null(strstr(lines[0], "00000000000000000000000000007"));
        assert_non_null(lines[2]);
        assert_null(lines[3]);
        for (char **l = lines; *l; l++)
                free(*l);
        free(lines);
        assert_int_equal(pending_bytes(f), 0);
        log_set_frozen(false);
        assert_non_null(strstr(drain(f), "dropped"));
}

static void test_default_ring(void **state)
{
        Fixture *f = *state;
        char **lines = NULL;
        size_t n = 0;

        log_set_frozen(true);
        for (int i = 0; i < LOG_RING_MAX_LINES + 100; i++)
                log_info("line %d", i);
        assert_int_equal(pending_bytes(f), 0);
        assert_int_equal(log_get_dropped(), 100);
        assert_int_equal(log_get_recent(SIZE_MAX, &lines), 0);
        while (lines[n])
                free(lines[n++]);
        free(lines);
        assert_int_equal(n, LOG_RING_MAX_LINES);
        log_set_frozen(false);
        assert_true(strlen(drain(f)) > 0);
}

static void test_recent(void **state)
{
        Fixture *f = *state;
        char **lines = NULL;

        for (int i = 0; i < 5; i++)
                log_info("line %d", i);
        log_set_frozen(true);
        log_error("buffered");
        assert_int_equal(log_get_recent(3, &lines), 0);
        assert_matches(lines[0], "^[0-9-]+ [0-9:.]+ info: line 3$");
        assert_matches(lines[1], "^[0-9-]+ [0-9:.]+ info: line 4$");
        assert_matches(lines[2], "^[0-9-]+ [0-9:.]+ error: buffered$");
        assert_null(lines[3]);
        for (char **l = lines; *l; l++)
                free(*l);
        free(lines);
        log_set_frozen(false);
        drain(f);

        log_close();
        assert_int_equal(log_get_recent(10, &lines), 0);
        assert_null(lines[0]);
        free(lines);
}

static void test_detect_target(void **state)
{
        Fixture *f = *state;
        struct stat st;
        char env[64];

        unsetenv("JOURNAL_STREAM");
        assert_int_equal(log_detect_target(f->pipe[1]), LOG_TARGET_CONSOLE);

        assert_int_equal(fstat(f->pipe[1], &st), 0);
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
        assert_int_equal(log_detect_target(f->pipe[1]), LOG_TARGET_JOURNAL);
        assert_int_equal(log_init("t", LOG_INFO, LOG_TARGET_AUTO), 0);
        assert_int_equal(log_get_target(), LOG_TARGET_JOURNAL);

        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino + 1);
        setenv("JOURNAL_STREAM", env, 1);
        assert_int_equal(log_detect_target(f->pipe[1]), LOG_TARGET_CONSOLE);
        setenv("JOURNAL_STREAM", "garbage", 1);
        assert_int_equal(log_detect_target(f->pipe[1]), LOG_TARGET_CONSOLE);
        unsetenv("JOURNAL_STREAM");
}

static void test_notify(void **state)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char dir[] = "/tmp/test-log.XXXXXX", buf[256];
        ssize_t n;
        int fd, r;

        (void)state;
        unsetenv("NOTIFY_SOCKET");
        assert_int_equal(log_notify_ready(), 0);

        assert_non_null(mkdtemp(dir));
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        setenv("NOTIFY_SOCKET", sa.sun_path, 1);

        /* While frozen too: it is a socket in /run, not the log. */
        log_set_frozen(true);
        r = log_notify_ready();
        if (r > 0) {            /* built with libsystemd */
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                assert_true(n > 0);
                buf[n] = 0;
                assert_string_equal(buf, "READY=1");
                assert_true(log_notify_status("thawed %d\nfilesystems", 3) > 0);
                n = recv(fd, buf, sizeof(buf) - 1, 0);
                assert_true(n > 0);
                buf[n] = 0;
                assert_string_equal(buf, "STATUS=thawed 3 filesystems");
                assert_true(log_notify_watchdog() > 0);
                assert_true(log_notify_stopping() > 0);
        } else {
                assert_int_equal(r, 0);
        }
        log_set_frozen(false);

        unsetenv("NOTIFY_SOCKET");
        close(fd);
        unlink(sa.sun_path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_journal_prefixes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_errno, setup, teardown),
                cmocka_unit_test_setup_teardown(test_console_format, setup, teardown),
                cmocka_unit_test_setup_teardown(test_level_filtering, setup, teardown),
                cmocka_unit_test_setup_teardown(test_frozen_buffers_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_frozen_console, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ring_bound_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ring_bound_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_default_ring, setup, teardown),
                cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_detect_target, setup, teardown),
                cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
