/* output: column tables (one per kind of object) and their human and JSON rendering. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct hvvssctl;

enum column_type {
        COL_STRING,     /* a string; numbers are printed as they come */
        COL_INT,        /* an integer */
        COL_MS,         /* a float of milliseconds, shown as a duration ("12 ms", "1.50 s") */
        COL_TIME,       /* an RFC 3339 UTC time, shown in local time */
        COL_BOOL,       /* yes / no */
        COL_COUNT,      /* the length of an array */
};

enum {
        COL_RIGHT = 1u << 0,   /* right-aligned (numbers) */
        COL_VERBOSE = 1u << 1, /* only with -v */
        COL_RESULT = 1u << 2,  /* coloured by value: ok green, failed red, ... */
};

/* One column: its header, the JSON key of the object's field it shows, and what it means. */
struct column {
        const char *header;
        const char *key;
        enum column_type type;
        unsigned flags;
        const char *help;
};

/* The columns of one kind of object; @def names its definition in the JSON schema (defs.json). */
struct column_table {
        const char *def;
        const struct column *columns;
        size_t n_columns;
};

extern const struct column_table table_mounts;     /* Mount */
extern const struct column_table table_frozen;     /* Frozen */
extern const struct column_table table_operations; /* Operation, one line each (history) */
extern const struct column_table table_targets;    /* TargetResult */
extern const struct column_table table_phases;     /* Phase */
extern const struct column_table table_hook_runs;  /* HookResult */
extern const struct column_table table_hooks;      /* Hook */

/* Every table, for tests and documentation. */
extern const struct column_table *const output_tables[];
extern const size_t output_n_tables;

/* Colours: empty strings unless ctl->color. */
enum color { COLOR_RESET, COLOR_BOLD, COLOR_GREEN, COLOR_YELLOW, COLOR_RED, COLOR_DIM };
const char *color(const struct hvvssctl *ctl, enum color c);
/* The colour for a result word (ok, failed, timeout, skipped, ...). */
enum color color_for_result(const char *result);
/* Whether to colour: stdout a terminal, NO_COLOR unset or empty, TERM not dumb, not --no-color. */
bool output_want_color(int fd, bool no_color_option);

/* "0.42 ms", "12 ms", "1.50 s", "2 min 5 s", "3 h 12 min". Always returns @buf. */
char *format_duration_ms(double ms, char *buf, size_t size);
/* An RFC 3339 UTC time in local time, "2025-11-26 21:03:04"; the input itself if it does not parse. */
char *format_time(const char *rfc3339, char *buf, size_t size);
/* The text of one cell (no colour); "-" for a missing or null value. */
char *format_cell(const struct column *col, json_object *obj, char *buf, size_t size);

/*
 * Prints @array (objects) as aligned columns under a header, each line
 * prefixed by @indent. Columns with COL_VERBOSE show only with -v.
 * Returns 0 or -EIO if writing failed.
 */
int output_table(const struct hvvssctl *ctl, FILE *f, const struct column_table *t, json_object *array,
                 const char *indent);
/* Prints @obj as JSON: pretty, or one line per object with @line (streams). */
int output_json(FILE *f, json_object *obj, bool line);

/* Helpers for reading daemon objects: NULL / default when absent or null. */
const char *json_str(json_object *obj, const char *key);
double json_num(json_object *obj, const char *key, double def);
bool json_has(json_object *obj, const char *key); /* present and not null */

/*
 * Prints one Operation in full: a headline (id, kind, start, result,
 * frozen time, error), then its phases, filesystems and hook runs as
 * tables. Returns 0 or -EIO.
 */
int output_operation(const struct hvvssctl *ctl, FILE *f, json_object *op);
