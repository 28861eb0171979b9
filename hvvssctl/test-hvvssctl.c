/* test-hvvssctl: the action and option tables, exit codes, output tables against the schema, formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hvvssctl.h"
#include "output.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static int run_argv(const char *first, ...)
{
        char *argv[16] = { (char *)"hvvssctl" };
        int argc = 1;
        va_list ap;
        const char *a;

        va_start(ap, first);
        for (a = first; a && argc < 15; a = va_arg(ap, const char *))
                argv[argc++] = (char *)a;
        va_end(ap);
        argv[argc] = NULL;
        return hvvssctl_main(argc, argv);
}

static void test_actions_table(void **state)
{
        (void)state;
        for (size_t i = 0; i < _ACTION_MAX; i++) {
                const struct hvvssctl_action *a = &hvvssctl_actions[i];

                assert_non_null(a->name);
                assert_non_null(a->run);
                assert_non_null(a->help);
                assert_non_null(a->synopsis);
                assert_ptr_equal(hvvssctl_find_action(a->name), a);
                for (size_t j = 0; j < i; j++)
                        assert_string_not_equal(a->name, hvvssctl_actions[j].name);
        }
        assert_null(hvvssctl_find_action("frobnicate"));
        assert_null(hvvssctl_find_action(NULL));
        assert_true(hvvssctl_find_action("thaw")->admin);
        assert_true(hvvssctl_find_action("test-freeze")->admin);
        assert_false(hvvssctl_find_action("status")->admin);
}

static void test_exit_codes(void **state)
{
        static const struct {
                int r, code;
        } map[] = {
                { 0, 0 },
                { HVVSSCTL_R_FAILED, 1 },
                { -EIO, 1 },
                { -ETIMEDOUT, 1 },
                { -EREMOTEIO, 1 },
                { HVVSSCTL_R_USAGE, 2 },
                { -EINVAL, 2 },
                { -ENOENT, 3 },
                { -ECONNREFUSED, 3 },
                { -EACCES, 4 },
                { -EPERM, 4 },
                { -EBUSY, 5 },
                { -EOPNOTSUPP, 6 },
                { -EBADMSG, 6 },
                { -EPROTO, 6 },
                { HVVSSCTL_R_WARNINGS, 10 },
                { HVVSSCTL_R_LAST_FAILED, 11 },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                assert_int_equal(hvvssctl_exit_code(map[i].r), map[i].code);
}

/* Options against actions, through the real command line (nothing listens on /nonexistent: exit 3 = accepted). */
static void test_option_checks(void **state)
{
        const char *s = "--socket=/nonexistent/control";

        (void)state;
        assert_int_equal(run_argv(s, "status", NULL), 3);
        assert_int_equal(run_argv(s, "--json", "status", NULL), 3);
        assert_int_equal(run_argv(s, "status", "--json", "-v", "--no-color", NULL), 3);
        assert_int_equal(run_argv(s, "history", "--limit", "5", NULL), 3);
        assert_int_equal(run_argv(s, "test-freeze", "--hold", "1.5", "--no-hooks", NULL), 3);
        assert_int_equal(run_argv(s, "test-freeze", "--kernel", "--hostsim", "/dev/null", NULL), 3);
        assert_int_equal(run_argv(s, "--timeout", "2", "mounts", NULL), 3);

        assert_int_equal(run_argv(s, "status", "--hold", "3", NULL), 2);
        assert_int_equal(run_argv(s, "mounts", "--limit", "3", NULL), 2);
        assert_int_equal(run_argv(s, "history", "--kernel", NULL), 2);
        assert_int_equal(run_argv(s, "test-freeze", "--kernel", "--no-hooks", NULL), 2);
        assert_int_equal(run_argv(s, "test-freeze", "--hostsim", "/dev/null", NULL), 2);
        assert_int_equal(run_argv(s, "test-freeze", "--hold", "-1", NULL), 2);
        assert_int_equal(run_argv(s, "test-freeze", "--hold", "1x", NULL), 2);
        assert_int_equal(run_argv(s, "history", "--limit", "0", NULL), 2);
        assert_int_equal(run_argv(s, "status", "extra", NULL), 2);
        assert_int_equal(run_argv(s, "frobnicate", NULL), 2);
        assert_int_equal(run_argv(s, "--frobnicate", "status", NULL), 2);
        assert_int_equal(run_argv(s, NULL), 2);
        assert_int_equal(run_argv("--timeout", "forever", "status", NULL), 2);
}

/* Every column shows a field the schema documents and the daemon's interface declares. */
static void test_columns_match_schema(void **state)
{
        json_object *defs_file = json_object_from_file(SCHEMA_DIR "/defs.json"), *defs, *def, *props;
        FILE *f = fopen(INTERFACE_FILE, "re");
        char *iface = NULL;
        size_t n = 0;

        (void)state;
        assert_non_null(defs_file);
        assert_true(json_object_object_get_ex(defs_file, "$defs", &defs));
        assert_non_null(f);
        assert_true(getdelim(&iface, &n, '\0', f) > 0);
        fclose(f);

        for (size_t t = 0; t < output_n_tables; t++) {
                const struct column_table *tab = output_tables[t];
                char head[64];
                const char *block, *end;

                assert_true(json_object_object_get_ex(defs, tab->def, &def));
                assert_true(json_object_object_get_ex(def, "properties", &props));
                snprintf(head, sizeof(head), "type %s (", tab->def);
                block = strstr(iface, head);
                assert_non_null(block);
                end = strstr(block, "\n)");
                assert_non_null(end);
                for (size_t c = 0; c < tab->n_columns; c++) {
                        char field[64];
                        const char *hit;

                        if (!json_object_object_get_ex(props, tab->columns[c].key, NULL))
                                fail_msg("column %s of %s: no field '%s' in the schema", tab->columns[c].header,
                                         tab->def, tab->columns[c].key);
                        snprintf(field, sizeof(field), "  %s: ", tab->columns[c].key);
                        hit = strstr(block, field);
                        if (!hit || hit > end)
                                fail_msg("column %s of %s: no field '%s' in io.hypervvss.varlink",
                                         tab->columns[c].header, tab->def, tab->columns[c].key);
                        assert_non_null(tab->columns[c].help);
                }
        }
        free(iface);
        json_object_put(defs_file);
}

static void test_format_duration(void **state)
{
        static const struct {
                double ms;
                const char *text;
        } cases[] = {
                { 0, "0.00 ms" },        { 0.42, "0.42 ms" },     { 9.994, "9.99 ms" },
                { 12.4, "12 ms" },       { 999.4, "999 ms" },     { 1000, "1.00 s" },
                { 1500, "1.50 s" },      { 59990, "59.99 s" },    { 60000, "1 min" },
                { 125000, "2 min 5 s" }, { 3600000, "1 h" },      { 3600000 + 12 * 60000, "1 h 12 min" },
                { -1, "-" },
        };
        char buf[32];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(format_duration_ms(cases[i].ms, buf, sizeof(buf)), cases[i].text);
}

static void test_format_time(void **state)
{
        char buf[64];

        (void)state;
        setenv("TZ", "UTC", 1);
        tzset();
        assert_string_equal(format_time("2025-11-26T21:03:04Z", buf, sizeof(buf)), "2025-11-26 21:03:04");
        assert_string_equal(format_time("2025-11-26T21:03:04.123456Z", buf, sizeof(buf)), "2025-11-26 21:03:04");
        setenv("TZ", "CET-1", 1);
        tzset();
        assert_string_equal(format_time("2025-11-26T21:03:04Z", buf, sizeof(buf)), "2025-11-26 22:03:04");
        assert_string_equal(format_time("yesterday", buf, sizeof(buf)), "yesterday");
        assert_string_equal(format_time("2025-11-26T21:03:04+05:00", buf, sizeof(buf)), "2025-11-26T21:03:04+05:00");
        assert_string_equal(format_time(NULL, buf, sizeof(buf)), "-");
        setenv("TZ", "UTC", 1);
        tzset();
}

static void test_format_cell(void **state)
{
        json_object *o = json_tokener_parse("{\"a\":null,\"n\":3,\"ms\":1500.0,\"b\":true,\"arr\":[1,2],"
                                            "\"s\":\"line\\nbreak\\n\"}");
        struct column c = { "X", "a", COL_STRING, 0, "" };
        char buf[64];

        (void)state;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "-");
        c.key = "missing";
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "-");
        c.key = "n", c.type = COL_INT;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "3");
        c.key = "ms", c.type = COL_MS;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "1.50 s");
        c.key = "b", c.type = COL_BOOL;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "yes");
        c.key = "arr", c.type = COL_COUNT;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "2");
        c.key = "s", c.type = COL_STRING;
        assert_string_equal(format_cell(&c, o, buf, sizeof(buf)), "line break");
        json_object_put(o);
}

static char *render(const struct column_table *t, const char *json, int verbose)
{
        struct hvvssctl ctl = { .verbose = verbose };
        json_object *arr = json_tokener_parse(json);
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(arr);
        assert_int_equal(output_table(&ctl, f, t, arr, "  "), 0);
        fclose(f);
        json_object_put(arr);
        return text;
}

static void test_table_golden(void **state)
{
        const char *frozen = "[{\"mount_point\":\"/var/lib/mysql\",\"since\":\"2025-11-26T21:03:04Z\","
                             "\"frozen_for_ms\":1520.0,\"operation_id\":7,\"by\":\"host-backup\"},"
                             "{\"mount_point\":\"/\",\"since\":\"2025-11-26T21:03:04.5Z\","
                             "\"frozen_for_ms\":1019.9,\"operation_id\":7,\"by\":\"host-backup\"}]";
        const char *hooks = "[{\"name\":\"10-db\",\"path\":\"/etc/hyperv-vss/hooks.d/10-db\",\"problem\":null}]";
        char *text;

        (void)state;
        setenv("TZ", "UTC", 1);
        tzset();
        text = render(&table_frozen, frozen, 0);
        assert_string_equal(text, "  MOUNT           SINCE                   FOR  OP  BY\n"
                                  "  /var/lib/mysql  2025-11-26 21:03:04  1.52 s   7  host-backup\n"
                                  "  /               2025-11-26 21:03:04  1.02 s   7  host-backup\n");
        free(text);
        text = render(&table_hooks, hooks, 0);
        assert_string_equal(text, "  HOOK   PATH                           PROBLEM\n"
                                  "  10-db  /etc/hyperv-vss/hooks.d/10-db  -\n");
        free(text);
        /* Verbose columns appear only with -v. */
        text = render(&table_mounts, "[]", 0);
        assert_string_equal(text, "  LEVEL  MOUNT  TYPE  SOURCE  DECISION  REASON\n");
        free(text);
        text = render(&table_mounts, "[]", 1);
        assert_string_equal(text, "  LEVEL  MOUNT  TYPE  SOURCE  DECISION  REASON  CODE  SAME-AS\n");
        free(text);
}

static void test_status_verdict(void **state)
{
        static const struct {
                const char *json;
                int verdict;
        } cases[] = {
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":null}", 0 },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"ok\",\"may_be_inconsistent\":false}}", 0 },
                { "{\"device_state\":\"registered\",\"warnings\":[\"insecure hook\"],\"last\":null}", HVVSSCTL_R_WARNINGS },
                { "{\"device_state\":\"absent\",\"warnings\":[],\"last\":null}", HVVSSCTL_R_WARNINGS },
                { "{\"warnings\":[]}", HVVSSCTL_R_WARNINGS },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"failed\"}}", HVVSSCTL_R_LAST_FAILED },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"watchdog\"}}", HVVSSCTL_R_LAST_FAILED },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"aborted\"}}", HVVSSCTL_R_LAST_FAILED },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"ok\",\"may_be_inconsistent\":true}}", HVVSSCTL_R_LAST_FAILED },
                { "{\"device_state\":\"absent\",\"warnings\":[\"x\"],\"last\":{\"result\":\"failed\"}}", HVVSSCTL_R_LAST_FAILED },
                { "{\"device_state\":\"registered\",\"warnings\":[],\"last\":{\"result\":\"in-progress\"}}", 0 },
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_object *o = json_tokener_parse(cases[i].json);

                assert_non_null(o);
                if (status_verdict(o) != cases[i].verdict)
                        fail_msg("case %zu (%s): verdict %d, want %d", i, cases[i].json, status_verdict(o),
                                 cases[i].verdict);
                json_object_put(o);
        }
}

static void test_color(void **state)
{
        int p[2];

        (void)state;
        assert_int_equal(pipe(p), 0);
        unsetenv("NO_COLOR");
        assert_false(output_want_color(p[1], false)); /* not a terminal */
        close(p[0]);
        close(p[1]);
        assert_false(output_want_color(STDOUT_FILENO, true));
        setenv("NO_COLOR", "1", 1);
        assert_false(output_want_color(STDOUT_FILENO, false));
        unsetenv("NO_COLOR");
        assert_string_equal(color(NULL, COLOR_RED), "");
        assert_int_equal(color_for_result("ok"), COLOR_GREEN);
        assert_int_equal(color_for_result("failed"), COLOR_RED);
        assert_int_equal(color_for_result("-"), COLOR_RESET);
        assert_int_equal(color_for_result("group-writable"), COLOR_YELLOW);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_actions_table),
                cmocka_unit_test(test_exit_codes),
                cmocka_unit_test(test_option_checks),
                cmocka_unit_test(test_columns_match_schema),
                cmocka_unit_test(test_format_duration),
                cmocka_unit_test(test_format_time),
                cmocka_unit_test(test_format_cell),
                cmocka_unit_test(test_table_golden),
                cmocka_unit_test(test_status_verdict),
                cmocka_unit_test(test_color),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
