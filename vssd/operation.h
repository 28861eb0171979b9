/* operation: one freeze/thaw cycle (plan, freeze hooks, presync+freeze, hold, thaw, thaw hooks) run by a worker thread for the event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "frozen-state.h"
#include "history.h"
#include "hooks.h"

typedef struct Operation Operation;

typedef enum OperationState {
        OPERATION_NEW,          /* created, nothing started */
        OPERATION_FREEZING,     /* the freeze worker runs (plan, hooks, presync, freeze) */
        OPERATION_FROZEN,       /* frozen (possibly nothing); waiting for operation_start_thaw() */
        OPERATION_FAILED,       /* the freeze failed; everything is thawed, thaw hooks ran */
        OPERATION_THAWING,      /* the thaw worker runs (thaw, thaw hooks) */
        OPERATION_DONE,         /* thawed (or the thaw failed: see operation_thaw_failed()) */
} OperationState;

typedef enum OperationEventType {
        OPERATION_EVENT_PROGRESS,       /* name: "phase", "target" or "hook" */
        OPERATION_EVENT_FROZEN,         /* the freeze worker ended: FROZEN or FAILED */
        OPERATION_EVENT_THAWED,         /* the thaw worker ended: DONE */
} OperationEventType;

typedef struct OperationEvent {
        OperationEventType type;
        const char *name;               /* PROGRESS: TestFreeze event name */
        const char *phase;              /* may be NULL */
        const char *mount_point;        /* may be NULL */
        const char *message;            /* may be NULL */
} OperationEvent;

/* Called from operation_dispatch() in the loop thread, once per event, in order. */
typedef void (*OperationEventFn)(Operation *op, const OperationEvent *ev, void *userdata);

typedef struct OperationParams {
        OpKind kind;                    /* HOST_BACKUP or TEST_FREEZE */
        bool run_hooks;
        const struct config *config;    /* read during operation_new() only */
        char *const *scope;             /* NULL: unscoped (system service); copied */
        const char *mountinfo;          /* NULL: /proc/self/mountinfo; copied */
        const char *sysfs;              /* NULL: /sys; copied */
        const char *root_prefix;        /* NULL, or "/proc/1/root": mount points are opened
                                           under it (another mount namespace); copied */
        bool allow_root;                /* --system only */
        FrozenState *state;             /* referenced */
        int notify_fd;                  /* an eventfd written (1) whenever an event is queued */
} OperationParams;

/* The record is referenced and filled in (in the loop thread) as the operation goes. */
int operation_new(Operation **ret, const OperationParams *params, OpRecord *record);
/* Must not run a worker: the daemon waits for FROZEN/THAWED before freeing. */
Operation *operation_free(Operation *op);

int operation_start_freeze(Operation *op);
/* From FROZEN: thaw, then the thaw hooks of the freeze hooks that ran. */
int operation_start_thaw(Operation *op, enum hook_reason reason);

/* Reads the eventfd's queue and calls fn for each event. Call when notify_fd is readable. */
void operation_dispatch(Operation *op, OperationEventFn fn, void *userdata);

OperationState operation_get_state(const Operation *op);
bool operation_worker_running(const Operation *op);
OpRecord *operation_get_record(const Operation *op);
/* FAILED: why, e.g. "freeze hook 10-db failed"; NULL otherwise. */
const char *operation_get_error(const Operation *op);
/* FROZEN/DONE: how many filesystems the freezer froze. */
size_t operation_n_frozen(const Operation *op);
/* CLOCK_MONOTONIC usec of the first FIFREEZE return; 0 if nothing was frozen. */
uint64_t operation_first_frozen_usec(const Operation *op);
/* DONE: the thaw failed and something stays frozen (retry with operation_start_thaw()). */
bool operation_thaw_failed(const Operation *op);
/* The mount points frozen and thawed by this operation (after DONE), as a strv. */
int operation_thawed_paths(const Operation *op, char ***ret);
/* Logs per-target results and hook output (call after thaw only). */
void operation_log_results(const Operation *op);

/* path without root_prefix (see OperationParams) when it lies under it; else path itself. */
const char *operation_strip_root_prefix(const char *root_prefix, const char *path);

static inline void operation_freep(Operation **op) { operation_free(*op); }
