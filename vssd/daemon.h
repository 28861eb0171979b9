/* daemon: the hvvssd event loop tying the kernel channel, the operations, the control socket, timers and signals together. */
#pragma once

#include <stdbool.h>

typedef struct Daemon Daemon;

/* Positive results of daemon_new(): conditions main() maps to exit codes. */
enum {
        DAEMON_E_CONFIG = 1,            /* the configuration file is invalid (messages logged) */
        DAEMON_E_REFUSED,               /* unscoped without --system, or a scope that covers "/" */
        DAEMON_E_SETUP,                 /* state dir, control socket or event sources failed (logged) */
};

typedef struct DaemonOptions {
        const char *config_path;        /* NULL: CONFIG_DEFAULT_PATH, a missing file is fine */
        bool config_explicit;           /* --config given: a missing file is an error */
        const char *device;             /* overrides the config when set */
        const char *socket;
        const char *state_dir;
        char **scope;                   /* NULL or empty: unscoped (needs system) */
        bool system;                    /* started as the system service */
        const char *mountinfo;          /* NULL: /proc/1/mountinfo */
        const char *sysfs;              /* NULL: /sys (tests: a fake tree) */
        const char *proc;               /* NULL: /proc (where the device holder is searched) */
        bool allow_non_tmpfs_state;     /* tests only: state dir on any filesystem */
        const char *control_group;      /* NULL: hyperv-vss */
} DaemonOptions;

/* Checks the options, loads the config, opens the state dir and the
 * control socket, thaws what a dead instance left frozen. Logs every error. */
int daemon_new(Daemon **ret, const DaemonOptions *options);
Daemon *daemon_free(Daemon *d);

/* Runs the loop until SIGTERM/SIGINT has thawed everything. Returns 0 or -errno. */
int daemon_run(Daemon *d);

/*
 * The scope check, exposed for tests: every entry absolute, not "/" and
 * not on the root filesystem of root_prefix (NULL: the daemon's own "/").
 * Returns 0, or DAEMON_E_REFUSED with *ret_message explaining (malloc()ed).
 */
int daemon_check_scope(char *const *scope, const char *root_prefix, char **ret_message);

/*
 * Where the mount points of the table mountinfo are reached: for
 * "/proc/PID/mountinfo" of a process in another mount namespace (failure
 * mode 10: the daemon started in a container or a private namespace, the
 * table being PID 1's by default), *ret = "/proc/PID/root" and 1;
 * otherwise (same namespace, another kind of file, or no permission to
 * compare the namespaces) *ret = NULL and 0. -ENOMEM.
 */
int daemon_root_prefix(const char *mountinfo, char **ret);

static inline void daemon_freep(Daemon **d) { daemon_free(*d); }
