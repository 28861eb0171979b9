/*
 * varlink-server: listener, connections, calls.
 *
 * The server is one epoll fd nested in the daemon's loop. Inside it: the
 * listening socket, one fd per connection, a timerfd armed at the nearest
 * idle deadline, and an eventfd that answers from outside dispatch (a
 * deferred reply, a notify) use to get the loop to come back.
 *
 * Lifetime rule: connections are only ever freed in the sweep at the end of
 * varlink_server_dispatch(). Everything else (a failed write, an overflowing
 * output buffer, a timeout, a hang-up) only marks a connection dead, so no
 * pointer held by an event batch or a caller's stack goes stale.
 *
 * One call per connection at a time: while a call is unanswered its
 * connection's later messages stay buffered (bounded by max_message), which
 * keeps replies in order as Varlink requires. A oneway call is finished
 * when its handler returns.
 *
 * A call is refcounted: the connection holds one reference until the final
 * answer or the peer's disappearance; a handler that defers its answer
 * takes its own. A disconnected call stays valid for its holder, answers on
 * it return -ENOTCONN, and its disconnect callback tells the holder once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include "varlink-internal.h"
#include "varlink-server.h"

#ifndef HVVSS_VERSION
#define HVVSS_VERSION "unknown"
#endif

#define ACCEPT_PAUSE_USEC (UINT64_C(1000000))

enum source_kind {
        SOURCE_LISTEN,
        SOURCE_TIMER,
        SOURCE_WAKE,
        SOURCE_CONN,
};

/* The epoll data.ptr of every fd in the server's epoll points to one of these. */
struct source {
        enum source_kind kind;
};

struct server_conn {
        struct source source;           /* first: epoll data.ptr */
        struct varlink_server *server;
        struct server_conn *prev, *next;
        struct varlink_conn *vc;
        struct varlink_creds creds;     /* groups not kept */
        enum varlink_access access;
        struct varlink_call *call;      /* the unanswered call, or NULL */
        uint32_t events;                /* the mask registered with epoll */
        uint64_t partial_since;         /* a message in progress since then; 0: none */
        uint64_t stalled_since;         /* output waiting without progress since then; 0: none */
        bool hup;                       /* the peer has closed both directions */
        bool closing;                   /* answer what is queued, then close */
        bool dead;                      /* close at the next sweep */
};

struct varlink_call {
        unsigned n_ref;
        struct server_conn *conn;       /* NULL once answered or disconnected */
        json_object *message;
        json_object *parameters;        /* owned reference */
        const char *method;             /* inside message */
        bool more, oneway;
        struct varlink_creds creds;
        enum varlink_access access;
        varlink_disconnect_fn disconnect_fn;
        void *disconnect_userdata;
};

struct varlink_server {
        struct varlink_server_config config;
        void *userdata;
        int epoll_fd, listen_fd, timer_fd, wake_fd;
        struct source listen_source, timer_source, wake_source;
        const struct varlink_interface **interfaces;
        size_t n_interfaces;
        struct server_conn *conns;
        unsigned n_conns;
        char *path;                     /* the socket we bound, unlinked at free */
        uint64_t timer_armed;           /* absolute usec; 0: disarmed */
        uint64_t accept_paused_until;   /* 0: accepting */
        bool dispatching;
        bool again;                     /* a connection needs work: sweep again */
};

/* Our own words for the standard interface every Varlink service offers. */
static const char service_description[] =
        "# The introspection interface every Varlink service provides.\n"
        "interface org.varlink.service\n"
        "\n"
        "# Who made the service, its version, and the interfaces it implements.\n"
        "method GetInfo() -> (\n"
        "  vendor: string,\n"
        "  product: string,\n"
        "  version: string,\n"
        "  url: string,\n"
        "  interfaces: []string\n"
        ")\n"
        "\n"
        "# The definition text of one implemented interface.\n"
        "method GetInterfaceDescription(interface: string) -> (description: string)\n"
        "\n"
        "# No interface of that name is implemented.\n"
        "error InterfaceNotFound (interface: string)\n"
        "\n"
        "# The interface has no method of that name.\n"
        "error MethodNotFound (method: string)\n"
        "\n"
        "# The method is defined but this service does not implement it.\n"
        "error MethodNotImplemented (method: string)\n"
        "\n"
        "# A parameter is missing or has an invalid value.\n"
        "error InvalidParameter (parameter: string)\n";

static int service_get_info(struct varlink_call *call, json_object *parameters, void *userdata);
static int service_get_interface_description(struct varlink_call *call, json_object *parameters, void *userdata);

static const struct varlink_method service_methods[] = {
        { "GetInfo", service_get_info, VARLINK_ACCESS_NONE, 0 },
        { "GetInterfaceDescription", service_get_interface_description, VARLINK_ACCESS_NONE, 0 },
};

static const struct varlink_interface service_interface = {
        .name = "org.varlink.service",
        .description = service_description,
        .methods = service_methods,
        .n_methods = VL_ELEMENTSOF(service_methods),
};

static void server_wake(struct varlink_server *s)
{
        uint64_t one = 1;

        s->again = true;
        if (!s->dispatching && s->wake_fd >= 0)
                (void)!write(s->wake_fd, &one, sizeof(one));
}

static void conn_kill(struct server_conn *c)
{
        c->dead = true;
        server_wake(c->server);
}

/* Queues one message; an overflowing backlog kills the connection. */
static int conn_queue(struct server_conn *c, json_object *message)
{
        int r;

        if (c->dead)
                return -ENOTCONN;
        r = varlink_conn_queue(c->vc, message);
        if (r == -ENOBUFS) {
                /* Replies to a burst of calls pile up before the sweep writes them:
                 * write now, and drop the peer only if it really does not read. */
                r = varlink_conn_write(c->vc);
                if (r >= 0)
                        r = varlink_conn_queue(c->vc, message);
        }
        if (r < 0) {
                conn_kill(c);
                return r;
        }
        server_wake(c->server);
        return 0;
}

static int conn_send_error(struct server_conn *c, const char *error, const char *key, const char *value)
{
        vl_cleanup_json json_object *m = NULL, *p = NULL;
        int r;

        m = json_object_new_object();
        p = json_object_new_object();
        if (!m || !p)
                return -ENOMEM;
        if (key) {
                r = vl_json_add_string(p, key, value);
                if (r < 0)
                        return r;
        }
        r = vl_json_add_string(m, "error", error);
        if (r < 0)
                return r;
        r = vl_json_add(m, "parameters", json_object_get(p));
        if (r < 0)
                return r;
        return conn_queue(c, m);
}

/* A request we cannot serve at all: say why, then close once that is sent. */
static void conn_protocol_error(struct server_conn *c, const char *message)
{
        if (conn_send_error(c, VARLINK_ERROR_PROTOCOL, "message", message) < 0)
                conn_kill(c);
        c->closing = true;
}

struct varlink_call *varlink_call_ref(struct varlink_call *call)
{
        if (call)
                call->n_ref++;
        return call;
}

struct varlink_call *varlink_call_unref(struct varlink_call *call)
{
        if (!call || --call->n_ref > 0)
                return NULL;
        json_object_put(call->parameters);
        json_object_put(call->message);
        free(call);
        return NULL;
}

/* The final answer went out (or the peer is gone): release the connection's reference. */
static void call_detach(struct varlink_call *call)
{
        struct server_conn *c = call->conn;

        if (!c)
                return;
        call->conn = NULL;
        if (c->call == call) {
                c->call = NULL;
                server_wake(c->server);
                varlink_call_unref(call);
        }
}

static int call_send(struct varlink_call *call, json_object *message, bool final)
{
        int r;

        if (call->oneway) {
                if (final)
                        call_detach(call);
                return 0;
        }
        if (!call->conn || call->conn->dead)
                return -ENOTCONN;
        r = conn_queue(call->conn, message);
        if (final || r < 0)
                call_detach(call);
        return r;
}

static int call_answer(struct varlink_call *call, const char *error, json_object *parameters, bool continues)
{
        vl_cleanup_json json_object *m = NULL;
        int r;

        m = json_object_new_object();
        if (!m)
                return -ENOMEM;
        if (error) {
                r = vl_json_add_string(m, "error", error);
                if (r < 0)
                        return r;
        }
        r = vl_json_add(m, "parameters", parameters ? json_object_get(parameters) : json_object_new_object());
        if (r < 0)
                return r;
        if (continues) {
                r = vl_json_add(m, "continues", json_object_new_boolean(true));
                if (r < 0)
                        return r;
        }
        return call_send(call, m, !continues);
}

int varlink_call_reply(struct varlink_call *call, json_object *parameters)
{
        return call_answer(call, NULL, parameters, false);
}

int varlink_call_notify(struct varlink_call *call, json_object *parameters)
{
        if (!call->more)
                return -EINVAL;
        return call_answer(call, NULL, parameters, true);
}

int varlink_call_error(struct varlink_call *call, const char *error, json_object *parameters)
{
        if (!error)
                return -EINVAL;
        return call_answer(call, error, parameters, false);
}

static int call_error_string(struct varlink_call *call, const char *error, const char *key, const char *value)
{
        vl_cleanup_json json_object *p = json_object_new_object();
        int r;

        if (!p)
                return -ENOMEM;
        r = vl_json_add_string(p, key, value);
        if (r < 0)
                return r;
        return varlink_call_error(call, error, p);
}

static int call_error_errno(struct varlink_call *call, int error)
{
        vl_cleanup_json json_object *p = json_object_new_object();
        int r;

        if (!p)
                return -ENOMEM;
        r = vl_json_add(p, "errno", json_object_new_int(error));
        if (r < 0)
                return r;
        r = vl_json_add_string(p, "message", strerror(error));
        if (r < 0)
                return r;
        return varlink_call_error(call, VARLINK_ERROR_INTERNAL, p);
}

bool varlink_call_more(const struct varlink_call *call)
{
        return call->more;
}

bool varlink_call_oneway(const struct varlink_call *call)
{
        return call->oneway;
}

bool varlink_call_is_connected(const struct varlink_call *call)
{
        return call->conn && !call->conn->dead && !call->conn->hup;
}

const char *varlink_call_method(const struct varlink_call *call)
{
        return call->method;
}

const struct varlink_creds *varlink_call_creds(const struct varlink_call *call)
{
        return &call->creds;
}

enum varlink_access varlink_call_access(const struct varlink_call *call)
{
        return call->access;
}

void varlink_call_set_disconnect(struct varlink_call *call, varlink_disconnect_fn fn, void *userdata)
{
        call->disconnect_fn = fn;
        call->disconnect_userdata = userdata;
}

static int service_get_info(struct varlink_call *call, json_object *parameters, void *userdata)
{
        struct varlink_server *s = call->conn->server;
        vl_cleanup_json json_object *p = NULL;
        json_object *ifaces;
        int r;

        (void)parameters;
        (void)userdata;
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        if ((r = vl_json_add_string(p, "vendor", s->config.vendor)) < 0 ||
            (r = vl_json_add_string(p, "product", s->config.product)) < 0 ||
            (r = vl_json_add_string(p, "version", s->config.version)) < 0 ||
            (r = vl_json_add_string(p, "url", s->config.url)) < 0)
                return r;
        ifaces = json_object_new_array();
        r = vl_json_add(p, "interfaces", ifaces);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_interfaces; i++) {
                json_object *n = json_object_new_string(s->interfaces[i]->name);

                if (!n || json_object_array_add(ifaces, n) < 0) {
                        json_object_put(n);
                        return -ENOMEM;
                }
        }
        return varlink_call_reply(call, p);
}

static const struct varlink_interface *server_find_interface(struct varlink_server *s, const char *name, size_t len)
{
        for (size_t i = 0; i < s->n_interfaces; i++)
                if (strlen(s->interfaces[i]->name) == len && strncmp(s->interfaces[i]->name, name, len) == 0)
                        return s->interfaces[i];
        return NULL;
}

static int service_get_interface_description(struct varlink_call *call, json_object *parameters, void *userdata)
{
        struct varlink_server *s = call->conn->server;
        vl_cleanup_json json_object *p = NULL;
        const struct varlink_interface *iface;
        json_object *name;
        int r;

        (void)userdata;
        if (!json_object_object_get_ex(parameters, "interface", &name) || !json_object_is_type(name, json_type_string))
                return call_error_string(call, VARLINK_ERROR_INVALID_PARAMETER, "parameter", "interface");
        iface = server_find_interface(s, json_object_get_string(name), (size_t)json_object_get_string_len(name));
        if (!iface)
                return call_error_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", json_object_get_string(name));
        p = json_object_new_object();
        if (!p)
                return -ENOMEM;
        r = vl_json_add_string(p, "description", iface->description ? iface->description : "");
        if (r < 0)
                return r;
        return varlink_call_reply(call, p);
}

/* Optional boolean member: false if absent or null; -EINVAL if of another type. */
static int message_bool(json_object *m, const char *key, bool *ret)
{
        json_object *v;

        if (!json_object_object_get_ex(m, key, &v) || !v) {
                *ret = false;
                return 0;
        }
        if (!json_object_is_type(v, json_type_boolean))
                return -EINVAL;
        *ret = json_object_get_boolean(v);
        return 0;
}

static void conn_handle_call(struct server_conn *c, json_object *message)
{
        struct varlink_server *s = c->server;
        const struct varlink_interface *iface;
        const struct varlink_method *method = NULL;
        struct varlink_call *call;
        json_object *m, *p;
        const char *name, *dot;
        bool more, oneway, upgrade;
        int r;

        if (!json_object_object_get_ex(message, "method", &m) || !json_object_is_type(m, json_type_string))
                return conn_protocol_error(c, "the call has no \"method\" string");
        if (json_object_object_get_ex(message, "parameters", &p) && p && !json_object_is_type(p, json_type_object))
                return conn_protocol_error(c, "\"parameters\" is not an object");
        if (message_bool(message, "more", &more) < 0 || message_bool(message, "oneway", &oneway) < 0 ||
            message_bool(message, "upgrade", &upgrade) < 0)
                return conn_protocol_error(c, "\"more\", \"oneway\" or \"upgrade\" is not a boolean");

        call = calloc(1, sizeof(*call));
        if (!call) {
                conn_kill(c);
                return;
        }
        call->n_ref = 1; /* the connection's */
        call->conn = c;
        call->message = json_object_get(message);
        call->parameters = p ? json_object_get(p) : json_object_new_object();
        call->method = json_object_get_string(m);
        call->more = more && !oneway;
        call->oneway = oneway;
        call->creds = c->creds;
        call->access = c->access;
        if (!call->parameters) {
                varlink_call_unref(call);
                conn_kill(c);
                return;
        }
        if (!oneway)
                c->call = call;
        varlink_call_ref(call); /* ours, for the duration of this function */

        name = call->method;
        dot = strrchr(name, '.');
        if (upgrade)
                r = call_error_string(call, VARLINK_ERROR_INVALID_PARAMETER, "parameter", "upgrade");
        else if (!dot || dot == name || dot[1] == '\0')
                r = call_error_string(call, VARLINK_ERROR_METHOD_NOT_FOUND, "method", name);
        else if (!(iface = server_find_interface(s, name, (size_t)(dot - name)))) {
                char buf[256];

                snprintf(buf, sizeof(buf), "%.*s", (int)(dot - name), name);
                r = call_error_string(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", buf);
        } else {
                for (size_t i = 0; i < iface->n_methods && !method; i++)
                        if (strcmp(iface->methods[i].name, dot + 1) == 0)
                                method = &iface->methods[i];
                if (!method)
                        r = call_error_string(call, VARLINK_ERROR_METHOD_NOT_FOUND, "method", name);
                else if (c->access < method->access) {
                        char buf[256];

                        if (method->access == VARLINK_ACCESS_ADMIN)
                                snprintf(buf, sizeof(buf), "%s is for root only: run as root", name);
                        else
                                snprintf(buf, sizeof(buf), "%s needs read access: run as root or join group %s",
                                         name, s->config.group_name);
                        r = call_error_string(call, VARLINK_ERROR_NOT_PERMITTED, "message", buf);
                } else if (call->more && !(method->flags & VARLINK_METHOD_MORE))
                        r = call_error_string(call, VARLINK_ERROR_INVALID_PARAMETER, "parameter", "more");
                else if (!method->fn)
                        r = call_error_string(call, VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, "method", name);
                else {
                        r = method->fn(call, call->parameters, s->userdata);
                        if (r < 0 && call->conn && c->call == call)
                                r = call_error_errno(call, -r);
                }
        }
        (void)r; /* answering failures already killed the connection */

        if (oneway) {
                /*
                 * Nothing will be sent: the connection's reference goes now.
                 * Ours is still held, so this cannot be the last one.
                 */
                call->conn = NULL;
                call->n_ref--;
        }
        varlink_call_unref(call);
}

static struct server_conn *conn_free(struct server_conn *c)
{
        struct varlink_server *s;
        struct varlink_call *call;

        if (!c)
                return NULL;
        s = c->server;
        call = c->call;
        if (call) {
                c->call = NULL;
                call->conn = NULL;
                if (call->disconnect_fn)
                        call->disconnect_fn(call, call->disconnect_userdata);
                varlink_call_unref(call);
        }
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, varlink_conn_get_fd(c->vc), NULL);
        varlink_conn_free(c->vc);
        free(c);
        return NULL;
}

static void conn_update_events(struct server_conn *c)
{
        struct epoll_event ev = { .data.ptr = &c->source };
        uint32_t want = 0;

        if (!varlink_conn_eof(c->vc) && !c->closing && !varlink_conn_input_full(c->vc))
                want |= EPOLLIN | EPOLLRDHUP;
        if (varlink_conn_output_pending(c->vc) > 0)
                want |= EPOLLOUT;
        if (want == c->events)
                return;
        ev.events = want;
        if (epoll_ctl(c->server->epoll_fd, EPOLL_CTL_MOD, varlink_conn_get_fd(c->vc), &ev) < 0)
                conn_kill(c);
        else
                c->events = want;
}

static void conn_io(struct server_conn *c, uint32_t events)
{
        if (c->dead)
                return;
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                if (varlink_conn_read(c->vc) < 0)
                        conn_kill(c);
        if (events & (EPOLLHUP | EPOLLERR))
                c->hup = true;
        c->server->again = true;
}

/* Handles buffered messages, writes what is queued, and decides the connection's fate. */
static void conn_process(struct server_conn *c, uint64_t now)
{
        size_t before, after;
        int r;

        while (!c->dead && !c->closing && !c->call) {
                vl_cleanup_json json_object *m = NULL;

                r = varlink_conn_next(c->vc, &m);
                if (r == VARLINK_E_AGAIN)
                        break;
                if (r == VARLINK_E_TOO_LARGE) {
                        char buf[96];

                        snprintf(buf, sizeof(buf), "message larger than %zu bytes", c->server->config.max_message);
                        conn_protocol_error(c, buf);
                } else if (r == VARLINK_E_BAD_MESSAGE)
                        conn_protocol_error(c, "the message is not a JSON object");
                else if (r < 0)
                        conn_kill(c);
                else
                        conn_handle_call(c, m);
        }
        if (c->dead)
                return;

        if (!c->call && !c->closing && varlink_conn_input_partial(c->vc) > 0) {
                if (c->partial_since == 0)
                        c->partial_since = now;
        } else
                c->partial_since = 0;

        if (c->hup) {
                /* Gone in both directions: nobody will read an answer. */
                conn_kill(c);
                return;
        }
        if (varlink_conn_eof(c->vc) && !c->call)
                c->closing = true;

        before = varlink_conn_output_pending(c->vc);
        if (before > 0) {
                r = varlink_conn_write(c->vc);
                if (r < 0) {
                        conn_kill(c);
                        return;
                }
        }
        after = varlink_conn_output_pending(c->vc);
        if (after == 0)
                c->stalled_since = 0;
        else if (after < before || c->stalled_since == 0)
                c->stalled_since = now;

        if (c->closing && after == 0) {
                conn_kill(c);
                return;
        }
        conn_update_events(c);
}

static uint64_t conn_deadline(const struct server_conn *c, uint64_t timeout)
{
        uint64_t d = UINT64_MAX;

        if (c->partial_since > 0)
                d = c->partial_since + timeout;
        if (c->stalled_since > 0 && c->stalled_since + timeout < d)
                d = c->stalled_since + timeout;
        return d;
}

static void server_update_listen(struct varlink_server *s, bool enable)
{
        struct epoll_event ev = { .events = enable ? EPOLLIN : 0, .data.ptr = &s->listen_source };

        epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
}

static int server_add_conn(struct varlink_server *s, int fd_in)
{
        vl_cleanup_close int fd = fd_in;
        vl_cleanup_free gid_t *groups = NULL;
        struct varlink_creds creds;
        struct server_conn *c;
        struct epoll_event ev;
        int r;

        if (s->n_conns >= s->config.max_connections)
                return -EMFILE;
        r = varlink_creds_from_fd(fd, &creds, &groups);
        if (r < 0)
                return r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = varlink_conn_new(&c->vc, fd, s->config.max_message, s->config.max_output);
        if (r < 0) {
                free(c);
                return r;
        }
        fd = -1; /* owned by c->vc */
        c->source.kind = SOURCE_CONN;
        c->server = s;
        c->access = s->config.decide(&creds, s->config.group);
        creds.groups = NULL;
        creds.n_groups = 0;
        c->creds = creds;
        c->events = EPOLLIN | EPOLLRDHUP;
        ev = (struct epoll_event){ .events = c->events, .data.ptr = &c->source };
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, varlink_conn_get_fd(c->vc), &ev) < 0) {
                r = -errno;
                varlink_conn_free(c->vc);
                free(c);
                return r;
        }
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        return 0;
}

static void server_accept(struct varlink_server *s, uint64_t now)
{
        for (;;) {
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        /* Out of fds or memory: stop accepting for a while rather than spin. */
                        s->accept_paused_until = now + ACCEPT_PAUSE_USEC;
                        server_update_listen(s, false);
                        return;
                }
                (void)server_add_conn(s, fd); /* a refused peer just sees the connection close */
        }
}

static int server_arm_timer(struct varlink_server *s, uint64_t deadline)
{
        struct itimerspec its = {};

        if (deadline == UINT64_MAX)
                deadline = 0;
        if (deadline == s->timer_armed)
                return 0;
        if (deadline > 0) {
                its.it_value.tv_sec = (time_t)(deadline / 1000000);
                its.it_value.tv_nsec = (long)(deadline % 1000000) * 1000;
        }
        if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
                return -errno;
        s->timer_armed = deadline;
        return 0;
}

static void drain_fd(int fd)
{
        uint64_t v;

        while (read(fd, &v, sizeof(v)) > 0)
                ;
}

int varlink_server_dispatch(struct varlink_server *s)
{
        struct epoll_event events[16];
        uint64_t now, nearest;
        int n, rounds = 0;

        s->dispatching = true;
        now = varlink_now_usec();
        do {
                n = epoll_wait(s->epoll_fd, events, (int)VL_ELEMENTSOF(events), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        s->dispatching = false;
                        return -errno;
                }
                for (int i = 0; i < n; i++) {
                        struct source *src = events[i].data.ptr;

                        switch (src->kind) {
                        case SOURCE_LISTEN:
                                server_accept(s, now);
                                break;
                        case SOURCE_TIMER:
                        case SOURCE_WAKE:
                                drain_fd(src->kind == SOURCE_TIMER ? s->timer_fd : s->wake_fd);
                                if (src->kind == SOURCE_TIMER)
                                        s->timer_armed = 0;
                                s->again = true;
                                break;
                        case SOURCE_CONN:
                                conn_io((struct server_conn *)src, events[i].events);
                                break;
                        }
                }
                /* Bounded, so a flood of events cannot keep the daemon's other sources waiting. */
        } while (n == (int)VL_ELEMENTSOF(events) && ++rounds < 4);

        /* The sweep: every connection is small and few, so look at each. */
        s->again = true;
        for (int pass = 0; s->again && pass < 8; pass++) {
                s->again = false;
                for (struct server_conn *c = s->conns; c; c = c->next)
                        conn_process(c, now);
        }
        if (s->again) /* still work left: come back through the daemon's loop */
                (void)!write(s->wake_fd, &(uint64_t){ 1 }, sizeof(uint64_t));

        nearest = UINT64_MAX;
        for (struct server_conn *c = s->conns, *next; c; c = next) {
                uint64_t d = conn_deadline(c, s->config.idle_timeout_usec);

                next = c->next;
                if (!c->dead && d <= now)
                        c->dead = true;
                if (c->dead) {
                        conn_free(c);
                        continue;
                }
                if (d < nearest)
                        nearest = d;
        }

        if (s->accept_paused_until > 0) {
                if (s->accept_paused_until <= now || s->n_conns < s->config.max_connections / 2) {
                        s->accept_paused_until = 0;
                        server_update_listen(s, true);
                } else if (s->accept_paused_until < nearest)
                        nearest = s->accept_paused_until;
        }

        s->dispatching = false;
        return server_arm_timer(s, nearest);
}

int varlink_server_new(struct varlink_server **ret, const struct varlink_server_config *config, void *userdata)
{
        VL_CLEANUP(varlink_server_freep) struct varlink_server *s = NULL;
        struct epoll_event ev;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->epoll_fd = s->listen_fd = s->timer_fd = s->wake_fd = -1;
        if (config)
                s->config = *config;
        else
                s->config.group = (gid_t)-1;
        if (!s->config.group_name)
                s->config.group_name = "hyperv-vss";
        if (!s->config.max_message)
                s->config.max_message = VARLINK_MAX_MESSAGE_DEFAULT;
        if (!s->config.max_output)
                s->config.max_output = VARLINK_MAX_OUTPUT_DEFAULT;
        if (!s->config.idle_timeout_usec)
                s->config.idle_timeout_usec = VARLINK_IDLE_TIMEOUT_USEC_DEFAULT;
        if (!s->config.max_connections)
                s->config.max_connections = VARLINK_MAX_CONNECTIONS_DEFAULT;
        if (!s->config.vendor)
                s->config.vendor = "hyperv-vss";
        if (!s->config.product)
                s->config.product = "hvvssd";
        if (!s->config.version)
                s->config.version = HVVSS_VERSION;
        if (!s->config.url)
                s->config.url = "https://github.com/hyperv-vss/hyperv-vss";
        if (!s->config.decide)
                s->config.decide = varlink_access_decide;
        s->userdata = userdata;
        s->listen_source.kind = SOURCE_LISTEN;
        s->timer_source.kind = SOURCE_TIMER;
        s->wake_source.kind = SOURCE_WAKE;

        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                return -errno;
        s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->timer_fd < 0)
                return -errno;
        s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->wake_fd < 0)
                return -errno;
        ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &s->timer_source };
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0)
                return -errno;
        ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &s->wake_source };
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->wake_fd, &ev) < 0)
                return -errno;
        if (varlink_server_add_interface(s, &service_interface) < 0)
                return -ENOMEM;

        *ret = vl_steal(&s);
        return 0;
}

struct varlink_server *varlink_server_free(struct varlink_server *s)
{
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        if (s->path) {
                if (s->listen_fd >= 0)
                        unlink(s->path);
                free(s->path);
        }
        if (s->listen_fd >= 0)
                close(s->listen_fd);
        if (s->timer_fd >= 0)
                close(s->timer_fd);
        if (s->wake_fd >= 0)
                close(s->wake_fd);
        if (s->epoll_fd >= 0)
                close(s->epoll_fd);
        free(s->interfaces);
        free(s);
        return NULL;
}

int varlink_server_add_interface(struct varlink_server *s, const struct varlink_interface *iface)
{
        const struct varlink_interface **l;

        if (!iface || !iface->name || server_find_interface(s, iface->name, strlen(iface->name)))
                return -EINVAL;
        l = realloc(s->interfaces, (s->n_interfaces + 1) * sizeof(*l));
        if (!l)
                return -ENOMEM;
        l[s->n_interfaces++] = iface;
        s->interfaces = l;
        return 0;
}

int varlink_server_listen_fd(struct varlink_server *s, int fd)
{
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->listen_source };
        int flags;

        if (s->listen_fd >= 0)
                return -EBUSY;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -errno;
        s->listen_fd = fd;
        return 0;
}

/* mkdir -p of the directory holding @path; directories we create get 0755 whatever the umask. */
static int mkdir_parents(const char *path)
{
        vl_cleanup_free char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, 0755) == 0) {
                        if (chmod(p, 0755) < 0)
                                return -errno;
                } else if (errno != EEXIST)
                        return -errno;
                *slash = '/';
        }
        return 0;
}

/* Removes a socket file nobody listens on; -EADDRINUSE if somebody does. */
static int remove_stale_socket(const struct sockaddr_un *sa, socklen_t len)
{
        vl_cleanup_close int fd = -1;
        struct stat st;

        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *)sa, len) == 0 || errno == EAGAIN)
                return -EADDRINUSE;
        if (errno != ECONNREFUSED)
                return -errno;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int varlink_server_listen(struct varlink_server *s, const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        vl_cleanup_close int fd = -1;
        vl_cleanup_free char *copy = NULL;
        socklen_t len;
        mode_t old;
        int r;

        if (s->listen_fd >= 0)
                return -EBUSY;
        if (!path || path[0] != '/')
                return -EINVAL;
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        r = mkdir_parents(path);
        if (r < 0)
                return r;
        r = remove_stale_socket(&sa, len);
        if (r < 0)
                return r;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        old = umask(0177); /* born 0600: nobody else may connect before the group is set */
        r = bind(fd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
        umask(old);
        if (r < 0)
                return r;
        if (s->config.group != (gid_t)-1 &&
            (fchownat(AT_FDCWD, path, (uid_t)-1, s->config.group, AT_SYMLINK_NOFOLLOW) < 0 || chmod(path, 0660) < 0)) {
                r = -errno;
                unlink(path);
                return r;
        }
        if (listen(fd, 128) < 0) {
                r = -errno;
                unlink(path);
                return r;
        }
        r = varlink_server_listen_fd(s, fd);
        if (r < 0) {
                unlink(path);
                return r;
        }
        fd = -1;
        s->path = vl_steal(&copy);
        return 0;
}

int varlink_server_get_fd(const struct varlink_server *s)
{
        return s->epoll_fd;
}

unsigned varlink_server_n_connections(const struct varlink_server *s)
{
        return s->n_conns;
}
