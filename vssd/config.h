/* config: the daemon's settings, read from hvvssd.conf over built-in defaults kept in one table. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "diag.h"

#define CONFIG_DEFAULT_PATH "/etc/hyperv-vss/hvvssd.conf"
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)

enum config_on_error {
        CONFIG_ON_ERROR_SKIP,           /* skip the mount with a warning */
        CONFIG_ON_ERROR_FAIL,           /* fail the whole freeze */
};

enum config_hook_failure {
        CONFIG_HOOK_FAILURE_ABORT,      /* a failed freeze hook aborts the freeze */
        CONFIG_HOOK_FAILURE_CONTINUE,   /* log it and freeze anyway */
};

struct config {
        /* Globs are fnmatch(3) patterns without flags: '*' also matches '/'.
         * Every list is a NULL-terminated vector, never NULL itself. */
        char **include_mounts;          /* empty: every mount is a candidate */
        char **exclude_mounts;
        char **exclude_types;
        char **exclude_devices;
        char **never_freeze_types;
        enum config_on_error on_unsupported;
        enum config_on_error on_open_error;
        char *hooks_dir;
        uint64_t hook_timeout_usec;
        enum config_hook_failure hook_failure;
        uint64_t hook_output_max;       /* bytes kept per hook */
        uint64_t max_frozen_time_usec;  /* watchdog: thaw after this long */
        uint64_t freeze_timeout_usec;   /* budget for the whole freeze phase */
        char *device;
        char *socket;
        char *state_dir;
        unsigned history_size;
        int log_level;                  /* syslog priority, LOG_ERR..LOG_DEBUG */
};

/* One configuration key: what the man page and the shipped file document. */
struct config_key_info {
        const char *name;
        const char *default_value;      /* as written in hvvssd.conf */
        const char *accepted;           /* what values are accepted, for errors */
};

/* The built-in defaults. */
int config_new(struct config **ret);
/*
 * Defaults overridden by the file at path. Unknown keys and repeated keys
 * are warnings in diag; any bad value is an error in diag (file, line, key,
 * value, what is accepted) and the call returns -EINVAL after reading the
 * whole file, so every mistake is reported at once. A file that cannot be
 * opened returns its -errno (-ENOENT: the caller may fall back to
 * config_new()) with an error in diag.
 */
int config_load(struct config **ret, const char *path, struct diag *diag);
/* Same, from an open stream; name is used in messages. */
int config_load_stream(struct config **ret, FILE *f, const char *name, struct diag *diag);
struct config *config_free(struct config *c);

/* Writes every key as "key = value", in table order, in the file's syntax. */
int config_dump(const struct config *c, FILE *f);

size_t config_n_keys(void);
const struct config_key_info *config_key(size_t i);

const char *config_on_error_to_string(enum config_on_error v);
const char *config_hook_failure_to_string(enum config_hook_failure v);
const char *config_log_level_to_string(int level);

static inline void config_freep(struct config **c)
{
        config_free(*c);
}
#define _cleanup_config_free_ __attribute__((cleanup(config_freep)))
