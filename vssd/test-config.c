/* test-config: the config parser (every error path), the defaults, and the shipped file and man page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <syslog.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

/* Parses text; returns the result code, fills *ret on success. */
static int parse(const char *text, struct config **ret, struct diag *d)
{
        FILE *f = fmemopen((void *)text, strlen(text), "r");
        int r;

        assert_non_null(f);
        r = config_load_stream(ret, f, "test.conf", d);
        fclose(f);
        return r;
}

static struct config *parse_ok(const char *text)
{
        struct config *c = NULL;
        struct diag d = DIAG_NULL;

        if (parse(text, &c, &d) != 0) {
                diag_print(&d, stderr);
                fail_msg("'%s' did not parse", text);
        }
        assert_int_equal(d.n_errors, 0);
        diag_clear(&d);
        return c;
}

/* Expects exactly one error on line 1 whose text contains each of parts. */
static void parse_bad(const char *text, const char *const *parts)
{
        struct config *c = (struct config *)0x1;
        struct diag d = DIAG_NULL;

        assert_int_equal(parse(text, &c, &d), -EINVAL);
        assert_ptr_equal(c, (struct config *)0x1);     /* untouched on failure */
        assert_int_equal(d.n_errors, 1);
        assert_string_equal(d.msgs[0].file, "test.conf");
        assert_int_equal(d.msgs[0].line, 1);
        for (; *parts; parts++)
                if (!strstr(diag_first(&d, DIAG_ERROR), *parts))
                        fail_msg("error '%s' for '%s' does not mention '%s'", diag_first(&d, DIAG_ERROR), text, *parts);
        diag_clear(&d);
}

static char *dump(const struct config *c)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        assert_non_null(f);
        assert_int_equal(config_dump(c, f), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_defaults(void **state)
{
        _cleanup_config_free_ struct config *c = NULL;

        (void)state;
        assert_int_equal(config_new(&c), 0);
        assert_int_equal(strv_length(c->include_mounts), 0);
        assert_int_equal(strv_length(c->exclude_mounts), 0);
        assert_int_equal(strv_length(c->exclude_types), 0);
        assert_int_equal(strv_length(c->exclude_devices), 0);
        for (const char *const *t = (const char *const[]){ "tmpfs", "ramfs", "overlay", "squashfs", "iso9660",
                                                           "vfat", "msdos", "exfat", "fuse", "devtmpfs", NULL };
             *t; t++)
                assert_true(strv_contains(c->never_freeze_types, *t));
        assert_int_equal(c->on_unsupported, CONFIG_ON_ERROR_SKIP);
        assert_int_equal(c->on_open_error, CONFIG_ON_ERROR_SKIP);
        assert_string_equal(c->hooks_dir, "/etc/hyperv-vss/hooks.d");
        assert_true(c->hook_timeout_usec == 30 * USEC_PER_SEC);
        assert_int_equal(c->hook_failure, CONFIG_HOOK_FAILURE_ABORT);
        assert_true(c->hook_output_max == 65536);
        assert_true(c->max_frozen_time_usec == 60 * USEC_PER_SEC);
        assert_true(c->freeze_timeout_usec == 20 * USEC_PER_SEC);
        assert_string_equal(c->device, "/dev/vmbus/hv_vss");
        assert_string_equal(c->socket, "/run/hyperv-vss/control");
        assert_string_equal(c->state_dir, "/run/hyperv-vss");
        assert_int_equal(c->history_size, 32);
        assert_int_equal(c->log_level, LOG_INFO);
}

static void test_durations(void **state)
{
        static const struct {
                const char *text;
                uint64_t usec;
        } ok[] = {
                { "30", 30 * USEC_PER_SEC }, { "30s", 30 * USEC_PER_SEC }, { "500ms", 500 * USEC_PER_MSEC },
                { "2min", 120 * USEC_PER_SEC }, { "7 s", 7 * USEC_PER_SEC }, { "1ms", USEC_PER_MSEC },
                { "60min", 3600 * USEC_PER_SEC },
        };
        static const char *const bad[] = { "1.5s", "-1", "30h", "0", "0ms", "s", "", "61min",
                                           "99999999999999999999", "18446744073709551615min", "30 sec", "0x10" };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_config_free_ struct config *c = NULL;

                assert_true(asprintf(&text, "hook_timeout = %s\n", ok[i].text) > 0);
                c = parse_ok(text);
                assert_true(c->hook_timeout_usec == ok[i].usec);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL, *quoted = NULL;

                assert_true(asprintf(&text, "hook_timeout = %s\n", bad[i]) > 0);
                assert_true(asprintf(&quoted, "'%s'", bad[i]) > 0);
                parse_bad(text, (const char *const[]){ "hook_timeout", quoted, "30s, 500ms or 2min", NULL });
        }
        /* each duration key has its own range */
        parse_bad("max_frozen_time = 500ms", (const char *const[]){ "max_frozen_time", "from 1s to 1h", NULL });
        parse_bad("freeze_timeout = 16min", (const char *const[]){ "freeze_timeout", "'16min'", NULL });
}

static void test_sizes_and_numbers(void **state)
{
        _cleanup_config_free_ struct config *a = parse_ok("hook_output_max = 64K\nhistory_size = 0\n");
        _cleanup_config_free_ struct config *b = parse_ok("hook_output_max = 16M\nhistory_size = 1024\n");
        _cleanup_config_free_ struct config *c = parse_ok("hook_output_max = 0\n");

        (void)state;
        assert_true(a->hook_output_max == 65536);
        assert_int_equal(a->history_size, 0);
        assert_true(b->hook_output_max == 16 * 1024 * 1024);
        assert_int_equal(b->history_size, 1024);
        assert_true(c->hook_output_max == 0);
        parse_bad("hook_output_max = 17M", (const char *const[]){ "hook_output_max", "'17M'", "16M", NULL });
        parse_bad("hook_output_max = 1G", (const char *const[]){ "hook_output_max", NULL });
        parse_bad("hook_output_max = 64k", (const char *const[]){ "hook_output_max", NULL });
        parse_bad("history_size = 1025", (const char *const[]){ "history_size", "'1025'", "0 to 1024", NULL });
        parse_bad("history_size = many", (const char *const[]){ "history_size", "'many'", NULL });
        parse_bad("history_size = 5s", (const char *const[]){ "history_size", NULL });
}

static void test_enums(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok(
                "on_unsupported = fail\non_open_error = fail\nhook_failure = continue\nlog_level = debug\n");

        (void)state;
        assert_int_equal(c->on_unsupported, CONFIG_ON_ERROR_FAIL);
        assert_int_equal(c->on_open_error, CONFIG_ON_ERROR_FAIL);
        assert_int_equal(c->hook_failure, CONFIG_HOOK_FAILURE_CONTINUE);
        assert_int_equal(c->log_level, LOG_DEBUG);
        parse_bad("on_unsupported = Skip", (const char *const[]){ "on_unsupported", "'Skip'", "skip or fail", NULL });
        parse_bad("on_open_error = ignore", (const char *const[]){ "on_open_error", "skip or fail", NULL });
        parse_bad("hook_failure = retry", (const char *const[]){ "hook_failure", "abort or continue", NULL });
        parse_bad("log_level = verbose", (const char *const[]){ "log_level", "'verbose'", "debug", NULL });
        assert_string_equal(config_on_error_to_string(CONFIG_ON_ERROR_FAIL), "fail");
        assert_string_equal(config_hook_failure_to_string(CONFIG_HOOK_FAILURE_CONTINUE), "continue");
        assert_string_equal(config_log_level_to_string(LOG_WARNING), "warning");
        assert_null(config_log_level_to_string(LOG_ALERT));
        assert_null(config_on_error_to_string(2));
}

static void test_paths(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("hooks_dir=/opt/hooks\nsocket = /tmp/x.sock\n");

        (void)state;
        assert_string_equal(c->hooks_dir, "/opt/hooks");
        assert_string_equal(c->socket, "/tmp/x.sock");
        parse_bad("hooks_dir = hooks.d", (const char *const[]){ "hooks_dir", "'hooks.d'", "absolute", NULL });
        parse_bad("device = /dev/my device", (const char *const[]){ "device", NULL });
        parse_bad("state_dir =", (const char *const[]){ "state_dir", "''", NULL });
}

static void test_lists(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok(
                "exclude_mounts = /srv/*   /mnt/a\t/data#1\nexclude_types = xfs fuse.*\n"
                "include_mounts =\nnever_freeze_types = vfat\nexclude_devices = /dev/sdb* */loop*\n");

        (void)state;
        assert_true(strv_equal(c->exclude_mounts, (char *[]){ "/srv/*", "/mnt/a", "/data#1", NULL }));
        assert_true(strv_equal(c->exclude_types, (char *[]){ "xfs", "fuse.*", NULL }));
        assert_int_equal(strv_length(c->include_mounts), 0);
        assert_non_null(c->include_mounts);
        assert_true(strv_equal(c->never_freeze_types, (char *[]){ "vfat", NULL }));
        assert_true(strv_equal(c->exclude_devices, (char *[]){ "/dev/sdb*", "*/loop*", NULL }));
        parse_bad("exclude_types = ext4 /dev/sda", (const char *const[]){ "exclude_types", "type globs", NULL });
        parse_bad("exclude_mounts = srv", (const char *const[]){ "exclude_mounts", "'srv'", "/srv/*", NULL });
        parse_bad("include_mounts = / home", (const char *const[]){ "include_mounts", NULL });
}

static void test_syntax_errors(void **state)
{
        (void)state;
        parse_bad("[daemon]", (const char *const[]){ "sections are not used", "remove the line", NULL });
        parse_bad("hook_timeout 30", (const char *const[]){ "'hook_timeout 30'", "key = value", NULL });
        parse_bad("Hook-Timeout = 30", (const char *const[]){ "'Hook-Timeout'", "not a key name", NULL });
        parse_bad(" = 30", (const char *const[]){ "not a key name", NULL });
}

static void test_comments_and_blanks(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok(
                "# a comment\n\n   \n\t# indented comment\nhook_timeout = 10 # ten seconds\n");
        struct diag d = DIAG_NULL;
        struct config *x = NULL;

        (void)state;
        assert_true(c->hook_timeout_usec == 10 * USEC_PER_SEC);
        /* '#' only starts a comment after whitespace: this value is wrong */
        assert_int_equal(parse("history_size = 4#x\n", &x, &d), -EINVAL);
        diag_clear(&d);
}

static void test_unknown_and_repeated_keys_warn(void **state)
{
        struct diag d = DIAG_NULL;
        _cleanup_config_free_ struct config *c = NULL;

        (void)state;
        assert_int_equal(parse("hook_timeout = 5\nfreeze_everything = yes\nhook_timeout = 7\n", &c, &d), 0);
        assert_true(c->hook_timeout_usec == 7 * USEC_PER_SEC);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 2);
        assert_int_equal(d.msgs[0].line, 2);
        assert_non_null(strstr(d.msgs[0].text, "unknown key 'freeze_everything'"));
        assert_int_equal(d.msgs[1].line, 3);
        assert_non_null(strstr(d.msgs[1].text, "line 1"));
        diag_clear(&d);
}

static void test_every_error_is_reported(void **state)
{
        struct diag d = DIAG_NULL;
        struct config *c = NULL;
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        (void)state;
        assert_int_equal(parse("hook_timeout = x\nlog_level = loud\nbogus = 1\nhistory_size = -3\n", &c, &d), -EINVAL);
        assert_null(c);
        assert_int_equal(d.n_errors, 3);
        assert_int_equal(d.n_warnings, 1);
        f = open_memstream(&out, &len);
        assert_non_null(f);
        diag_print(&d, f);
        assert_int_equal(fclose(f), 0);
        assert_non_null(strstr(out, "test.conf:1: error: hook_timeout: invalid value 'x': expected a duration"));
        assert_non_null(strstr(out, "test.conf:2: error: log_level: invalid value 'loud'"));
        assert_non_null(strstr(out, "test.conf:3: warning: unknown key 'bogus'"));
        assert_non_null(strstr(out, "test.conf:4: error: history_size"));
        free(out);
        diag_clear(&d);
}

static void test_missing_file(void **state)
{
        struct diag d = DIAG_NULL;
        struct config *c = NULL;

        (void)state;
        assert_int_equal(config_load(&c, "/nonexistent/hvvssd.conf", &d), -ENOENT);
        assert_null(c);
        assert_string_equal(d.msgs[0].file, "/nonexistent/hvvssd.conf");
        assert_non_null(strstr(d.msgs[0].text, "cannot open"));
        diag_clear(&d);
}

static void test_dump_round_trip(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok(
                "exclude_mounts = /a /b\nhook_timeout = 1500ms\nmax_frozen_time = 5min\nlog_level = err\n");
        _cleanup_config_free_ struct config *again = NULL;
        _cleanup_free_ char *first = dump(c), *second = NULL;

        (void)state;
        assert_non_null(strstr(first, "hook_timeout = 1500ms\n"));
        assert_non_null(strstr(first, "max_frozen_time = 5min\n"));
        assert_non_null(strstr(first, "include_mounts =\n"));
        again = parse_ok(first);
        second = dump(again);
        assert_string_equal(first, second);
}

/*
 * Reads a whole file. Sized by fstat() and read with fread(), not
 * getdelim(&buf, ...): once slurp() is inlined, the address of its local
 * escaping into getdelim() makes gcc -O2 take every pointer into the
 * text for a pointer to that dead local (-Wdangling-pointer).
 */
static char *slurp(const char *path)
{
        FILE *f = fopen(path, "re");
        struct stat st;
        char *buf;

        if (!f)
                fail_msg("cannot open %s: %m", path);
        assert_int_equal(fstat(fileno(f), &st), 0);
        assert_true(st.st_size > 0);
        buf = malloc((size_t)st.st_size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
        buf[st.st_size] = '\0';
        fclose(f);
        return buf;
}

/* The shipped file: no errors or warnings, every key exactly once as
 * "#key = DEFAULT", and uncommenting everything gives the defaults. */
static void test_shipped_file(void **state)
{
        _cleanup_free_ char *text = slurp(SHIPPED_CONF), *uncommented = NULL;
        _cleanup_config_free_ struct config *shipped = NULL, *defaults = NULL, *all = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;
        struct diag d = DIAG_NULL;

        (void)state;
        assert_int_equal(config_load(&shipped, SHIPPED_CONF, &d), 0);
        assert_int_equal(d.n_msgs, 0);
        assert_int_equal(config_new(&defaults), 0);
        for (size_t i = 0; i < config_n_keys(); i++) {
                const struct config_key_info *k = config_key(i);
                _cleanup_free_ char *line = NULL;
                char *hit;

                if (*k->default_value)
                        assert_true(asprintf(&line, "\n#%s = %s\n", k->name, k->default_value) > 0);
                else
                        assert_true(asprintf(&line, "\n#%s =\n", k->name) > 0);
                hit = strstr(text, line);
                if (!hit)
                        fail_msg("%s does not document '%s' with its default", SHIPPED_CONF, line + 1);
                assert_null(strstr(hit + 1, line));
        }
        assert_null(config_key(config_n_keys()));
        /* Uncomment the "#key = value" lines only. */
        uncommented = strdup(text);
        for (char *p = uncommented; (p = strstr(p, "\n#")); p++)
                if (p[2] >= 'a' && p[2] <= 'z' && strchr(p + 2, '=') < strchr(p + 2, '\n'))
                        p[1] = ' ';
        all = parse_ok(uncommented);
        d1 = dump(shipped);
        d2 = dump(defaults);
        d3 = dump(all);
        assert_string_equal(d1, d2);
        assert_string_equal(d3, d2);
        diag_clear(&d);
}

/* The man page lists every key, with the default the code uses. */
static void test_man_page(void **state)
{
        _cleanup_free_ char *man = slurp(SHIPPED_MAN);

        (void)state;
        for (size_t i = 0; i < config_n_keys(); i++) {
                const struct config_key_info *k = config_key(i);
                _cleanup_free_ char *item = NULL, *def = NULL;
                char *start, *end;

                assert_true(asprintf(&item, "\n.TP\n.B %s\n", k->name) > 0);
                start = strstr(man, item);
                if (!start)
                        fail_msg("hvvssd.conf.5 has no entry '.B %s'", k->name);
                end = strstr(start + 1, "\n.TP\n");
                if (!end)
                        end = strstr(start + 1, "\n.SH");
                assert_non_null(end);
                if (*k->default_value)
                        assert_true(asprintf(&def, "Default: \\fB%s\\fR", k->default_value) > 0);
                else
                        def = strdup("Default: empty");
                start = strstr(start, def);
                if (!start || start > end)
                        fail_msg("hvvssd.conf.5: the entry for %s does not say '%s'", k->name, def);
        }
        for (const char *const *s = (const char *const[]){ ".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION",
                                                          ".SH EXAMPLES", ".SH FILES", ".SH \"SEE ALSO\"", NULL };
             *s; s++)
                if (!strstr(man, *s))
                        fail_msg("hvvssd.conf.5 lacks the section %s", *s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_sizes_and_numbers),
                cmocka_unit_test(test_enums),
                cmocka_unit_test(test_paths),
                cmocka_unit_test(test_lists),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_comments_and_blanks),
                cmocka_unit_test(test_unknown_and_repeated_keys_warn),
                cmocka_unit_test(test_every_error_is_reported),
                cmocka_unit_test(test_missing_file),
                cmocka_unit_test(test_dump_round_trip),
                cmocka_unit_test(test_shipped_file),
                cmocka_unit_test(test_man_page),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
