/*
 * plan: builds the freeze plan in passes over the mount table.
 *
 *  1. entries: every mount in table order, with its superblock id
 *     (mountinfo major:minor) and whether a later mount covers it.
 *  2. superblocks: mounts grouped by id. The skip rules are tried in the
 *     order of enum plan_reason on the whole group, because freezing any
 *     mount freezes them all: a rule that matches one mount (exclude_mounts)
 *     skips the filesystem. A frozen group is opened through one visible
 *     mount, preferably the one showing the filesystem's root.
 *  3. stacking: every group (frozen or not, so chains through skipped
 *     filesystems still order their ends) gets the loop backing files under
 *     its device from sysfs; the visible mount holding each file gives an
 *     edge "this group before that one".
 *  4. levels: a topological pass over the groups (a cycle is an error);
 *     "/" gets extra edges from every target that need not follow it, so it
 *     is alone and normally last. A target's level counts only the targets
 *     before it on its longest path, so skipped groups add no empty levels.
 *
 * Nothing here touches a filesystem beyond reading the mount table and
 * sysfs, so the whole thing is tested from fixtures.
 */
#include <fnmatch.h>
#include <libmount/libmount.h>
#include <stdint.h>
#include <sys/sysmacros.h>

#include "plan.h"
#include "sysfs-stack.h"
#include "util.h"

#define NONE SIZE_MAX

struct plan {
        struct plan_entry *entries;
        size_t n_entries;
        const struct plan_entry **targets;      /* by level, then mount point */
        size_t n_targets;
        size_t *level_start;                    /* n_levels + 1 offsets into targets */
        unsigned n_levels;
        unsigned n_parse_errors;
};

struct sb {
        size_t *members;        /* entry indexes, table order */
        size_t n_members;
        size_t rep;             /* the mount a target is opened through */
        bool target;
        size_t *succ;           /* groups to freeze after this one */
        size_t n_succ;
        size_t indeg;
        unsigned depth;
};

struct builder {
        const struct plan_input *in;
        const struct config *config;
        const char *sysfs;
        struct plan *plan;
        struct libmnt_fs **fs;  /* per entry, borrowed from the table */
        size_t *covered_by;     /* per entry: the later mount hiding it, or NONE */
        bool *in_scope;
        size_t *sb_of;          /* per entry: its group */
        struct sb *sbs;
        size_t n_sbs;
};

static void plan_entry_clear(struct plan_entry *e)
{
        free(e->target);
        free(e->source);
        free(e->fstype);
        free(e->root);
        free(e->reason_text);
        strv_free(e->backing_files);
}

struct plan *plan_free(struct plan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_entries; i++)
                plan_entry_clear(&p->entries[i]);
        free(p->entries);
        free(p->targets);
        free(p->level_start);
        free(p);
        return NULL;
}

static void builder_clear(struct builder *b)
{
        for (size_t i = 0; i < b->n_sbs; i++) {
                free(b->sbs[i].members);
                free(b->sbs[i].succ);
        }
        free(b->sbs);
        free(b->fs);
        free(b->covered_by);
        free(b->in_scope);
        free(b->sb_of);
        plan_free(b->plan);
}

/* ---- pass 1: entries ---- */

static int parser_errcb(struct libmnt_table *tb, const char *filename, int line)
{
        struct builder *b = mnt_table_get_userdata(tb);

        b->plan->n_parse_errors++;
        (void)diag_add(b->in->diag, DIAG_WARNING, filename, (unsigned)line,
                 "unparsable mount table line ignored");
        return 1;       /* skip the line, keep parsing */
}

static int load_table(struct builder *b, struct libmnt_table **ret)
{
        const char *path = b->in->mountinfo ?: "/proc/self/mountinfo";
        struct libmnt_table *tb;
        int r;

        if (b->in->table) {
                mnt_ref_table(b->in->table);
                *ret = b->in->table;
                return 0;
        }
        tb = mnt_new_table();
        if (!tb)
                return -ENOMEM;
        mnt_table_set_userdata(tb, b);
        mnt_table_set_parser_errcb(tb, parser_errcb);
        r = mnt_table_parse_file(tb, path);
        if (r < 0) {
                (void)diag_add(b->in->diag, DIAG_ERROR, path, 0,
                         "cannot read the mount table: %s; check that the file exists and is a mountinfo file",
                         strerror(-r));
                mnt_unref_table(tb);
                return r;
        }
        *ret = tb;
        return 0;
}

static int dup_or_empty(char **ret, const char *s)
{
        *ret = strdup(s ?: "");
        return *ret ? 0 : -ENOMEM;
}

static int entry_init(struct plan_entry *e, struct libmnt_fs *fs)
{
        int r;

        e->mount_id = mnt_fs_get_id(fs);
        e->devno = mnt_fs_get_devno(fs);
        e->decision = PLAN_SKIP;
        if ((r = dup_or_empty(&e->target, mnt_fs_get_target(fs))) < 0 ||
            (r = dup_or_empty(&e->source, mnt_fs_get_source(fs))) < 0 ||
            (r = dup_or_empty(&e->fstype, mnt_fs_get_fstype(fs))) < 0 ||
            (r = dup_or_empty(&e->root, mnt_fs_get_root(fs))) < 0)
                return r;
        return strv_copy(&e->backing_files, NULL);
}

static int collect_entries(struct builder *b, struct libmnt_table *tb)
{
        struct libmnt_iter *itr;
        struct libmnt_fs *fs;
        size_t n = (size_t)mnt_table_get_nents(tb);
        int r = 0;

        b->plan->entries = calloc(n ?: 1, sizeof(*b->plan->entries));
        b->fs = calloc(n ?: 1, sizeof(*b->fs));
        itr = mnt_new_iter(MNT_ITER_FORWARD);
        if (!b->plan->entries || !b->fs || !itr) {
                mnt_free_iter(itr);
                return -ENOMEM;
        }
        while (b->plan->n_entries < n && mnt_table_next_fs(tb, itr, &fs) == 0) {
                size_t i = b->plan->n_entries++;

                b->fs[i] = fs;
                r = entry_init(&b->plan->entries[i], fs);
                if (r < 0)
                        break;
        }
        mnt_free_iter(itr);
        return r;
}

/* True when path is dir itself or below it. */
static bool path_under(const char *path, const char *dir)
{
        size_t n = strlen(dir);

        if (streq(dir, "/"))
                return path[0] == '/';
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

static bool is_ancestor_mount(const struct builder *b, size_t i, int id)
{
        /* Follow parent ids; bounded so a malformed table cannot loop. */
        int cur = mnt_fs_get_parent_id(b->fs[i]);

        for (size_t hops = 0; hops <= b->plan->n_entries; hops++) {
                size_t k;

                if (cur == id)
                        return true;
                for (k = 0; k < b->plan->n_entries; k++)
                        if (b->plan->entries[k].mount_id == cur)
                                break;
                if (k == b->plan->n_entries)
                        return false;
                cur = mnt_fs_get_parent_id(b->fs[k]);
        }
        return false;
}

/* A mount is hidden when a later mount sits on its mount point or on a
 * directory above it (and is not its parent): opening its path would
 * reach the other filesystem. */
static int compute_covered(struct builder *b)
{
        const struct plan_entry *e = b->plan->entries;
        size_t n = b->plan->n_entries;

        b->covered_by = calloc(n ?: 1, sizeof(*b->covered_by));
        if (!b->covered_by)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                b->covered_by[i] = NONE;
                for (size_t j = n; j-- > i + 1;)
                        if (path_under(e[i].target, e[j].target) &&
                            !is_ancestor_mount(b, i, e[j].mount_id)) {
                                b->covered_by[i] = j;
                                break;
                        }
        }
        return 0;
}

static bool path_equal(const char *a, const char *b)
{
        size_t na = strlen(a), nb = strlen(b);

        /* Trailing slashes do not matter: "/mnt/a/" is "/mnt/a". */
        while (na > 1 && a[na - 1] == '/')
                na--;
        while (nb > 1 && b[nb - 1] == '/')
                nb--;
        return na == nb && strncmp(a, b, na) == 0;
}

static int compute_scope(struct builder *b)
{
        size_t n = b->plan->n_entries;

        b->in_scope = calloc(n ?: 1, sizeof(*b->in_scope));
        if (!b->in_scope)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                b->in_scope[i] = !b->in->scope;
                for (char *const *s = b->in->scope; s && *s; s++)
                        if (path_equal(b->plan->entries[i].target, *s))
                                b->in_scope[i] = true;
        }
        return 0;
}

/* ---- pass 2: superblocks and rules ---- */

static int group_entries(struct builder *b)
{
        size_t n = b->plan->n_entries;

        b->sb_of = calloc(n ?: 1, sizeof(*b->sb_of));
        b->sbs = calloc(n ?: 1, sizeof(*b->sbs));
        if (!b->sb_of || !b->sbs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t g;
                struct sb *sb;
                size_t *m;

                for (g = 0; g < b->n_sbs; g++)
                        if (b->plan->entries[b->sbs[g].members[0]].devno == b->plan->entries[i].devno)
                                break;
                if (g == b->n_sbs)
                        b->sbs[b->n_sbs++].rep = NONE;
                sb = &b->sbs[g];
                m = realloc(sb->members, (sb->n_members + 1) * sizeof(*m));
                if (!m)
                        return -ENOMEM;
                sb->members = m;
                sb->members[sb->n_members++] = i;
                b->sb_of[i] = g;
        }
        return 0;
}

static const char *glob_match(char *const *patterns, const char *s)
{
        for (char *const *p = patterns; p && *p; p++)
                if (fnmatch(*p, s, 0) == 0)
                        return *p;
        return NULL;
}

static bool is_fuse(const char *type)
{
        return streq(type, "fuse") || streq(type, "fuseblk") || startswith(type, "fuse.");
}

static bool is_read_only(struct libmnt_fs *fs)
{
        const char *opts = mnt_fs_get_fs_options(fs);

        return opts && mnt_optstr_get_option(opts, "ro", NULL, NULL) == 0;
}

/* The rules that depend on the filesystem, not on where it is mounted. */
static int type_rule(const struct builder *b, size_t i, enum plan_reason *ret, char **ret_text)
{
        const struct plan_entry *e = &b->plan->entries[i];
        struct libmnt_fs *fs = b->fs[i];
        const char *m;
        int r = 0;

        *ret = PLAN_REASON_NONE;
        if (is_fuse(e->fstype)) {
                *ret = PLAN_REASON_FUSE;
                r = asprintf(ret_text, "FUSE filesystem (%s): its userspace server cannot be frozen safely", e->fstype);
        } else if (mnt_fs_is_netfs(fs)) {
                *ret = PLAN_REASON_NETWORK;
                r = asprintf(ret_text, "network filesystem (%s): its server keeps its data", e->fstype);
        } else if ((m = glob_match(b->config->never_freeze_types, e->fstype))) {
                *ret = PLAN_REASON_NEVER_FREEZE_TYPE;
                if (streq(e->fstype, "overlay"))
                        r = asprintf(ret_text, "overlay filesystem: the filesystem of its upper directory is frozen instead (never_freeze_types '%s')", m);
                else
                        r = asprintf(ret_text, "type %s cannot be frozen (never_freeze_types '%s')", e->fstype, m);
        } else if (mnt_fs_is_pseudofs(fs)) {
                *ret = PLAN_REASON_PSEUDO;
                r = asprintf(ret_text, "pseudo filesystem (%s): nothing on disk to make consistent", e->fstype);
        } else if (is_read_only(fs)) {
                *ret = PLAN_REASON_READ_ONLY;
                r = asprintf(ret_text, "read-only filesystem: nothing can change during the backup");
        } else if ((m = glob_match(b->config->exclude_types, e->fstype))) {
                *ret = PLAN_REASON_EXCLUDED_TYPE;
                r = asprintf(ret_text, "excluded by exclude_types pattern '%s'", m);
        } else if ((m = glob_match(b->config->exclude_devices, e->source))) {
                *ret = PLAN_REASON_EXCLUDED_DEVICE;
                r = asprintf(ret_text, "excluded by exclude_devices pattern '%s'", m);
        }
        if (r < 0) {
                *ret_text = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int set_skip(struct plan_entry *e, enum plan_reason reason, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int set_skip(struct plan_entry *e, enum plan_reason reason, const char *fmt, ...)
{
        va_list ap;
        int r;

        free(e->reason_text);
        e->decision = PLAN_SKIP;
        e->reason = reason;
        va_start(ap, fmt);
        r = vasprintf(&e->reason_text, fmt, ap);
        va_end(ap);
        if (r < 0) {
                e->reason_text = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* exclude_mounts: any in-scope mount of the group matching skips all. */
static int apply_exclude_mounts(struct builder *b, const struct sb *sb, bool *ret_done)
{
        struct plan_entry *e = b->plan->entries;
        const char *pat = NULL;
        size_t hit = NONE;
        int r;

        for (size_t k = 0; k < sb->n_members && !pat; k++)
                if (b->in_scope[sb->members[k]] &&
                    (pat = glob_match(b->config->exclude_mounts, e[sb->members[k]].target)))
                        hit = sb->members[k];
        *ret_done = pat != NULL;
        for (size_t k = 0; pat && k < sb->n_members; k++) {
                size_t i = sb->members[k];

                if (!b->in_scope[i])
                        continue;
                if (i == hit)
                        r = set_skip(&e[i], PLAN_REASON_EXCLUDED_MOUNT,
                                     "excluded by exclude_mounts pattern '%s'", pat);
                else
                        r = set_skip(&e[i], PLAN_REASON_EXCLUDED_MOUNT,
                                     "same filesystem as %s, excluded by exclude_mounts pattern '%s'",
                                     e[hit].target, pat);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool group_included(const struct builder *b, const struct sb *sb)
{
        if (strv_length(b->config->include_mounts) == 0)
                return true;
        for (size_t k = 0; k < sb->n_members; k++)
                if (b->in_scope[sb->members[k]] &&
                    glob_match(b->config->include_mounts, b->plan->entries[sb->members[k]].target))
                        return true;
        return false;
}

/* Root "/" first, then the shortest mount point, then table order. */
static bool better_rep(const struct plan_entry *a, const struct plan_entry *cur)
{
        bool ra = streq(a->root, "/"), rc = streq(cur->root, "/");

        if (ra != rc)
                return ra;
        return strlen(a->target) < strlen(cur->target);
}

static size_t pick_rep(const struct builder *b, const struct sb *sb)
{
        size_t rep = NONE;

        for (size_t k = 0; k < sb->n_members; k++) {
                size_t i = sb->members[k];

                if (!b->in_scope[i] || b->covered_by[i] != NONE)
                        continue;
                if (rep == NONE || better_rep(&b->plan->entries[i], &b->plan->entries[rep]))
                        rep = i;
        }
        return rep;
}

/* Gives every in-scope member one sentence (the same for the group). */
static int skip_group(struct builder *b, const struct sb *sb, enum plan_reason reason,
                      const char *text)
{
        for (size_t k = 0; k < sb->n_members; k++) {
                size_t i = sb->members[k];
                int r;

                if (!b->in_scope[i])
                        continue;
                r = set_skip(&b->plan->entries[i], reason, "%s", text);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int freeze_group(struct builder *b, struct sb *sb, size_t rep)
{
        struct plan_entry *e = b->plan->entries;

        sb->rep = rep;
        sb->target = true;
        e[rep].decision = PLAN_FREEZE;
        e[rep].reason = PLAN_REASON_NONE;
        free(e[rep].reason_text);
        e[rep].reason_text = NULL;
        for (size_t k = 0; k < sb->n_members; k++) {
                size_t i = sb->members[k];
                int r;

                if (i == rep || !b->in_scope[i])
                        continue;
                r = set_skip(&e[i], PLAN_REASON_SAME_FILESYSTEM, "same filesystem as %s", e[rep].target);
                if (r < 0)
                        return r;
                e[i].same_as = &e[rep];
        }
        return 0;
}

/* The group's first in-scope member, or NONE. */
static size_t first_in_scope(const struct builder *b, const struct sb *sb)
{
        for (size_t k = 0; k < sb->n_members; k++)
                if (b->in_scope[sb->members[k]])
                        return sb->members[k];
        return NONE;
}

static int hidden_group(struct builder *b, const struct sb *sb)
{
        _cleanup_free_ char *text = NULL;
        size_t first = first_in_scope(b, sb);

        if (asprintf(&text, "covered by the later mount at %s: its mount point reaches another filesystem",
                     b->plan->entries[b->covered_by[first]].target) < 0)
                return -ENOMEM;
        return skip_group(b, sb, PLAN_REASON_HIDDEN, text);
}

static int decide_group(struct builder *b, struct sb *sb)
{
        _cleanup_free_ char *text = NULL;
        enum plan_reason reason;
        size_t first = first_in_scope(b, sb), rep;
        bool done;
        int r;

        if (first == NONE)
                return 0;       /* every member is outside the scope */
        r = type_rule(b, first, &reason, &text);
        if (r < 0)
                return r;
        if (reason != PLAN_REASON_NONE)
                return skip_group(b, sb, reason, text);
        r = apply_exclude_mounts(b, sb, &done);
        if (r < 0 || done)
                return r;
        if (!group_included(b, sb))
                return skip_group(b, sb, PLAN_REASON_NOT_INCLUDED, "not matched by include_mounts");
        rep = pick_rep(b, sb);
        if (rep == NONE)
                return hidden_group(b, sb);
        return freeze_group(b, sb, rep);
}

static int decide(struct builder *b)
{
        int r;

        for (size_t i = 0; i < b->plan->n_entries; i++) {
                r = set_skip(&b->plan->entries[i], PLAN_REASON_OUTSIDE_SCOPE, "outside scope");
                if (r < 0)
                        return r;
        }
        for (size_t g = 0; g < b->n_sbs; g++) {
                r = decide_group(b, &b->sbs[g]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pass 3: stacking ---- */

/* The visible mount whose mount point is the longest prefix of path. */
static size_t holder_of(const struct builder *b, const char *path)
{
        size_t best = NONE;

        for (size_t i = 0; i < b->plan->n_entries; i++) {
                const char *t = b->plan->entries[i].target;

                if (b->covered_by[i] != NONE || !path_under(path, t))
                        continue;
                if (best == NONE || strlen(t) >= strlen(b->plan->entries[best].target))
                        best = i;
        }
        return best;
}

static int add_edge(struct sb *from, size_t to)
{
        size_t *s;

        for (size_t k = 0; k < from->n_succ; k++)
                if (from->succ[k] == to)
                        return 0;
        s = realloc(from->succ, (from->n_succ + 1) * sizeof(*s));
        if (!s)
                return -ENOMEM;
        from->succ = s;
        from->succ[from->n_succ++] = to;
        return 0;
}

/* The entry that stands for the group: its freeze target, else its first mount. */
static struct plan_entry *group_entry(const struct builder *b, const struct sb *sb)
{
        return &b->plan->entries[sb->rep != NONE ? sb->rep : sb->members[0]];
}

static int stack_group(struct builder *b, size_t g)
{
        struct sb *sb = &b->sbs[g];
        struct plan_entry *e = group_entry(b, sb);
        _cleanup_strv_free_ char **files = NULL;
        int r;

        r = sysfs_stack_backing_files(b->sysfs, e->devno, e->source, &files);
        if (r < 0) {
                (void)diag_add(b->in->diag, DIAG_ERROR, b->sysfs, 0,
                         "cannot read what %s (%u:%u, %s) is stacked on: %s; the freeze order would be unsafe",
                         e->target, major(e->devno), minor(e->devno), e->source, strerror(-r));
                return r;
        }
        for (char **f = files; *f; f++) {
                size_t h = holder_of(b, *f);

                if (h == NONE) {
                        r = diag_add(b->in->diag, DIAG_WARNING, NULL, 0,
                                     "%s: loop backing file %s is on no visible mount; its order is not enforced",
                                     e->target, *f);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = add_edge(sb, b->sb_of[h]);
                if (r < 0)
                        return r;
        }
        if (sb->target) {
                strv_free(e->backing_files);
                e->backing_files = steal_ptr(&files);
        }
        return 0;
}

static int compute_stacking(struct builder *b)
{
        for (size_t g = 0; g < b->n_sbs; g++) {
                int r = stack_group(b, g);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- pass 4: levels ---- */

/* Kahn's algorithm; sets depth. Returns -ELOOP (and the groups left
 * unordered in ret_stuck) when the graph has a cycle. */
static int topo_depths(struct builder *b, bool *ret_stuck)
{
        _cleanup_free_ size_t *queue = NULL;
        size_t head = 0, tail = 0;

        queue = calloc(b->n_sbs ?: 1, sizeof(*queue));
        if (!queue)
                return -ENOMEM;
        for (size_t g = 0; g < b->n_sbs; g++) {
                b->sbs[g].indeg = 0;
                b->sbs[g].depth = 0;
        }
        for (size_t g = 0; g < b->n_sbs; g++)
                for (size_t k = 0; k < b->sbs[g].n_succ; k++)
                        b->sbs[b->sbs[g].succ[k]].indeg++;
        for (size_t g = 0; g < b->n_sbs; g++)
                if (b->sbs[g].indeg == 0)
                        queue[tail++] = g;
        while (head < tail) {
                struct sb *sb = &b->sbs[queue[head++]];
                unsigned d = sb->depth + (sb->target ? 1 : 0);

                for (size_t k = 0; k < sb->n_succ; k++) {
                        struct sb *s = &b->sbs[sb->succ[k]];

                        if (s->depth < d)
                                s->depth = d;
                        if (--s->indeg == 0)
                                queue[tail++] = sb->succ[k];
                }
        }
        for (size_t g = 0; ret_stuck && g < b->n_sbs; g++)
                ret_stuck[g] = b->sbs[g].indeg > 0;
        return tail == b->n_sbs ? 0 : -ELOOP;
}

static int report_cycle(struct builder *b, const bool *stuck)
{
        _cleanup_free_ char *list = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&list, &len);
        if (!f)
                return -ENOMEM;
        for (size_t g = 0, n = 0; g < b->n_sbs; g++)
                if (stuck[g])
                        fprintf(f, "%s%s", n++ ? ", " : "", group_entry(b, &b->sbs[g])->target);
        if (fclose(f) != 0)
                return -ENOMEM;
        (void)diag_add(b->in->diag, DIAG_ERROR, b->sysfs, 0,
                 "loop devices form a cycle through %s: no freeze order is safe; check loop/backing_file of their devices",
                 list);
        return -ELOOP;
}

static bool reaches(const struct builder *b, size_t from, size_t to, bool *seen)
{
        if (from == to)
                return true;
        if (seen[from])
                return false;
        seen[from] = true;
        for (size_t k = 0; k < b->sbs[from].n_succ; k++)
                if (reaches(b, b->sbs[from].succ[k], to, seen))
                        return true;
        return false;
}

/* "/" after every target that need not come after it. */
static int order_root_last(struct builder *b)
{
        size_t root = NONE;

        for (size_t g = 0; g < b->n_sbs; g++)
                if (b->sbs[g].target && streq(b->plan->entries[b->sbs[g].rep].target, "/"))
                        root = g;
        if (root == NONE)
                return 0;
        for (size_t g = 0; g < b->n_sbs; g++) {
                _cleanup_free_ bool *seen = NULL;
                int r;

                if (g == root || !b->sbs[g].target)
                        continue;
                seen = calloc(b->n_sbs, sizeof(*seen));
                if (!seen)
                        return -ENOMEM;
                if (reaches(b, root, g, seen))
                        continue;
                r = add_edge(&b->sbs[g], root);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int cmp_target(const void *x, const void *y)
{
        const struct plan_entry *a = *(const struct plan_entry *const *)x;
        const struct plan_entry *c = *(const struct plan_entry *const *)y;

        if (a->level != c->level)
                return a->level < c->level ? -1 : 1;
        return strcmp(a->target, c->target);
}

/* Levels are depths renumbered densely, so they start at 0 without gaps. */
static int assign_levels(struct builder *b)
{
        struct plan *p = b->plan;
        unsigned level = 0, prev_depth = 0;

        p->targets = calloc(b->n_sbs ?: 1, sizeof(*p->targets));
        p->level_start = calloc(b->n_sbs + 1, sizeof(*p->level_start));
        if (!p->targets || !p->level_start)
                return -ENOMEM;
        for (size_t g = 0; g < b->n_sbs; g++)
                if (b->sbs[g].target) {
                        p->entries[b->sbs[g].rep].level = b->sbs[g].depth;
                        p->targets[p->n_targets++] = &p->entries[b->sbs[g].rep];
                }
        qsort(p->targets, p->n_targets, sizeof(*p->targets), cmp_target);
        for (size_t i = 0; i < p->n_targets; i++) {
                struct plan_entry *e = (struct plan_entry *)p->targets[i];
                unsigned depth = e->level;

                if (i > 0 && depth != prev_depth)
                        p->level_start[++level] = i;
                prev_depth = depth;
                e->level = level;
        }
        p->n_levels = p->n_targets ? level + 1 : 0;
        p->level_start[p->n_levels] = p->n_targets;
        return 0;
}

static int compute_levels(struct builder *b)
{
        _cleanup_free_ bool *stuck = NULL;
        int r;

        stuck = calloc(b->n_sbs ?: 1, sizeof(*stuck));
        if (!stuck)
                return -ENOMEM;
        r = topo_depths(b, stuck);
        if (r == -ELOOP)
                return report_cycle(b, stuck);
        if (r < 0)
                return r;
        r = order_root_last(b);
        if (r < 0)
                return r;
        r = topo_depths(b, NULL);
        if (r < 0)
                return r;
        return assign_levels(b);
}

int plan_new(struct plan **ret, const struct plan_input *in)
{
        _cleanup_config_free_ struct config *defaults = NULL;
        struct libmnt_table *tb = NULL;
        struct builder b = { .in = in };
        int r;

        b.config = in->config;
        if (!b.config) {
                r = config_new(&defaults);
                if (r < 0)
                        return r;
                b.config = defaults;
        }
        b.sysfs = in->sysfs ?: "/sys";
        b.plan = calloc(1, sizeof(*b.plan));
        if (!b.plan)
                return -ENOMEM;
        r = load_table(&b, &tb);
        if (r >= 0)
                r = collect_entries(&b, tb);
        if (r >= 0)
                r = compute_covered(&b);
        if (r >= 0)
                r = compute_scope(&b);
        if (r >= 0)
                r = group_entries(&b);
        if (r >= 0)
                r = decide(&b);
        if (r >= 0)
                r = compute_stacking(&b);
        if (r >= 0)
                r = compute_levels(&b);
        if (r >= 0)
                *ret = steal_ptr(&b.plan);
        mnt_unref_table(tb);
        builder_clear(&b);
        return r < 0 ? r : 0;
}

/* ---- accessors ---- */

size_t plan_n_entries(const struct plan *p)
{
        return p->n_entries;
}

const struct plan_entry *plan_entry(const struct plan *p, size_t i)
{
        return i < p->n_entries ? &p->entries[i] : NULL;
}

const struct plan_entry *plan_find(const struct plan *p, const char *target)
{
        const struct plan_entry *found = NULL;

        for (size_t i = 0; i < p->n_entries; i++)
                if (path_equal(p->entries[i].target, target))
                        found = &p->entries[i];
        return found;
}

size_t plan_n_targets(const struct plan *p)
{
        return p->n_targets;
}

size_t plan_n_skipped(const struct plan *p)
{
        return p->n_entries - p->n_targets;
}

unsigned plan_n_parse_errors(const struct plan *p)
{
        return p->n_parse_errors;
}

unsigned plan_n_levels(const struct plan *p)
{
        return p->n_levels;
}

const struct plan_entry *const *plan_level(const struct plan *p, unsigned level, size_t *ret_n)
{
        if (level >= p->n_levels) {
                *ret_n = 0;
                return NULL;
        }
        *ret_n = p->level_start[level + 1] - p->level_start[level];
        return &p->targets[p->level_start[level]];
}

static const char *const reason_names[_PLAN_REASON_MAX] = {
        [PLAN_REASON_NONE] = "none",
        [PLAN_REASON_OUTSIDE_SCOPE] = "outside-scope",
        [PLAN_REASON_FUSE] = "fuse",
        [PLAN_REASON_NETWORK] = "network",
        [PLAN_REASON_NEVER_FREEZE_TYPE] = "never-freeze-type",
        [PLAN_REASON_PSEUDO] = "pseudo",
        [PLAN_REASON_READ_ONLY] = "read-only",
        [PLAN_REASON_EXCLUDED_TYPE] = "excluded-type",
        [PLAN_REASON_EXCLUDED_DEVICE] = "excluded-device",
        [PLAN_REASON_EXCLUDED_MOUNT] = "excluded-mount",
        [PLAN_REASON_NOT_INCLUDED] = "not-included",
        [PLAN_REASON_HIDDEN] = "hidden",
        [PLAN_REASON_SAME_FILESYSTEM] = "same-filesystem",
};

const char *plan_reason_to_string(enum plan_reason r)
{
        return (unsigned)r < _PLAN_REASON_MAX ? reason_names[r] : NULL;
}

const char *plan_decision_to_string(enum plan_decision d)
{
        return d == PLAN_FREEZE ? "freeze" : d == PLAN_SKIP ? "skip" : NULL;
}

/* ---- text ---- */

#define MAX_COLS 6

struct table {
        size_t n_cols;
        char **cells;           /* row-major, n_rows * n_cols owned strings */
        size_t n_rows;
};

static int table_add(struct table *t, const char *const *row)
{
        char **c = realloc(t->cells, (t->n_rows + 1) * t->n_cols * sizeof(*c));

        if (!c)
                return -ENOMEM;
        t->cells = c;
        for (size_t k = 0; k < t->n_cols; k++) {
                c[t->n_rows * t->n_cols + k] = strdup(row[k] ?: "");
                if (!c[t->n_rows * t->n_cols + k]) {
                        for (size_t j = 0; j < k; j++)
                                free(c[t->n_rows * t->n_cols + j]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

static void table_clear(struct table *t)
{
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
}

/* Columns padded to their widest cell, two spaces apart, no trailing blanks. */
static void table_print(const struct table *t, FILE *f)
{
        size_t w[MAX_COLS] = {};

        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                if (strlen(t->cells[i]) > w[i % t->n_cols])
                        w[i % t->n_cols] = strlen(t->cells[i]);
        for (size_t r = 0; r < t->n_rows; r++) {
                size_t last = t->n_cols;
                char *const *row = &t->cells[r * t->n_cols];

                while (last > 1 && !*row[last - 1])
                        last--;
                for (size_t k = 0; k < last; k++) {
                        if (k + 1 < last)
                                fprintf(f, "%-*s  ", (int)w[k], row[k]);
                        else
                                fputs(row[k], f);
                }
                fputc('\n', f);
        }
}

static int format_targets(const struct plan *p, FILE *f)
{
        struct table t = { .n_cols = 6 };
        int r;

        r = table_add(&t, (const char *const[]){ "LEVEL", "MAJ:MIN", "FSTYPE", "SOURCE", "TARGET", "LOOP-FILES" });
        for (size_t i = 0; r >= 0 && i < p->n_targets; i++) {
                const struct plan_entry *e = p->targets[i];
                _cleanup_free_ char *level = NULL, *dev = NULL, *files = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&files, &len);

                if (!m) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t k = 0; e->backing_files[k]; k++)
                        fprintf(m, "%s%s", k ? "," : "", e->backing_files[k]);
                if (fclose(m) != 0 || asprintf(&level, "%u", e->level) < 0 ||
                    asprintf(&dev, "%u:%u", major(e->devno), minor(e->devno)) < 0) {
                        level = dev = NULL;
                        r = -ENOMEM;
                        break;
                }
                r = table_add(&t, (const char *const[]){ level, dev, e->fstype, e->source, e->target, files });
        }
        if (r >= 0)
                table_print(&t, f);
        table_clear(&t);
        return r;
}

static int format_skipped(const struct plan *p, FILE *f)
{
        struct table t = { .n_cols = 5 };
        int r;

        r = table_add(&t, (const char *const[]){ "MAJ:MIN", "FSTYPE", "SOURCE", "TARGET", "REASON" });
        for (size_t i = 0; r >= 0 && i < p->n_entries; i++) {
                const struct plan_entry *e = &p->entries[i];
                _cleanup_free_ char *dev = NULL;

                if (e->decision != PLAN_SKIP)
                        continue;
                if (asprintf(&dev, "%u:%u", major(e->devno), minor(e->devno)) < 0) {
                        dev = NULL;
                        r = -ENOMEM;
                        break;
                }
                r = table_add(&t, (const char *const[]){ dev, e->fstype, e->source, e->target, e->reason_text });
        }
        if (r >= 0)
                table_print(&t, f);
        table_clear(&t);
        return r;
}

int plan_format(const struct plan *p, FILE *f)
{
        int r;

        fprintf(f, "Freeze: %zu filesystem%s in %u level%s (level 0 first, thaw in reverse)\n",
                p->n_targets, p->n_targets == 1 ? "" : "s", p->n_levels, p->n_levels == 1 ? "" : "s");
        if (p->n_targets) {
                r = format_targets(p, f);
                if (r < 0)
                        return r;
        }
        fprintf(f, "\nSkipped: %zu mount%s\n", plan_n_skipped(p), plan_n_skipped(p) == 1 ? "" : "s");
        if (plan_n_skipped(p)) {
                r = format_skipped(p, f);
                if (r < 0)
                        return r;
        }
        if (p->n_parse_errors)
                fprintf(f, "\nUnparsable mount table lines ignored: %u\n", p->n_parse_errors);
        return ferror(f) ? -EIO : 0;
}
