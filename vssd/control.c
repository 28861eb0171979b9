/*
 * control: io.hypervvss on the control socket. Parameters are checked
 * here; the daemon's state is reached only through ControlBackend, so the
 * handlers and the JSON shapes are unit-tested against a fake backend.
 * Access levels (read: the Get and List methods; admin: TestFreeze, Thaw) are enforced
 * by the varlink server from the method table before a handler runs.
 */
#include "json-util.h"
#include "control.h"

#include <errno.h>
#include <grp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct Control {
        struct varlink_server *server;
        const ControlBackend *backend;
        void *userdata;
        gid_t group;
};

static int add(json_object *o, const char *key, json_object *v)
{
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

static json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static int invalid_parameter(struct varlink_call *call, const char *name)
{
        json_object *p = json_object_new_object();
        int r;

        if (!p)
                return -ENOMEM;
        add(p, "parameter", json_object_new_string(name));
        r = varlink_call_error(call, VARLINK_ERROR_INVALID_PARAMETER, p);
        json_object_put(p);
        return r;
}

static int error_message(struct varlink_call *call, const char *error, const char *message)
{
        json_object *p = json_object_new_object();
        int r;

        if (!p)
                return -ENOMEM;
        add(p, "message", json_object_new_string(message ? message : ""));
        r = varlink_call_error(call, error, p);
        json_object_put(p);
        return r;
}

static int reply_put(struct varlink_call *call, json_object *o)
{
        int r = varlink_call_reply(call, o);

        json_object_put(o);
        return r == -ENOTCONN ? 0 : r;
}

/* Refuses any parameter not in allowed (NULL-terminated). */
static int check_unknown(struct varlink_call *call, json_object *params, const char *const *allowed)
{
        json_object_object_foreach(params, key, val) {
                bool ok = false;

                (void)val;
                for (const char *const *a = allowed; a && *a; a++)
                        if (streq(*a, key))
                                ok = true;
                if (!ok) {
                        invalid_parameter(call, key);
                        return 1;
                }
        }
        return 0;
}

/* --- JSON builders ------------------------------------------------------ */

int control_status_to_json(const ControlStatus *s, json_object **ret)
{
        json_object *o = json_object_new_object(), *w = json_object_new_array(), *last = NULL;
        int r;

        if (!o || !w) {
                json_object_put(o);
                json_object_put(w);
                return -ENOMEM;
        }
        if (s->last) {
                r = op_record_to_json(s->last, &last);
                if (r < 0) {
                        json_object_put(o);
                        json_object_put(w);
                        return r;
                }
        }
        for (char *const *i = s->warnings; i && *i; i++)
                json_object_array_add(w, json_object_new_string(*i));
        add(o, "version", json_object_new_string(HVVSS_VERSION));
        add(o, "pid", json_object_new_int((int)getpid()));
        add(o, "uptime_s", json_new_measure(s->uptime_s));
        add(o, "state", json_object_new_string(s->state ? s->state : "idle"));
        add(o, "operation", str_or_null(s->operation));
        add(o, "device", json_object_new_string(s->device ? s->device : ""));
        add(o, "device_state", json_object_new_string(s->device_state ? s->device_state : "absent"));
        add(o, "channel_driver", json_object_new_string(s->channel_driver ? s->channel_driver : "none"));
        add(o, "framework_version", str_or_null(s->framework_version));
        add(o, "message_version", str_or_null(s->message_version));
        add(o, "frozen_count", json_object_new_int((int)s->frozen_count));
        add(o, "max_frozen_time_s", json_new_measure(s->max_frozen_time_s));
        add(o, "hooks_dir", json_object_new_string(s->hooks_dir ? s->hooks_dir : ""));
        add(o, "hooks_count", json_object_new_int((int)s->hooks_count));
        add(o, "last", last);
        add(o, "warnings", w);
        *ret = o;
        return 0;
}

int control_plan_to_json(const struct plan *p, json_object **ret)
{
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a) {
                json_object_put(o);
                json_object_put(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < plan_n_entries(p); i++) {
                const struct plan_entry *e = plan_entry(p, i);
                json_object *m = json_object_new_object();
                bool freeze = e->decision == PLAN_FREEZE;

                if (!m)
                        goto oom;
                add(m, "mount_point", json_object_new_string(e->target ? e->target : ""));
                add(m, "source", json_object_new_string(e->source ? e->source : ""));
                add(m, "fstype", json_object_new_string(e->fstype ? e->fstype : ""));
                add(m, "decision", json_object_new_string(plan_decision_to_string(e->decision)));
                add(m, "reason", freeze ? NULL : json_object_new_string(plan_reason_to_string(e->reason)));
                add(m, "reason_text", freeze ? NULL : str_or_null(e->reason_text));
                add(m, "level", freeze ? json_object_new_int((int)e->level) : NULL);
                add(m, "same_as", e->same_as ? str_or_null(e->same_as->target) : NULL);
                json_object_array_add(a, m);
        }
        add(o, "mounts", a);
        add(o, "levels", json_object_new_int((int)plan_n_levels(p)));
        *ret = o;
        return 0;
oom:
        json_object_put(o);
        json_object_put(a);
        return -ENOMEM;
}

int control_frozen_to_json(const ControlFrozen *f, size_t n, json_object **ret)
{
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a) {
                json_object_put(o);
                json_object_put(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_new_object();
                char since[40];

                if (!e) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
                format_rfc3339(&f[i].since, since, sizeof(since));
                add(e, "mount_point", json_object_new_string(f[i].mount_point));
                add(e, "since", json_object_new_string(since));
                add(e, "frozen_for_ms", json_new_measure(f[i].frozen_for_ms));
                add(e, "operation_id", json_object_new_int64(f[i].operation_id));
                add(e, "by", json_object_new_string(f[i].by));
                json_object_array_add(a, e);
        }
        add(o, "frozen", a);
        *ret = o;
        return 0;
}

int control_hooks_to_json(const struct hook_list *l, json_object **ret)
{
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a) {
                json_object_put(o);
                json_object_put(a);
                return -ENOMEM;
        }
        for (size_t i = 0; i < hook_list_count(l); i++) {
                json_object *h = json_object_new_object();

                if (!h) {
                        json_object_put(o);
                        json_object_put(a);
                        return -ENOMEM;
                }
                add(h, "name", json_object_new_string(hook_list_name(l, i)));
                add(h, "path", json_object_new_string(hook_list_path(l, i)));
                add(h, "problem", str_or_null(hook_list_problem(l, i)));
                json_object_array_add(a, h);
        }
        add(o, "hooks", a);
        *ret = o;
        return 0;
}

int control_event_to_json(const char *event, const char *phase, const char *mount_point,
                          const char *message, const OpRecord *op, json_object **ret)
{
        json_object *o = json_object_new_object(), *jop = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        if (op) {
                r = op_record_to_json(op, &jop);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
        }
        add(o, "event", json_object_new_string(event));
        add(o, "phase", str_or_null(phase));
        add(o, "mount_point", str_or_null(mount_point));
        add(o, "message", str_or_null(message));
        add(o, "operation", jop);
        *ret = o;
        return 0;
}

/* --- methods ------------------------------------------------------------ */

static int internal_error(struct varlink_call *call, int error, const char *what)
{
        json_object *p = json_object_new_object();
        int r;

        if (!p)
                return -ENOMEM;
        add(p, "errno", json_object_new_int(error < 0 ? -error : error));
        add(p, "message", json_object_new_string(what));
        r = varlink_call_error(call, VARLINK_ERROR_INTERNAL, p);
        json_object_put(p);
        return r;
}

static int method_get_status(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { NULL };
        Control *c = userdata;
        ControlStatus s = {};
        json_object *o;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        r = c->backend->get_status(c->userdata, &s);
        if (r < 0)
                return internal_error(call, r, "cannot collect the status");
        r = control_status_to_json(&s, &o);
        if (c->backend->status_done)
                c->backend->status_done(c->userdata, &s);
        if (r < 0)
                return r;
        return reply_put(call, o);
}

static int method_list_mounts(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { NULL };
        Control *c = userdata;
        _cleanup_plan_free_ struct plan *p = NULL;
        json_object *o;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        r = c->backend->get_plan(c->userdata, &p);
        if (r < 0)
                return error_message(call, CONTROL_ERROR_FAILED, "cannot read the mount table");
        r = control_plan_to_json(p, &o);
        if (r < 0)
                return r;
        return reply_put(call, o);
}

static int method_list_frozen(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { NULL };
        Control *c = userdata;
        ControlFrozen *f = NULL;
        size_t n = 0;
        json_object *o;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        r = c->backend->list_frozen(c->userdata, &f, &n);
        if (r < 0)
                return internal_error(call, r, "cannot list the frozen filesystems");
        r = control_frozen_to_json(f, n, &o);
        free(f);
        if (r < 0)
                return r;
        return reply_put(call, o);
}

static int method_list_hooks(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { NULL };
        Control *c = userdata;
        struct hook_list *l = NULL;
        json_object *o;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        r = c->backend->list_hooks(c->userdata, &l);
        if (r < 0)
                return error_message(call, CONTROL_ERROR_FAILED, "cannot read the hooks directory");
        r = control_hooks_to_json(l, &o);
        hook_list_free(l);
        if (r < 0)
                return r;
        return reply_put(call, o);
}

static int method_get_history(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { "limit", NULL };
        Control *c = userdata;
        json_object *v, *o, *a;
        int64_t limit = 0;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        if (json_object_object_get_ex(params, "limit", &v) && v) {
                if (!json_object_is_type(v, json_type_int))
                        return invalid_parameter(call, "limit");
                limit = json_object_get_int64(v);
                if (limit < 0)
                        return invalid_parameter(call, "limit");
        }
        r = history_to_json(c->backend->get_history(c->userdata), (size_t)limit, &a);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o) {
                json_object_put(a);
                return -ENOMEM;
        }
        add(o, "operations", a);
        return reply_put(call, o);
}

static int method_test_freeze(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { "hold_s", "hooks", NULL };
        Control *c = userdata;
        const char *message = NULL;
        double hold_s = CONTROL_HOLD_S_DEFAULT;
        bool hooks = true;
        json_object *v;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        if (json_object_object_get_ex(params, "hold_s", &v) && v) {
                if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
                        return invalid_parameter(call, "hold_s");
                hold_s = json_object_get_double(v);
                if (!isfinite(hold_s) || hold_s < 0 || hold_s > CONTROL_HOLD_S_MAX)
                        return invalid_parameter(call, "hold_s");
        }
        if (json_object_object_get_ex(params, "hooks", &v) && v) {
                if (!json_object_is_type(v, json_type_boolean))
                        return invalid_parameter(call, "hooks");
                hooks = json_object_get_boolean(v);
        }
        r = c->backend->test_freeze(c->userdata, call, hold_s, hooks, &message);
        if (r == CONTROL_E_BUSY)
                return error_message(call, CONTROL_ERROR_BUSY, message);
        if (r < 0)
                return internal_error(call, r, message ? message : "cannot start the test freeze");
        return 0;
}

static int method_thaw(struct varlink_call *call, json_object *params, void *userdata)
{
        static const char *const allowed[] = { NULL };
        Control *c = userdata;
        const char *message = NULL;
        int r;

        if (check_unknown(call, params, allowed))
                return 0;
        r = c->backend->thaw(c->userdata, call, &message);
        if (r == CONTROL_E_BUSY)
                return error_message(call, CONTROL_ERROR_BUSY, message);
        if (r < 0)
                return internal_error(call, r, message ? message : "cannot thaw");
        return 0;
}

static const struct varlink_method methods[] = {
        { "GetStatus", method_get_status, VARLINK_ACCESS_READ, 0 },
        { "ListMounts", method_list_mounts, VARLINK_ACCESS_READ, 0 },
        { "ListFrozen", method_list_frozen, VARLINK_ACCESS_READ, 0 },
        { "ListHooks", method_list_hooks, VARLINK_ACCESS_READ, 0 },
        { "GetHistory", method_get_history, VARLINK_ACCESS_READ, 0 },
        { "TestFreeze", method_test_freeze, VARLINK_ACCESS_ADMIN, VARLINK_METHOD_MORE },
        { "Thaw", method_thaw, VARLINK_ACCESS_ADMIN, 0 },
};

static const struct varlink_interface interface = {
        .name = CONTROL_INTERFACE,
        .description = control_interface_description,
        .methods = methods,
        .n_methods = ELEMENTSOF(methods),
};

int control_new(Control **ret, const ControlConfig *cfg, const ControlBackend *backend, void *userdata)
{
        struct varlink_server_config sc = {};
        const char *group_name = cfg->group_name ? cfg->group_name : CONTROL_GROUP_DEFAULT;
        struct group *g;
        Control *c;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->backend = backend;
        c->userdata = userdata;
        /* An absent group: only root may use the socket. */
        g = getgrnam(group_name);
        c->group = g ? g->gr_gid : (gid_t)-1;
        sc.group = c->group;
        sc.group_name = group_name;
        sc.decide = cfg->decide;
        sc.idle_timeout_usec = cfg->idle_timeout_usec;
        sc.product = "hvvssd";
        sc.version = HVVSS_VERSION;
        r = varlink_server_new(&c->server, &sc, c);
        if (r < 0)
                goto fail;
        r = varlink_server_add_interface(c->server, &interface);
        if (r < 0)
                goto fail;
        r = varlink_server_listen(c->server, cfg->socket_path ? cfg->socket_path : CONTROL_SOCKET_DEFAULT);
        if (r < 0)
                goto fail;
        *ret = c;
        return 0;
fail:
        control_free(c);
        return r;
}

Control *control_free(Control *c)
{
        if (!c)
                return NULL;
        varlink_server_free(c->server);
        free(c);
        return NULL;
}

int control_get_fd(const Control *c)
{
        return varlink_server_get_fd(c->server);
}

int control_dispatch(Control *c)
{
        return varlink_server_dispatch(c->server);
}

gid_t control_get_group(const Control *c)
{
        return c->group;
}
