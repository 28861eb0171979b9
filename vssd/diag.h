/* diag: warnings and errors an object collects for its caller to log (helpers never log). */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

enum diag_level {
        DIAG_WARNING,
        DIAG_ERROR,
};

struct diag_msg {
        enum diag_level level;
        char *file;             /* NULL when the message is not about a file */
        unsigned line;          /* 0 when not about one line */
        char *text;
};

struct diag {
        struct diag_msg *msgs;
        size_t n_msgs;
        size_t n_warnings;
        size_t n_errors;
};

#define DIAG_NULL {}

void diag_clear(struct diag *d);
/* Adds one message; d may be NULL (the caller does not want messages). */
int diag_add(struct diag *d, enum diag_level level, const char *file, unsigned line,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int diag_addv(struct diag *d, enum diag_level level, const char *file, unsigned line,
              const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* One line per message: "FILE:LINE: warning: TEXT". */
void diag_print(const struct diag *d, FILE *f);
/* The text of the first message of the given level, or NULL. */
const char *diag_first(const struct diag *d, enum diag_level level);
