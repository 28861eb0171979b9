/*
 * status: is this machine ready for a consistent host backup?
 *
 * One GetStatus call. The verdict, which is also the exit status a monitor
 * reads, comes from three facts only: the last operation failed (11), the
 * daemon reports warnings or does not hold the VSS device (10), else ready
 * (0). "Not running" and "permission denied" are the connect errors (3, 4).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hvvssctl.h"
#include "output.h"

bool operation_failed(json_object *op)
{
        const char *result = json_str(op, "result");
        json_object *v;

        if (!op || !result)
                return false;
        if (json_object_object_get_ex(op, "may_be_inconsistent", &v) && json_object_get_boolean(v))
                return true;
        return strcmp(result, "failed") == 0 || strcmp(result, "watchdog") == 0 || strcmp(result, "aborted") == 0;
}

static size_t n_warnings(json_object *status)
{
        json_object *w;

        if (!json_object_object_get_ex(status, "warnings", &w) || !json_object_is_type(w, json_type_array))
                return 0;
        return json_object_array_length(w);
}

int status_verdict(json_object *status)
{
        json_object *last = NULL;
        const char *dev = json_str(status, "device_state");

        json_object_object_get_ex(status, "last", &last);
        if (last && operation_failed(last))
                return HVVSSCTL_R_LAST_FAILED;
        if (n_warnings(status) > 0 || !dev || strcmp(dev, "registered") != 0)
                return HVVSSCTL_R_WARNINGS;
        return 0;
}

static const char *driver_text(const char *driver)
{
        if (!driver)
                return "unknown";
        if (strcmp(driver, "hv_vss") == 0)
                return "hv_vss (hyperv-vss module)";
        if (strcmp(driver, "hv_utils") == 0)
                return "hv_utils (inbox driver)";
        if (strcmp(driver, "none") == 0)
                return "none (no VSS channel)";
        return driver;
}

#define LABEL "%-13s"

static void print_last(const struct hvvssctl *ctl, json_object *last)
{
        const char *result = json_str(last, "result") ?: "?";
        json_object *phases;
        char when[64], dur[32];

        printf(LABEL "#%lld %s, %s: %s%s%s", "Last backup", (long long)json_num(last, "id", -1),
               json_str(last, "kind") ?: "?", format_time(json_str(last, "started"), when, sizeof(when)),
               color(ctl, color_for_result(result)), result, color(ctl, COLOR_RESET));
        if (json_has(last, "frozen_ms"))
                printf(", frozen %s", format_duration_ms(json_num(last, "frozen_ms", 0), dur, sizeof(dur)));
        printf("\n");
        if (json_str(last, "error"))
                printf(LABEL "%s\n", "", json_str(last, "error"));
        if (json_object_object_get_ex(last, "phases", &phases) && json_object_array_length(phases) > 0) {
                printf(LABEL, "");
                for (size_t i = 0; i < json_object_array_length(phases); i++) {
                        json_object *p = json_object_array_get_idx(phases, i);

                        printf("%s%s %s", i ? ", " : "", json_str(p, "name") ?: "?",
                               format_duration_ms(json_num(p, "duration_ms", -1), dur, sizeof(dur)));
                }
                printf("\n");
        }
}

static void print_status(const struct hvvssctl *ctl, json_object *st, int verdict)
{
        const char *state = json_str(st, "state") ?: "?";
        const char *dev_state = json_str(st, "device_state") ?: "?";
        json_object *last = NULL, *warnings = NULL;
        char dur[32];

        printf(LABEL "%srunning%s (pid %lld, up %s), version %s\n", "hvvssd", color(ctl, COLOR_GREEN),
               color(ctl, COLOR_RESET), (long long)json_num(st, "pid", 0),
               format_duration_ms(json_num(st, "uptime_s", 0) * 1000, dur, sizeof(dur)), json_str(st, "version") ?: "?");
        printf(LABEL "%s", "State", state);
        if (json_str(st, "operation") && strcmp(state, "idle") != 0)
                printf(" (%s)", json_str(st, "operation"));
        printf("\n");
        printf(LABEL "%s, device %s %s%s%s\n", "VSS channel", driver_text(json_str(st, "channel_driver")),
               json_str(st, "device") ?: "?", color(ctl, color_for_result(dev_state)), dev_state, color(ctl, COLOR_RESET));
        if (json_str(st, "framework_version") || json_str(st, "message_version"))
                printf(LABEL "framework %s, message %s\n", "Versions", json_str(st, "framework_version") ?: "-",
                       json_str(st, "message_version") ?: "-");
        else
                printf(LABEL "not negotiated yet (the host negotiates when the VSS service starts)\n", "Versions");
        printf(LABEL "%lld filesystem(s) now (the watchdog thaws after %s)\n", "Frozen",
               (long long)json_num(st, "frozen_count", 0),
               format_duration_ms(json_num(st, "max_frozen_time_s", 0) * 1000, dur, sizeof(dur)));
        printf(LABEL "%lld in %s\n", "Hooks", (long long)json_num(st, "hooks_count", 0), json_str(st, "hooks_dir") ?: "?");

        json_object_object_get_ex(st, "last", &last);
        if (last)
                print_last(ctl, last);
        else
                printf(LABEL "none yet\n", "Last backup");

        json_object_object_get_ex(st, "warnings", &warnings);
        if (n_warnings(st) == 0)
                printf(LABEL "none\n", "Warnings");
        for (size_t i = 0; i < n_warnings(st); i++)
                printf(LABEL "%s!%s %s\n", i == 0 ? "Warnings" : "", color(ctl, COLOR_YELLOW), color(ctl, COLOR_RESET),
                       json_object_get_string(json_object_array_get_idx(warnings, i)));

        switch (verdict) {
        case 0:
                printf(LABEL "%sready%s: a host backup now would be application-consistent\n", "Verdict",
                       color(ctl, COLOR_GREEN), color(ctl, COLOR_RESET));
                break;
        case HVVSSCTL_R_LAST_FAILED:
                printf(LABEL "%slast %s failed%s: see 'hvvssctl history -v'\n", "Verdict", color(ctl, COLOR_RED),
                       json_str(last, "kind") ?: "operation", color(ctl, COLOR_RESET));
                break;
        default:
                if (strcmp(dev_state, "registered") != 0)
                        printf(LABEL "%snot ready%s: hvvssd does not hold the VSS device (%s); host backups fall back "
                                     "to crash-consistent or fail\n",
                               "Verdict", color(ctl, COLOR_YELLOW), color(ctl, COLOR_RESET), dev_state);
                else
                        printf(LABEL "%sready, with warnings%s (see above)\n", "Verdict", color(ctl, COLOR_YELLOW),
                               color(ctl, COLOR_RESET));
                break;
        }
}

int cmd_status(struct hvvssctl *ctl)
{
        json_object *st = NULL;
        int r, verdict;

        r = ctl_call(ctl, "GetStatus", NULL, &st);
        if (r < 0)
                return r;
        verdict = status_verdict(st);
        if (ctl->json)
                r = output_json(stdout, st, false);
        else
                print_status(ctl, st, verdict);
        json_object_put(st);
        return r < 0 ? r : verdict;
}
