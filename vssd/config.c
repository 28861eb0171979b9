/*
 * config: one table (keys[]) names every key, its type, its default as
 * written in the shipped file, and what it accepts. config_new() builds the
 * defaults by parsing those default strings with the same parsers a file
 * goes through, so the defaults, the dumped form, the shipped file and the
 * man page cannot silently disagree (test-config checks the last two).
 *
 * Syntax: "key = value" lines, '#' starts a comment at the start of a line
 * or after whitespace, blank lines are ignored. No sections, no quoting:
 * list values are separated by whitespace.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stddef.h>
#include <syslog.h>

#include "config.h"
#include "util.h"

enum key_type {
        KEY_GLOBS,              /* whitespace-separated fnmatch patterns */
        KEY_TYPES,              /* whitespace-separated fs type patterns */
        KEY_PATH,               /* absolute path */
        KEY_DURATION,           /* N, Nms, Ns, Nmin -> usec */
        KEY_SIZE,               /* N, NK, NM -> bytes */
        KEY_UINT,
        KEY_ENUM,               /* one of choices[], stored as int index */
};

struct key {
        struct config_key_info info;
        enum key_type type;
        size_t offset;
        uint64_t min, max;      /* KEY_DURATION (usec), KEY_SIZE, KEY_UINT */
        const char *const *choices;     /* KEY_ENUM; index is the value */
        const int *choice_values;       /* KEY_ENUM: optional value per choice */
};

static const char *const on_error_choices[] = { "skip", "fail", NULL };
static const char *const hook_failure_choices[] = { "abort", "continue", NULL };
static const char *const log_level_choices[] = { "err", "warning", "notice", "info", "debug", NULL };
static const int log_level_values[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

#define OFF(field) offsetof(struct config, field)
#define KIB UINT64_C(1024)
#define MIB (KIB * KIB)

static const struct key keys[] = {
        { { "include_mounts", "", "mount point globs starting with / or *, such as /srv/* (empty: all mounts)" },
          KEY_GLOBS, OFF(include_mounts), 0, 0, NULL, NULL },
        { { "exclude_mounts", "", "mount point globs starting with / or *, such as /srv/*" },
          KEY_GLOBS, OFF(exclude_mounts), 0, 0, NULL, NULL },
        { { "exclude_types", "", "filesystem type globs without '/', such as xfs or fuse.*" },
          KEY_TYPES, OFF(exclude_types), 0, 0, NULL, NULL },
        { { "exclude_devices", "", "source device globs starting with / or *, such as /dev/sdb*" },
          KEY_GLOBS, OFF(exclude_devices), 0, 0, NULL, NULL },
        { { "never_freeze_types",
            "tmpfs ramfs devtmpfs overlay squashfs erofs cramfs iso9660 udf vfat msdos exfat fuse fuse.* fuseblk ceph",
            "filesystem type globs without '/', such as vfat or fuse.*" },
          KEY_TYPES, OFF(never_freeze_types), 0, 0, NULL, NULL },
        { { "on_unsupported", "skip", "skip or fail" },
          KEY_ENUM, OFF(on_unsupported), 0, 0, on_error_choices, NULL },
        { { "on_open_error", "skip", "skip or fail" },
          KEY_ENUM, OFF(on_open_error), 0, 0, on_error_choices, NULL },
        { { "hooks_dir", "/etc/hyperv-vss/hooks.d", "an absolute directory path" },
          KEY_PATH, OFF(hooks_dir), 0, 0, NULL, NULL },
        { { "hook_timeout", "30s", "a duration from 1ms to 1h, such as 30, 30s, 500ms or 2min" },
          KEY_DURATION, OFF(hook_timeout_usec), USEC_PER_MSEC, 3600 * USEC_PER_SEC, NULL, NULL },
        { { "hook_failure", "abort", "abort or continue" },
          KEY_ENUM, OFF(hook_failure), 0, 0, hook_failure_choices, NULL },
        { { "hook_output_max", "65536", "a size from 0 to 16M bytes, such as 65536, 64K or 1M" },
          KEY_SIZE, OFF(hook_output_max), 0, 16 * MIB, NULL, NULL },
        { { "max_frozen_time", "60s", "a duration from 1s to 1h, such as 60, 60s or 2min" },
          KEY_DURATION, OFF(max_frozen_time_usec), USEC_PER_SEC, 3600 * USEC_PER_SEC, NULL, NULL },
        { { "freeze_timeout", "20s", "a duration from 1s to 15min, such as 20, 20s or 1min" },
          KEY_DURATION, OFF(freeze_timeout_usec), USEC_PER_SEC, 900 * USEC_PER_SEC, NULL, NULL },
        { { "device", "/dev/vmbus/hv_vss", "an absolute device path" },
          KEY_PATH, OFF(device), 0, 0, NULL, NULL },
        { { "socket", "/run/hyperv-vss/control", "an absolute socket path" },
          KEY_PATH, OFF(socket), 0, 0, NULL, NULL },
        { { "state_dir", "/run/hyperv-vss", "an absolute directory path (on tmpfs: it is written while frozen)" },
          KEY_PATH, OFF(state_dir), 0, 0, NULL, NULL },
        { { "history_size", "32", "a number from 0 to 1024" },
          KEY_UINT, OFF(history_size), 0, 1024, NULL, NULL },
        { { "log_level", "info", "err, warning, notice, info or debug" },
          KEY_ENUM, OFF(log_level), 0, 0, log_level_choices, log_level_values },
};

size_t config_n_keys(void)
{
        return ELEMENTSOF(keys);
}

const struct config_key_info *config_key(size_t i)
{
        return i < ELEMENTSOF(keys) ? &keys[i].info : NULL;
}

static const struct key *key_find(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(keys[i].info.name, name))
                        return &keys[i];
        return NULL;
}

static void *field(struct config *c, const struct key *k)
{
        return (char *)c + k->offset;
}

static const void *cfield(const struct config *c, const struct key *k)
{
        return (const char *)c + k->offset;
}

/* Parses "N<suffix>" with an unsigned decimal N; ret_suffix points into s. */
static int parse_number(const char *s, uint64_t *ret_n, const char **ret_suffix)
{
        uint64_t n = 0;
        const char *p = s;

        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                if (n > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                n = n * 10 + (uint64_t)(*p - '0');
        }
        while (*p == ' ' || *p == '\t')
                p++;
        *ret_n = n;
        *ret_suffix = p;
        return 0;
}

static int parse_scaled(const char *s, const char *const *suffixes, const uint64_t *scales,
                        uint64_t *ret)
{
        const char *suffix;
        uint64_t n;
        int r;

        r = parse_number(s, &n, &suffix);
        if (r < 0)
                return r;
        for (size_t i = 0; suffixes[i]; i++) {
                if (!streq(suffix, suffixes[i]))
                        continue;
                if (n > UINT64_MAX / scales[i])
                        return -ERANGE;
                *ret = n * scales[i];
                return 0;
        }
        return -EINVAL;
}

static int parse_duration(const char *s, uint64_t *ret_usec)
{
        static const char *const suffixes[] = { "", "s", "ms", "min", NULL };
        static const uint64_t scales[] = { USEC_PER_SEC, USEC_PER_SEC, USEC_PER_MSEC,
                                           60 * USEC_PER_SEC };

        return parse_scaled(s, suffixes, scales, ret_usec);
}

static int parse_size(const char *s, uint64_t *ret)
{
        static const char *const suffixes[] = { "", "K", "M", NULL };
        static const uint64_t scales[] = { 1, KIB, MIB };

        return parse_scaled(s, suffixes, scales, ret);
}

/* Splits on whitespace; types may not contain '/', mount and device globs
 * must be absolute or start with a wildcard. */
static int parse_list(const char *s, enum key_type type, char ***ret)
{
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        int r;

        r = strv_copy(&l, NULL);
        if (r < 0)
                return r;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                if (type == KEY_TYPES && strchr(w, '/'))
                        return -EINVAL;
                if (type == KEY_GLOBS && w[0] != '/' && w[0] != '*')
                        return -EINVAL;
                r = strv_extend(&l, w);
                if (r < 0)
                        return r;
        }
        *ret = steal_ptr(&l);
        return 0;
}

static int parse_enum(const struct key *k, const char *s, int *ret)
{
        for (size_t i = 0; k->choices[i]; i++)
                if (streq(k->choices[i], s)) {
                        *ret = k->choice_values ? k->choice_values[i] : (int)i;
                        return 0;
                }
        return -EINVAL;
}

/* Stores value into c; -EINVAL/-ERANGE: the value is not accepted. */
static int key_parse(const struct key *k, struct config *c, const char *value)
{
        uint64_t n = 0;
        int r, e;

        switch (k->type) {
        case KEY_GLOBS:
        case KEY_TYPES: {
                char **l = NULL, ***dst = field(c, k);

                r = parse_list(value, k->type, &l);
                if (r < 0)
                        return r;
                strv_free(*dst);
                *dst = l;
                return 0;
        }
        case KEY_PATH: {
                char *p, **dst = field(c, k);

                if (value[0] != '/' || strpbrk(value, " \t"))
                        return -EINVAL;
                p = strdup(value);
                if (!p)
                        return -ENOMEM;
                free(*dst);
                *dst = p;
                return 0;
        }
        case KEY_DURATION:
        case KEY_SIZE:
        case KEY_UINT:
                if (k->type == KEY_DURATION)
                        r = parse_duration(value, &n);
                else if (k->type == KEY_SIZE)
                        r = parse_size(value, &n);
                else
                        r = parse_scaled(value, (const char *const[]){ "", NULL },
                                         (const uint64_t[]){ 1 }, &n);
                if (r < 0)
                        return r;
                if (n < k->min || n > k->max)
                        return -ERANGE;
                if (k->type == KEY_UINT)
                        *(unsigned *)field(c, k) = (unsigned)n;
                else
                        *(uint64_t *)field(c, k) = n;
                return 0;
        case KEY_ENUM:
                r = parse_enum(k, value, &e);
                if (r < 0)
                        return r;
                *(int *)field(c, k) = e;
                return 0;
        }
        return -EINVAL;
}

struct config *config_free(struct config *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                if (keys[i].type == KEY_GLOBS || keys[i].type == KEY_TYPES)
                        strv_free(*(char ***)field(c, &keys[i]));
                else if (keys[i].type == KEY_PATH)
                        free(*(char **)field(c, &keys[i]));
        }
        free(c);
        return NULL;
}

int config_new(struct config **ret)
{
        _cleanup_config_free_ struct config *c = NULL;
        int r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                r = key_parse(&keys[i], c, keys[i].info.default_value);
                /* A default that does not parse is a bug in keys[]. */
                if (r < 0)
                        return r == -ENOMEM ? r : -EINVAL;
        }
        *ret = steal_ptr(&c);
        return 0;
}

static char *strip(char *s)
{
        char *e;

        while (isspace((unsigned char)*s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = 0;
        return s;
}

/* Cuts a comment: '#' at the start or after whitespace. */
static void cut_comment(char *s)
{
        for (char *p = s; *p; p++)
                if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
                        *p = 0;
                        return;
                }
}

static bool key_name_valid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_')
                        return false;
        return true;
}

/* One line; 0 also for lines only warned about, -ENOMEM, or -EINVAL after
 * recording the error. seen[] holds the line each key was last set on. */
static int parse_line(struct config *c, char *line, const char *name, unsigned lineno,
                      unsigned *seen, struct diag *diag)
{
        const struct key *k;
        char *eq, *key, *value;
        int r;

        cut_comment(line);
        line = strip(line);
        if (!*line)
                return 0;
        if (line[0] == '[') {
                r = diag_add(diag, DIAG_ERROR, name, lineno,
                             "'%s': sections are not used in this file; remove the line", line);
                return r < 0 ? r : -EINVAL;
        }
        eq = strchr(line, '=');
        if (!eq) {
                r = diag_add(diag, DIAG_ERROR, name, lineno,
                             "'%s': expected 'key = value'; see hvvssd.conf(5)", line);
                return r < 0 ? r : -EINVAL;
        }
        *eq = 0;
        key = strip(line);
        value = strip(eq + 1);
        if (!key_name_valid(key)) {
                r = diag_add(diag, DIAG_ERROR, name, lineno,
                             "'%s' is not a key name: expected 'key = value' with a lowercase key; see hvvssd.conf(5)",
                             key);
                return r < 0 ? r : -EINVAL;
        }
        k = key_find(key);
        if (!k)
                return diag_add(diag, DIAG_WARNING, name, lineno,
                                "unknown key '%s' ignored; see hvvssd.conf(5) for the keys", key);
        if (seen[k - keys]) {
                r = diag_add(diag, DIAG_WARNING, name, lineno,
                             "%s is set again; this value replaces the one on line %u", key,
                             seen[k - keys]);
                if (r < 0)
                        return r;
        }
        seen[k - keys] = lineno;
        r = key_parse(k, c, value);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                r = diag_add(diag, DIAG_ERROR, name, lineno,
                             "%s: invalid value '%s': expected %s", key, value, k->info.accepted);
                return r < 0 ? r : -EINVAL;
        }
        return 0;
}

int config_load_stream(struct config **ret, FILE *f, const char *name, struct diag *diag)
{
        _cleanup_config_free_ struct config *c = NULL;
        _cleanup_free_ char *line = NULL;
        unsigned seen[ELEMENTSOF(keys)] = {};
        unsigned lineno = 0;
        size_t cap = 0;
        bool bad = false;
        int r;

        r = config_new(&c);
        if (r < 0)
                return r;
        while (getline(&line, &cap, f) >= 0) {
                lineno++;
                r = parse_line(c, line, name, lineno, seen, diag);
                if (r == -EINVAL)
                        bad = true;
                else if (r < 0)
                        return r;
        }
        if (ferror(f)) {
                r = diag_add(diag, DIAG_ERROR, name, 0, "read failed after line %u", lineno);
                return r < 0 ? r : -EIO;
        }
        if (bad)
                return -EINVAL;
        *ret = steal_ptr(&c);
        return 0;
}

int config_load(struct config **ret, const char *path, struct diag *diag)
{
        _cleanup_fclose_ FILE *f = NULL;
        int r;

        f = fopen(path, "re");
        if (!f) {
                r = -errno;
                if (diag_add(diag, DIAG_ERROR, path, 0,
                             "cannot open the configuration file: %s; create it or pass another path",
                             strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        return config_load_stream(ret, f, path, diag);
}

static void dump_list(char *const *l, FILE *f)
{
        for (size_t i = 0; l && l[i]; i++)
                fprintf(f, "%s%s", i ? " " : "", l[i]);
}

/* The shortest exact form: minutes, seconds, else milliseconds. */
static void dump_duration(uint64_t usec, FILE *f)
{
        if (usec % (60 * USEC_PER_SEC) == 0 && usec >= 120 * USEC_PER_SEC)
                fprintf(f, "%" PRIu64 "min", usec / (60 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                fprintf(f, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else
                fprintf(f, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
}

static void dump_enum(const struct key *k, int v, FILE *f)
{
        for (size_t i = 0; k->choices[i]; i++)
                if ((k->choice_values ? k->choice_values[i] : (int)i) == v) {
                        fputs(k->choices[i], f);
                        return;
                }
        fprintf(f, "%d", v);
}

static void dump_value(const struct config *c, const struct key *k, FILE *f)
{
        switch (k->type) {
        case KEY_GLOBS:
        case KEY_TYPES:
                dump_list(*(char **const *)cfield(c, k), f);
                break;
        case KEY_PATH:
                fputs(*(char *const *)cfield(c, k), f);
                break;
        case KEY_DURATION:
                dump_duration(*(const uint64_t *)cfield(c, k), f);
                break;
        case KEY_SIZE:
                fprintf(f, "%" PRIu64, *(const uint64_t *)cfield(c, k));
                break;
        case KEY_UINT:
                fprintf(f, "%u", *(const unsigned *)cfield(c, k));
                break;
        case KEY_ENUM:
                dump_enum(k, *(const int *)cfield(c, k), f);
                break;
        }
}

int config_dump(const struct config *c, FILE *f)
{
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                char *value = NULL;
                size_t len = 0;
                FILE *m = open_memstream(&value, &len);

                if (!m)
                        return -ENOMEM;
                dump_value(c, &keys[i], m);
                if (fclose(m) != 0) {
                        free(value);
                        return -ENOMEM;
                }
                /* "key =" for an empty value: no trailing blank. */
                fprintf(f, "%s =%s%s\n", keys[i].info.name, *value ? " " : "", value);
                free(value);
        }
        return ferror(f) ? -EIO : 0;
}

const char *config_on_error_to_string(enum config_on_error v)
{
        return v < ELEMENTSOF(on_error_choices) - 1 ? on_error_choices[v] : NULL;
}

const char *config_hook_failure_to_string(enum config_hook_failure v)
{
        return v < ELEMENTSOF(hook_failure_choices) - 1 ? hook_failure_choices[v] : NULL;
}

const char *config_log_level_to_string(int level)
{
        for (size_t i = 0; i < ELEMENTSOF(log_level_values); i++)
                if (log_level_values[i] == level)
                        return log_level_choices[i];
        return NULL;
}
