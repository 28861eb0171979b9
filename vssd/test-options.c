/* Unit tests of hvvssd's command line (main-options), the scope check, and the man page's option list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "main-options.h"

static int parse(MainOptions *o, char *out, size_t out_size, char *err, size_t err_size, ...)
{
        const char *argv[32] = { "hvvssd" };
        int argc = 1, r;
        FILE *fo = fmemopen(out, out_size, "w"), *fe = fmemopen(err, err_size, "w");
        va_list ap;

        va_start(ap, err_size);
        while ((argv[argc] = va_arg(ap, const char *)))
                argc++;
        va_end(ap);
        memset(out, 0, out_size);
        memset(err, 0, err_size);
        r = main_options_parse(o, argc, argv, fo, fe);
        fclose(fo);
        fclose(fe);
        return r;
}

static void test_full(void **state)
{
        MainOptions o = {};
        char out[4096], err[4096];

        (void)state;
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--foreground", "--config", "/x.conf",
                               "--device", "/run/fk.sock", "--socket", "/run/c", "--state-dir", "/run/s",
                               "--scope", "/mnt/a", "--scope=/mnt/b", "--mountinfo", "/proc/42/mountinfo",
                               "--test-allow-non-tmpfs-state", "--control-group", "nogroup", NULL), 0);
        assert_true(o.foreground);
        assert_string_equal(o.daemon.config_path, "/x.conf");
        assert_true(o.daemon.config_explicit);
        assert_string_equal(o.daemon.device, "/run/fk.sock");
        assert_string_equal(o.daemon.socket, "/run/c");
        assert_string_equal(o.daemon.state_dir, "/run/s");
        assert_string_equal(o.daemon.scope[0], "/mnt/a");
        assert_string_equal(o.daemon.scope[1], "/mnt/b");
        assert_null(o.daemon.scope[2]);
        assert_false(o.daemon.system);
        assert_string_equal(o.daemon.mountinfo, "/proc/42/mountinfo");
        assert_true(o.daemon.allow_non_tmpfs_state);
        assert_string_equal(o.daemon.control_group, "nogroup");
        main_options_clear(&o);

        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--system", NULL), 0);
        assert_true(o.daemon.system);
        assert_null(o.daemon.scope);
        assert_false(o.daemon.config_explicit);
        assert_false(o.foreground);
        main_options_clear(&o);
}

static void test_help_version(void **state)
{
        MainOptions o = {};
        char out[4096], err[4096];

        (void)state;
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--help", NULL), 0);
        assert_true(o.help);
        assert_non_null(strstr(out, "--scope=MOUNTPOINT"));
        assert_null(strstr(out, "test-allow"));         /* hidden options stay hidden */
        assert_string_equal(err, "");
        main_options_clear(&o);
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "-V", NULL), 0);
        assert_true(o.version);
        assert_non_null(strstr(out, "hvvssd " HVVSS_VERSION));
        main_options_clear(&o);
}

static void test_usage_errors(void **state)
{
        MainOptions o = {};
        char out[4096], err[4096];

        (void)state;
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--bogus", NULL), MAIN_E_USAGE);
        assert_non_null(strstr(err, "--bogus"));
        assert_non_null(strstr(err, "hvvssd --help"));
        assert_string_equal(out, "");                   /* usage() only for --help */
        main_options_clear(&o);
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "extra", NULL), MAIN_E_USAGE);
        assert_non_null(strstr(err, "unexpected argument 'extra'"));
        main_options_clear(&o);
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--system", "--scope", "/mnt", NULL), MAIN_E_USAGE);
        assert_non_null(strstr(err, "exclude each other"));
        main_options_clear(&o);
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--scope", NULL), MAIN_E_USAGE);
        main_options_clear(&o);
        assert_int_equal(parse(&o, out, sizeof(out), err, sizeof(err), "--scope=", NULL), MAIN_E_USAGE);
        main_options_clear(&o);
}

static void test_scope_check(void **state)
{
        char *scope_root[] = { (char *)"/", NULL };
        char *scope_slashes[] = { (char *)"///", NULL };
        char *scope_rel[] = { (char *)"mnt", NULL };
        char *scope_missing[] = { (char *)"/nonexistent-hvvss-scope", NULL };
        char *scope_proc[] = { (char *)"/proc", NULL };
        char *scope_etc[] = { (char *)"/etc", NULL };
        struct stat r, e;
        char *msg = NULL;

        (void)state;
        assert_int_equal(daemon_check_scope(scope_root, NULL, &msg), DAEMON_E_REFUSED);
        assert_non_null(strstr(msg, "root filesystem"));
        free(msg);
        msg = NULL;
        assert_int_equal(daemon_check_scope(scope_slashes, NULL, &msg), DAEMON_E_REFUSED);
        free(msg);
        msg = NULL;
        assert_int_equal(daemon_check_scope(scope_rel, NULL, &msg), DAEMON_E_REFUSED);
        assert_non_null(strstr(msg, "absolute"));
        free(msg);
        msg = NULL;
        assert_int_equal(daemon_check_scope(scope_missing, NULL, &msg), DAEMON_E_REFUSED);
        free(msg);
        msg = NULL;
        /* /proc is another filesystem than "/": accepted by this check (the plan skips it). */
        assert_int_equal(daemon_check_scope(scope_proc, NULL, &msg), 0);
        assert_null(msg);
        /* A directory on the root filesystem's device is refused. */
        if (stat("/", &r) == 0 && stat("/etc", &e) == 0 && r.st_dev == e.st_dev) {
                assert_int_equal(daemon_check_scope(scope_etc, NULL, &msg), DAEMON_E_REFUSED);
                assert_non_null(strstr(msg, "root filesystem's device"));
                free(msg);
        }
}

static void test_root_prefix(void **state)
{
        char *p = (char *)1;

        (void)state;
        assert_int_equal(daemon_root_prefix(FIXTURES "/mountinfo/lvm", &p), 0);
        assert_null(p);
        assert_int_equal(daemon_root_prefix("/proc/self/mountinfo", &p), 0);    /* not a PID */
        assert_null(p);
        assert_int_equal(daemon_root_prefix("/proc/1x/mountinfo", &p), 0);
        assert_null(p);
        /* Our own PID shares our namespace. */
        {
                char mi[64];

                snprintf(mi, sizeof(mi), "/proc/%d/mountinfo", (int)getpid());
                assert_int_equal(daemon_root_prefix(mi, &p), 0);
                assert_null(p);
        }
}

/* Every option of --help is documented in hvvssd(8). */
static void test_man_page(void **state)
{
        static const char *const opts[] = { "foreground", "config", "device", "socket", "state\\-dir",
                                            "scope", "system", "mountinfo", "version", "help" };
        FILE *f = fopen(HVVSSD_MAN, "re");
        static char buf[256 * 1024];
        size_t n;

        (void)state;
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        for (size_t i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
                char needle[64];

                snprintf(needle, sizeof(needle), "\\-\\-%s", opts[i]);
                if (!strstr(buf, needle))
                        fail_msg("hvvssd.8 does not document --%s", opts[i]);
        }
        for (const char *s = ".SH HOOKS\0.SH SIGNALS\0.SH EXIT STATUS\0.SH FILES\0.SH EXAMPLES\0.SH SEE ALSO\0"; *s;
             s += strlen(s) + 1)
                if (!strstr(buf, s))
                        fail_msg("hvvssd.8 lacks %s", s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_full),
                cmocka_unit_test(test_help_version),
                cmocka_unit_test(test_usage_errors),
                cmocka_unit_test(test_scope_check),
                cmocka_unit_test(test_root_prefix),
                cmocka_unit_test(test_man_page),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
