/* main-options: the option table, its checks and the --help text. */
#include "main-options.h"

#include <errno.h>
#include <popt.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

enum {
        OPT_SCOPE = 1,
        OPT_HELP,
        OPT_USAGE,
        OPT_ALLOW_NON_TMPFS,
};

static void print_help(FILE *f)
{
        fprintf(f,
                "Usage: hvvssd [OPTION...]\n"
                "The Hyper-V VSS guest daemon: freezes filesystems consistently for host backups.\n"
                "\n"
                "  -f, --foreground       do not detach (implied under systemd)\n"
                "  -c, --config=FILE      configuration file (default %s)\n"
                "      --device=PATH      VSS device, or a fake kernel socket (default /dev/vmbus/hv_vss)\n"
                "      --socket=PATH      control socket (default /run/hyperv-vss/control)\n"
                "      --state-dir=DIR    frozen-state directory on tmpfs (default /run/hyperv-vss)\n"
                "      --scope=MOUNTPOINT freeze only this mount point; repeatable (tests)\n"
                "      --system           run unscoped as the system service (set by hvvssd.service)\n"
                "      --mountinfo=FILE   mount table (default /proc/1/mountinfo)\n"
                "  -V, --version          print the version and exit\n"
                "  -h, --help             print this help and exit\n"
                "\n"
                "Without --system, --scope is required: only the system service may freeze\n"
                "every filesystem, including \"/\". See hvvssd(8).\n",
                CONFIG_DEFAULT_PATH);
}

void main_options_clear(MainOptions *o)
{
        free(o->config);
        free(o->device);
        free(o->socket);
        free(o->state_dir);
        free(o->mountinfo);
        free(o->sysfs);
        free(o->proc);
        free(o->group);
        strv_free(o->scope);
        *o = (MainOptions){};
}

int main_options_parse(MainOptions *o, int argc, const char **argv, FILE *out, FILE *err)
{
        int foreground = 0, system = 0, allow_non_tmpfs = 0;
        char *scope_arg = NULL;
        poptContext ctx;
        int rc, r = 0;
        struct poptOption table[] = {
                { "foreground", 'f', POPT_ARG_NONE, &foreground, 0, NULL, NULL },
                { "config", 'c', POPT_ARG_STRING, &o->config, 0, NULL, NULL },
                { "device", 0, POPT_ARG_STRING, &o->device, 0, NULL, NULL },
                { "socket", 0, POPT_ARG_STRING, &o->socket, 0, NULL, NULL },
                { "state-dir", 0, POPT_ARG_STRING, &o->state_dir, 0, NULL, NULL },
                { "scope", 0, POPT_ARG_STRING, &scope_arg, OPT_SCOPE, NULL, NULL },
                { "system", 0, POPT_ARG_NONE, &system, 0, NULL, NULL },
                { "mountinfo", 0, POPT_ARG_STRING, &o->mountinfo, 0, NULL, NULL },
                { "version", 'V', POPT_ARG_NONE, NULL, 'V', NULL, NULL },
                { "help", 'h', POPT_ARG_NONE, NULL, OPT_HELP, NULL, NULL },
                /* Hidden, for tests. */
                { "sysfs", 0, POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN, &o->sysfs, 0, NULL, NULL },
                { "proc", 0, POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN, &o->proc, 0, NULL, NULL },
                { "control-group", 0, POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN, &o->group, 0, NULL, NULL },
                { "test-allow-non-tmpfs-state", 0, POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, &allow_non_tmpfs,
                  0, NULL, NULL },
                POPT_TABLEEND
        };

        ctx = poptGetContext("hvvssd", argc, argv, table, 0);
        if (!ctx)
                return -ENOMEM;
        while ((rc = poptGetNextOpt(ctx)) > 0) {
                switch (rc) {
                case OPT_SCOPE:
                        if (!scope_arg || !scope_arg[0]) {
                                fprintf(err, "hvvssd: --scope needs a mount point\n");
                                r = MAIN_E_USAGE;
                        } else if (strv_extend(&o->scope, scope_arg) < 0) {
                                r = -ENOMEM;
                        }
                        free(scope_arg);
                        scope_arg = NULL;
                        break;
                case 'V':
                        o->version = true;
                        break;
                case OPT_HELP:
                        o->help = true;
                        break;
                }
                if (r)
                        break;
        }
        if (!r && rc < -1) {
                fprintf(err, "hvvssd: %s: %s\nTry 'hvvssd --help' for more information.\n",
                        poptBadOption(ctx, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
                r = MAIN_E_USAGE;
        }
        if (!r && poptPeekArg(ctx)) {
                fprintf(err, "hvvssd: unexpected argument '%s'\nTry 'hvvssd --help' for more information.\n",
                        poptPeekArg(ctx));
                r = MAIN_E_USAGE;
        }
        poptFreeContext(ctx);
        if (r)
                return r;

        if (o->help) {
                print_help(out);
                return 0;
        }
        if (o->version) {
                fprintf(out, "hvvssd %s\n", HVVSS_VERSION);
                return 0;
        }
        if (system && o->scope) {
                fprintf(err, "hvvssd: --system and --scope exclude each other: --scope is for tests, "
                        "--system for the service\nTry 'hvvssd --help' for more information.\n");
                return MAIN_E_USAGE;
        }

        o->foreground = foreground;
        o->daemon = (DaemonOptions){
                .config_path = o->config,
                .config_explicit = o->config != NULL,
                .device = o->device,
                .socket = o->socket,
                .state_dir = o->state_dir,
                .scope = o->scope,
                .system = system,
                .mountinfo = o->mountinfo,
                .sysfs = o->sysfs,
                .proc = o->proc,
                .allow_non_tmpfs_state = allow_non_tmpfs,
                .control_group = o->group,
        };
        return 0;
}
