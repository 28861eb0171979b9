/*
 * Unit tests of control: the io.hypervvss methods against a fake backend,
 * over a real socket (the server in this thread, a client in another),
 * with the access level injected instead of peer credentials.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "varlink-client.h"

static enum varlink_access access_level = VARLINK_ACCESS_ADMIN;
static char dir[64], sock[128];
static History *history;
static bool busy;
static struct varlink_call *held_call;
static double got_hold;
static bool got_hooks;

static enum varlink_access decide(const struct varlink_creds *c, gid_t g)
{
        (void)c;
        (void)g;
        return access_level;
}

static int be_status(void *ud, ControlStatus *s)
{
        static char *warnings[] = { (char *)"no VSS channel", NULL };

        (void)ud;
        *s = (ControlStatus){ .state = "idle", .device = "/dev/vmbus/hv_vss", .device_state = "absent",
                              .channel_driver = "none", .max_frozen_time_s = 60, .hooks_dir = "/etc/hyperv-vss/hooks.d",
                              .last = history_get(history, 0), .warnings = warnings };
        return 0;
}

static int be_plan(void *ud, struct plan **ret)
{
        struct plan_input in = { .mountinfo = FIXTURES "/mountinfo/btrfs", .sysfs = FIXTURES "/sysfs/btrfs" };

        (void)ud;
        return plan_new(ret, &in);
}

static int be_frozen(void *ud, ControlFrozen **ret, size_t *n)
{
        (void)ud;
        *ret = calloc(1, sizeof(**ret));
        (*ret)[0] = (ControlFrozen){ .mount_point = "/srv", .frozen_for_ms = 12, .operation_id = 3, .by = "host-backup" };
        *n = 1;
        return 0;
}

static int be_hooks(void *ud, struct hook_list **ret)
{
        (void)ud;
        return hook_check("/nonexistent-hooks-dir", 0, ret);
}

static History *be_history(void *ud)
{
        (void)ud;
        return history;
}

static int be_test_freeze(void *ud, struct varlink_call *call, double hold_s, bool hooks, const char **msg)
{
        json_object *o;

        (void)ud;
        if (busy) {
                *msg = "a host backup is running";
                return CONTROL_E_BUSY;
        }
        got_hold = hold_s;
        got_hooks = hooks;
        /* Answer at once with two events, like the daemon does over time. */
        control_event_to_json("started", NULL, NULL, NULL, NULL, &o);
        if (varlink_call_more(call))
                varlink_call_notify(call, o);
        json_object_put(o);
        control_event_to_json("done", NULL, NULL, NULL, history_get(history, 0), &o);
        varlink_call_reply(call, o);
        json_object_put(o);
        held_call = NULL;
        return 0;
}

static int be_thaw(void *ud, struct varlink_call *call, const char **msg)
{
        json_object *o = json_object_new_object();

        (void)ud;
        (void)msg;
        json_object_object_add(o, "thawed", json_object_new_array());
        varlink_call_reply(call, o);
        json_object_put(o);
        return 0;
}

static const ControlBackend backend = {
        .get_status = be_status, .get_plan = be_plan, .list_frozen = be_frozen, .list_hooks = be_hooks,
        .get_history = be_history, .test_freeze = be_test_freeze, .thaw = be_thaw,
};

/* --- a client call run in a thread while this thread serves -------------- */

struct job {
        const char *method;
        const char *params;
        bool more;
        int r;
        char *error;
        json_object *reply;
        int n_replies;
        volatile bool done;
};

static int count_reply(json_object *p, bool continues, void *userdata)
{
        struct job *j = userdata;

        (void)continues;
        json_object_put(j->reply);
        j->reply = json_object_get(p);
        j->n_replies++;
        return 0;
}

static void *client(void *userdata)
{
        struct job *j = userdata;
        struct varlink_client *c = NULL;
        json_object *p = j->params ? json_tokener_parse(j->params) : NULL;
        json_object *err_params = NULL;

        j->r = varlink_client_connect(&c, sock, 5000);
        if (j->r == 0) {
                if (j->more)
                        j->r = varlink_client_call_more(c, j->method, p, count_reply, j, &err_params, &j->error);
                else
                        j->r = varlink_client_call(c, j->method, p, &j->reply, &j->error);
        }
        json_object_put(err_params);
        json_object_put(p);
        varlink_client_free(c);
        j->done = true;
        return NULL;
}

static void run(Control *ctl, struct job *j)
{
        pthread_t t;

        assert_int_equal(pthread_create(&t, NULL, client, j), 0);
        while (!j->done) {
                struct pollfd p = { .fd = control_get_fd(ctl), .events = POLLIN };

                if (poll(&p, 1, 50) > 0)
                        assert_int_equal(control_dispatch(ctl), 0);
        }
        pthread_join(t, NULL);
}

static void job_clear(struct job *j)
{
        json_object_put(j->reply);
        free(j->error);
}

static Control *ctl;

static int setup(void **state)
{
        ControlConfig cc = { .socket_path = sock, .group_name = "hvvss-test-no-such-group", .decide = decide };
        OpRecord *r = NULL;

        (void)state;
        snprintf(dir, sizeof(dir), "/tmp/test-control.XXXXXX");
        if (!mkdtemp(dir))
                return -1;
        snprintf(sock, sizeof(sock), "%s/control", dir);
        if (history_new(&history, 4) < 0 || op_record_new(&r, 1, OP_KIND_TEST_FREEZE) < 0)
                return -1;
        r->result = OP_RESULT_OK;
        history_add(history, r);
        op_record_unref(r);
        return control_new(&ctl, &cc, &backend, NULL);
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        control_free(ctl);
        history_free(history);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd);
}

static json_object *get(json_object *o, const char *k)
{
        json_object *v = NULL;

        assert_true(json_object_object_get_ex(o, k, &v));
        return v;
}

static void test_get_status(void **state)
{
        static const char *const keys[] = { "version", "pid", "uptime_s", "state", "operation", "device",
                                            "device_state", "channel_driver", "framework_version",
                                            "message_version", "frozen_count", "max_frozen_time_s",
                                            "hooks_dir", "hooks_count", "last", "warnings" };
        struct job j = { .method = "io.hypervvss.GetStatus" };

        (void)state;
        access_level = VARLINK_ACCESS_READ;
        run(ctl, &j);
        assert_int_equal(j.r, 0);
        for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
                assert_true(json_object_object_get_ex(j.reply, keys[i], NULL));
        assert_int_equal(json_object_object_length(j.reply), sizeof(keys) / sizeof(*keys));
        assert_null(get(j.reply, "operation"));
        assert_null(get(j.reply, "framework_version"));
        assert_string_equal(json_object_get_string(get(get(j.reply, "last"), "kind")), "test-freeze");
        assert_int_equal(json_object_array_length(get(j.reply, "warnings")), 1);
        job_clear(&j);
}

static void test_list_mounts(void **state)
{
        struct job j = { .method = "io.hypervvss.ListMounts" };
        json_object *mounts;
        size_t n_same = 0, n_freeze = 0;

        (void)state;
        access_level = VARLINK_ACCESS_READ;
        run(ctl, &j);
        assert_int_equal(j.r, 0);
        mounts = get(j.reply, "mounts");
        assert_true(json_object_array_length(mounts) > 0);
        assert_true(json_object_get_int(get(j.reply, "levels")) >= 1);
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                const char *d = json_object_get_string(get(m, "decision"));

                assert_int_equal(json_object_object_length(m), 8);
                if (strcmp(d, "freeze") == 0) {
                        n_freeze++;
                        assert_null(get(m, "reason"));
                        assert_non_null(get(m, "level"));
                } else {
                        assert_non_null(get(m, "reason"));
                        assert_non_null(get(m, "reason_text"));
                        assert_null(get(m, "level"));
                        if (strcmp(json_object_get_string(get(m, "reason")), "same-filesystem") == 0) {
                                n_same++;
                                assert_non_null(get(m, "same_as"));
                        }
                }
        }
        assert_true(n_freeze > 0);
        assert_true(n_same > 0);
        job_clear(&j);
}

static void test_read_methods(void **state)
{
        struct job f = { .method = "io.hypervvss.ListFrozen" };
        struct job h = { .method = "io.hypervvss.GetHistory", .params = "{\"limit\":1}" };
        struct job k = { .method = "io.hypervvss.ListHooks" };
        struct job bad = { .method = "io.hypervvss.GetHistory", .params = "{\"limit\":\"x\"}" };
        struct job unknown = { .method = "io.hypervvss.GetStatus", .params = "{\"verbose\":true}" };
        json_object *e;

        (void)state;
        access_level = VARLINK_ACCESS_READ;
        run(ctl, &f);
        assert_int_equal(f.r, 0);
        e = json_object_array_get_idx(get(f.reply, "frozen"), 0);
        assert_string_equal(json_object_get_string(get(e, "mount_point")), "/srv");
        assert_string_equal(json_object_get_string(get(e, "by")), "host-backup");
        assert_int_equal(json_object_get_int(get(e, "operation_id")), 3);
        assert_non_null(get(e, "since"));
        run(ctl, &h);
        assert_int_equal(h.r, 0);
        assert_int_equal(json_object_array_length(get(h.reply, "operations")), 1);
        run(ctl, &k);
        assert_int_equal(k.r, 0);
        assert_int_equal(json_object_array_length(get(k.reply, "hooks")), 0);
        run(ctl, &bad);
        assert_int_equal(bad.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(bad.error, VARLINK_ERROR_INVALID_PARAMETER);
        run(ctl, &unknown);
        assert_int_equal(unknown.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(unknown.error, VARLINK_ERROR_INVALID_PARAMETER);
        job_clear(&f);
        job_clear(&h);
        job_clear(&k);
        job_clear(&bad);
        job_clear(&unknown);
}

static void test_access(void **state)
{
        struct job none = { .method = "io.hypervvss.GetStatus" };
        struct job tf = { .method = "io.hypervvss.TestFreeze" };
        struct job th = { .method = "io.hypervvss.Thaw" };
        struct job intro = { .method = "org.varlink.service.GetInterfaceDescription",
                             .params = "{\"interface\":\"io.hypervvss\"}" };

        (void)state;
        access_level = VARLINK_ACCESS_NONE;
        run(ctl, &none);
        assert_int_equal(none.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(none.error, VARLINK_ERROR_NOT_PERMITTED);
        run(ctl, &intro);                       /* introspection is open to all */
        assert_int_equal(intro.r, 0);
        assert_non_null(strstr(json_object_get_string(get(intro.reply, "description")), "method TestFreeze("));
        access_level = VARLINK_ACCESS_READ;     /* a group member */
        run(ctl, &tf);
        assert_int_equal(tf.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(tf.error, VARLINK_ERROR_NOT_PERMITTED);
        run(ctl, &th);
        assert_int_equal(th.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(th.error, VARLINK_ERROR_NOT_PERMITTED);
        job_clear(&none);
        job_clear(&tf);
        job_clear(&th);
        job_clear(&intro);
}

static void test_test_freeze(void **state)
{
        struct job ok = { .method = "io.hypervvss.TestFreeze", .params = "{\"hold_s\":2.5,\"hooks\":false}", .more = true };
        struct job dflt = { .method = "io.hypervvss.TestFreeze" };
        struct job neg = { .method = "io.hypervvss.TestFreeze", .params = "{\"hold_s\":-1}" };
        struct job typ = { .method = "io.hypervvss.TestFreeze", .params = "{\"hooks\":1}" };
        struct job b = { .method = "io.hypervvss.TestFreeze" };
        struct job th = { .method = "io.hypervvss.Thaw" };

        (void)state;
        access_level = VARLINK_ACCESS_ADMIN;
        run(ctl, &ok);
        assert_int_equal(ok.r, 0);
        assert_int_equal(ok.n_replies, 2);
        assert_string_equal(json_object_get_string(get(ok.reply, "event")), "done");
        assert_non_null(get(ok.reply, "operation"));
        assert_true(got_hold == 2.5);
        assert_false(got_hooks);
        run(ctl, &dflt);
        assert_int_equal(dflt.r, 0);
        assert_true(got_hold == CONTROL_HOLD_S_DEFAULT);
        assert_true(got_hooks);
        run(ctl, &neg);
        assert_string_equal(neg.error, VARLINK_ERROR_INVALID_PARAMETER);
        run(ctl, &typ);
        assert_string_equal(typ.error, VARLINK_ERROR_INVALID_PARAMETER);
        busy = true;
        run(ctl, &b);
        busy = false;
        assert_int_equal(b.r, VARLINK_CLIENT_E_ERROR);
        assert_string_equal(b.error, CONTROL_ERROR_BUSY);
        run(ctl, &th);
        assert_int_equal(th.r, 0);
        assert_int_equal(json_object_array_length(get(th.reply, "thawed")), 0);
        job_clear(&ok);
        job_clear(&dflt);
        job_clear(&neg);
        job_clear(&typ);
        job_clear(&b);
        job_clear(&th);
}

static void test_interface_text(void **state)
{
        FILE *f = fopen(IFACE_FILE, "re");
        char buf[65536];
        size_t n;

        (void)state;
        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        assert_string_equal(control_interface_description, buf);
        assert_false(control_get_group(ctl) != (gid_t)-1);      /* absent group: root only */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_get_status),
                cmocka_unit_test(test_list_mounts),
                cmocka_unit_test(test_read_methods),
                cmocka_unit_test(test_access),
                cmocka_unit_test(test_test_freeze),
                cmocka_unit_test(test_interface_text),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
