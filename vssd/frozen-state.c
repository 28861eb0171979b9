/*
 * frozen-state: crash safety for the freezer (protocol.md failure mode 4).
 *
 * The kernel never thaws what a dead daemon froze, so before every FIFREEZE
 * the freezer writes one record per target into the state dir, and removes
 * it after the FITHAW. A daemon that starts and finds records calls
 * frozen_state_recover(), which thaws them, highest level first (a
 * loop-backed filesystem is frozen before, and must be thawed after, the
 * filesystem holding its backing file).
 *
 * Records are small text files named dev-MAJ-MIN (one per superblock),
 * written to a temp name and renamed into place, so a reader never sees a
 * half-written record. Nothing is fsync'ed, on purpose: the dir must be on
 * tmpfs (fsync is a no-op there and the records do not need to survive a
 * reboot, since a reboot thaws everything), and an fsync on a disk
 * filesystem that happens to be frozen would block the freezer. That is
 * also why a dir that is not on tmpfs/ramfs is refused unless a test asks
 * for it explicitly.
 *
 * Format ("key value" lines; values escaped: bytes outside 0x21..0x7e and
 * the backslash become \xHH, so any path round-trips):
 *
 *   hyperv-vss-frozen-state 1
 *   path /srv/data
 *   dev 253:3
 *   level 0
 *   frozen_at 1700000000.123456789
 *   pid 1234
 *   operation 7f3a...
 *
 * Unknown keys are ignored, so later versions may add some.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* syncfs, reallocarray */
#endif
#include "frozen-state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define RECORD_PREFIX "dev-"
#define RECORD_MAGIC "hyperv-vss-frozen-state 1"
#define RECORD_MAX_SIZE (64 * 1024)

struct FrozenState {
        unsigned refs;          /* atomic */
        int dirfd;
        dev_t dev;
        bool on_tmpfs;
        char *dir;
};

int frozen_state_open(FrozenState **ret, const char *dir, unsigned flags)
{
        _cleanup_close_ int fd = -1;
        struct statfs sfs;
        struct stat st;
        FrozenState *state;
        bool tmpfs;

        if (!ret || !dir || dir[0] != '/')
                return -EINVAL;

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;

        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
                return -errno;

        tmpfs = (unsigned long)sfs.f_type == (unsigned long)TMPFS_MAGIC ||
                (unsigned long)sfs.f_type == (unsigned long)RAMFS_MAGIC;
        if (!tmpfs && !(flags & FROZEN_STATE_ALLOW_NON_TMPFS))
                return -EMEDIUMTYPE;

        state = calloc(1, sizeof(*state));
        if (!state)
                return -ENOMEM;
        state->dir = strdup(dir);
        if (!state->dir) {
                free(state);
                return -ENOMEM;
        }
        state->refs = 1;
        state->dev = st.st_dev;
        state->on_tmpfs = tmpfs;
        state->dirfd = fd;
        fd = -1;

        *ret = state;
        return 0;
}

FrozenState *frozen_state_ref(FrozenState *state)
{
        if (state)
                __atomic_add_fetch(&state->refs, 1, __ATOMIC_RELAXED);
        return state;
}

FrozenState *frozen_state_unref(FrozenState *state)
{
        if (!state)
                return NULL;
        if (__atomic_sub_fetch(&state->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return NULL;
        if (state->dirfd >= 0)
                close(state->dirfd);
        free(state->dir);
        free(state);
        return NULL;
}

bool frozen_state_on_tmpfs(const FrozenState *state)
{
        return state && state->on_tmpfs;
}

dev_t frozen_state_dev(const FrozenState *state)
{
        return state ? state->dev : 0;
}

const char *frozen_state_dir(const FrozenState *state)
{
        return state ? state->dir : NULL;
}

/* --- text form ---------------------------------------------------------- */

typedef struct Buf {
        char *data;
        size_t len, cap;
        bool oom;
} Buf;

static void buf_add(Buf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *d = realloc(b->data, cap);

                if (!d) {
                        b->oom = true;
                        return;
                }
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...)
{
        char tmp[128];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(tmp)) {
                b->oom = true;
                return;
        }
        buf_add(b, tmp, (size_t)n);
}

static void buf_add_escaped(Buf *b, const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;

                if (c > 0x20 && c < 0x7f && c != '\\')
                        buf_add(b, (const char *)&c, 1);
                else
                        buf_printf(b, "\\x%02x", c);
        }
}

int frozen_entry_format(const FrozenEntry *entry, char **ret_text)
{
        Buf b = {};

        if (!entry || !entry->path || !entry->path[0] || !ret_text)
                return -EINVAL;

        buf_add(&b, RECORD_MAGIC "\npath ", strlen(RECORD_MAGIC "\npath "));
        buf_add_escaped(&b, entry->path);
        buf_printf(&b, "\ndev %u:%u\nlevel %u\nfrozen_at %lld.%09ld\npid %lld\n",
                   major(entry->dev), minor(entry->dev), entry->level,
                   (long long)entry->frozen_at.tv_sec, (long)entry->frozen_at.tv_nsec,
                   (long long)entry->pid);
        if (entry->operation && entry->operation[0]) {
                buf_add(&b, "operation ", strlen("operation "));
                buf_add_escaped(&b, entry->operation);
                buf_add(&b, "\n", 1);
        }
        if (b.oom) {
                free(b.data);
                return -ENOMEM;
        }
        *ret_text = b.data;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int unescape(const char *s, size_t n, char **ret)
{
        char *out, *o;

        out = o = malloc(n + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                int hi, lo;

                if (s[i] != '\\') {
                        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
                                goto bad;
                        *o++ = s[i];
                        continue;
                }
                if (n - i < 4 || s[i + 1] != 'x')
                        goto bad;
                hi = hexval(s[i + 2]);
                lo = hexval(s[i + 3]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        goto bad;
                *o++ = (char)(hi << 4 | lo);
                i += 3;
        }
        *o = '\0';
        *ret = out;
        return 0;
bad:
        free(out);
        return -EBADMSG;
}

static int parse_ull(const char *s, size_t n, unsigned long long max, unsigned long long *ret)
{
        unsigned long long v = 0;

        if (n == 0 || n > 20)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EBADMSG;
                if (v > (ULLONG_MAX - (unsigned)(s[i] - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        if (v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int frozen_entry_parse(const char *text, size_t size, FrozenEntry *ret_entry)
{
        FrozenEntry e = {};
        bool have_dev = false;
        size_t magic_len = strlen(RECORD_MAGIC);
        const char *p, *end;
        int r = -EBADMSG;

        if (!text || !ret_entry)
                return -EINVAL;
        p = text;
        end = text + size;
        if (size < magic_len + 1 || memcmp(text, RECORD_MAGIC "\n", magic_len + 1) != 0)
                return -EBADMSG;
        p += magic_len + 1;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *sp, *val;
                size_t klen, vlen;
                unsigned long long a, b;

                if (!nl)
                        goto fail; /* every line ends with a newline */
                sp = memchr(p, ' ', (size_t)(nl - p));
                if (!sp)
                        goto fail;
                klen = (size_t)(sp - p);
                val = sp + 1;
                vlen = (size_t)(nl - val);

#define KEY(k) (klen == strlen(k) && memcmp(p, k, klen) == 0)
                if (KEY("path")) {
                        free(e.path);
                        e.path = NULL;
                        r = unescape(val, vlen, &e.path);
                        if (r < 0)
                                goto fail;
                        r = -EBADMSG;
                        if (e.path[0] != '/')
                                goto fail;
                } else if (KEY("operation")) {
                        free(e.operation);
                        e.operation = NULL;
                        r = unescape(val, vlen, &e.operation);
                        if (r < 0)
                                goto fail;
                        r = -EBADMSG;
                } else if (KEY("dev")) {
                        const char *colon = memchr(val, ':', vlen);

                        if (!colon ||
                            parse_ull(val, (size_t)(colon - val), UINT_MAX, &a) < 0 ||
                            parse_ull(colon + 1, (size_t)(nl - colon - 1), UINT_MAX, &b) < 0)
                                goto fail;
                        e.dev = makedev((unsigned)a, (unsigned)b);
                        have_dev = true;
                } else if (KEY("level")) {
                        if (parse_ull(val, vlen, UINT_MAX, &a) < 0)
                                goto fail;
                        e.level = (unsigned)a;
                } else if (KEY("pid")) {
                        if (parse_ull(val, vlen, INT_MAX, &a) < 0)
                                goto fail;
                        e.pid = (pid_t)a;
                } else if (KEY("frozen_at")) {
                        const char *dot = memchr(val, '.', vlen);

                        if (!dot ||
                            parse_ull(val, (size_t)(dot - val), INT64_MAX, &a) < 0 ||
                            parse_ull(dot + 1, (size_t)(nl - dot - 1), 999999999ULL, &b) < 0)
                                goto fail;
                        e.frozen_at.tv_sec = (time_t)a;
                        e.frozen_at.tv_nsec = (long)b;
                }
#undef KEY
                p = nl + 1;
        }

        if (!e.path || !have_dev)
                goto fail;
        *ret_entry = e;
        return 0;
fail:
        frozen_entry_clear(&e);
        return r;
}

/* --- records ------------------------------------------------------------ */

static void record_name(char *buf, size_t size, dev_t dev, bool temp)
{
        snprintf(buf, size, "%s" RECORD_PREFIX "%u-%u%s", temp ? "." : "",
                 major(dev), minor(dev), temp ? ".tmp" : "");
}

int frozen_state_record(FrozenState *state, const FrozenEntry *entry)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -1;
        char name[64], tmp[64];
        size_t len, off = 0;
        int r;

        if (!state || !entry || entry->dev == 0)
                return -EINVAL;

        r = frozen_entry_format(entry, &text);
        if (r < 0)
                return r;
        len = strlen(text);

        record_name(name, sizeof(name), entry->dev, false);
        record_name(tmp, sizeof(tmp), entry->dev, true);

        fd = openat(state->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        while (off < len) {
                ssize_t n = write(fd, text + off, len - off);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                off += (size_t)n;
        }
        if (close(fd) < 0) {
                fd = -1;
                r = -errno;
                goto fail;
        }
        fd = -1;
        if (renameat(state->dirfd, tmp, state->dirfd, name) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        unlinkat(state->dirfd, tmp, 0);
        return r;
}

int frozen_state_remove(FrozenState *state, dev_t dev)
{
        char name[64];

        if (!state)
                return -EINVAL;
        record_name(name, sizeof(name), dev, false);
        if (unlinkat(state->dirfd, name, 0) < 0)
                return -errno;
        return 0;
}

static int remove_record_name(FrozenState *state, const char *name)
{
        if (unlinkat(state->dirfd, name, 0) < 0)
                return -errno;
        return 0;
}

static int read_record(int dirfd, const char *name, char **ret_text, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        buf = malloc(RECORD_MAX_SIZE + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + size, RECORD_MAX_SIZE + 1 - size);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t)n;
                if (size > RECORD_MAX_SIZE)
                        return -EFBIG;
        }
        buf[size] = '\0';
        *ret_text = buf;
        buf = NULL;
        *ret_size = size;
        return 0;
}

static bool is_record_name(const char *name)
{
        unsigned a, b;
        int n = 0;

        if (strncmp(name, RECORD_PREFIX, strlen(RECORD_PREFIX)) != 0)
                return false;
        return sscanf(name, RECORD_PREFIX "%u-%u%n", &a, &b, &n) == 2 &&
               name[n] == '\0';
}

static int entry_cmp(const void *a, const void *b)
{
        const FrozenEntry *x = a, *y = b;

        if (x->level != y->level)
                return x->level < y->level ? -1 : 1;
        if (x->frozen_at.tv_sec != y->frozen_at.tv_sec)
                return x->frozen_at.tv_sec < y->frozen_at.tv_sec ? -1 : 1;
        if (x->frozen_at.tv_nsec != y->frozen_at.tv_nsec)
                return x->frozen_at.tv_nsec < y->frozen_at.tv_nsec ? -1 : 1;
        return strcmp(x->record, y->record);
}

int frozen_state_list(FrozenState *state, FrozenList **ret_list)
{
        __attribute__((cleanup(frozen_list_freep))) FrozenList *list = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        size_t cap = 0;
        struct dirent *de;
        int fd;

        if (!state || !ret_list)
                return -EINVAL;

        list = calloc(1, sizeof(*list));
        if (!list)
                return -ENOMEM;

        fd = openat(state->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;

                close(fd);
                return r;
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *text = NULL;
                FrozenEntry *e;
                size_t size = 0;
                int r;

                if (!is_record_name(de->d_name))
                        continue;

                r = read_record(state->dirfd, de->d_name, &text, &size);
                if (r == -ENOENT)
                        continue; /* removed meanwhile */

                if (list->n_entries == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        FrozenEntry *n = reallocarray(list->entries, ncap, sizeof(*n));

                        if (!n)
                                return -ENOMEM;
                        list->entries = n;
                        cap = ncap;
                }
                e = &list->entries[list->n_entries];
                *e = (FrozenEntry){};
                if (r < 0 || frozen_entry_parse(text, size, e) < 0) {
                        *e = (FrozenEntry){};
                        e->corrupt = true;
                }
                e->record = strdup(de->d_name);
                list->n_entries++;
                if (!e->record)
                        return -ENOMEM;
        }
        if (errno != 0)
                return -errno;

        if (list->n_entries > 1)
                qsort(list->entries, list->n_entries, sizeof(*list->entries), entry_cmp);

        *ret_list = list;
        list = NULL;
        return 0;
}

/* --- recovery ----------------------------------------------------------- */

const char *frozen_recover_result_to_string(FrozenRecoverResult result)
{
        switch (result) {
        case FROZEN_RECOVER_THAWED:
                return "thawed";
        case FROZEN_RECOVER_NOT_FROZEN:
                return "was not frozen";
        case FROZEN_RECOVER_UNREACHABLE:
                return "cannot open the mount point; not thawing";
        case FROZEN_RECOVER_MOUNT_CHANGED:
                return "mount changed; not thawing";
        case FROZEN_RECOVER_FAILED:
                return "thaw failed";
        case FROZEN_RECOVER_CORRUPT:
                return "unreadable record; removed";
        }
        return "unknown";
}

static void recover_one(FrozenState *state, FrozenRecoverItem *item)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (item->entry.corrupt) {
                item->result = FROZEN_RECOVER_CORRUPT;
                remove_record_name(state, item->entry.record);
                return;
        }

        fd = open(item->entry.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                /*
                 * Kept: whatever was frozen may still be, reachable through
                 * another path; `hvvssctl frozen` keeps showing it.
                 */
                item->error = errno;
                item->result = FROZEN_RECOVER_UNREACHABLE;
                item->record_kept = true;
                return;
        }
        if (st.st_dev != item->entry.dev) {
                /* Never thaw a filesystem we did not freeze. */
                item->found_dev = st.st_dev;
                item->result = FROZEN_RECOVER_MOUNT_CHANGED;
                item->record_kept = true;
                return;
        }
        if (ioctl(fd, FITHAW, 0) < 0) {
                item->error = errno;
                if (errno != EINVAL) {
                        item->result = FROZEN_RECOVER_FAILED;
                        item->record_kept = true;
                        return;
                }
                item->result = FROZEN_RECOVER_NOT_FROZEN;
        } else {
                item->result = FROZEN_RECOVER_THAWED;
        }
        remove_record_name(state, item->entry.record);
}

int frozen_state_recover(FrozenState *state, FrozenRecoverReport **ret_report)
{
        __attribute__((cleanup(frozen_list_freep))) FrozenList *list = NULL;
        FrozenRecoverReport *report;
        int r;

        if (!state || !ret_report)
                return -EINVAL;

        r = frozen_state_list(state, &list);
        if (r < 0)
                return r;

        report = calloc(1, sizeof(*report));
        if (!report)
                return -ENOMEM;
        if (list->n_entries > 0) {
                report->items = calloc(list->n_entries, sizeof(*report->items));
                if (!report->items) {
                        free(report);
                        return -ENOMEM;
                }
        }

        /* The list is sorted by ascending level: thaw from the end. */
        for (size_t i = list->n_entries; i-- > 0;) {
                FrozenRecoverItem *item = &report->items[report->n_items++];

                item->entry = list->entries[i];
                list->entries[i] = (FrozenEntry){};
                recover_one(state, item);
                if (item->result == FROZEN_RECOVER_THAWED ||
                    item->result == FROZEN_RECOVER_NOT_FROZEN)
                        report->n_thawed++;
                if (item->record_kept)
                        report->n_kept++;
        }

        *ret_report = report;
        return 0;
}

/* --- freeing ------------------------------------------------------------ */

void frozen_entry_clear(FrozenEntry *entry)
{
        if (!entry)
                return;
        free(entry->record);
        free(entry->path);
        free(entry->operation);
        *entry = (FrozenEntry){};
}

FrozenList *frozen_list_free(FrozenList *list)
{
        if (!list)
                return NULL;
        for (size_t i = 0; i < list->n_entries; i++)
                frozen_entry_clear(&list->entries[i]);
        free(list->entries);
        free(list);
        return NULL;
}

FrozenRecoverReport *frozen_recover_report_free(FrozenRecoverReport *report)
{
        if (!report)
                return NULL;
        for (size_t i = 0; i < report->n_items; i++)
                frozen_entry_clear(&report->items[i].entry);
        free(report->items);
        free(report);
        return NULL;
}
