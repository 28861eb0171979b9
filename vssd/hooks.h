/* hooks: the runner of freeze/thaw hook executables (qemu-ga fsfreeze-hook.d convention). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HOOK_DIR_DEFAULT "/etc/hyperv-vss/hooks.d"
#define HOOK_TIMEOUT_MS_DEFAULT UINT64_C(30000)
#define HOOK_OUTPUT_MAX_DEFAULT ((size_t)65536)
#define HOOK_PATH_ENV "PATH=/usr/sbin:/usr/bin:/sbin:/bin"

/* Positive return codes of hook_runner_run_*(): the caller must handle them. */
enum {
        HOOK_E_FAILED = 1, /* at least one hook did not end with HOOK_RESULT_OK */
};

enum hook_op {
        HOOK_OP_FREEZE, /* argument "freeze", ascending name order */
        HOOK_OP_THAW,   /* argument "thaw", descending name order */
};

/* Why the hooks run; passed to hooks as HYPERV_VSS_REASON. */
enum hook_reason {
        HOOK_REASON_HOST_BACKUP, /* "host-backup": the host asked (VSS) */
        HOOK_REASON_TEST_FREEZE, /* "test-freeze": hvvssctl test-freeze */
        HOOK_REASON_WATCHDOG,    /* "watchdog": thaw because frozen too long */
        HOOK_REASON_RECOVERY,    /* "recovery": thaw after a daemon restart */
};

/* What a failing freeze hook does to the rest of the freeze sequence. */
enum hook_policy {
        HOOK_POLICY_ABORT,    /* stop; later freeze hooks are not run */
        HOOK_POLICY_CONTINUE, /* run the remaining freeze hooks anyway */
};

enum hook_result {
        HOOK_RESULT_OK,         /* exited with status 0 */
        HOOK_RESULT_FAILED,     /* exited non-zero, or killed by a signal */
        HOOK_RESULT_TIMEOUT,    /* ran too long; its process group was SIGKILLed */
        HOOK_RESULT_REFUSED,    /* not run: unsafe owner/permissions (see problem) */
        HOOK_RESULT_EXEC_ERROR, /* could not be started (see error) */
};

struct hook_config {
        const char *dir;             /* NULL: HOOK_DIR_DEFAULT */
        uint64_t timeout_ms;         /* per hook; 0: HOOK_TIMEOUT_MS_DEFAULT */
        size_t output_max;           /* bytes kept per hook; 0: HOOK_OUTPUT_MAX_DEFAULT */
        uid_t expected_uid;          /* owner hooks and their directory must have (0 = root) */
        enum hook_policy policy;     /* for freeze; thaw always runs every hook */
        const char *const *extra_env; /* NULL or NULL-terminated "NAME=value" strings */
};

/* One hook as run (or refused); owned by its struct hook_run, read-only. */
struct hook_outcome {
        char *name;               /* file name inside the hooks directory */
        char *path;               /* dir + "/" + name */
        enum hook_result result;
        int exit_status;          /* 0..255 if it exited, else -1 */
        int signal;               /* terminating signal (SIGKILL on timeout), else 0 */
        int error;                /* HOOK_RESULT_EXEC_ERROR: positive errno, else 0 */
        char *problem;            /* HOOK_RESULT_REFUSED: what is wrong and the fix */
        uint64_t duration_ms;
        char *output;             /* stdout+stderr, NUL-terminated; may be NULL if empty */
        size_t output_len;        /* bytes kept in output (<= output_max) */
        uint64_t output_dropped;  /* bytes read beyond output_max and discarded */
};

/* The hooks found in a directory, sorted ascending, with their permission problems. */
struct hook_list;

struct hook_list *hook_list_free(struct hook_list *list);
size_t hook_list_count(const struct hook_list *list);
const char *hook_list_name(const struct hook_list *list, size_t i);
const char *hook_list_path(const struct hook_list *list, size_t i);
/* NULL if the hook may run, else a message naming the file and the fix. */
const char *hook_list_problem(const struct hook_list *list, size_t i);

/*
 * Lists the hooks of @dir without running them (for `hvvssctl hooks`). A
 * missing directory yields an empty list. Returns 0 or a negative errno.
 */
int hook_check(const char *dir, uid_t expected_uid, struct hook_list **ret_list);

/* The outcome of one freeze or thaw pass. */
struct hook_run;

struct hook_run *hook_run_free(struct hook_run *run);
enum hook_op hook_run_op(const struct hook_run *run);
/* Hooks attempted (run, refused or failed to start), in the order attempted. */
size_t hook_run_count(const struct hook_run *run);
const struct hook_outcome *hook_run_outcome(const struct hook_run *run, size_t i);
/* Freeze with HOOK_POLICY_ABORT: hooks not attempted because an earlier one failed. */
size_t hook_run_skipped(const struct hook_run *run);
size_t hook_run_failed(const struct hook_run *run);
/*
 * One line for the log, e.g. "hook 10-db freeze: failed after 12 ms (exit
 * status 1, 230 bytes of output)". Returns 0 or -ENOMEM.
 */
int hook_run_summary(const struct hook_run *run, size_t i, char **ret_line);

struct hook_runner;

/* Copies everything from @cfg. Returns 0, -EINVAL (bad extra_env) or -ENOMEM. */
int hook_runner_new(struct hook_runner **ret, const struct hook_config *cfg);
struct hook_runner *hook_runner_free(struct hook_runner *runner);
/* hook_check() with the runner's directory and expected owner. */
int hook_runner_list(struct hook_runner *runner, struct hook_list **ret_list);

/*
 * Runs the freeze hooks in ascending order with argument "freeze".
 * @filesystems: NULL or NULL-terminated mount points of the plan.
 * Returns 0 if every hook succeeded, HOOK_E_FAILED if one did not (with
 * HOOK_POLICY_ABORT the sequence stopped there), or a negative errno if the
 * directory could not be read; *ret_run is set whenever the return is >= 0.
 */
int hook_runner_run_freeze(struct hook_runner *runner, enum hook_reason reason,
                           const char *const *filesystems, struct hook_run **ret_run);

/*
 * Runs thaw hooks in descending order with argument "thaw", every one even if
 * some fail. With @freeze_run NULL: every hook now in the directory. Else
 * exactly the hooks that @freeze_run started (result ok, failed or timeout),
 * in reverse order: the undo of a freeze that stopped half-way.
 * Returns like hook_runner_run_freeze().
 */
int hook_runner_run_thaw(struct hook_runner *runner, enum hook_reason reason,
                         const char *const *filesystems, const struct hook_run *freeze_run,
                         struct hook_run **ret_run);

const char *hook_op_to_string(enum hook_op op);
const char *hook_reason_to_string(enum hook_reason reason);
const char *hook_result_to_string(enum hook_result result);

static inline void hook_list_freep(struct hook_list **p) { hook_list_free(*p); }
static inline void hook_run_freep(struct hook_run **p) { hook_run_free(*p); }
static inline void hook_runner_freep(struct hook_runner **p) { hook_runner_free(*p); }
