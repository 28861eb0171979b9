/* Unit tests of history: the ring, ids, and the io.hypervvss Operation JSON shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "history.h"

static OpRecord *mk(History *h, OpKind k)
{
        OpRecord *r = NULL;

        assert_int_equal(op_record_new(&r, history_next_id(h), k), 0);
        assert_int_equal(history_add(h, r), 0);
        op_record_unref(r);
        return r;
}

static void test_ring(void **state)
{
        History *h = NULL;
        OpRecord *kept;

        (void)state;
        assert_int_equal(history_new(&h, 3), 0);
        kept = op_record_ref(mk(h, OP_KIND_HOST_BACKUP));      /* id 1, held by "a running op" */
        mk(h, OP_KIND_HOT_BACKUP_CHECK);
        mk(h, OP_KIND_TEST_FREEZE);
        mk(h, OP_KIND_HOST_BACKUP);                             /* id 4 evicts id 1 */
        assert_int_equal(history_count(h), 3);
        assert_int_equal(history_get(h, 0)->id, 4);
        assert_int_equal(history_get(h, 2)->id, 2);
        assert_null(history_get(h, 3));
        assert_null(history_find(h, 1));
        assert_int_equal(kept->id, 1);                          /* still valid for its holder */
        op_record_unref(kept);
        assert_int_equal(history_last_of_kind(h, OP_KIND_TEST_FREEZE)->id, 3);
        assert_null(history_last_of_kind(h, OP_KIND_RECOVERY));

        assert_int_equal(history_resize(h, 2), 0);              /* keeps the newest */
        assert_int_equal(history_count(h), 2);
        assert_int_equal(history_get(h, 0)->id, 4);
        assert_int_equal(history_get(h, 1)->id, 3);
        assert_int_equal(history_resize(h, 5), 0);
        mk(h, OP_KIND_RECOVERY);
        assert_int_equal(history_count(h), 3);
        assert_int_equal(history_get(h, 0)->id, 5);
        history_free(h);
}

static const char *str(json_object *o, const char *k)
{
        json_object *v;

        assert_true(json_object_object_get_ex(o, k, &v));
        return v ? json_object_get_string(v) : NULL;
}

static void test_json(void **state)
{
        OpRecord *r = NULL;
        json_object *o, *v, *t;
        OpTarget tg = { .mount_point = (char *)"/srv", .fstype = (char *)"xfs", .level = 1,
                        .result = (char *)"frozen-thawed", .freeze_ms = 2.5 };
        OpHook hk = { .name = (char *)"10-db", .operation = (char *)"freeze", .result = (char *)"timeout",
                      .exit_status = -1, .signal = 9, .duration_ms = 30000, .output_dropped = 7 };
        static const char *const op_keys[] = { "id", "kind", "started", "result", "error", "frozen_ms",
                                               "may_be_inconsistent", "phases", "targets", "hooks" };
        static const char *const target_keys[] = { "mount_point", "fstype", "level", "result", "note",
                                                   "open_ms", "sync_ms", "freeze_ms", "thaw_ms" };
        static const char *const hook_keys[] = { "name", "operation", "result", "exit_status", "signal",
                                                 "duration_ms", "output", "output_dropped_bytes" };

        (void)state;
        assert_int_equal(op_record_new(&r, 7, OP_KIND_HOST_BACKUP), 0);
        r->started = (struct timespec){ .tv_sec = 1714564800, .tv_nsec = 123456789 };
        assert_int_equal(op_record_add_phase(r, "freeze", 1.5), 0);
        assert_int_equal(op_record_add_phase(r, "freeze", 1.0), 0);      /* accumulates */
        assert_int_equal(op_record_add_phase(r, "thaw", 0.5), 0);
        assert_int_equal(op_record_add_target(r, &tg), 0);
        assert_int_equal(op_record_add_hook(r, &hk), 0);
        r->result = OP_RESULT_WATCHDOG;
        r->may_be_inconsistent = true;
        op_record_set_error(r, "thawed after %d s", 60);
        assert_true(op_record_phase(r, "freeze") == 2.5);
        assert_true(op_record_phase(r, "hold") < 0);

        assert_int_equal(op_record_to_json(r, &o), 0);
        for (size_t i = 0; i < sizeof(op_keys) / sizeof(*op_keys); i++)
                assert_true(json_object_object_get_ex(o, op_keys[i], NULL));
        assert_int_equal(json_object_object_length(o), sizeof(op_keys) / sizeof(*op_keys));
        assert_string_equal(str(o, "kind"), "host-backup");
        assert_string_equal(str(o, "result"), "watchdog");
        assert_string_equal(str(o, "started"), "2024-05-01T12:00:00.123Z");
        assert_string_equal(str(o, "error"), "thawed after 60 s");
        json_object_object_get_ex(o, "frozen_ms", &v);
        assert_null(v);                                         /* nothing measured: null */
        json_object_object_get_ex(o, "may_be_inconsistent", &v);
        assert_true(json_object_get_boolean(v));
        json_object_object_get_ex(o, "phases", &v);
        assert_int_equal(json_object_array_length(v), 2);
        assert_string_equal(str(json_object_array_get_idx(v, 0), "name"), "freeze");

        json_object_object_get_ex(o, "targets", &v);
        t = json_object_array_get_idx(v, 0);
        for (size_t i = 0; i < sizeof(target_keys) / sizeof(*target_keys); i++)
                assert_true(json_object_object_get_ex(t, target_keys[i], NULL));
        assert_null(str(t, "note"));
        assert_string_equal(str(t, "fstype"), "xfs");
        json_object_object_get_ex(o, "hooks", &v);
        t = json_object_array_get_idx(v, 0);
        for (size_t i = 0; i < sizeof(hook_keys) / sizeof(*hook_keys); i++)
                assert_true(json_object_object_get_ex(t, hook_keys[i], NULL));
        json_object_object_get_ex(t, "exit_status", &v);
        assert_null(v);
        json_object_object_get_ex(t, "signal", &v);
        assert_int_equal(json_object_get_int(v), 9);
        json_object_object_get_ex(t, "output_dropped_bytes", &v);
        assert_int_equal(json_object_get_int(v), 7);
        json_object_put(o);
        op_record_unref(r);
}

static void test_to_json_limit(void **state)
{
        History *h = NULL;
        json_object *a;

        (void)state;
        assert_int_equal(history_new(&h, 0), 0);                /* size 0 acts as 1 */
        mk(h, OP_KIND_HOST_BACKUP);
        mk(h, OP_KIND_TEST_FREEZE);
        assert_int_equal(history_count(h), 1);
        assert_int_equal(history_resize(h, 4), 0);
        mk(h, OP_KIND_RECOVERY);
        mk(h, OP_KIND_EMERGENCY_THAW);
        assert_int_equal(history_to_json(h, 2, &a), 0);
        assert_int_equal(json_object_array_length(a), 2);
        assert_string_equal(str(json_object_array_get_idx(a, 0), "kind"), "emergency-thaw");
        json_object_put(a);
        assert_int_equal(history_to_json(h, 0, &a), 0);
        assert_int_equal(json_object_array_length(a), 3);
        json_object_put(a);
        for (int k = 0; k < _OP_KIND_MAX; k++)
                assert_string_not_equal(op_kind_to_string((OpKind)k), "unknown");
        assert_string_equal(op_result_to_string(OP_RESULT_IN_PROGRESS), "in-progress");
        history_free(h);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ring),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_to_json_limit),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
