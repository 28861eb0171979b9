/*
 * history: a ring buffer of OpRecord references. Records are shared with
 * the operation that is still filling them in, so an in-progress record
 * may be listed (result in-progress) and survives being dropped from a
 * full ring. Only the event loop thread touches records.
 */
#include "json-util.h"
#include "history.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct History {
        OpRecord **ring;                /* ring[(head + i) % size]: i = 0 oldest */
        unsigned size;
        size_t head, n;
        uint64_t last_id;
};

static const char *const kind_names[_OP_KIND_MAX] = {
        [OP_KIND_HOST_BACKUP] = "host-backup",
        [OP_KIND_TEST_FREEZE] = "test-freeze",
        [OP_KIND_HOT_BACKUP_CHECK] = "hot-backup-check",
        [OP_KIND_WATCHDOG_THAW] = "watchdog-thaw",
        [OP_KIND_EMERGENCY_THAW] = "emergency-thaw",
        [OP_KIND_RECOVERY] = "recovery",
};

static const char *const result_names[_OP_RESULT_MAX] = {
        [OP_RESULT_IN_PROGRESS] = "in-progress",
        [OP_RESULT_OK] = "ok",
        [OP_RESULT_FAILED] = "failed",
        [OP_RESULT_WATCHDOG] = "watchdog",
        [OP_RESULT_ABORTED] = "aborted",
};

const char *op_kind_to_string(OpKind k)
{
        return (unsigned)k < _OP_KIND_MAX ? kind_names[k] : "unknown";
}

const char *op_result_to_string(OpResult r)
{
        return (unsigned)r < _OP_RESULT_MAX ? result_names[r] : "unknown";
}

void format_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
        struct tm tm;
        char s[32];

        gmtime_r(&ts->tv_sec, &tm);
        strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, size, "%s.%03uZ", s, (unsigned)(ts->tv_nsec / 1000000) % 1000u);
}

int op_record_new(OpRecord **ret, uint64_t id, OpKind kind)
{
        OpRecord *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->n_ref = 1;
        r->id = id;
        r->kind = kind;
        r->result = OP_RESULT_IN_PROGRESS;
        r->frozen_ms = -1;
        clock_gettime(CLOCK_REALTIME, &r->started);
        *ret = r;
        return 0;
}

OpRecord *op_record_ref(OpRecord *r)
{
        if (r)
                r->n_ref++;
        return r;
}

static void target_clear(OpTarget *t)
{
        free(t->mount_point);
        free(t->fstype);
        free(t->result);
        free(t->note);
}

static void hook_clear(OpHook *h)
{
        free(h->name);
        free(h->operation);
        free(h->result);
        free(h->output);
}

OpRecord *op_record_unref(OpRecord *r)
{
        if (!r || --r->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < r->n_phases; i++)
                free(r->phases[i].name);
        for (size_t i = 0; i < r->n_targets; i++)
                target_clear(&r->targets[i]);
        for (size_t i = 0; i < r->n_hooks; i++)
                hook_clear(&r->hooks[i]);
        free(r->phases);
        free(r->targets);
        free(r->hooks);
        free(r->error);
        free(r);
        return NULL;
}

int op_record_set_error(OpRecord *r, const char *fmt, ...)
{
        va_list ap;
        char *s;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        free(r->error);
        r->error = s;
        return 0;
}

int op_record_add_phase(OpRecord *r, const char *name, double duration_ms)
{
        OpPhase *p;

        for (size_t i = 0; i < r->n_phases; i++)
                if (streq(r->phases[i].name, name)) {
                        r->phases[i].duration_ms += duration_ms;
                        return 0;
                }
        p = reallocarray(r->phases, r->n_phases + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        r->phases = p;
        p[r->n_phases].name = strdup(name);
        if (!p[r->n_phases].name)
                return -ENOMEM;
        p[r->n_phases].duration_ms = duration_ms;
        r->n_phases++;
        return 0;
}

double op_record_phase(const OpRecord *r, const char *name)
{
        for (size_t i = 0; i < r->n_phases; i++)
                if (streq(r->phases[i].name, name))
                        return r->phases[i].duration_ms;
        return -1;
}

static int dup_opt(char **ret, const char *s)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int op_record_add_target(OpRecord *r, const OpTarget *t)
{
        OpTarget c = *t, *n;

        c.mount_point = c.fstype = c.result = c.note = NULL;
        if (dup_opt(&c.mount_point, t->mount_point) < 0 || dup_opt(&c.fstype, t->fstype) < 0 ||
            dup_opt(&c.result, t->result) < 0 || dup_opt(&c.note, t->note) < 0)
                goto oom;
        n = reallocarray(r->targets, r->n_targets + 1, sizeof(*n));
        if (!n)
                goto oom;
        r->targets = n;
        n[r->n_targets++] = c;
        return 0;
oom:
        target_clear(&c);
        return -ENOMEM;
}

int op_record_add_hook(OpRecord *r, const OpHook *h)
{
        OpHook c = *h, *n;

        c.name = c.operation = c.result = c.output = NULL;
        if (dup_opt(&c.name, h->name) < 0 || dup_opt(&c.operation, h->operation) < 0 ||
            dup_opt(&c.result, h->result) < 0 || dup_opt(&c.output, h->output) < 0)
                goto oom;
        n = reallocarray(r->hooks, r->n_hooks + 1, sizeof(*n));
        if (!n)
                goto oom;
        r->hooks = n;
        n[r->n_hooks++] = c;
        return 0;
oom:
        hook_clear(&c);
        return -ENOMEM;
}

/* json-c helpers: a NULL value is added as JSON null. */
static int add(json_object *o, const char *key, json_object *v)
{
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static json_object *target_to_json(const OpTarget *t)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        add(o, "mount_point", json_object_new_string(t->mount_point ? t->mount_point : ""));
        add(o, "fstype", json_object_new_string(t->fstype ? t->fstype : ""));
        add(o, "level", json_object_new_int(t->level));
        add(o, "result", json_object_new_string(t->result ? t->result : "not-run"));
        add(o, "note", str_or_null(t->note));
        add(o, "open_ms", json_new_measure(t->open_ms));
        add(o, "sync_ms", json_new_measure(t->sync_ms));
        add(o, "freeze_ms", json_new_measure(t->freeze_ms));
        add(o, "thaw_ms", json_new_measure(t->thaw_ms));
        return o;
}

static json_object *hook_to_json(const OpHook *h)
{
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        add(o, "name", json_object_new_string(h->name ? h->name : ""));
        add(o, "operation", json_object_new_string(h->operation ? h->operation : ""));
        add(o, "result", json_object_new_string(h->result ? h->result : ""));
        add(o, "exit_status", h->exit_status >= 0 ? json_object_new_int(h->exit_status) : NULL);
        add(o, "signal", h->signal > 0 ? json_object_new_int(h->signal) : NULL);
        add(o, "duration_ms", json_new_measure(h->duration_ms));
        add(o, "output", str_or_null(h->output));
        add(o, "output_dropped_bytes", json_object_new_int64((int64_t)h->output_dropped));
        return o;
}

int op_record_to_json(const OpRecord *r, json_object **ret)
{
        json_object *o, *phases, *targets, *hooks;
        char started[40];

        o = json_object_new_object();
        phases = json_object_new_array();
        targets = json_object_new_array();
        hooks = json_object_new_array();
        if (!o || !phases || !targets || !hooks)
                goto oom;

        format_rfc3339(&r->started, started, sizeof(started));
        add(o, "id", json_object_new_int64((int64_t)r->id));
        add(o, "kind", json_object_new_string(op_kind_to_string(r->kind)));
        add(o, "started", json_object_new_string(started));
        add(o, "result", json_object_new_string(op_result_to_string(r->result)));
        add(o, "error", str_or_null(r->error));
        add(o, "frozen_ms", r->frozen_ms >= 0 ? json_new_measure(r->frozen_ms) : NULL);
        add(o, "may_be_inconsistent", json_object_new_boolean(r->may_be_inconsistent));

        for (size_t i = 0; i < r->n_phases; i++) {
                json_object *p = json_object_new_object();

                if (!p)
                        goto oom;
                add(p, "name", json_object_new_string(r->phases[i].name));
                add(p, "duration_ms", json_new_measure(r->phases[i].duration_ms));
                json_object_array_add(phases, p);
        }
        for (size_t i = 0; i < r->n_targets; i++) {
                json_object *t = target_to_json(&r->targets[i]);

                if (!t)
                        goto oom;
                json_object_array_add(targets, t);
        }
        for (size_t i = 0; i < r->n_hooks; i++) {
                json_object *h = hook_to_json(&r->hooks[i]);

                if (!h)
                        goto oom;
                json_object_array_add(hooks, h);
        }
        add(o, "phases", phases);
        add(o, "targets", targets);
        add(o, "hooks", hooks);
        *ret = o;
        return 0;
oom:
        json_object_put(o);
        json_object_put(phases);
        json_object_put(targets);
        json_object_put(hooks);
        return -ENOMEM;
}

int history_new(History **ret, unsigned size)
{
        History *h;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->size = size ? size : 1;
        h->ring = calloc(h->size, sizeof(*h->ring));
        if (!h->ring) {
                free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

History *history_free(History *h)
{
        if (!h)
                return NULL;
        for (size_t i = 0; i < h->n; i++)
                op_record_unref(h->ring[(h->head + i) % h->size]);
        free(h->ring);
        free(h);
        return NULL;
}

int history_resize(History *h, unsigned size)
{
        OpRecord **ring;
        size_t keep, drop;

        if (size == 0)
                size = 1;
        if (size == h->size)
                return 0;
        ring = calloc(size, sizeof(*ring));
        if (!ring)
                return -ENOMEM;
        keep = h->n < size ? h->n : size;
        drop = h->n - keep;
        for (size_t i = 0; i < drop; i++)
                op_record_unref(h->ring[(h->head + i) % h->size]);
        for (size_t i = 0; i < keep; i++)
                ring[i] = h->ring[(h->head + drop + i) % h->size];
        free(h->ring);
        h->ring = ring;
        h->size = size;
        h->head = 0;
        h->n = keep;
        return 0;
}

uint64_t history_next_id(History *h)
{
        return ++h->last_id;
}

int history_add(History *h, OpRecord *r)
{
        if (!r)
                return -EINVAL;
        if (h->n == h->size) {
                op_record_unref(h->ring[h->head]);
                h->ring[h->head] = NULL;
                h->head = (h->head + 1) % h->size;
                h->n--;
        }
        h->ring[(h->head + h->n) % h->size] = op_record_ref(r);
        h->n++;
        return 0;
}

size_t history_count(const History *h)
{
        return h->n;
}

OpRecord *history_get(const History *h, size_t i)
{
        if (i >= h->n)
                return NULL;
        return h->ring[(h->head + h->n - 1 - i) % h->size];
}

OpRecord *history_find(const History *h, uint64_t id)
{
        for (size_t i = 0; i < h->n; i++) {
                OpRecord *r = history_get(h, i);

                if (r->id == id)
                        return r;
        }
        return NULL;
}

OpRecord *history_last_of_kind(const History *h, OpKind k)
{
        for (size_t i = 0; i < h->n; i++) {
                OpRecord *r = history_get(h, i);

                if (r->kind == k)
                        return r;
        }
        return NULL;
}

int history_to_json(const History *h, size_t limit, json_object **ret)
{
        json_object *a = json_object_new_array();
        size_t n = h->n;

        if (!a)
                return -ENOMEM;
        if (limit && limit < n)
                n = limit;
        for (size_t i = 0; i < n; i++) {
                json_object *o;
                int r = op_record_to_json(history_get(h, i), &o);

                if (r < 0) {
                        json_object_put(a);
                        return r;
                }
                json_object_array_add(a, o);
        }
        *ret = a;
        return 0;
}
