/*
 * hvvssctl: actions, options, dispatch and exit codes.
 *
 * Two tables drive everything (after cryptsetup's action table and
 * arg_list.h): hvvssctl_actions[] (name, handler, synopsis, help) gives
 * --help and dispatch; options[] declares each option once, with the popt
 * entry, the actions it belongs to and the options it needs or excludes.
 * One generic check (hvvssctl_check_options) holds every rule of the form
 * "this option does not go with that action"; one function
 * (hvvssctl_exit_code) turns handler results into the documented exit codes.
 * Handlers return 0, -errno or an HVVSSCTL_R_* code, and print their own
 * results; errors are reported once, where they are understood.
 */
#include <errno.h>
#include <math.h>
#include <popt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hvvssctl.h"
#include "output.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

const struct hvvssctl_action hvvssctl_actions[_ACTION_MAX] = {
        [ACTION_STATUS] = { .name = "status", .run = cmd_status, .synopsis = "",
                            .help = "is this machine ready for a consistent host backup? (daemon, channel, last backup)" },
        [ACTION_MOUNTS] = { .name = "mounts", .run = cmd_mounts, .synopsis = "",
                            .help = "the freeze plan: every mount, freeze or skip and why, in order" },
        [ACTION_FROZEN] = { .name = "frozen", .run = cmd_frozen, .synopsis = "", .help = "what is frozen now, and since when" },
        [ACTION_TEST_FREEZE] = { .name = "test-freeze", .run = cmd_test_freeze,
                                 .synopsis = "[--hold SECONDS] [--no-hooks | --kernel [--hostsim PATH]]",
                                 .help = "freeze and thaw everything a backup would, with timings", .admin = true },
        [ACTION_THAW] = { .name = "thaw", .run = cmd_thaw, .synopsis = "",
                          .help = "emergency: thaw everything hvvssd (or a dead instance) froze", .admin = true },
        [ACTION_HISTORY] = { .name = "history", .run = cmd_history, .synopsis = "[--limit N]",
                             .help = "past backups and test freezes" },
        [ACTION_HOOKS] = { .name = "hooks", .run = cmd_hooks, .synopsis = "",
                           .help = "the application hooks and any permission problems" },
        [ACTION_VERSION] = { .name = "version", .run = cmd_version, .synopsis = "", .help = "client and daemon versions" },
};

enum option_id {
        OPT_JSON = 1,
        OPT_SOCKET,
        OPT_VERBOSE,
        OPT_DEBUG,
        OPT_NO_COLOR,
        OPT_TIMEOUT,
        OPT_HELP,
        OPT_HOLD,
        OPT_KERNEL,
        OPT_NO_HOOKS,
        OPT_HOSTSIM,
        OPT_LIMIT,
        _OPT_MAX,
};

#define OPT_BIT(o) (1ul << (o))

struct ctl_option {
        struct poptOption popt;  /* arg is always NULL: values arrive through val */
        unsigned actions;        /* the actions it may be used with */
        unsigned long requires;  /* options that must be given too */
        unsigned long conflicts; /* options it cannot be combined with */
};

#define GLOBAL ACTIONS_ALL
static const struct ctl_option options[] = {
        { { "json", 'j', POPT_ARG_NONE, NULL, OPT_JSON, "print JSON (the daemon's objects, see hvvssctl(8))", NULL }, GLOBAL, 0, 0 },
        { { "socket", 's', POPT_ARG_STRING, NULL, OPT_SOCKET, "control socket (default " HVVSSCTL_SOCKET_DEFAULT ")", "PATH" }, GLOBAL, 0, 0 },
        { { "verbose", 'v', POPT_ARG_NONE, NULL, OPT_VERBOSE, "more detail (extra columns, hook output)", NULL }, GLOBAL, 0, 0 },
        { { "debug", '\0', POPT_ARG_NONE, NULL, OPT_DEBUG, "also trace the calls to hvvssd on stderr", NULL }, GLOBAL, 0, 0 },
        { { "no-color", '\0', POPT_ARG_NONE, NULL, OPT_NO_COLOR, "never colour (also: NO_COLOR=1)", NULL }, GLOBAL, 0, 0 },
        { { "timeout", 't', POPT_ARG_STRING, NULL, OPT_TIMEOUT, "seconds to wait for each answer of hvvssd (default 30)", "SECONDS" }, GLOBAL, 0, 0 },
        { { "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, "show help (for an action: hvvssctl ACTION --help)", NULL }, GLOBAL, 0, 0 },
        { { "hold", '\0', POPT_ARG_STRING, NULL, OPT_HOLD, "stay frozen this long (default 0; with --kernel 2)", "SECONDS" },
          ACTION_BIT(ACTION_TEST_FREEZE), 0, 0 },
        { { "kernel", 'k', POPT_ARG_NONE, NULL, OPT_KERNEL, "play the host through " HVVSSCTL_HOSTSIM_DEFAULT ": the whole kernel path", NULL },
          ACTION_BIT(ACTION_TEST_FREEZE), 0, OPT_BIT(OPT_NO_HOOKS) },
        { { "no-hooks", '\0', POPT_ARG_NONE, NULL, OPT_NO_HOOKS, "do not run the application hooks", NULL },
          ACTION_BIT(ACTION_TEST_FREEZE), 0, OPT_BIT(OPT_KERNEL) },
        { { "hostsim", '\0', POPT_ARG_STRING, NULL, OPT_HOSTSIM, "host simulator device (default " HVVSSCTL_HOSTSIM_DEFAULT ")", "PATH" },
          ACTION_BIT(ACTION_TEST_FREEZE), OPT_BIT(OPT_KERNEL), 0 },
        { { "limit", 'n', POPT_ARG_STRING, NULL, OPT_LIMIT, "show at most N operations, newest first", "N" },
          ACTION_BIT(ACTION_HISTORY), 0, 0 },
};

static const struct ctl_option *option_by_id(int id)
{
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (options[i].popt.val == id)
                        return &options[i];
        return NULL;
}

const struct hvvssctl_action *hvvssctl_find_action(const char *name)
{
        for (size_t i = 0; name && i < ELEMENTSOF(hvvssctl_actions); i++)
                if (strcmp(hvvssctl_actions[i].name, name) == 0)
                        return &hvvssctl_actions[i];
        return NULL;
}

int hvvssctl_check_options(enum hvvssctl_action_id action, unsigned long given, const char **ret_option)
{
        for (size_t i = 0; i < ELEMENTSOF(options); i++) {
                const struct ctl_option *o = &options[i];

                if (!(given & OPT_BIT(o->popt.val)))
                        continue;
                if (!(o->actions & ACTION_BIT(action)) || (o->requires & ~given) || (o->conflicts & given)) {
                        if (ret_option)
                                *ret_option = o->popt.longName;
                        return -EINVAL;
                }
        }
        return 0;
}

/* Why hvvssctl_check_options() refused @option with @action, in words. */
static void report_option_misuse(enum hvvssctl_action_id action, unsigned long given, const char *option)
{
        const struct ctl_option *o = NULL;
        const char *sep = "";

        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (strcmp(options[i].popt.longName, option) == 0)
                        o = &options[i];
        if (!o)
                return;
        if (!(o->actions & ACTION_BIT(action))) {
                fprintf(stderr, "hvvssctl: option --%s cannot be used with '%s'; it belongs to: ", option,
                        hvvssctl_actions[action].name);
                for (size_t a = 0; a < _ACTION_MAX; a++)
                        if (o->actions & ACTION_BIT(a)) {
                                fprintf(stderr, "%s%s", sep, hvvssctl_actions[a].name);
                                sep = ", ";
                        }
                fprintf(stderr, " (see 'hvvssctl %s --help')\n", hvvssctl_actions[action].name);
                return;
        }
        for (int id = 1; id < _OPT_MAX; id++) {
                const struct ctl_option *other = option_by_id(id);

                if (other && (o->requires & OPT_BIT(id)) && !(given & OPT_BIT(id)))
                        fprintf(stderr, "hvvssctl: option --%s needs --%s (see 'hvvssctl %s --help')\n", option,
                                other->popt.longName, hvvssctl_actions[action].name);
                else if (other && (o->conflicts & OPT_BIT(id)) && (given & OPT_BIT(id)))
                        fprintf(stderr, "hvvssctl: options --%s and --%s cannot be combined (see 'hvvssctl %s --help')\n",
                                option, other->popt.longName, hvvssctl_actions[action].name);
        }
}

int hvvssctl_exit_code(int r)
{
        switch (r) {
        case 0:
                return HVVSSCTL_EXIT_OK;
        case HVVSSCTL_R_USAGE:
        case -EINVAL:
                return HVVSSCTL_EXIT_USAGE;
        case HVVSSCTL_R_FAILED:
                return HVVSSCTL_EXIT_FAILURE;
        case HVVSSCTL_R_WARNINGS:
                return HVVSSCTL_EXIT_WARNINGS;
        case HVVSSCTL_R_LAST_FAILED:
                return HVVSSCTL_EXIT_LAST_FAILED;
        case -ENOENT:
        case -ECONNREFUSED:
                return HVVSSCTL_EXIT_NOT_RUNNING;
        case -EACCES:
        case -EPERM:
                return HVVSSCTL_EXIT_PERMISSION;
        case -EBUSY:
                return HVVSSCTL_EXIT_BUSY;
        case -EBADMSG:
        case -EPROTO:
        case -EOPNOTSUPP:
        case -EMSGSIZE:
                return HVVSSCTL_EXIT_PROTOCOL;
        default:
                return HVVSSCTL_EXIT_FAILURE;
        }
}

void ctl_error(const char *fmt, ...)
{
        va_list ap;

        fputs("hvvssctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

void ctl_log(const struct hvvssctl *ctl, int level, const char *fmt, ...)
{
        va_list ap;

        if (!ctl || ctl->verbose < level)
                return;
        fputs("hvvssctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* The action currently running, for messages that depend on it (set by hvvssctl_main). */
static const struct hvvssctl_action *current_action;

void ctl_report_error(const struct hvvssctl *ctl, const char *method, int r, const char *error,
                      json_object *error_params)
{
        const char *msg = json_str(error_params, "message");

        if (r == VARLINK_CLIENT_E_ERROR && error) {
                const char *member = strrchr(error, '.');

                member = member ? member + 1 : error;
                if (msg)
                        ctl_log(ctl, 1, "%s answered %s: %s", method, error, msg);
                if (strcmp(error, VARLINK_ERROR_NOT_PERMITTED) == 0) {
                        if (current_action && current_action->admin)
                                ctl_error("permission denied: '%s' needs root (run it as root, e.g. with sudo)",
                                          current_action->name);
                        else
                                ctl_error("permission denied: run as root or join group %s", HVVSSCTL_GROUP);
                } else if (strcmp(member, "Busy") == 0)
                        ctl_error("hvvssd is busy: %s; wait until it finishes ('hvvssctl status') and try again",
                                  msg ? msg : "another operation runs");
                else if (strcmp(member, "Failed") == 0)
                        ctl_error("%s failed: %s", method, msg ? msg : "no reason given");
                else if (varlink_error_to_errno(error) == -EOPNOTSUPP)
                        ctl_error("hvvssd does not know %s: it is older than this hvvssctl; restart it after an upgrade "
                                  "(systemctl restart hvvssd)", method);
                else if (strcmp(error, VARLINK_ERROR_INVALID_PARAMETER) == 0)
                        ctl_error("hvvssd refused parameter '%s' of %s", json_str(error_params, "parameter") ?: "?",
                                  method);
                else
                        ctl_error("%s failed with %s%s%s", method, error, msg ? ": " : "", msg ? msg : "");
                return;
        }

        switch (r) {
        case -ENOENT:
        case -ECONNREFUSED:
                ctl_error("hvvssd is not running: systemctl start hvvssd (nothing listens on %s)", ctl->socket_path);
                break;
        case -EACCES:
        case -EPERM:
                ctl_error("permission denied: run as root or join group %s (cannot connect to %s)", HVVSSCTL_GROUP,
                          ctl->socket_path);
                break;
        default:
                ctl_error("%s on %s: %s", method ? method : "connect", ctl->socket_path, varlink_client_strerror(r));
                break;
        }
}

/* The negative errno for an error reply of the daemon. */
static int error_to_errno(const char *error)
{
        const char *member = strrchr(error, '.');

        member = member ? member + 1 : error;
        if (strcmp(member, "Busy") == 0)
                return -EBUSY;
        if (strcmp(member, "ProtocolError") == 0)
                return -EPROTO;
        if (strcmp(member, "Failed") == 0)
                return -EREMOTEIO;
        return varlink_error_to_errno(error);
}

int ctl_connect(struct hvvssctl *ctl)
{
        int r;

        if (ctl->client)
                return 0;
        ctl_log(ctl, 2, "connecting to %s", ctl->socket_path);
        r = varlink_client_connect(&ctl->client, ctl->socket_path, ctl->timeout_ms);
        if (r < 0) {
                ctl_report_error(ctl, NULL, r, NULL, NULL);
                return r;
        }
        return 0;
}

/* Connect if need be, log the request; ret_name (size bytes) gets method's qualified name. */
static int start_call(struct hvvssctl *ctl, const char *method, json_object *params, const char *note,
                      char *ret_name, size_t size)
{
        int r;

        r = ctl_connect(ctl);
        if (r < 0)
                return r;
        snprintf(ret_name, size, "io.hypervvss.%s", method);
        ctl_log(ctl, 2, "-> %s %s%s", ret_name, params ? json_object_to_json_string(params) : "{}", note);
        return 0;
}

static int finish_call(struct hvvssctl *ctl, const char *method, int r, char *error, json_object *reply,
                       json_object **ret)
{
        if (r == VARLINK_CLIENT_E_ERROR) {
                ctl_report_error(ctl, method, r, error, reply);
                r = error_to_errno(error);
                free(error);
                json_object_put(reply);
                return r;
        }
        if (r < 0) {
                ctl_report_error(ctl, method, r, NULL, NULL);
                return r;
        }
        if (ret)
                *ret = reply;
        else
                json_object_put(reply);
        return 0;
}

int ctl_call(struct hvvssctl *ctl, const char *method, json_object *params, json_object **ret)
{
        json_object *reply = NULL;
        char *error = NULL;
        char name[128];
        int r;

        r = start_call(ctl, method, params, "", name, sizeof(name));
        if (r < 0)
                return r;
        r = varlink_client_call(ctl->client, name, params, &reply, &error);
        if (r == 0)
                ctl_log(ctl, 2, "<- %s", json_object_to_json_string(reply));
        return finish_call(ctl, method, r, error, reply, ret);
}

int ctl_call_more(struct hvvssctl *ctl, const char *method, json_object *params, varlink_reply_fn fn,
                  void *userdata)
{
        json_object *reply = NULL;
        char *error = NULL;
        char name[128];
        int r;

        r = start_call(ctl, method, params, " (more)", name, sizeof(name));
        if (r < 0)
                return r;
        r = varlink_client_call_more(ctl->client, name, params, fn, userdata, &reply, &error);
        return finish_call(ctl, method, r, error, reply, NULL);
}

static void print_option_help(FILE *f, const struct ctl_option *o)
{
        char left[64];

        if (o->popt.shortName)
                snprintf(left, sizeof(left), "-%c, --%s%s%s", o->popt.shortName, o->popt.longName,
                         o->popt.argDescrip ? " " : "", o->popt.argDescrip ? o->popt.argDescrip : "");
        else
                snprintf(left, sizeof(left), "    --%s%s%s", o->popt.longName, o->popt.argDescrip ? " " : "",
                         o->popt.argDescrip ? o->popt.argDescrip : "");
        fprintf(f, "  %-26s %s\n", left, o->popt.descrip);
}

static void usage(FILE *f)
{
        fprintf(f, "Usage: hvvssctl [OPTIONS] ACTION [ACTION OPTIONS]\n"
                   "Control and inspect hvvssd, the Hyper-V VSS (host backup) agent.\n\n"
                   "Actions:\n");
        for (size_t a = 0; a < _ACTION_MAX; a++)
                fprintf(f, "  %-12s %s%s\n", hvvssctl_actions[a].name, hvvssctl_actions[a].help,
                        hvvssctl_actions[a].admin ? " [root]" : "");
        fprintf(f, "\nOptions:\n");
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (options[i].actions == GLOBAL)
                        print_option_help(f, &options[i]);
        fprintf(f, "\nAction options:\n");
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (options[i].actions != GLOBAL)
                        print_option_help(f, &options[i]);
        fprintf(f, "\nExit status: 0 ok, 1 failed, 2 usage, 3 hvvssd not running, 4 permission denied,\n"
                   "5 busy, 6 incompatible daemon, 10 status/hooks warnings, 11 last backup failed.\n"
                   "See hvvssctl(8).\n");
}

static void action_usage(FILE *f, enum hvvssctl_action_id a)
{
        const struct hvvssctl_action *act = &hvvssctl_actions[a];
        bool any = false;

        fprintf(f, "Usage: hvvssctl [OPTIONS] %s%s%s\n%s.%s\n", act->name, *act->synopsis ? " " : "", act->synopsis,
                act->help, act->admin ? " Needs root." : "");
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (options[i].actions != GLOBAL && (options[i].actions & ACTION_BIT(a))) {
                        if (!any)
                                fprintf(f, "\nOptions:\n");
                        any = true;
                        print_option_help(f, &options[i]);
                }
        fprintf(f, "\nGlobal options: see 'hvvssctl --help'.\n");
}

static int parse_seconds(const char *opt, const char *s, double max, double *ret)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < 0 || v > max) {
                ctl_error("--%s wants seconds from 0 to %.0f, not '%s'; see 'hvvssctl --help'", opt, max, s);
                return HVVSSCTL_R_USAGE;
        }
        *ret = v;
        return 0;
}

static int parse_option(struct hvvssctl *ctl, int id, const char *arg, bool *help)
{
        double d;
        char *end;
        long l;
        int r;

        switch (id) {
        case OPT_JSON:
                ctl->json = true;
                return 0;
        case OPT_SOCKET:
                ctl->socket_path = arg;
                return 0;
        case OPT_VERBOSE:
                ctl->verbose = ctl->verbose < 1 ? 1 : ctl->verbose;
                return 0;
        case OPT_DEBUG:
                ctl->verbose = 2;
                return 0;
        case OPT_NO_COLOR:
                return 0;
        case OPT_HELP:
                *help = true;
                return 0;
        case OPT_TIMEOUT:
                r = parse_seconds("timeout", arg, 86400, &d);
                if (r)
                        return r;
                ctl->timeout_ms = d > 0 ? (int)lround(d * 1000) : 0;
                if (d > 0 && ctl->timeout_ms == 0)
                        ctl->timeout_ms = 1;
                return 0;
        case OPT_HOLD:
                return parse_seconds("hold", arg, 3600, &ctl->hold_s);
        case OPT_KERNEL:
                ctl->kernel = true;
                return 0;
        case OPT_NO_HOOKS:
                ctl->no_hooks = true;
                return 0;
        case OPT_HOSTSIM:
                ctl->hostsim = arg;
                return 0;
        case OPT_LIMIT:
                errno = 0;
                l = strtol(arg, &end, 10);
                if (errno || end == arg || *end || l < 1 || l > 100000) {
                        ctl_error("--limit wants a number from 1 to 100000, not '%s'; see 'hvvssctl history --help'",
                                  arg);
                        return HVVSSCTL_R_USAGE;
                }
                ctl->limit = l;
                return 0;
        }
        return HVVSSCTL_R_USAGE;
}

/* Parses the command line into @ctl; *ret_action is NULL when only help was asked for. */
static int parse_argv(struct hvvssctl *ctl, int argc, char **argv, const struct hvvssctl_action **ret_action)
{
        struct poptOption table[ELEMENTSOF(options) + 1];
        const struct hvvssctl_action *action = NULL;
        unsigned long given = 0;
        bool help = false, no_color = false;
        poptContext pc;
        const char **args;
        const char *bad;
        int rc, r = 0;

        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                table[i] = options[i].popt;
        table[ELEMENTSOF(options)] = (struct poptOption)POPT_TABLEEND;

        pc = poptGetContext("hvvssctl", argc, (const char **)argv, table, 0);
        if (!pc)
                return -ENOMEM;
        while ((rc = poptGetNextOpt(pc)) > 0) {
                char *arg = poptGetOptArg(pc);

                given |= OPT_BIT(rc);
                if (rc == OPT_NO_COLOR)
                        no_color = true;
                r = parse_option(ctl, rc, arg, &help);
                /* The path options keep their value; every other value was parsed already. */
                if (rc == OPT_SOCKET) {
                        free(ctl->owned_socket);
                        ctl->owned_socket = arg;
                } else if (rc == OPT_HOSTSIM) {
                        free(ctl->owned_hostsim);
                        ctl->owned_hostsim = arg;
                } else
                        free(arg);
                if (r)
                        goto out;
        }
        if (rc < -1) {
                ctl_error("%s: %s; see 'hvvssctl --help'", poptBadOption(pc, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
                r = HVVSSCTL_R_USAGE;
                goto out;
        }

        args = poptGetArgs(pc);
        if (!args || !args[0]) {
                if (help) {
                        usage(stdout);
                        r = 0;
                } else {
                        ctl_error("no action given; try 'hvvssctl status', or see 'hvvssctl --help'");
                        r = HVVSSCTL_R_USAGE;
                }
                goto out;
        }
        action = hvvssctl_find_action(args[0]);
        if (!action) {
                ctl_error("unknown action '%s'; see 'hvvssctl --help' for the list", args[0]);
                r = HVVSSCTL_R_USAGE;
                goto out;
        }
        if (help) {
                action_usage(stdout, (enum hvvssctl_action_id)(action - hvvssctl_actions));
                action = NULL;
                goto out;
        }
        if (args[1]) {
                ctl_error("'%s' takes no arguments, got '%s'; see 'hvvssctl %s --help'", action->name, args[1],
                          action->name);
                r = HVVSSCTL_R_USAGE;
                goto out;
        }
        if (hvvssctl_check_options((enum hvvssctl_action_id)(action - hvvssctl_actions), given, &bad) < 0) {
                report_option_misuse((enum hvvssctl_action_id)(action - hvvssctl_actions), given, bad);
                r = HVVSSCTL_R_USAGE;
                goto out;
        }
        ctl->color = !ctl->json && output_want_color(STDOUT_FILENO, no_color);
out:
        poptFreeContext(pc);
        if (r == 0)
                *ret_action = action;
        return r;
}

int hvvssctl_main(int argc, char **argv)
{
        struct hvvssctl ctl = {
                .socket_path = getenv("HVVSSCTL_SOCKET") ?: HVVSSCTL_SOCKET_DEFAULT,
                .timeout_ms = 30000,
                .hold_s = -1,
                .limit = -1,
                .hostsim = HVVSSCTL_HOSTSIM_DEFAULT,
        };
        const struct hvvssctl_action *action = NULL;
        int r;

        r = parse_argv(&ctl, argc, argv, &action);
        if (r == 0 && action) {
                current_action = action;
                r = action->run(&ctl);
        }
        ctl.client = varlink_client_free(ctl.client);
        free(ctl.owned_socket);
        free(ctl.owned_hostsim);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                ctl_error("writing the output failed: %m");
                if (r == 0)
                        r = -EIO;
        }
        return hvvssctl_exit_code(r);
}
