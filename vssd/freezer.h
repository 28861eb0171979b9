/* freezer: freezes and thaws ordered levels of filesystems, the targets of a level in parallel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frozen-state.h"

#define FREEZER_DEFAULT_MAX_THREADS 16

typedef struct Freezer Freezer;

/* Positive results of freezer_freeze(); negative values are -errno. */
enum {
        FREEZER_E_ROOT = 1,     /* a target is on the root filesystem, allow_root unset */
        FREEZER_E_OPEN,         /* a target could not be opened, on_open_error = fail */
        FREEZER_E_STATE,        /* the frozen-state record could not be written */
        FREEZER_E_UNSUPPORTED,  /* EOPNOTSUPP, on_unsupported = fail */
        FREEZER_E_BUSY,         /* EBUSY: already frozen by someone else */
        FREEZER_E_FREEZE,       /* FIFREEZE failed otherwise */
        FREEZER_E_TIMEOUT,      /* freeze_timeout_msec passed */
        FREEZER_E_THAW,         /* freezer_thaw(): a FITHAW failed; call again to retry */
};

typedef enum FreezerPolicy {
        FREEZER_POLICY_SKIP,    /* report the target and go on without it */
        FREEZER_POLICY_FAIL,    /* fail the whole operation */
} FreezerPolicy;

/*
 * The filesystem operations, replaceable for unit tests only. Each returns
 * 0 or -errno. identify() gives the st_dev used for expected_dev and for
 * finding duplicates; the root guard always uses the real fstat().
 * userdata must outlive every freezer using the ops (a worker abandoned on
 * timeout may still call freeze/thaw after freezer_free()).
 */
typedef struct FreezerOps {
        int (*sync)(int fd, void *userdata);
        int (*freeze)(int fd, void *userdata);
        int (*thaw)(int fd, void *userdata);
        int (*identify)(int fd, dev_t *ret_dev, void *userdata);
        void *userdata;
} FreezerOps;

typedef struct FreezerOptions {
        FreezerPolicy on_open_error;    /* default skip */
        FreezerPolicy on_unsupported;   /* default skip */
        unsigned freeze_timeout_msec;   /* budget for the whole freeze phase; 0 = none */
        unsigned sync_timeout_msec;     /* presync budget; on expiry go on; 0 = none */
        unsigned max_threads;           /* per level; 0 = FREEZER_DEFAULT_MAX_THREADS */
        bool allow_root;                /* may freeze the root filesystem (system service only) */
        FrozenState *state;             /* optional; referenced by the freezer */
        const char *operation_id;       /* optional; copied into the records */
        const FreezerOps *ops;          /* NULL = the real syscalls; copied */
} FreezerOptions;

#define FREEZER_OPTIONS_INIT { .on_open_error = FREEZER_POLICY_SKIP, \
                               .on_unsupported = FREEZER_POLICY_SKIP }

typedef enum FreezerOutcome {
        FREEZER_NOT_RUN = 0,    /* step not reached */
        FREEZER_OK,
        FREEZER_SKIPPED,        /* target left out; see note */
        FREEZER_FAILED,
        FREEZER_TIMED_OUT,      /* still running at the deadline (freeze: thawed by its worker if it ever freezes) */
} FreezerOutcome;

typedef struct FreezerStep {
        FreezerOutcome outcome;
        int error;              /* positive errno, 0 if none */
        uint64_t usec;          /* duration of the call */
} FreezerStep;

typedef struct FreezerTargetReport {
        char *path;
        unsigned level;
        dev_t expected_dev;
        dev_t dev;              /* st_dev found at open */
        FreezerStep open, sync, freeze, thaw;
        const char *note;       /* why skipped/failed, or what was unusual; static text */
        unsigned freeze_seq;    /* 1-based order of successful FIFREEZE returns; 0 = not frozen */
        unsigned thaw_seq;      /* 1-based order of thaws */
        uint64_t frozen_at_usec;        /* CLOCK_MONOTONIC when FIFREEZE returned */
        uint64_t thawed_at_usec;        /* CLOCK_MONOTONIC when FITHAW returned */
} FreezerTargetReport;

typedef struct FreezerReport {
        FreezerTargetReport *targets;   /* in the order they were added */
        size_t n_targets;
        int result;             /* what freezer_freeze() returned */
        int thaw_result;        /* what the last freezer_thaw() returned */
        uint64_t open_usec, sync_usec, freeze_usec, thaw_usec;  /* wall time of each phase */
        size_t n_opened, n_frozen, n_skipped, n_failed;
        size_t n_abandoned;     /* freezes left to their workers at a timeout */
} FreezerReport;

int freezer_new(Freezer **ret, const FreezerOptions *options);
Freezer *freezer_free(Freezer *f);

/*
 * Add a mount point to a level (level 0 is frozen first). expected_dev is
 * the st_dev the plan saw (0 = do not check). "/" is refused with -EPERM
 * unless allow_root; so is a path whose st_dev is that of "/" (checked
 * again on the opened fd at freeze time).
 */
int freezer_add_target(Freezer *f, unsigned level, const char *path, dev_t expected_dev);

/*
 * open, presync, freeze. 0: every target is frozen or was skipped by
 * policy. On any failure everything frozen so far has been thawed (except
 * freezes still blocked at a timeout, which their workers thaw when they
 * return) and the result is a FREEZER_E_* or -errno. Call once.
 */
int freezer_freeze(Freezer *f);

/*
 * Thaw what is frozen, levels in reverse. EINVAL from FITHAW (someone else
 * thawed) counts as thawed. Returns 0 or FREEZER_E_THAW; may be retried.
 */
int freezer_thaw(Freezer *f);

/* True while something this freezer froze is not thawed yet. */
bool freezer_is_frozen(const Freezer *f);

/* Valid until freezer_free(); updated by freezer_freeze() and freezer_thaw(). */
const FreezerReport *freezer_get_report(const Freezer *f);

const char *freezer_result_to_string(int result);
const char *freezer_outcome_to_string(FreezerOutcome outcome);

static inline void freezer_freep(Freezer **p) { freezer_free(*p); }
