/* frozen-state: the list of filesystems we froze, kept on tmpfs for a restarted daemon. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define FROZEN_STATE_DEFAULT_DIR "/run/hyperv-vss"

typedef struct FrozenState FrozenState;

enum {
        /* Accept a state directory that is not on tmpfs/ramfs (tests only). */
        FROZEN_STATE_ALLOW_NON_TMPFS = 1u << 0,
};

/* One record: one filesystem that is (or is about to be) frozen. */
typedef struct FrozenEntry {
        char *record;                   /* file name in the state dir; set by list */
        bool corrupt;                   /* the record could not be parsed */
        char *path;                     /* mount point */
        dev_t dev;                      /* st_dev of the mount point when it was opened */
        unsigned level;                 /* freeze level: thaw in descending order */
        struct timespec frozen_at;      /* CLOCK_REALTIME, taken just before FIFREEZE */
        pid_t pid;                      /* the daemon that froze it */
        char *operation;                /* operation id, may be NULL */
} FrozenEntry;

typedef struct FrozenList {
        FrozenEntry *entries;           /* sorted by level, then frozen_at */
        size_t n_entries;
} FrozenList;

typedef enum FrozenRecoverResult {
        FROZEN_RECOVER_THAWED,          /* FITHAW succeeded; record removed */
        FROZEN_RECOVER_NOT_FROZEN,      /* FITHAW said EINVAL (not frozen); record removed */
        FROZEN_RECOVER_UNREACHABLE,     /* the path cannot be opened; record kept */
        FROZEN_RECOVER_MOUNT_CHANGED,   /* the path is another filesystem now; record kept */
        FROZEN_RECOVER_FAILED,          /* FITHAW failed otherwise; record kept */
        FROZEN_RECOVER_CORRUPT,         /* unreadable record; removed */
} FrozenRecoverResult;

typedef struct FrozenRecoverItem {
        FrozenEntry entry;
        FrozenRecoverResult result;
        int error;                      /* positive errno, 0 if none */
        dev_t found_dev;                /* st_dev found at the path (MOUNT_CHANGED) */
        bool record_kept;
} FrozenRecoverItem;

typedef struct FrozenRecoverReport {
        FrozenRecoverItem *items;       /* in the order they were handled (thaw order) */
        size_t n_items;
        size_t n_thawed;                /* THAWED + NOT_FROZEN */
        size_t n_kept;                  /* records left in place */
} FrozenRecoverReport;

/*
 * Open (creating the last component if missing, mode 0700) the state dir.
 * Returns -EMEDIUMTYPE if it is not on tmpfs/ramfs and
 * FROZEN_STATE_ALLOW_NON_TMPFS is not given.
 */
int frozen_state_open(FrozenState **ret, const char *dir, unsigned flags);
FrozenState *frozen_state_ref(FrozenState *state);
FrozenState *frozen_state_unref(FrozenState *state);
bool frozen_state_on_tmpfs(const FrozenState *state);
dev_t frozen_state_dev(const FrozenState *state);
const char *frozen_state_dir(const FrozenState *state);

/*
 * Write the record for entry->dev atomically (temp file + rename), replacing
 * any previous one. entry->record and entry->corrupt are ignored.
 * Safe to call from several threads for different devs.
 */
int frozen_state_record(FrozenState *state, const FrozenEntry *entry);
/* Remove the record of dev; -ENOENT if there is none. Thread-safe. */
int frozen_state_remove(FrozenState *state, dev_t dev);
int frozen_state_list(FrozenState *state, FrozenList **ret_list);

/*
 * Thaw what the records describe, highest level first: open the path, check
 * st_dev, FITHAW (EINVAL = was not frozen). The caller must make sure no
 * other daemon instance is holding these freezes. Returns 0 (per-record
 * results are in the report) or a negative errno if the dir cannot be read.
 */
int frozen_state_recover(FrozenState *state, FrozenRecoverReport **ret_report);
const char *frozen_recover_result_to_string(FrozenRecoverResult result);

void frozen_entry_clear(FrozenEntry *entry);
FrozenList *frozen_list_free(FrozenList *list);
FrozenRecoverReport *frozen_recover_report_free(FrozenRecoverReport *report);

/* Exposed for tests: the text form of a record, and back. */
int frozen_entry_format(const FrozenEntry *entry, char **ret_text);
int frozen_entry_parse(const char *text, size_t size, FrozenEntry *ret_entry);

static inline void frozen_state_unrefp(FrozenState **p) { frozen_state_unref(*p); }
static inline void frozen_list_freep(FrozenList **p) { frozen_list_free(*p); }
static inline void frozen_recover_report_freep(FrozenRecoverReport **p) { frozen_recover_report_free(*p); }
