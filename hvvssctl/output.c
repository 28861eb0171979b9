/*
 * output: how hvvssctl shows the daemon's objects.
 *
 * Every list the tool prints is described once, as a table of columns
 * (header, JSON key, type, help). The human table reads each cell from the
 * very field --json prints, so the two outputs cannot drift apart; the unit
 * test checks every key against the JSON schema (schema/defs.json). Modelled
 * on util-linux findmnt's infos[].
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hvvssctl.h"
#include "output.h"

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define TABLE(d, c) { .def = d, .columns = c, .n_columns = ELEMENTSOF(c) }

static const struct column mounts_columns[] = {
        { "LEVEL", "level", COL_INT, COL_RIGHT, "freeze level: 0 is frozen first, thawed last" },
        { "MOUNT", "mount_point", COL_STRING, 0, "mount point" },
        { "TYPE", "fstype", COL_STRING, 0, "filesystem type" },
        { "SOURCE", "source", COL_STRING, 0, "mounted device or source" },
        { "DECISION", "decision", COL_STRING, COL_RESULT, "freeze or skip" },
        { "REASON", "reason_text", COL_STRING, 0, "why it is skipped" },
        { "CODE", "reason", COL_STRING, COL_VERBOSE, "stable reason code" },
        { "SAME-AS", "same_as", COL_STRING, COL_VERBOSE, "for same-filesystem: the mount frozen instead" },
};

static const struct column frozen_columns[] = {
        { "MOUNT", "mount_point", COL_STRING, 0, "mount point" },
        { "SINCE", "since", COL_TIME, 0, "frozen since (local time)" },
        { "FOR", "frozen_for_ms", COL_MS, COL_RIGHT, "frozen for how long" },
        { "OP", "operation_id", COL_INT, COL_RIGHT, "operation that froze it (see history)" },
        { "BY", "by", COL_STRING, 0, "host-backup, test-freeze or left-over" },
};

static const struct column operations_columns[] = {
        { "ID", "id", COL_INT, COL_RIGHT, "operation id" },
        { "STARTED", "started", COL_TIME, 0, "start time (local time)" },
        { "KIND", "kind", COL_STRING, 0, "host-backup, test-freeze, ..." },
        { "RESULT", "result", COL_STRING, COL_RESULT, "ok, failed, watchdog, aborted, in-progress" },
        { "FROZEN", "frozen_ms", COL_MS, COL_RIGHT, "first freeze to last thaw" },
        { "FS", "targets", COL_COUNT, COL_RIGHT, "filesystems involved" },
        { "HOOKS", "hooks", COL_COUNT, COL_RIGHT | COL_VERBOSE, "hook runs" },
        { "INCONSISTENT", "may_be_inconsistent", COL_BOOL, COL_VERBOSE, "the watchdog thawed before the host" },
        { "ERROR", "error", COL_STRING, 0, "why it failed" },
};

static const struct column targets_columns[] = {
        { "LEVEL", "level", COL_INT, COL_RIGHT, "freeze level" },
        { "MOUNT", "mount_point", COL_STRING, 0, "mount point" },
        { "TYPE", "fstype", COL_STRING, 0, "filesystem type" },
        { "RESULT", "result", COL_STRING, COL_RESULT, "frozen-thawed, skipped, failed, timeout, not-run" },
        { "OPEN", "open_ms", COL_MS, COL_RIGHT | COL_VERBOSE, "opening the mount point" },
        { "SYNC", "sync_ms", COL_MS, COL_RIGHT, "presync (syncfs)" },
        { "FREEZE", "freeze_ms", COL_MS, COL_RIGHT, "FIFREEZE" },
        { "THAW", "thaw_ms", COL_MS, COL_RIGHT, "FITHAW" },
        { "NOTE", "note", COL_STRING, 0, "why skipped or failed" },
};

static const struct column phases_columns[] = {
        { "PHASE", "name", COL_STRING, 0, "hooks-freeze, presync, freeze, hold, thaw, hooks-thaw" },
        { "TIME", "duration_ms", COL_MS, COL_RIGHT, "how long it took" },
};

static const struct column hook_runs_columns[] = {
        { "HOOK", "name", COL_STRING, 0, "hook file name" },
        { "OP", "operation", COL_STRING, 0, "freeze or thaw" },
        { "RESULT", "result", COL_STRING, COL_RESULT, "ok, failed, timeout, refused, exec-error" },
        { "EXIT", "exit_status", COL_INT, COL_RIGHT, "exit status" },
        { "SIGNAL", "signal", COL_INT, COL_RIGHT | COL_VERBOSE, "killed by signal" },
        { "TIME", "duration_ms", COL_MS, COL_RIGHT, "how long it ran" },
        { "OUTPUT", "output", COL_STRING, COL_VERBOSE, "what it printed" },
};

static const struct column hooks_columns[] = {
        { "HOOK", "name", COL_STRING, 0, "hook file name" },
        { "PATH", "path", COL_STRING, 0, "full path" },
        { "PROBLEM", "problem", COL_STRING, COL_RESULT, "why it would be refused; - when fine" },
};

const struct column_table table_mounts = TABLE("Mount", mounts_columns);
const struct column_table table_frozen = TABLE("Frozen", frozen_columns);
const struct column_table table_operations = TABLE("Operation", operations_columns);
const struct column_table table_targets = TABLE("TargetResult", targets_columns);
const struct column_table table_phases = TABLE("Phase", phases_columns);
const struct column_table table_hook_runs = TABLE("HookResult", hook_runs_columns);
const struct column_table table_hooks = TABLE("Hook", hooks_columns);

const struct column_table *const output_tables[] = {
        &table_mounts, &table_frozen, &table_operations, &table_targets,
        &table_phases, &table_hook_runs, &table_hooks,
};
const size_t output_n_tables = ELEMENTSOF(output_tables);

bool output_want_color(int fd, bool no_color_option)
{
        const char *e;

        if (no_color_option)
                return false;
        e = getenv("NO_COLOR");
        if (e && *e)
                return false;
        e = getenv("TERM");
        if (e && strcmp(e, "dumb") == 0)
                return false;
        return isatty(fd) == 1;
}

const char *color(const struct hvvssctl *ctl, enum color c)
{
        static const char *const codes[] = {
                [COLOR_RESET] = "\033[0m",   [COLOR_BOLD] = "\033[1m",
                [COLOR_GREEN] = "\033[32m",  [COLOR_YELLOW] = "\033[33m",
                [COLOR_RED] = "\033[1;31m",  [COLOR_DIM] = "\033[2m",
        };

        if (!ctl || !ctl->color || (size_t)c >= ELEMENTSOF(codes))
                return "";
        return codes[c];
}

enum color color_for_result(const char *result)
{
        static const struct {
                const char *word;
                enum color c;
        } map[] = {
                { "ok", COLOR_GREEN },          { "frozen-thawed", COLOR_GREEN },
                { "freeze", COLOR_GREEN },      { "registered", COLOR_GREEN },
                { "skip", COLOR_DIM },          { "skipped", COLOR_DIM },
                { "not-run", COLOR_DIM },       { "in-progress", COLOR_YELLOW },
                { "watchdog", COLOR_RED },      { "timeout", COLOR_RED },
                { "failed", COLOR_RED },        { "aborted", COLOR_RED },
                { "refused", COLOR_RED },       { "exec-error", COLOR_RED },
        };

        if (!result)
                return COLOR_RESET;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(map[i].word, result) == 0)
                        return map[i].c;
        /* Anything else in a result column (a hook problem, say) is a warning. */
        return strcmp(result, "-") == 0 ? COLOR_RESET : COLOR_YELLOW;
}

char *format_duration_ms(double ms, char *buf, size_t size)
{
        if (!isfinite(ms) || ms < 0)
                snprintf(buf, size, "-");
        else if (ms < 10)
                snprintf(buf, size, "%.2f ms", ms);
        else if (ms < 1000)
                snprintf(buf, size, "%.0f ms", ms);
        else if (ms < 60 * 1000)
                snprintf(buf, size, "%.2f s", ms / 1000);
        else if (ms < 3600 * 1000) {
                long s = lround(ms / 1000);
                if (s % 60)
                        snprintf(buf, size, "%ld min %ld s", s / 60, s % 60);
                else
                        snprintf(buf, size, "%ld min", s / 60);
        } else {
                long m = lround(ms / 60000);
                if (m % 60)
                        snprintf(buf, size, "%ld h %ld min", m / 60, m % 60);
                else
                        snprintf(buf, size, "%ld h", m / 60);
        }
        return buf;
}

char *format_time(const char *rfc3339, char *buf, size_t size)
{
        struct tm tm = {};
        const char *end;
        time_t t;

        end = rfc3339 ? strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        if (end) {
                if (*end == '.')
                        for (end++; *end >= '0' && *end <= '9'; end++)
                                ;
                if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
                        end = NULL;
        }
        if (!end) {
                snprintf(buf, size, "%s", rfc3339 ? rfc3339 : "-");
                return buf;
        }
        t = timegm(&tm);
        if (!localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%s", rfc3339);
        return buf;
}

const char *json_str(json_object *obj, const char *key)
{
        json_object *v;

        if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
                return NULL;
        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

double json_num(json_object *obj, const char *key, double def)
{
        json_object *v;

        if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
                return def;
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
                return def;
        return json_object_get_double(v);
}

bool json_has(json_object *obj, const char *key)
{
        json_object *v;

        return obj && json_object_object_get_ex(obj, key, &v) && v;
}

/* Replaces control characters (hook output may hold anything) so a cell stays on one line; trims the end. */
static void sanitize(char *s)
{
        char *end = s;

        for (; *s; s++) {
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        *s = ' ';
                if (*s != ' ')
                        end = s + 1;
        }
        *end = '\0';
}

char *format_cell(const struct column *col, json_object *obj, char *buf, size_t size)
{
        json_object *v = NULL;

        if (!obj || !json_object_object_get_ex(obj, col->key, &v) || !v) {
                snprintf(buf, size, "-");
                return buf;
        }
        switch (col->type) {
        case COL_MS:
                format_duration_ms(json_object_get_double(v), buf, size);
                break;
        case COL_TIME:
                format_time(json_object_get_string(v), buf, size);
                break;
        case COL_BOOL:
                snprintf(buf, size, "%s", json_object_get_boolean(v) ? "yes" : "no");
                break;
        case COL_INT:
                snprintf(buf, size, "%lld", (long long)json_object_get_int64(v));
                break;
        case COL_COUNT:
                snprintf(buf, size, "%zu",
                         json_object_is_type(v, json_type_array) ? json_object_array_length(v) : (size_t)0);
                break;
        case COL_STRING:
        default:
                snprintf(buf, size, "%s", json_object_get_string(v));
                break;
        }
        sanitize(buf);
        return buf;
}

#define CELL_MAX 256

int output_table(const struct hvvssctl *ctl, FILE *f, const struct column_table *t, json_object *array,
                 const char *indent)
{
        size_t n_rows = array && json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
        size_t width[16] = {};
        bool shown[16] = {};
        size_t last = 0;
        char cell[CELL_MAX];

        if (t->n_columns > ELEMENTSOF(width))
                return -E2BIG;
        for (size_t c = 0; c < t->n_columns; c++) {
                shown[c] = !(t->columns[c].flags & COL_VERBOSE) || (ctl && ctl->verbose > 0);
                if (!shown[c])
                        continue;
                last = c;
                width[c] = strlen(t->columns[c].header);
                for (size_t r = 0; r < n_rows; r++) {
                        size_t l = strlen(format_cell(&t->columns[c], json_object_array_get_idx(array, r), cell,
                                                      sizeof(cell)));
                        if (l > width[c])
                                width[c] = l;
                }
        }

        /* Row -1 is the header. */
        for (long r = -1; r < (long)n_rows; r++) {
                json_object *row = r >= 0 ? json_object_array_get_idx(array, (size_t)r) : NULL;

                fputs(indent ? indent : "", f);
                for (size_t c = 0; c < t->n_columns; c++) {
                        const struct column *col = &t->columns[c];
                        const char *on = "", *off = "";
                        const char *text;
                        int pad;

                        if (!shown[c])
                                continue;
                        if (r < 0) {
                                text = col->header;
                                on = color(ctl, COLOR_BOLD);
                        } else {
                                text = format_cell(col, row, cell, sizeof(cell));
                                if (col->flags & COL_RESULT)
                                        on = color(ctl, color_for_result(text));
                        }
                        if (*on)
                                off = color(ctl, COLOR_RESET);
                        pad = (int)(width[c] - strlen(text));
                        if (col->flags & COL_RIGHT)
                                fprintf(f, "%*s%s%s%s", pad, "", on, text, off);
                        else if (c == last)
                                fprintf(f, "%s%s%s", on, text, off);
                        else
                                fprintf(f, "%s%s%s%*s", on, text, off, pad, "");
                        fputs(c == last ? "\n" : "  ", f);
                }
        }
        return ferror(f) ? -EIO : 0;
}

int output_json(FILE *f, json_object *obj, bool line)
{
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (line ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);

        fprintf(f, "%s\n", json_object_to_json_string_ext(obj, flags));
        if (line)
                fflush(f);
        return ferror(f) ? -EIO : 0;
}

int output_operation(const struct hvvssctl *ctl, FILE *f, json_object *op)
{
        const char *result = json_str(op, "result") ?: "?";
        json_object *arr;
        char when[64], dur[32];

        fprintf(f, "%sOperation #%lld%s %s, started %s: %s%s%s", color(ctl, COLOR_BOLD),
                (long long)json_num(op, "id", -1), color(ctl, COLOR_RESET), json_str(op, "kind") ?: "?",
                format_time(json_str(op, "started"), when, sizeof(when)), color(ctl, color_for_result(result)), result,
                color(ctl, COLOR_RESET));
        if (json_has(op, "frozen_ms"))
                fprintf(f, ", frozen %s", format_duration_ms(json_num(op, "frozen_ms", 0), dur, sizeof(dur)));
        else
                fprintf(f, ", nothing frozen");
        fputc('\n', f);
        if (json_str(op, "error"))
                fprintf(f, "  %serror:%s %s\n", color(ctl, COLOR_RED), color(ctl, COLOR_RESET), json_str(op, "error"));
        if (json_object_object_get_ex(op, "may_be_inconsistent", &arr) && json_object_get_boolean(arr))
                fprintf(f, "  %swarning:%s the watchdog thawed before the host asked: the snapshot may be inconsistent\n",
                        color(ctl, COLOR_YELLOW), color(ctl, COLOR_RESET));
        if (json_object_object_get_ex(op, "phases", &arr) && json_object_array_length(arr) > 0) {
                fputc('\n', f);
                output_table(ctl, f, &table_phases, arr, "  ");
        }
        if (json_object_object_get_ex(op, "targets", &arr) && json_object_array_length(arr) > 0) {
                fputc('\n', f);
                output_table(ctl, f, &table_targets, arr, "  ");
        }
        if (json_object_object_get_ex(op, "hooks", &arr) && json_object_array_length(arr) > 0) {
                fputc('\n', f);
                output_table(ctl, f, &table_hook_runs, arr, "  ");
        }
        return ferror(f) ? -EIO : 0;
}
