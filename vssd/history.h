/* history: the bounded ring of past operations (io.hypervvss Operation), newest first. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum OpKind {
        OP_KIND_HOST_BACKUP,            /* "host-backup": FREEZE/THAW from the host */
        OP_KIND_TEST_FREEZE,            /* "test-freeze": TestFreeze on the control socket */
        OP_KIND_HOT_BACKUP_CHECK,       /* "hot-backup-check": the host's HOT_BACKUP */
        OP_KIND_WATCHDOG_THAW,          /* "watchdog-thaw": reserved; the watchdog marks the frozen op */
        OP_KIND_EMERGENCY_THAW,         /* "emergency-thaw": the Thaw method, SIGTERM, a broken channel */
        OP_KIND_RECOVERY,               /* "recovery": records of a dead instance thawed at start-up */
        _OP_KIND_MAX,
} OpKind;

typedef enum OpResult {
        OP_RESULT_IN_PROGRESS,
        OP_RESULT_OK,
        OP_RESULT_FAILED,
        OP_RESULT_WATCHDOG,             /* thawed by the watchdog before the host's THAW */
        OP_RESULT_ABORTED,              /* ended early: pre-empted test, daemon stopping, channel lost */
        _OP_RESULT_MAX,
} OpResult;

typedef struct OpPhase {
        char *name;                     /* hooks-freeze, presync, freeze, hold, thaw, hooks-thaw */
        double duration_ms;
} OpPhase;

typedef struct OpTarget {
        char *mount_point;
        char *fstype;                   /* may be NULL: written as "" */
        int level;
        char *result;                   /* frozen-thawed, skipped, failed, timeout, not-run */
        char *note;                     /* NULL: null */
        double open_ms, sync_ms, freeze_ms, thaw_ms;
        unsigned freeze_seq, thaw_seq;  /* not in JSON: the order of FIFREEZE/FITHAW, for logs */
} OpTarget;

typedef struct OpHook {
        char *name;
        char *operation;                /* freeze or thaw */
        char *result;                   /* ok, failed, timeout, refused, exec-error */
        int exit_status;                /* -1: null */
        int signal;                     /* 0: null */
        double duration_ms;
        char *output;                   /* NULL: null */
        uint64_t output_dropped;
} OpHook;

/* One operation. Reference counted: the history and a running operation share it. */
typedef struct OpRecord {
        unsigned n_ref;
        uint64_t id;
        OpKind kind;
        struct timespec started;        /* CLOCK_REALTIME */
        OpResult result;
        char *error;                    /* NULL: null */
        double frozen_ms;               /* < 0: null (nothing was frozen) */
        bool may_be_inconsistent;
        OpPhase *phases;
        size_t n_phases;
        OpTarget *targets;
        size_t n_targets;
        OpHook *hooks;
        size_t n_hooks;
} OpRecord;

/* started = now, result in-progress, frozen_ms null. */
int op_record_new(OpRecord **ret, uint64_t id, OpKind kind);
OpRecord *op_record_ref(OpRecord *r);
OpRecord *op_record_unref(OpRecord *r);
/* Replaces the error text (printf format); returns 0 or -ENOMEM. */
int op_record_set_error(OpRecord *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds duration_ms to the phase of that name, appending it if new. */
int op_record_add_phase(OpRecord *r, const char *name, double duration_ms);
/* The phase's duration, or -1 if the record has no such phase. */
double op_record_phase(const OpRecord *r, const char *name);
/* Copies every string of t. */
int op_record_add_target(OpRecord *r, const OpTarget *t);
int op_record_add_hook(OpRecord *r, const OpHook *h);

/* The io.hypervvss Operation object. */
int op_record_to_json(const OpRecord *r, json_object **ret);

const char *op_kind_to_string(OpKind k);
const char *op_result_to_string(OpResult r);
/* RFC 3339 UTC with milliseconds, "2024-05-01T12:00:00.123Z", into buf (>= 32 bytes). */
void format_rfc3339(const struct timespec *ts, char *buf, size_t size);

typedef struct History History;

/* Keeps at most size records (size 0 is treated as 1). */
int history_new(History **ret, unsigned size);
History *history_free(History *h);
/* Changes the bound (config reload), dropping the oldest records if needed. */
int history_resize(History *h, unsigned size);
/* A fresh id, increasing from 1 for the daemon's lifetime. */
uint64_t history_next_id(History *h);
/* Takes a reference; drops the oldest record when full. */
int history_add(History *h, OpRecord *r);
size_t history_count(const History *h);
/* i = 0 is the newest; NULL past the end. */
OpRecord *history_get(const History *h, size_t i);
OpRecord *history_find(const History *h, uint64_t id);
/* The newest record of kind k, or NULL. */
OpRecord *history_last_of_kind(const History *h, OpKind k);
/* An array of Operation objects, newest first; limit 0: all. */
int history_to_json(const History *h, size_t limit, json_object **ret);

static inline void op_record_unrefp(OpRecord **r) { op_record_unref(*r); }
static inline void history_freep(History **h) { history_free(*h); }
