/* plan: which filesystems to freeze, in which order, and why every other mount is skipped. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "diag.h"

struct libmnt_table;

enum plan_decision {
        PLAN_FREEZE,
        PLAN_SKIP,
};

/* Why a mount is skipped; in the order the rules are tried. */
enum plan_reason {
        PLAN_REASON_NONE,               /* a freeze target */
        PLAN_REASON_OUTSIDE_SCOPE,      /* a scope was given and does not list it */
        PLAN_REASON_FUSE,               /* fuse, fuseblk, fuse.* */
        PLAN_REASON_NETWORK,            /* libmount: network filesystem */
        PLAN_REASON_NEVER_FREEZE_TYPE,  /* config never_freeze_types */
        PLAN_REASON_PSEUDO,             /* libmount: pseudo filesystem */
        PLAN_REASON_READ_ONLY,          /* superblock mounted read-only */
        PLAN_REASON_EXCLUDED_TYPE,      /* config exclude_types */
        PLAN_REASON_EXCLUDED_DEVICE,    /* config exclude_devices */
        PLAN_REASON_EXCLUDED_MOUNT,     /* config exclude_mounts (any mount of the filesystem) */
        PLAN_REASON_NOT_INCLUDED,       /* config include_mounts set, no mount of it matches */
        PLAN_REASON_HIDDEN,             /* every mount of it is covered by a later mount */
        PLAN_REASON_SAME_FILESYSTEM,    /* another mount of a freeze target's superblock */
        _PLAN_REASON_MAX,
};

/* One mount of the table, with what the plan does with it. */
struct plan_entry {
        int mount_id;
        char *target;                   /* mount point */
        char *source;
        char *fstype;
        char *root;                     /* the filesystem path mounted there */
        dev_t devno;                    /* superblock id: mountinfo major:minor */
        enum plan_decision decision;
        enum plan_reason reason;        /* PLAN_REASON_NONE for FREEZE */
        char *reason_text;              /* human sentence; NULL for FREEZE */
        unsigned level;                 /* FREEZE: 0 is frozen first, thawed last */
        const struct plan_entry *same_as;       /* SAME_FILESYSTEM: its freeze target */
        char **backing_files;           /* FREEZE: loop files it is stacked on (never NULL) */
};

struct plan_input {
        const char *mountinfo;          /* NULL: /proc/self/mountinfo */
        struct libmnt_table *table;     /* used instead of mountinfo when set; not consumed */
        const char *sysfs;              /* NULL: /sys */
        const struct config *config;    /* NULL: built-in defaults */
        char *const *scope;             /* NULL: all mounts; else only these mount points */
        struct diag *diag;              /* optional: parse warnings and the error of a failure */
};

struct plan;

/*
 * A pure function of the input: reads the mount table and sysfs, decides.
 * Errors (with a message in in->diag): the mount table cannot be read,
 * sysfs cannot be read (-errno), a dependency cycle (-ELOOP), -ENOMEM.
 * Unparsable mountinfo lines are warnings, counted in plan_n_parse_errors().
 */
int plan_new(struct plan **ret, const struct plan_input *in);
struct plan *plan_free(struct plan *p);

/* Every mount, in mount table order. */
size_t plan_n_entries(const struct plan *p);
const struct plan_entry *plan_entry(const struct plan *p, size_t i);
/* The entry mounted at target (the last one if stacked), or NULL. */
const struct plan_entry *plan_find(const struct plan *p, const char *target);

size_t plan_n_targets(const struct plan *p);
size_t plan_n_skipped(const struct plan *p);
unsigned plan_n_parse_errors(const struct plan *p);
/* Levels: the targets of one level may be frozen in parallel; level 0 is
 * frozen first, thaw goes in reverse. "/" is alone in its level, after
 * every target that need not follow it: the last level, unless "/" itself
 * sits on a loop file of another target. */
unsigned plan_n_levels(const struct plan *p);
/* The targets of one level sorted by mount point; NULL and 0 past the end. */
const struct plan_entry *const *plan_level(const struct plan *p, unsigned level, size_t *ret_n);

/* Stable text: the levels, then every skipped mount with its reason. */
int plan_format(const struct plan *p, FILE *f);

/* Short stable names for machine output, e.g. "read-only". */
const char *plan_reason_to_string(enum plan_reason r);
const char *plan_decision_to_string(enum plan_decision d);

static inline void plan_freep(struct plan **p)
{
        plan_free(*p);
}
#define _cleanup_plan_free_ __attribute__((cleanup(plan_freep)))
