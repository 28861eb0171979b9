/*
 * test-freeze: the host backup pipeline without a host.
 *
 * TestFreeze streams progress events (more=true); each is shown as it
 * arrives, with the time since the call, and the final event carries the
 * finished Operation, shown in full. With --json every event is printed as
 * one JSON line. --kernel hands over to hostsim.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json-util.h"
#include "hostsim.h"
#include "hvvssctl.h"
#include "output.h"

struct stream {
        struct hvvssctl *ctl;
        double start_ms;
        json_object *operation;  /* from the last event that carried one */
        int r;
};

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void print_event(const struct stream *st, json_object *ev)
{
        const struct hvvssctl *ctl = st->ctl;
        const char *event = json_str(ev, "event") ?: "?";
        const char *phase = json_str(ev, "phase"), *mount = json_str(ev, "mount_point");
        const char *message = json_str(ev, "message");
        json_object *op = NULL;
        enum color c = COLOR_RESET;

        json_object_object_get_ex(ev, "operation", &op);
        if (strcmp(event, "done") == 0 && op)
                c = color_for_result(json_str(op, "result"));
        else if (message && (strstr(message, "fail") || strstr(message, "error")))
                c = COLOR_RED;
        bool more = phase || mount || message || (strcmp(event, "done") == 0 && op);

        printf("%s%+9.3f s%s  %s%-*s%s", color(ctl, COLOR_DIM), (now_ms() - st->start_ms) / 1000, color(ctl, COLOR_RESET),
               color(ctl, c), more ? 8 : 0, event, color(ctl, COLOR_RESET));
        if (phase)
                printf(" %s", phase);
        if (mount)
                printf(" %s", mount);
        if (message)
                printf("%s%s", phase || mount ? ": " : " ", message);
        if (strcmp(event, "done") == 0 && op)
                printf(" %s", json_str(op, "result") ?: "?");
        printf("\n");
        fflush(stdout);
}

static int on_event(json_object *ev, bool continues, void *userdata)
{
        struct stream *st = userdata;
        json_object *op = NULL;
        int r;

        (void)continues;
        if (st->ctl->json) {
                r = output_json(stdout, ev, true);
                if (r < 0)
                        return r;
        } else
                print_event(st, ev);
        if (json_object_object_get_ex(ev, "operation", &op) && op) {
                json_object_put(st->operation);
                st->operation = json_object_get(op);
        }
        return 0;
}

int cmd_test_freeze(struct hvvssctl *ctl)
{
        struct stream st = { .ctl = ctl };
        json_object *params;
        const char *result;
        int r;

        if (ctl->kernel)
                return hostsim_run(ctl);

        params = json_object_new_object();
        if (ctl->hold_s >= 0)
                json_object_object_add(params, "hold_s", json_new_measure(ctl->hold_s));
        if (ctl->no_hooks)
                json_object_object_add(params, "hooks", json_object_new_boolean(false));
        /* The daemon is silent while it holds: wait for the hold plus the usual reply time. */
        if (ctl->hold_s > 0 && ctl->timeout_ms > 0)
                ctl->timeout_ms += (int)(ctl->hold_s * 1000);
        r = ctl_connect(ctl);
        if (r < 0) {
                json_object_put(params);
                return r;
        }
        varlink_client_set_timeout(ctl->client, ctl->timeout_ms);
        if (!ctl->json)
                printf("Test freeze (hold %.1f s, hooks %s): nothing is sent to any host.\n",
                       ctl->hold_s >= 0 ? ctl->hold_s : 0.0, ctl->no_hooks ? "off" : "on");
        st.start_ms = now_ms();
        r = ctl_call_more(ctl, "TestFreeze", params, on_event, &st);
        json_object_put(params);
        if (r < 0) {
                json_object_put(st.operation);
                return r;
        }
        if (!st.operation) {
                ctl_error("hvvssd ended the test freeze without a result; see 'hvvssctl history -v'");
                return HVVSSCTL_R_FAILED;
        }
        result = json_str(st.operation, "result") ?: "?";
        if (!ctl->json) {
                printf("\n");
                r = output_operation(ctl, stdout, st.operation);
        }
        if (r == 0 && strcmp(result, "ok") != 0) {
                if (!ctl->json)
                        printf("\n");
                ctl_error("the test freeze %s: %s", result, json_str(st.operation, "error") ?: "see the table above");
                r = HVVSSCTL_R_FAILED;
        }
        json_object_put(st.operation);
        return r;
}
