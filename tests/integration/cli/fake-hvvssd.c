/*
 * fake-hvvssd: serves io.hypervvss with canned objects, for hvvssctl's tests.
 *
 *   fake-hvvssd --socket PATH [--scenario NAME] [--group GID]
 *
 * Prints "listening" once the socket accepts, then serves until SIGTERM or
 * SIGINT. Scenarios (default ready):
 *   ready        registered device, last backup ok, hooks fine
 *   warnings     no VSS channel (device absent), an insecure hook
 *   last-failed  the last host backup failed
 *   test-fail    TestFreeze fails on one filesystem (EBUSY)
 *   leftover     a filesystem left frozen by a dead instance (Thaw thaws it)
 *   old          an older daemon: only GetStatus is implemented
 *   slow         never answers GetStatus (timeouts)
 * TestFreeze streams its events 20 ms apart and holds for hold_s for real;
 * while it runs, TestFreeze and Thaw get Busy and ListFrozen shows the
 * targets. Authorization is the library's: root everything, --group
 * members read. Nothing here touches any filesystem.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "varlink-server.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static const char *scenario = "ready";
static double start_s;
static json_object *history;    /* array, oldest first */
static json_object *leftover;   /* Frozen entries a dead instance left */
static long next_id = 3;

/* The running TestFreeze, if any. */
static struct {
        struct varlink_call *call;
        int step;
        double hold_s;
        bool hooks;
        json_object *op;
        char started[32];
        double frozen_at;
} test;
static int timer_fd = -1;
static struct varlink_call *stalled; /* scenario slow */

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rfc3339_now(char *buf, size_t size)
{
        time_t t = time(NULL);
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_object *parse(const char *text)
{
        json_object *o = json_tokener_parse(text);

        if (!o) {
                fprintf(stderr, "fake-hvvssd: bad canned JSON: %s\n", text);
                abort();
        }
        return o;
}

static bool is(const char *name)
{
        return strcmp(scenario, name) == 0;
}

#define OP_OK \
        "{\"id\":1,\"kind\":\"host-backup\",\"started\":\"2025-11-26T20:00:03Z\",\"result\":\"ok\",\"error\":null," \
        "\"frozen_ms\":1234.5,\"may_be_inconsistent\":false," \
        "\"phases\":[{\"name\":\"hooks-freeze\",\"duration_ms\":210.2},{\"name\":\"presync\",\"duration_ms\":35.1}," \
        "{\"name\":\"freeze\",\"duration_ms\":8.4},{\"name\":\"hold\",\"duration_ms\":1190.0}," \
        "{\"name\":\"thaw\",\"duration_ms\":1.9},{\"name\":\"hooks-thaw\",\"duration_ms\":52.0}]," \
        "\"targets\":[{\"mount_point\":\"/var/lib/mysql\",\"fstype\":\"xfs\",\"level\":0,\"result\":\"frozen-thawed\"," \
        "\"note\":null,\"open_ms\":0.05,\"sync_ms\":30.2,\"freeze_ms\":5.1,\"thaw_ms\":0.9}," \
        "{\"mount_point\":\"/\",\"fstype\":\"ext4\",\"level\":1,\"result\":\"frozen-thawed\",\"note\":null," \
        "\"open_ms\":0.04,\"sync_ms\":35.0,\"freeze_ms\":3.3,\"thaw_ms\":1.0}]," \
        "\"hooks\":[{\"name\":\"10-mysql\",\"operation\":\"freeze\",\"result\":\"ok\",\"exit_status\":0,\"signal\":null," \
        "\"duration_ms\":210.0,\"output\":\"FLUSH TABLES WITH READ LOCK\\n\",\"output_dropped_bytes\":0}," \
        "{\"name\":\"10-mysql\",\"operation\":\"thaw\",\"result\":\"ok\",\"exit_status\":0,\"signal\":null," \
        "\"duration_ms\":52.0,\"output\":null,\"output_dropped_bytes\":0}]}"

#define OP_FAILED \
        "{\"id\":2,\"kind\":\"host-backup\",\"started\":\"2025-11-26T21:00:03Z\",\"result\":\"failed\"," \
        "\"error\":\"/: FIFREEZE: Device or resource busy (frozen by someone else)\",\"frozen_ms\":4.1," \
        "\"may_be_inconsistent\":false," \
        "\"phases\":[{\"name\":\"presync\",\"duration_ms\":12.0},{\"name\":\"freeze\",\"duration_ms\":4.1}," \
        "{\"name\":\"thaw\",\"duration_ms\":0.8}]," \
        "\"targets\":[{\"mount_point\":\"/var/lib/mysql\",\"fstype\":\"xfs\",\"level\":0,\"result\":\"frozen-thawed\"," \
        "\"note\":null,\"open_ms\":0.05,\"sync_ms\":10.0,\"freeze_ms\":4.0,\"thaw_ms\":0.8}," \
        "{\"mount_point\":\"/\",\"fstype\":\"ext4\",\"level\":1,\"result\":\"failed\"," \
        "\"note\":\"FIFREEZE: Device or resource busy\",\"open_ms\":0.04,\"sync_ms\":12.0,\"freeze_ms\":0.1," \
        "\"thaw_ms\":0}],\"hooks\":[]}"

static json_object *last_operation(void)
{
        size_t n = json_object_array_length(history);

        return n ? json_object_array_get_idx(history, n - 1) : NULL;
}

/* Answer call with o and drop our reference to o. */
static int reply_put(struct varlink_call *call, json_object *o)
{
        int r = varlink_call_reply(call, o);

        json_object_put(o);
        return r;
}

static int m_get_status(struct varlink_call *call, json_object *p, void *u)
{
        json_object *st;
        bool no_channel = is("warnings");

        (void)p;
        (void)u;
        if (is("slow")) {
                varlink_call_unref(stalled);
                stalled = varlink_call_ref(call); /* never answered */
                return 0;
        }
        st = json_object_new_object();
        json_object_object_add(st, "version", json_object_new_string("0.1.0"));
        json_object_object_add(st, "pid", json_object_new_int(getpid()));
        json_object_object_add(st, "uptime_s", json_object_new_double(7384.5 + now_s() - start_s));
        json_object_object_add(st, "state", json_object_new_string(test.call ? "frozen" : "idle"));
        json_object_object_add(st, "operation", test.call ? json_object_new_string("test-freeze") : NULL);
        json_object_object_add(st, "device", json_object_new_string("/dev/vmbus/hv_vss"));
        json_object_object_add(st, "device_state", json_object_new_string(no_channel ? "absent" : "registered"));
        json_object_object_add(st, "channel_driver", json_object_new_string(no_channel ? "none" : "hv_vss"));
        json_object_object_add(st, "framework_version", no_channel ? NULL : json_object_new_string("3.0"));
        json_object_object_add(st, "message_version", no_channel ? NULL : json_object_new_string("5.0"));
        json_object_object_add(st, "frozen_count", json_object_new_int(test.call ? 2 : 0));
        json_object_object_add(st, "max_frozen_time_s", json_object_new_double(600));
        json_object_object_add(st, "hooks_dir", json_object_new_string("/etc/hyperv-vss/hooks.d"));
        json_object_object_add(st, "hooks_count", json_object_new_int(no_channel ? 2 : 1));
        json_object_object_add(st, "last", json_object_get(last_operation()));
        json_object_object_add(st, "warnings",
                               no_channel ? parse("[\"no VSS channel: not running on Hyper-V (on Hyper-V: modprobe "
                                                  "hv_vss_vmbus; for tests: modprobe hv_vss_hostsim)\","
                                                  "\"hook 20-backup-agent is group-writable: it will be refused\"]")
                                          : json_object_new_array());
        return reply_put(call, st);
}

static int m_list_mounts(struct varlink_call *call, json_object *p, void *u)
{
        json_object *o = parse(
                "{\"levels\":2,\"mounts\":["
                "{\"mount_point\":\"/\",\"source\":\"/dev/sda1\",\"fstype\":\"ext4\",\"decision\":\"freeze\","
                "\"reason\":null,\"reason_text\":null,\"level\":1,\"same_as\":null},"
                "{\"mount_point\":\"/proc\",\"source\":\"proc\",\"fstype\":\"proc\",\"decision\":\"skip\","
                "\"reason\":\"pseudo\",\"reason_text\":\"pseudo filesystem\",\"level\":null,\"same_as\":null},"
                "{\"mount_point\":\"/var/lib/mysql\",\"source\":\"/dev/sdb1\",\"fstype\":\"xfs\",\"decision\":\"freeze\","
                "\"reason\":null,\"reason_text\":null,\"level\":0,\"same_as\":null},"
                "{\"mount_point\":\"/srv/www\",\"source\":\"/dev/sda1[/srv/www]\",\"fstype\":\"ext4\",\"decision\":\"skip\","
                "\"reason\":\"same-filesystem\",\"reason_text\":\"same filesystem as /\",\"level\":null,\"same_as\":\"/\"},"
                "{\"mount_point\":\"/mnt/backup\",\"source\":\"nas:/export\",\"fstype\":\"nfs4\",\"decision\":\"skip\","
                "\"reason\":\"network\",\"reason_text\":\"network filesystem\",\"level\":null,\"same_as\":null},"
                "{\"mount_point\":\"/boot/efi\",\"source\":\"/dev/sda15\",\"fstype\":\"vfat\",\"decision\":\"skip\","
                "\"reason\":\"never-freeze-type\",\"reason_text\":\"vfat cannot be frozen\",\"level\":null,\"same_as\":null}"
                "]}");

        (void)p;
        (void)u;
        return reply_put(call, o);
}

static int m_list_frozen(struct varlink_call *call, json_object *p, void *u)
{
        json_object *o = json_object_new_object(), *arr = json_object_new_array();

        (void)p;
        (void)u;
        for (size_t i = 0; i < json_object_array_length(leftover); i++)
                json_object_array_add(arr, json_object_get(json_object_array_get_idx(leftover, i)));
        if (test.call && test.frozen_at > 0) {
                static const char *const mounts[] = { "/var/lib/mysql", "/" };

                for (size_t i = 0; i < ELEMENTSOF(mounts); i++) {
                        json_object *f = json_object_new_object();

                        json_object_object_add(f, "mount_point", json_object_new_string(mounts[i]));
                        json_object_object_add(f, "since", json_object_new_string(test.started));
                        json_object_object_add(f, "frozen_for_ms",
                                               json_object_new_double((now_s() - test.frozen_at) * 1000));
                        json_object_object_add(f, "operation_id", json_object_get(json_object_object_get(test.op, "id")));
                        json_object_object_add(f, "by", json_object_new_string("test-freeze"));
                        json_object_array_add(arr, f);
                }
        }
        json_object_object_add(o, "frozen", arr);
        return reply_put(call, o);
}

static int busy(struct varlink_call *call)
{
        json_object *e = parse("{\"message\":\"a test freeze runs\"}");
        int r = varlink_call_error(call, "io.hypervvss.Busy", e);

        json_object_put(e);
        return r;
}

static int m_thaw(struct varlink_call *call, json_object *p, void *u)
{
        json_object *o, *arr;

        (void)p;
        (void)u;
        if (test.call)
                return busy(call);
        o = json_object_new_object();
        arr = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(leftover); i++)
                json_object_array_add(arr, json_object_get(json_object_object_get(json_object_array_get_idx(leftover, i),
                                                                                  "mount_point")));
        json_object_put(leftover);
        leftover = json_object_new_array();
        json_object_object_add(o, "thawed", arr);
        return reply_put(call, o);
}

static int m_get_history(struct varlink_call *call, json_object *p, void *u)
{
        json_object *o = json_object_new_object(), *arr = json_object_new_array(), *lim;
        long limit = 50;
        size_t n = json_object_array_length(history);

        (void)u;
        if (json_object_object_get_ex(p, "limit", &lim) && lim)
                limit = (long)json_object_get_int64(lim);
        for (size_t i = n; i > 0 && (long)(n - i) < limit; i--)
                json_object_array_add(arr, json_object_get(json_object_array_get_idx(history, i - 1)));
        json_object_object_add(o, "operations", arr);
        return reply_put(call, o);
}

static int m_list_hooks(struct varlink_call *call, json_object *p, void *u)
{
        json_object *o = parse(is("warnings")
                ? "{\"hooks\":[{\"name\":\"10-mysql\",\"path\":\"/etc/hyperv-vss/hooks.d/10-mysql\",\"problem\":null},"
                  "{\"name\":\"20-backup-agent\",\"path\":\"/etc/hyperv-vss/hooks.d/20-backup-agent\","
                  "\"problem\":\"group-writable (mode 0775): refused\"}]}"
                : "{\"hooks\":[{\"name\":\"10-mysql\",\"path\":\"/etc/hyperv-vss/hooks.d/10-mysql\",\"problem\":null}]}");

        (void)p;
        (void)u;
        return reply_put(call, o);
}

/* The events of one test freeze, in order; NULL fields are left out of nothing: every key is sent. */
static const struct {
        const char *event, *phase, *mount_point, *message;
        bool hook;       /* only with hooks */
} events[] = {
        { "started", NULL, NULL, "test freeze: 2 filesystems in 2 levels", false },
        { "phase", "hooks-freeze", NULL, NULL, true },
        { "hook", NULL, NULL, "10-mysql freeze: ok (exit 0)", true },
        { "phase", "presync", NULL, NULL, false },
        { "phase", "freeze", NULL, NULL, false },
        { "target", NULL, "/var/lib/mysql", "frozen", false },
        { "target", NULL, "/", "frozen", false },
        { "held", NULL, NULL, "frozen; holding", false },
        { "phase", "thaw", NULL, NULL, false },
        { "thawed", NULL, NULL, "2 filesystems thawed", false },
        { "phase", "hooks-thaw", NULL, NULL, true },
        { "hook", NULL, NULL, "10-mysql thaw: ok (exit 0)", true },
        { "done", NULL, NULL, NULL, false },
};

static void arm(double seconds)
{
        struct itimerspec its = {};

        if (seconds <= 0)
                seconds = 1e-6;
        its.it_value.tv_sec = (time_t)seconds;
        its.it_value.tv_nsec = (long)((seconds - (double)its.it_value.tv_sec) * 1e9);
        timerfd_settime(timer_fd, 0, &its, NULL);
}

static json_object *new_test_operation(void)
{
        bool fail = is("test-fail");
        json_object *op = parse(fail ? OP_FAILED : OP_OK);

        json_object_object_add(op, "id", json_object_new_int64(next_id++));
        json_object_object_add(op, "kind", json_object_new_string("test-freeze"));
        json_object_object_add(op, "started", json_object_new_string(test.started));
        if (!test.hooks)
                json_object_object_add(op, "hooks", json_object_new_array());
        return op;
}

static void test_finish(void)
{
        varlink_call_unref(test.call);
        json_object_put(test.op);
        memset(&test, 0, sizeof(test));
}

static void test_step(void)
{
        bool fail = is("test-fail");

        while (test.call && test.step < (int)ELEMENTSOF(events)) {
                int i = test.step++;
                json_object *ev;
                const char *message = events[i].message;

                if (events[i].hook && !test.hooks)
                        continue;
                if (fail && strcmp(events[i].event, "target") == 0 && strcmp(events[i].mount_point, "/") == 0)
                        message = "FIFREEZE: Device or resource busy";
                ev = json_object_new_object();
                json_object_object_add(ev, "event", json_object_new_string(events[i].event));
                json_object_object_add(ev, "phase", events[i].phase ? json_object_new_string(events[i].phase) : NULL);
                json_object_object_add(ev, "mount_point",
                                       events[i].mount_point ? json_object_new_string(events[i].mount_point) : NULL);
                json_object_object_add(ev, "message", message ? json_object_new_string(message) : NULL);
                if (strcmp(events[i].event, "done") == 0) {
                        json_object_object_add(ev, "operation", json_object_get(test.op));
                        json_object_array_add(history, json_object_get(test.op));
                        varlink_call_reply(test.call, ev);
                        json_object_put(ev);
                        test_finish();
                        return;
                }
                json_object_object_add(ev, "operation", NULL);
                if (varlink_call_notify(test.call, ev) < 0) {
                        json_object_put(ev);
                        test_finish(); /* the client went away: "thaw" */
                        return;
                }
                json_object_put(ev);
                if (strcmp(events[i].event, "phase") == 0 && strcmp(events[i].phase, "freeze") == 0)
                        test.frozen_at = now_s();
                if (fail && strcmp(events[i].event, "target") == 0 && strcmp(events[i].mount_point, "/") == 0) {
                        /* Skip the hold: thaw what was frozen at once. */
                        while (strcmp(events[test.step].event, "held") != 0)
                                test.step++;
                        test.step++;
                }
                arm(strcmp(events[i].event, "held") == 0 ? test.hold_s : 0.02);
                return;
        }
}

static void on_test_disconnect(struct varlink_call *call, void *userdata)
{
        (void)call;
        (void)userdata;
        test_finish();
}

static int m_test_freeze(struct varlink_call *call, json_object *p, void *u)
{
        json_object *v;

        (void)u;
        if (test.call)
                return busy(call);
        test.call = varlink_call_ref(call);
        test.hold_s = 0;
        test.hooks = true;
        if (json_object_object_get_ex(p, "hold_s", &v) && v)
                test.hold_s = json_object_get_double(v);
        if (json_object_object_get_ex(p, "hooks", &v) && v)
                test.hooks = json_object_get_boolean(v);
        rfc3339_now(test.started, sizeof(test.started));
        test.op = new_test_operation();
        varlink_call_set_disconnect(call, on_test_disconnect, NULL);
        if (!varlink_call_more(call)) {
                /* Without more: run it all and answer once (events are not sent). */
                json_object *ev = json_object_new_object();

                json_object_object_add(ev, "event", json_object_new_string("done"));
                json_object_object_add(ev, "operation", json_object_get(test.op));
                json_object_array_add(history, json_object_get(test.op));
                varlink_call_reply(call, ev);
                json_object_put(ev);
                test_finish();
                return 0;
        }
        test.step = 0;
        test_step();
        return 0;
}

static const char description[] =
        "# fake hvvssd for hvvssctl tests\ninterface io.hypervvss\n"
        "method GetStatus() -> ()\nmethod ListMounts() -> ()\nmethod ListFrozen() -> ()\n"
        "method TestFreeze(hold_s: ?float, hooks: ?bool) -> ()\nmethod Thaw() -> ()\n"
        "method GetHistory(limit: ?int) -> ()\nmethod ListHooks() -> ()\n"
        "error NotPermitted(message: string)\nerror Busy(message: string)\nerror Failed(message: string)\n";

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "scenario", required_argument, NULL, 'S' },
                { "group", required_argument, NULL, 'g' },
                {},
        };
        struct varlink_method methods[] = {
                { "GetStatus", m_get_status, VARLINK_ACCESS_READ, 0 },
                { "ListMounts", m_list_mounts, VARLINK_ACCESS_READ, 0 },
                { "ListFrozen", m_list_frozen, VARLINK_ACCESS_READ, 0 },
                { "TestFreeze", m_test_freeze, VARLINK_ACCESS_ADMIN, VARLINK_METHOD_MORE },
                { "Thaw", m_thaw, VARLINK_ACCESS_ADMIN, 0 },
                { "GetHistory", m_get_history, VARLINK_ACCESS_READ, 0 },
                { "ListHooks", m_list_hooks, VARLINK_ACCESS_READ, 0 },
        };
        struct varlink_interface iface = { "io.hypervvss", description, methods, ELEMENTSOF(methods) };
        struct varlink_server_config config = { .group = (gid_t)-1, .version = "0.1.0" };
        struct varlink_server *server = NULL;
        const char *path = NULL;
        struct epoll_event ev;
        sigset_t mask;
        int c, ep, sfd, r;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        path = optarg;
                        break;
                case 'S':
                        scenario = optarg;
                        break;
                case 'g':
                        config.group = (gid_t)strtoul(optarg, NULL, 10);
                        break;
                default:
                        fprintf(stderr, "usage: fake-hvvssd --socket PATH [--scenario NAME] [--group GID]\n");
                        return 2;
                }
        }
        if (!path) {
                fprintf(stderr, "fake-hvvssd: --socket PATH is required\n");
                return 2;
        }
        if (is("old"))
                for (size_t i = 1; i < ELEMENTSOF(methods); i++)
                        methods[i].fn = NULL; /* MethodNotImplemented, like a daemon that predates them */

        start_s = now_s();
        history = json_object_new_array();
        json_object_array_add(history, parse(OP_OK));
        if (is("last-failed"))
                json_object_array_add(history, parse(OP_FAILED));
        leftover = is("leftover") ? parse("[{\"mount_point\":\"/var/lib/mysql\",\"since\":\"2025-11-26T19:59:00Z\","
                                          "\"frozen_for_ms\":61000.0,\"operation_id\":0,\"by\":\"left-over\"}]")
                                  : json_object_new_array();

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        ep = epoll_create1(EPOLL_CLOEXEC);

        r = varlink_server_new(&server, &config, NULL);
        if (r == 0)
                r = varlink_server_add_interface(server, &iface);
        if (r == 0)
                r = varlink_server_listen(server, path);
        if (r < 0) {
                fprintf(stderr, "fake-hvvssd: %s: %s\n", path, strerror(-r));
                return 1;
        }
        ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 0 };
        epoll_ctl(ep, EPOLL_CTL_ADD, varlink_server_get_fd(server), &ev);
        ev.data.u32 = 1;
        epoll_ctl(ep, EPOLL_CTL_ADD, timer_fd, &ev);
        ev.data.u32 = 2;
        epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
        printf("listening\n");
        fflush(stdout);

        for (;;) {
                struct epoll_event evs[4];
                int n = epoll_wait(ep, evs, 4, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        break;
                for (int i = 0; i < n; i++) {
                        uint64_t ticks;

                        if (evs[i].data.u32 == 2)
                                goto out;
                        if (evs[i].data.u32 == 1) {
                                if (read(timer_fd, &ticks, sizeof(ticks)) > 0)
                                        test_step();
                        }
                }
                /* Always dispatch: replies queued by the timer are written from here. */
                r = varlink_server_dispatch(server);
                if (r < 0) {
                        fprintf(stderr, "fake-hvvssd: dispatch: %s\n", strerror(-r));
                        break;
                }
        }
out:
        test_finish();
        varlink_call_unref(stalled);
        varlink_server_free(server);
        unlink(path);
        json_object_put(history);
        json_object_put(leftover);
        return 0;
}
