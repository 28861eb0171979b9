/* hvvssd: the Hyper-V VSS guest daemon. Parses options, sets up, runs; one place maps results to exit codes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "main-options.h"
#include "util.h"

/* Exit codes (documented in hvvssd(8), EXIT STATUS). */
enum {
        EXIT_OK = 0,
        EXIT_FAILURE_RUNTIME = 1,       /* set-up or the loop failed */
        EXIT_USAGE = 2,                 /* bad command line */
        EXIT_REFUSED = 3,               /* unscoped without --system, or a scope covering "/" */
        EXIT_CONFIG = 4,                /* invalid configuration file */
};

static int exit_status(int r)
{
        if (r == 0)
                return EXIT_OK;
        if (r == MAIN_E_USAGE)
                return EXIT_USAGE;
        if (r == DAEMON_E_REFUSED)
                return EXIT_REFUSED;
        if (r == DAEMON_E_CONFIG)
                return EXIT_CONFIG;
        return EXIT_FAILURE_RUNTIME;
}

/* Forks into the background unless --foreground or started by systemd; the parent exits once the child is set up. */
static int detach(int *ret_ready_fd)
{
        int p[2];
        pid_t pid;
        char c;

        *ret_ready_fd = -1;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid > 0) {
                close(p[1]);
                /* The child writes one byte when ready; EOF means it failed. */
                _exit(read(p[0], &c, 1) == 1 ? EXIT_OK : EXIT_FAILURE_RUNTIME);
        }
        close(p[0]);
        if (setsid() < 0)
                return -errno;
        *ret_ready_fd = p[1];
        return 0;
}

static int run(int argc, const char **argv)
{
        _cleanup_(main_options_clear) MainOptions o = {};
        _cleanup_(daemon_freep) Daemon *d = NULL;
        int ready_fd = -1;
        int r;

        r = main_options_parse(&o, argc, argv, stdout, stderr);
        if (r != 0)
                return r;
        if (o.help || o.version)
                return 0;

        r = log_init("hvvssd", LOG_INFO, LOG_TARGET_AUTO);
        if (r < 0)
                return r;

        if (!o.foreground && !getenv("NOTIFY_SOCKET")) {
                r = detach(&ready_fd);
                if (r < 0)
                        return log_error_errno(r, "cannot detach: %m");
        }

        r = daemon_new(&d, &o.daemon);
        if (r != 0)
                return r;
        if (ready_fd >= 0) {
                (void)!write(ready_fd, "r", 1);
                close(ready_fd);
        }
        return daemon_run(d);
}

int main(int argc, char **argv)
{
        int r = run(argc, (const char **)argv);

        log_close();
        return exit_status(r);
}
