/* plan-dump: prints the freeze plan for a mount table, a sysfs tree, a config and a scope (debugging, golden tests). */
#include <getopt.h>

#include "config.h"
#include "diag.h"
#include "plan.h"
#include "util.h"

struct args {
        const char *mountinfo;
        const char *sysfs;
        const char *config;
        char **scope;
};

static void help(void)
{
        printf("Usage: plan-dump [OPTION]...\n"
               "Print the freeze plan hvvssd would use; freezes nothing.\n\n"
               "  -m, --mountinfo=FILE  mount table (default /proc/self/mountinfo)\n"
               "  -s, --sysfs=DIR       sysfs root (default /sys)\n"
               "  -c, --config=FILE     configuration file (default: built-in defaults)\n"
               "  -S, --scope=PATH      only this mount point (repeatable)\n"
               "  -h, --help            this text\n");
}

/* 0: run; 1: done (help); -EINVAL: misuse, already reported. */
static int parse_args(int argc, char **argv, struct args *a)
{
        static const struct option opts[] = {
                { "mountinfo", required_argument, NULL, 'm' },
                { "sysfs", required_argument, NULL, 's' },
                { "config", required_argument, NULL, 'c' },
                { "scope", required_argument, NULL, 'S' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "m:s:c:S:h", opts, NULL)) >= 0) {
                switch (c) {
                case 'm': a->mountinfo = optarg; break;
                case 's': a->sysfs = optarg; break;
                case 'c': a->config = optarg; break;
                case 'S':
                        if (strv_extend(&a->scope, optarg) < 0)
                                return -ENOMEM;
                        break;
                case 'h': help(); return 1;
                default:
                        fprintf(stderr, "Try 'plan-dump --help' for more information.\n");
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "plan-dump: unexpected argument '%s'\nTry 'plan-dump --help' for more information.\n",
                        argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static int run(const struct args *a, struct diag *diag)
{
        _cleanup_config_free_ struct config *config = NULL;
        _cleanup_plan_free_ struct plan *plan = NULL;
        int r;

        if (a->config) {
                r = config_load(&config, a->config, diag);
                if (r < 0)
                        return r;
        }
        r = plan_new(&plan, &(struct plan_input){
                .mountinfo = a->mountinfo,
                .sysfs = a->sysfs,
                .config = config,
                .scope = a->scope,
                .diag = diag,
        });
        if (r < 0)
                return r;
        r = plan_format(plan, stdout);
        if (r >= 0 && fflush(stdout) != 0)
                r = -errno;
        if (r < 0)
                (void)diag_add(diag, DIAG_ERROR, NULL, 0, "cannot write the plan to stdout: %s", strerror(-r));
        return r;
}

int main(int argc, char **argv)
{
        struct args a = {};
        struct diag diag = DIAG_NULL;
        int r;

        r = parse_args(argc, argv, &a);
        if (r == 0) {
                r = run(&a, &diag);
                diag_print(&diag, stderr);
        }
        if (r == -ENOMEM)
                fprintf(stderr, "plan-dump: out of memory\n");
        diag_clear(&diag);
        strv_free(a.scope);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
