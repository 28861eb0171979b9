/* test-varlink: framing, server dispatch, authorization and the client, over real sockets in a temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "varlink-client.h"
#include "varlink-server.h"
#include "varlink.h"

#ifndef HVVSS_VERSION
#define HVVSS_VERSION "unknown"
#endif

#define TEST_DESCRIPTION "interface io.hypervvss\nmethod Echo() -> ()\n"

/* ---- the test service, run by a server thread ---- */

struct stream {
        struct varlink_call *call;
        int next, count;
        bool deferred; /* one plain reply on the next tick instead of a stream */
};

static struct stream streams[8];           /* server thread only */
static atomic_int disconnects;
static atomic_int pokes;

static void stream_drop(struct stream *st)
{
        varlink_call_unref(st->call);
        memset(st, 0, sizeof(*st));
}

static void on_disconnect(struct varlink_call *call, void *userdata)
{
        struct stream *st = userdata;

        assert_ptr_equal(st->call, call);
        assert_false(varlink_call_is_connected(call));
        assert_int_equal(varlink_call_reply(call, NULL), -ENOTCONN);
        stream_drop(st);
        atomic_fetch_add(&disconnects, 1);
}

static struct stream *stream_add(struct varlink_call *call)
{
        for (size_t i = 0; i < 8; i++)
                if (!streams[i].call) {
                        streams[i].call = varlink_call_ref(call);
                        varlink_call_set_disconnect(call, on_disconnect, &streams[i]);
                        return &streams[i];
                }
        return NULL;
}

static int reply_int(struct varlink_call *call, const char *key, int v, bool final)
{
        json_object *p = json_object_new_object();
        int r;

        json_object_object_add(p, key, json_object_new_int(v));
        r = final ? varlink_call_reply(call, p) : varlink_call_notify(call, p);
        json_object_put(p);
        return r;
}

static void streams_tick(void)
{
        for (size_t i = 0; i < 8; i++) {
                struct stream *st = &streams[i];

                if (!st->call)
                        continue;
                if (st->deferred) {
                        assert_int_equal(reply_int(st->call, "deferred", 1, true), 0);
                        stream_drop(st);
                } else if (st->next < st->count) {
                        assert_int_equal(reply_int(st->call, "progress", st->next++, false), 0);
                } else {
                        assert_int_equal(reply_int(st->call, "done", st->count, true), 0);
                        stream_drop(st);
                }
        }
}

static int m_echo(struct varlink_call *call, json_object *parameters, void *userdata)
{
        (void)userdata;
        return varlink_call_reply(call, parameters);
}

static int m_admin(struct varlink_call *call, json_object *parameters, void *userdata)
{
        (void)parameters;
        (void)userdata;
        return varlink_call_reply(call, NULL);
}

static int m_fail(struct varlink_call *call, json_object *parameters, void *userdata)
{
        (void)call;
        (void)parameters;
        (void)userdata;
        return -EIO;
}

static int m_big(struct varlink_call *call, json_object *parameters, void *userdata)
{
        static char blob[32 * 1024];
        json_object *p = json_object_new_object();
        int r;

        (void)parameters;
        (void)userdata;
        if (!blob[0])
                memset(blob, 'x', sizeof(blob) - 1);
        json_object_object_add(p, "blob", json_object_new_string(blob));
        r = varlink_call_reply(call, p);
        json_object_put(p);
        return r;
}

static int m_poke(struct varlink_call *call, json_object *parameters, void *userdata)
{
        (void)parameters;
        (void)userdata;
        assert_true(varlink_call_oneway(call));
        atomic_fetch_add(&pokes, 1);
        return varlink_call_reply(call, NULL); /* discarded */
}

static int m_stream(struct varlink_call *call, json_object *parameters, void *userdata)
{
        struct stream *st;
        json_object *n;

        (void)userdata;
        if (!varlink_call_more(call))
                return varlink_call_error(call, "io.hypervvss.ExpectedMore", NULL);
        st = stream_add(call);
        if (!st)
                return -EBUSY;
        st->count = json_object_object_get_ex(parameters, "count", &n) ? json_object_get_int(n) : 3;
        /* The first event at once, the rest from later loop iterations. */
        return reply_int(call, "progress", st->next++, false);
}

static int m_deferred(struct varlink_call *call, json_object *parameters, void *userdata)
{
        struct stream *st;

        (void)parameters;
        (void)userdata;
        st = stream_add(call);
        if (!st)
                return -EBUSY;
        st->deferred = true;
        return 0;
}

static const struct varlink_method test_methods[] = {
        { "Echo", m_echo, VARLINK_ACCESS_READ, 0 },
        { "Admin", m_admin, VARLINK_ACCESS_ADMIN, 0 },
        { "Fail", m_fail, VARLINK_ACCESS_READ, 0 },
        { "Big", m_big, VARLINK_ACCESS_READ, 0 },
        { "Poke", m_poke, VARLINK_ACCESS_READ, 0 },
        { "Stream", m_stream, VARLINK_ACCESS_READ, VARLINK_METHOD_MORE },
        { "Deferred", m_deferred, VARLINK_ACCESS_READ, 0 },
};

static const struct varlink_interface test_interface = {
        .name = "io.hypervvss",
        .description = TEST_DESCRIPTION,
        .methods = test_methods,
        .n_methods = sizeof(test_methods) / sizeof(test_methods[0]),
};

/* ---- a server driven by its own epoll loop in a thread, as the daemon would ---- */

struct srv {
        struct varlink_server *server;
        pthread_t thread;
        int stop_fd, tick_fd;
        char dir[64];
        char path[128];
};

static void *srv_loop(void *arg)
{
        struct srv *t = arg;
        int ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev;

        assert_true(ep >= 0);
        ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = varlink_server_get_fd(t->server) };
        assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev), 0);
        ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = t->stop_fd };
        assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev), 0);
        ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = t->tick_fd };
        assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev), 0);

        for (;;) {
                struct epoll_event events[4];
                int n = epoll_wait(ep, events, 4, -1);

                for (int i = 0; i < n; i++) {
                        uint64_t v;

                        if (events[i].data.fd == t->stop_fd) {
                                close(ep);
                                return NULL;
                        }
                        if (events[i].data.fd == t->tick_fd) {
                                (void)!read(t->tick_fd, &v, sizeof(v));
                                streams_tick();
                        } else
                                assert_int_equal(varlink_server_dispatch(t->server), 0);
                }
        }
}

static void srv_start(struct srv *t, const struct varlink_server_config *config)
{
        struct itimerspec its = { .it_interval.tv_nsec = 10 * 1000 * 1000, .it_value.tv_nsec = 10 * 1000 * 1000 };
        struct varlink_server_config cfg = { .group = (gid_t)-1 };

        /* Without root, the real rule grants our own group read access. */
        if (config)
                cfg = *config;
        if (cfg.group == (gid_t)-1 && !cfg.decide)
                cfg.group = getgid();
        config = &cfg;

        memset(streams, 0, sizeof(streams));
        atomic_store(&disconnects, 0);
        atomic_store(&pokes, 0);
        strcpy(t->dir, "/tmp/test-varlink-XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        snprintf(t->path, sizeof(t->path), "%s/run/control", t->dir);
        assert_int_equal(varlink_server_new(&t->server, config, NULL), 0);
        assert_int_equal(varlink_server_add_interface(t->server, &test_interface), 0);
        assert_int_equal(varlink_server_listen(t->server, t->path), 0);
        t->stop_fd = eventfd(0, EFD_CLOEXEC);
        t->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        assert_int_equal(timerfd_settime(t->tick_fd, 0, &its, NULL), 0);
        assert_int_equal(pthread_create(&t->thread, NULL, srv_loop, t), 0);
}

static void srv_stop(struct srv *t)
{
        char sub[160];

        assert_int_equal(write(t->stop_fd, &(uint64_t){ 1 }, sizeof(uint64_t)), 8);
        assert_int_equal(pthread_join(t->thread, NULL), 0);
        for (size_t i = 0; i < 8; i++)
                if (streams[i].call)
                        varlink_call_set_disconnect(streams[i].call, NULL, NULL);
        t->server = varlink_server_free(t->server);
        for (size_t i = 0; i < 8; i++)
                if (streams[i].call)
                        stream_drop(&streams[i]);
        /* varlink_server_free() removed the socket. */
        assert_int_equal(access(t->path, F_OK), -1);
        snprintf(sub, sizeof(sub), "%s/run", t->dir);
        assert_int_equal(rmdir(sub), 0);
        assert_int_equal(rmdir(t->dir), 0);
        close(t->stop_fd);
        close(t->tick_fd);
}

/* A raw peer: bytes out by hand, messages in through the framing under test. */
static struct varlink_conn *raw_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct varlink_conn *c = NULL;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        strcpy(sa.sun_path, path);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(varlink_conn_new(&c, fd, 1024 * 1024, 0), 0);
        return c;
}

static void raw_send(struct varlink_conn *c, const char *bytes, size_t n)
{
        struct pollfd p = { .fd = varlink_conn_get_fd(c), .events = POLLOUT };

        while (n > 0) {
                ssize_t k = send(p.fd, bytes, n, MSG_NOSIGNAL);

                if (k < 0 && errno == EAGAIN) {
                        assert_int_equal(poll(&p, 1, 2000), 1);
                        continue;
                }
                assert_true(k > 0);
                bytes += k;
                n -= (size_t)k;
        }
}

/* The next message, or NULL at end of file; fails the test after 2 s. */
static json_object *raw_receive(struct varlink_conn *c)
{
        struct pollfd p = { .fd = varlink_conn_get_fd(c), .events = POLLIN };
        json_object *m = NULL;

        for (;;) {
                int r = varlink_conn_next(c, &m);

                if (r == 0)
                        return m;
                assert_int_equal(r, VARLINK_E_AGAIN);
                if (varlink_conn_eof(c))
                        return NULL;
                assert_int_equal(poll(&p, 1, 2000), 1);
                r = varlink_conn_read(c);
                if (r == -ECONNRESET)
                        return NULL;
                assert_int_equal(r, 0);
        }
}

static const char *str_member(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return json_object_get_string(v);
}

static const char *param_member(json_object *m, const char *key)
{
        json_object *p;

        if (!json_object_object_get_ex(m, "parameters", &p))
                return NULL;
        return str_member(p, key);
}

/* ---- framing ---- */

static void pair(struct varlink_conn **a, int *b, size_t max_message, size_t max_output)
{
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_conn_new(a, sv[0], max_message, max_output), 0);
        *b = sv[1];
}

static void test_framing_byte_by_byte(void **state)
{
        static const char msg[] = "{\"method\":\"a.B\",\"parameters\":{\"x\":\"\\u00e9\"}}";
        struct varlink_conn *c;
        json_object *m = NULL;
        int b;

        (void)state;
        pair(&c, &b, 0, 0);
        for (size_t i = 0; i < sizeof(msg); i++) { /* includes the NUL */
                assert_int_equal(write(b, msg + i, 1), 1);
                assert_int_equal(varlink_conn_read(c), 0);
                if (i + 1 < sizeof(msg)) {
                        assert_int_equal(varlink_conn_next(c, &m), VARLINK_E_AGAIN);
                        assert_int_equal(varlink_conn_input_partial(c), i + 1);
                }
        }
        assert_int_equal(varlink_conn_next(c, &m), 0);
        assert_string_equal(str_member(m, "method"), "a.B");
        json_object_put(m);
        assert_int_equal(varlink_conn_next(c, &m), VARLINK_E_AGAIN);
        assert_int_equal(varlink_conn_input_partial(c), 0);
        close(b);
        assert_int_equal(varlink_conn_read(c), 0);
        assert_true(varlink_conn_eof(c));
        varlink_conn_free(c);
}

static void test_framing_many_in_one_read(void **state)
{
        static const char bytes[] = "{\"a\":1}\0{\"b\":2}\0{\"c\":3}\0{\"d\"";
        struct varlink_conn *c;
        json_object *m;
        int b;

        (void)state;
        pair(&c, &b, 0, 0);
        assert_int_equal(write(b, bytes, sizeof(bytes) - 1), (ssize_t)sizeof(bytes) - 1);
        assert_int_equal(varlink_conn_read(c), 0);
        for (const char *k = "abc"; *k; k++) {
                char key[2] = { *k, 0 };

                assert_int_equal(varlink_conn_next(c, &m), 0);
                assert_true(json_object_object_get_ex(m, key, NULL));
                json_object_put(m);
        }
        assert_int_equal(varlink_conn_next(c, &m), VARLINK_E_AGAIN);
        assert_int_equal(write(b, ":4}", 4), 4); /* with its NUL */
        assert_int_equal(varlink_conn_read(c), 0);
        assert_int_equal(varlink_conn_next(c, &m), 0);
        assert_true(json_object_object_get_ex(m, "d", NULL));
        json_object_put(m);
        close(b);
        varlink_conn_free(c);
}

static void test_framing_too_large(void **state)
{
        char big[300];
        struct varlink_conn *c;
        json_object *m;
        int b;

        (void)state;
        pair(&c, &b, 100, 0);
        memset(big, ' ', sizeof(big));
        assert_int_equal(write(b, big, sizeof(big)), (ssize_t)sizeof(big));
        assert_int_equal(varlink_conn_read(c), 0);
        assert_true(varlink_conn_input_full(c));
        assert_int_equal(varlink_conn_next(c, &m), VARLINK_E_TOO_LARGE);
        /* Exactly at the limit is fine. */
        close(b);
        varlink_conn_free(c);

        pair(&c, &b, 10, 0);
        assert_int_equal(write(b, "{\"a\":\"12\"}", 11), 11);
        assert_int_equal(varlink_conn_read(c), 0);
        assert_int_equal(varlink_conn_next(c, &m), 0);
        json_object_put(m);
        close(b);
        varlink_conn_free(c);
}

static void test_framing_bad_json(void **state)
{
        static const char bytes[] = "{abc}\0[1,2]\0{}x\0\0{\"ok\":true}";
        struct varlink_conn *c;
        json_object *m;
        int b;

        (void)state;
        pair(&c, &b, 0, 0);
        assert_int_equal(write(b, bytes, sizeof(bytes)), (ssize_t)sizeof(bytes));
        assert_int_equal(varlink_conn_read(c), 0);
        for (int i = 0; i < 4; i++)
                assert_int_equal(varlink_conn_next(c, &m), VARLINK_E_BAD_MESSAGE);
        assert_int_equal(varlink_conn_next(c, &m), 0);
        json_object_put(m);
        close(b);
        varlink_conn_free(c);
}

static void test_framing_output_bounded(void **state)
{
        struct varlink_conn *c;
        json_object *m = json_object_new_object();
        char blob[1024];
        int b, r = 0, n;

        (void)state;
        pair(&c, &b, 0, 16 * 1024);
        memset(blob, 'y', sizeof(blob) - 1);
        blob[sizeof(blob) - 1] = 0;
        json_object_object_add(m, "blob", json_object_new_string(blob));
        /* The peer never reads: the socket buffer fills, then our bounded backlog. */
        for (n = 0; n < 10000; n++) {
                r = varlink_conn_queue(c, m);
                if (r < 0)
                        break;
                assert_int_equal(varlink_conn_write(c), 0);
        }
        assert_int_equal(r, -ENOBUFS);
        assert_true(varlink_conn_output_pending(c) <= 16 * 1024);
        close(b);
        assert_int_equal(varlink_conn_write(c), -EPIPE);
        json_object_put(m);
        varlink_conn_free(c);
}

/* ---- authorization ---- */

static void test_access_decide(void **state)
{
        const gid_t some[] = { 24, 1001, 27 };
        const gid_t none[] = { 24, 27 };
        struct varlink_creds root = { .uid = 0, .gid = 0 };
        struct varlink_creds primary = { .uid = 1000, .gid = 1001 };
        struct varlink_creds supplementary = { .uid = 1000, .gid = 1000, .groups = some, .n_groups = 3 };
        struct varlink_creds other = { .uid = 1000, .gid = 1000, .groups = none, .n_groups = 2 };
        struct varlink_creds root_group_only = { .uid = 1000, .gid = 0 };

        (void)state;
        assert_int_equal(varlink_access_decide(&root, 1001), VARLINK_ACCESS_ADMIN);
        assert_int_equal(varlink_access_decide(&root, (gid_t)-1), VARLINK_ACCESS_ADMIN);
        assert_int_equal(varlink_access_decide(&primary, 1001), VARLINK_ACCESS_READ);
        assert_int_equal(varlink_access_decide(&supplementary, 1001), VARLINK_ACCESS_READ);
        assert_int_equal(varlink_access_decide(&other, 1001), VARLINK_ACCESS_NONE);
        assert_int_equal(varlink_access_decide(&supplementary, (gid_t)-1), VARLINK_ACCESS_NONE);
        /* Group root is not root. */
        assert_int_equal(varlink_access_decide(&root_group_only, 1001), VARLINK_ACCESS_NONE);
}

static void test_creds_from_fd(void **state)
{
        gid_t mine[256], *groups = NULL;
        struct varlink_creds creds;
        int sv[2], n;

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(varlink_creds_from_fd(sv[0], &creds, &groups), 0);
        assert_int_equal(creds.uid, getuid());
        assert_int_equal(creds.gid, getgid());
        assert_int_equal(creds.pid, getpid());
        n = getgroups(256, mine);
        assert_true(n >= 0);
        assert_int_equal(creds.n_groups, (size_t)n);
        for (int i = 0; i < n; i++) {
                bool found = false;

                for (size_t j = 0; j < creds.n_groups; j++)
                        found = found || creds.groups[j] == mine[i];
                assert_true(found);
        }
        free(groups);
        close(sv[0]);
        close(sv[1]);
}

/* The decision for an injected peer: uid 1000 in (or not in) group 4242. */
static enum varlink_access decide_member(const struct varlink_creds *creds, gid_t group)
{
        const gid_t g = 4242;
        struct varlink_creds c = { .uid = 1000, .gid = 1000, .groups = &g, .n_groups = 1 };

        (void)creds;
        (void)group;
        return varlink_access_decide(&c, 4242);
}

static enum varlink_access decide_other(const struct varlink_creds *creds, gid_t group)
{
        struct varlink_creds c = { .uid = 1000, .gid = 1000 };

        (void)creds;
        (void)group;
        return varlink_access_decide(&c, 4242);
}

static void expect_error(struct varlink_client *c, const char *method, json_object *params, const char *error,
                         const char *key, const char *value)
{
        json_object *p = NULL;
        char *e = NULL;

        assert_int_equal(varlink_client_call(c, method, params, &p, &e), VARLINK_CLIENT_E_ERROR);
        assert_string_equal(e, error);
        if (key)
                assert_non_null(strstr(str_member(p, key), value));
        free(e);
        json_object_put(p);
}

static void test_authorization_over_socket(void **state)
{
        struct varlink_server_config cfg = { .group = (gid_t)-1, .decide = decide_member };
        struct varlink_client *c;
        struct srv t;
        json_object *p = NULL;
        char *e = NULL;

        (void)state;
        /* A group member may read, not administer. The group is not ours, so no chown. */
        srv_start(&t, &cfg);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, &p, &e), 0);
        assert_null(e);
        json_object_put(p);
        expect_error(c, "io.hypervvss.Admin", NULL, VARLINK_ERROR_NOT_PERMITTED, "message", "root");
        varlink_client_free(c);
        srv_stop(&t);

        /* Everyone else: NotPermitted, except for introspection. */
        cfg.decide = decide_other;
        srv_start(&t, &cfg);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        expect_error(c, "io.hypervvss.Echo", NULL, VARLINK_ERROR_NOT_PERMITTED, "message",
                     "run as root or join group hyperv-vss");
        expect_error(c, "io.hypervvss.Admin", NULL, VARLINK_ERROR_NOT_PERMITTED, NULL, NULL);
        assert_int_equal(varlink_client_call(c, "org.varlink.service.GetInfo", NULL, &p, &e), 0);
        json_object_put(p);
        assert_int_equal(varlink_error_to_errno(VARLINK_ERROR_NOT_PERMITTED), -EACCES);
        varlink_client_free(c);
        srv_stop(&t);

        /* The real rule for the real peer, with our own group as the group: root
         * may administer, a user may read. */
        cfg.decide = NULL;
        cfg.group = getgid();
        srv_start(&t, &cfg);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        if (getuid() == 0)
                assert_int_equal(varlink_client_call(c, "io.hypervvss.Admin", NULL, NULL, NULL), 0);
        else
                expect_error(c, "io.hypervvss.Admin", NULL, VARLINK_ERROR_NOT_PERMITTED, NULL, NULL);
        varlink_client_free(c);
        srv_stop(&t);
}

/* ---- listening ---- */

static void test_listen(void **state)
{
        struct varlink_server_config cfg = { .group = getgid() };
        struct varlink_server *other = NULL;
        struct varlink_client *c = NULL;
        struct stat st;
        char path[256], dir[160];
        struct srv t;
        int fd;

        (void)state;
        srv_start(&t, &cfg);
        snprintf(dir, sizeof(dir), "%s/run", t.dir);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(stat(t.path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0660);
        assert_int_equal(st.st_gid, getgid());

        /* A second server must not steal a live socket. */
        assert_int_equal(varlink_server_new(&other, NULL, NULL), 0);
        assert_int_equal(varlink_server_listen(other, t.path), -EADDRINUSE);
        assert_int_equal(varlink_server_listen(other, "relative"), -EINVAL);
        snprintf(path, sizeof(path), "%s/file", dir);
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        close(fd);
        assert_int_equal(varlink_server_listen(other, path), -EEXIST);
        unlink(path);

        /* A stale socket (nobody listening) is replaced; the client is told who is missing. */
        snprintf(path, sizeof(path), "%s/stale", dir);
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };

                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                strcpy(sa.sun_path, path);
                assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
                close(fd);
        }
        assert_int_equal(varlink_client_connect(&c, path, 500), -ECONNREFUSED);
        assert_non_null(strstr(varlink_client_strerror(-ECONNREFUSED), "not running"));
        assert_int_equal(varlink_server_listen(other, path), 0);
        assert_int_equal(varlink_client_connect(&c, path, 500), 0);
        c = varlink_client_free(c);
        other = varlink_server_free(other);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(varlink_client_connect(&c, path, 500), -ENOENT);
        srv_stop(&t);
}

/* ---- dispatch ---- */

static void test_dispatch(void **state)
{
        struct varlink_client *c;
        json_object *in, *p = NULL;
        char *e = NULL;
        struct srv t;

        (void)state;
        srv_start(&t, NULL);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);

        in = json_object_new_object();
        json_object_object_add(in, "word", json_object_new_string("hello"));
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", in, &p, &e), 0);
        assert_null(e);
        assert_string_equal(str_member(p, "word"), "hello");
        json_object_put(p);
        json_object_put(in);

        expect_error(c, "io.hypervvss.Nope", NULL, VARLINK_ERROR_METHOD_NOT_FOUND, "method", "io.hypervvss.Nope");
        expect_error(c, "org.example.Nope", NULL, VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface", "org.example");
        expect_error(c, "NoDot", NULL, VARLINK_ERROR_METHOD_NOT_FOUND, NULL, NULL);
        expect_error(c, "io.hypervvss.Fail", NULL, VARLINK_ERROR_INTERNAL, "message", "Input/output error");
        /* more=true to a method that does not stream. */
        assert_int_equal(varlink_client_call_more(c, "io.hypervvss.Echo", NULL, NULL, NULL, &p, &e),
                         VARLINK_CLIENT_E_ERROR);
        assert_string_equal(e, VARLINK_ERROR_INVALID_PARAMETER);
        assert_string_equal(str_member(p, "parameter"), "more");
        free(e);
        json_object_put(p);
        assert_int_equal(varlink_error_to_errno(VARLINK_ERROR_METHOD_NOT_FOUND), -EOPNOTSUPP);
        /* The connection survived all of it. */
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        varlink_client_free(c);
        srv_stop(&t);
}

static void test_introspection(void **state)
{
        struct varlink_client *c;
        json_object *in, *p = NULL, *ifaces;
        struct srv t;

        (void)state;
        srv_start(&t, NULL);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);

        assert_int_equal(varlink_client_call(c, "org.varlink.service.GetInfo", NULL, &p, NULL), 0);
        assert_string_equal(str_member(p, "vendor"), "hyperv-vss");
        assert_string_equal(str_member(p, "product"), "hvvssd");
        assert_string_equal(str_member(p, "version"), HVVSS_VERSION);
        assert_non_null(str_member(p, "url"));
        assert_true(json_object_object_get_ex(p, "interfaces", &ifaces));
        assert_int_equal(json_object_array_length(ifaces), 2);
        assert_string_equal(json_object_get_string(json_object_array_get_idx(ifaces, 0)), "org.varlink.service");
        assert_string_equal(json_object_get_string(json_object_array_get_idx(ifaces, 1)), "io.hypervvss");
        json_object_put(p);

        in = json_object_new_object();
        json_object_object_add(in, "interface", json_object_new_string("io.hypervvss"));
        assert_int_equal(varlink_client_call(c, "org.varlink.service.GetInterfaceDescription", in, &p, NULL), 0);
        assert_string_equal(str_member(p, "description"), TEST_DESCRIPTION);
        json_object_put(p);
        json_object_object_add(in, "interface", json_object_new_string("org.varlink.service"));
        assert_int_equal(varlink_client_call(c, "org.varlink.service.GetInterfaceDescription", in, &p, NULL), 0);
        assert_non_null(strstr(str_member(p, "description"), "interface org.varlink.service\n"));
        json_object_put(p);
        json_object_object_add(in, "interface", json_object_new_string("io.nope"));
        expect_error(c, "org.varlink.service.GetInterfaceDescription", in, VARLINK_ERROR_INTERFACE_NOT_FOUND,
                     "interface", "io.nope");
        json_object_put(in);
        expect_error(c, "org.varlink.service.GetInterfaceDescription", NULL, VARLINK_ERROR_INVALID_PARAMETER,
                     "parameter", "interface");
        varlink_client_free(c);
        srv_stop(&t);
}

struct collected {
        int n;
        int progress[16];
        bool last_continues;
        int stop_after; /* 0: never */
};

static int collect(json_object *parameters, bool continues, void *userdata)
{
        struct collected *col = userdata;
        json_object *v;

        if (json_object_object_get_ex(parameters, "progress", &v) && col->n < 16)
                col->progress[col->n] = json_object_get_int(v);
        col->n++;
        col->last_continues = continues;
        if (col->stop_after && col->n >= col->stop_after)
                return -ECANCELED;
        return 0;
}

static void test_stream_and_deferred(void **state)
{
        static const char pipelined[] = "{\"method\":\"io.hypervvss.Deferred\"}\0"
                                        "{\"method\":\"io.hypervvss.Echo\",\"parameters\":{\"n\":\"2\"}}";
        struct collected col = {};
        struct varlink_client *c;
        struct varlink_conn *raw;
        json_object *in, *p = NULL, *m;
        struct srv t;
        char *e = NULL;

        (void)state;
        srv_start(&t, NULL);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        in = json_object_new_object();
        json_object_object_add(in, "count", json_object_new_int(4));
        assert_int_equal(varlink_client_call_more(c, "io.hypervvss.Stream", in, collect, &col, &p, &e), 0);
        json_object_put(in);
        assert_null(e);
        assert_int_equal(col.n, 5);
        for (int i = 0; i < 4; i++)
                assert_int_equal(col.progress[i], i);
        assert_false(col.last_continues);
        assert_string_equal(str_member(p, "done"), "4");
        json_object_put(p);

        /* A stream method asked without more answers with its own error. */
        expect_error(c, "io.hypervvss.Stream", NULL, "io.hypervvss.ExpectedMore", NULL, NULL);

        /* Deferred: answered from a later loop iteration. */
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Deferred", NULL, &p, NULL), 0);
        assert_string_equal(str_member(p, "deferred"), "1");
        json_object_put(p);
        varlink_client_free(c);

        /* Pipelined behind a deferred call: answers keep the order of the calls. */
        raw = raw_connect(t.path);
        raw_send(raw, pipelined, sizeof(pipelined));
        m = raw_receive(raw);
        assert_string_equal(param_member(m, "deferred"), "1");
        json_object_put(m);
        m = raw_receive(raw);
        assert_string_equal(param_member(m, "n"), "2");
        json_object_put(m);
        varlink_conn_free(raw);
        srv_stop(&t);
}

static void test_oneway(void **state)
{
        struct varlink_client *c;
        json_object *p = NULL, *in;
        struct srv t;

        (void)state;
        srv_start(&t, NULL);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        assert_int_equal(varlink_client_call_oneway(c, "io.hypervvss.Poke", NULL), 0);
        assert_int_equal(varlink_client_call_oneway(c, "io.hypervvss.Nope", NULL), 0); /* no error comes either */
        in = json_object_new_object();
        json_object_object_add(in, "after", json_object_new_string("poke"));
        /* The next reply on the connection is Echo's: the oneway calls sent none. */
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", in, &p, NULL), 0);
        assert_string_equal(str_member(p, "after"), "poke");
        json_object_put(p);
        json_object_put(in);
        assert_int_equal(atomic_load(&pokes), 1);
        varlink_client_free(c);
        srv_stop(&t);
}

/* ---- protocol abuse over the socket ---- */

static void expect_protocol_error_then_close(const char *path, const char *bytes, size_t n, bool byte_by_byte,
                                             const char *reason)
{
        struct varlink_conn *raw = raw_connect(path);
        json_object *m;

        if (byte_by_byte)
                for (size_t i = 0; i < n; i++)
                        raw_send(raw, bytes + i, 1);
        else
                raw_send(raw, bytes, n);
        m = raw_receive(raw);
        assert_non_null(m);
        assert_string_equal(str_member(m, "error"), VARLINK_ERROR_PROTOCOL);
        assert_non_null(strstr(param_member(m, "message"), reason));
        json_object_put(m);
        assert_null(raw_receive(raw));
        varlink_conn_free(raw);
}

/* A literal with its NUL. */
#define PROTOCOL_ERROR(path, lit, byte_by_byte, reason) \
        expect_protocol_error_then_close(path, lit, sizeof(lit), byte_by_byte, reason)

static void test_server_framing(void **state)
{
        static const char two[] = "{\"method\":\"io.hypervvss.Echo\",\"parameters\":{\"i\":\"1\"}}\0"
                                  "{\"method\":\"io.hypervvss.Echo\",\"parameters\":{\"i\":\"2\"}}";
        struct varlink_server_config cfg = { .group = (gid_t)-1, .max_message = 1024 };
        struct varlink_conn *raw;
        char big[4096];
        json_object *m;
        struct srv t;

        (void)state;
        srv_start(&t, &cfg);

        /* Byte by byte, and two calls in one write. */
        raw = raw_connect(t.path);
        for (size_t i = 0; i < sizeof(two); i++)
                raw_send(raw, two + i, 1);
        raw_send(raw, two, sizeof(two));
        for (int i = 0; i < 4; i++) {
                m = raw_receive(raw);
                assert_non_null(m);
                assert_string_equal(param_member(m, "i"), i % 2 ? "2" : "1");
                json_object_put(m);
        }
        varlink_conn_free(raw);

        memset(big, 'a', sizeof(big));
        expect_protocol_error_then_close(t.path, big, sizeof(big), false, "larger than 1024");
        PROTOCOL_ERROR(t.path, "{\"method\":", false, "not a JSON object");
        PROTOCOL_ERROR(t.path, "{\"parameters\":{}}", true, "no \"method\"");
        PROTOCOL_ERROR(t.path, "{\"method\":\"a.B\",\"parameters\":[]}", false, "not an object");
        PROTOCOL_ERROR(t.path, "{\"method\":\"a.B\",\"more\":1}", false, "boolean");
        srv_stop(&t);
}

static void test_idle_timeout(void **state)
{
        struct varlink_server_config cfg = { .group = (gid_t)-1, .idle_timeout_usec = 200 * 1000 };
        struct varlink_client *c;
        struct varlink_conn *slow;
        uint64_t start, took;
        struct srv t;

        (void)state;
        srv_start(&t, &cfg);
        slow = raw_connect(t.path);
        start = varlink_now_usec();
        raw_send(slow, "{\"method\":\"io.hyp", 17);
        /* Meanwhile others are served. */
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        /* More bytes do not buy more time: the message must be complete within the timeout. */
        usleep(100 * 1000);
        raw_send(slow, "erv", 3);
        assert_null(raw_receive(slow));
        took = varlink_now_usec() - start;
        assert_true(took >= 190 * 1000);
        assert_true(took < 1000 * 1000);
        varlink_conn_free(slow);

        /* An idle connection between messages is not closed. */
        usleep(300 * 1000);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        varlink_client_free(c);
        srv_stop(&t);
}

static void test_client_never_reads(void **state)
{
        static const char call[] = "{\"method\":\"io.hypervvss.Big\"}";
        struct varlink_server_config cfg = { .group = (gid_t)-1, .max_output = 64 * 1024 };
        char calls[64 * sizeof(call)];
        struct pollfd p = { .events = POLLRDHUP };
        struct varlink_client *c;
        struct varlink_conn *hog;
        json_object *m;
        struct srv t;
        int n = 0;

        (void)state;
        srv_start(&t, &cfg);
        hog = raw_connect(t.path);
        /* 64 answers of 32 KiB: far more than the socket buffer plus 64 KiB of
         * backlog. One write, so the server reads them all at once. */
        for (int i = 0; i < 64; i++)
                memcpy(calls + i * sizeof(call), call, sizeof(call));
        raw_send(hog, calls, sizeof(calls));
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        /* Without reading a byte, the hog sees the server hang up on it. */
        p.fd = varlink_conn_get_fd(hog);
        assert_int_equal(poll(&p, 1, 2000), 1);
        assert_true(p.revents & POLLRDHUP);
        /* What was sent before still arrives, then the end. */
        while ((m = raw_receive(hog))) {
                json_object_put(m);
                n++;
        }
        assert_true(n > 0);
        assert_true(n < 64);
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), 0);
        varlink_conn_free(hog);
        varlink_client_free(c);
        srv_stop(&t);
}

static void test_peer_gone_mid_stream(void **state)
{
        struct collected col = { .stop_after = 2 };
        struct varlink_client *c;
        json_object *in;
        struct srv t;

        (void)state;
        srv_start(&t, NULL);
        assert_int_equal(varlink_client_connect(&c, t.path, 2000), 0);
        in = json_object_new_object();
        json_object_object_add(in, "count", json_object_new_int(100000));
        assert_int_equal(varlink_client_call_more(c, "io.hypervvss.Stream", in, collect, &col, NULL, NULL),
                         -ECANCELED);
        json_object_put(in);
        assert_int_equal(col.n, 2);
        /* The rest of the stream is still coming: the connection is unusable. */
        assert_int_equal(varlink_client_call(c, "io.hypervvss.Echo", NULL, NULL, NULL), -ENOTCONN);
        varlink_client_free(c);
        for (int i = 0; i < 200 && atomic_load(&disconnects) == 0; i++)
                usleep(10 * 1000);
        assert_int_equal(atomic_load(&disconnects), 1);
        srv_stop(&t);
}

static void test_client_errors(void **state)
{
        (void)state;
        assert_non_null(strstr(varlink_client_strerror(-ENOENT), "not running"));
        assert_non_null(strstr(varlink_client_strerror(-EACCES), "join group hyperv-vss"));
        assert_non_null(strstr(varlink_client_strerror(-ETIMEDOUT), "in time"));
        assert_int_equal(varlink_error_to_errno("io.hypervvss.Busy"), -EREMOTEIO);
        assert_int_equal(varlink_error_to_errno(VARLINK_ERROR_INVALID_PARAMETER), -EINVAL);
        assert_null(varlink_server_free(NULL));
        assert_null(varlink_client_free(NULL));
        assert_null(varlink_conn_free(NULL));
        assert_null(varlink_call_unref(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_framing_byte_by_byte),
                cmocka_unit_test(test_framing_many_in_one_read),
                cmocka_unit_test(test_framing_too_large),
                cmocka_unit_test(test_framing_bad_json),
                cmocka_unit_test(test_framing_output_bounded),
                cmocka_unit_test(test_access_decide),
                cmocka_unit_test(test_creds_from_fd),
                cmocka_unit_test(test_authorization_over_socket),
                cmocka_unit_test(test_listen),
                cmocka_unit_test(test_dispatch),
                cmocka_unit_test(test_introspection),
                cmocka_unit_test(test_stream_and_deferred),
                cmocka_unit_test(test_oneway),
                cmocka_unit_test(test_server_framing),
                cmocka_unit_test(test_idle_timeout),
                cmocka_unit_test(test_client_never_reads),
                cmocka_unit_test(test_peer_gone_mid_stream),
                cmocka_unit_test(test_client_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
