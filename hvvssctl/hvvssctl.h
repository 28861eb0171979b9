/* hvvssctl: the command-line client of hvvssd's control socket: actions, options, results and exit codes. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "varlink-client.h"

#define HVVSSCTL_SOCKET_DEFAULT "/run/hyperv-vss/control"
#define HVVSSCTL_HOSTSIM_DEFAULT "/dev/hv_vss_hostsim"
#define HVVSSCTL_SYSFS_DEFAULT "/sys/class/misc/vmbus!hv_vss"
#define HVVSSCTL_GROUP "hyperv-vss"

/*
 * Results of an action handler besides 0 and -errno: conditions that are
 * not errors of the tool but must show in the exit status.
 */
enum {
        HVVSSCTL_R_USAGE = 1,        /* bad command line (already reported) */
        HVVSSCTL_R_FAILED,           /* the operation ran and failed (already reported) */
        HVVSSCTL_R_WARNINGS,         /* status/hooks: works, but something needs attention */
        HVVSSCTL_R_LAST_FAILED,      /* status: the last backup failed or may be inconsistent */
};

/* Documented exit codes (hvvssctl(8), EXIT STATUS). One function maps results to them. */
enum {
        HVVSSCTL_EXIT_OK = 0,
        HVVSSCTL_EXIT_FAILURE = 1,       /* the operation failed, or another error */
        HVVSSCTL_EXIT_USAGE = 2,         /* unknown action, bad option or argument */
        HVVSSCTL_EXIT_NOT_RUNNING = 3,   /* hvvssd is not running (nobody listens on the socket) */
        HVVSSCTL_EXIT_PERMISSION = 4,    /* not root, not in group hyperv-vss (or admin needed) */
        HVVSSCTL_EXIT_BUSY = 5,          /* another operation runs */
        HVVSSCTL_EXIT_PROTOCOL = 6,      /* the daemon's answer was invalid or it is too old */
        HVVSSCTL_EXIT_WARNINGS = 10,     /* status/hooks: ready, but with warnings */
        HVVSSCTL_EXIT_LAST_FAILED = 11,  /* status: the last backup failed */
};

/* The actions, in --help order. */
enum hvvssctl_action_id {
        ACTION_STATUS,
        ACTION_MOUNTS,
        ACTION_FROZEN,
        ACTION_TEST_FREEZE,
        ACTION_THAW,
        ACTION_HISTORY,
        ACTION_HOOKS,
        ACTION_VERSION,
        _ACTION_MAX,
};

#define ACTION_BIT(a) (1u << (a))
#define ACTIONS_ALL ((1u << _ACTION_MAX) - 1)

/* Everything the command line said, after parsing and checking. */
struct hvvssctl {
        const char *socket_path;
        bool json;
        bool color;
        int verbose;              /* -v: 1, --debug: 2 */
        int timeout_ms;           /* per daemon reply */
        /* action options */
        double hold_s;            /* test-freeze --hold; < 0: not given */
        bool kernel;              /* test-freeze --kernel */
        bool no_hooks;            /* test-freeze --no-hooks */
        const char *hostsim;      /* test-freeze --kernel --hostsim PATH */
        long limit;               /* history --limit; < 0: not given */
        struct varlink_client *client; /* connected lazily by ctl_call() */
        char *owned_socket, *owned_hostsim; /* option values from popt, freed at exit */
};

struct hvvssctl_action {
        const char *name;
        int (*run)(struct hvvssctl *ctl);
        const char *synopsis;     /* the action's options, for --help */
        const char *help;         /* one line */
        bool admin;               /* needs root on the daemon side */
};

extern const struct hvvssctl_action hvvssctl_actions[_ACTION_MAX];

/* Parses @argv, runs the action and returns the process exit status. */
int hvvssctl_main(int argc, char **argv);
/* The one place results become exit codes. */
int hvvssctl_exit_code(int r);
/* Finds an action by name; NULL if there is none. */
const struct hvvssctl_action *hvvssctl_find_action(const char *name);
/*
 * Checks that every option in @given (bits of the option table, see
 * hvvssctl.c) may be used with @action; on failure writes the offending
 * option's long name to *ret_option and returns -EINVAL.
 */
int hvvssctl_check_options(enum hvvssctl_action_id action, unsigned long given, const char **ret_option);

/*
 * Calls io.hypervvss.@method on the daemon (connecting first if needed).
 * 0 and the reply in *ret (caller unrefs); or a negative errno after one
 * error line on stderr that names the cause and the fix.
 */
int ctl_call(struct hvvssctl *ctl, const char *method, json_object *params, json_object **ret);
/* Same with more=true: @fn sees every reply. */
int ctl_call_more(struct hvvssctl *ctl, const char *method, json_object *params, varlink_reply_fn fn,
                  void *userdata);
/* Connects if needed; reports errors like ctl_call(). */
int ctl_connect(struct hvvssctl *ctl);
/* The error line for a failed connect or call, reused by hostsim.c. */
void ctl_report_error(const struct hvvssctl *ctl, const char *method, int r, const char *error,
                      json_object *error_params);

/* Debug output to stderr with -v / --debug. */
__attribute__((format(printf, 3, 4))) void ctl_log(const struct hvvssctl *ctl, int level, const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void ctl_error(const char *fmt, ...);

/* Action handlers (cmd-*.c). Each returns 0, -errno or an HVVSSCTL_R_* code. */
int cmd_status(struct hvvssctl *ctl);
int cmd_mounts(struct hvvssctl *ctl);
int cmd_frozen(struct hvvssctl *ctl);
int cmd_test_freeze(struct hvvssctl *ctl);
int cmd_thaw(struct hvvssctl *ctl);
int cmd_history(struct hvvssctl *ctl);
int cmd_hooks(struct hvvssctl *ctl);
int cmd_version(struct hvvssctl *ctl);

/* The status verdict from a GetStatus reply: 0, HVVSSCTL_R_WARNINGS or HVVSSCTL_R_LAST_FAILED. */
int status_verdict(json_object *status);
/* True if an Operation's result counts as a failure (failed, watchdog, aborted, may_be_inconsistent). */
bool operation_failed(json_object *op);
