/*
 * diag: a growing array of messages. Parsers record every problem they
 * meet (so a config file with three mistakes reports three) and the caller
 * decides whether and where to log them. Allocation failures while
 * recording are returned, never hidden.
 */
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "util.h"

void diag_clear(struct diag *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_msgs; i++) {
                free(d->msgs[i].file);
                free(d->msgs[i].text);
        }
        free(d->msgs);
        *d = (struct diag)DIAG_NULL;
}

int diag_addv(struct diag *d, enum diag_level level, const char *file, unsigned line,
              const char *fmt, va_list ap)
{
        _cleanup_free_ char *text = NULL, *fcopy = NULL;
        struct diag_msg *msgs;

        if (!d)
                return 0;
        if (vasprintf(&text, fmt, ap) < 0) {
                text = NULL;
                return -ENOMEM;
        }
        if (file) {
                fcopy = strdup(file);
                if (!fcopy)
                        return -ENOMEM;
        }
        msgs = realloc(d->msgs, (d->n_msgs + 1) * sizeof(*msgs));
        if (!msgs)
                return -ENOMEM;
        d->msgs = msgs;
        d->msgs[d->n_msgs++] = (struct diag_msg){
                .level = level,
                .file = steal_ptr(&fcopy),
                .line = line,
                .text = steal_ptr(&text),
        };
        if (level == DIAG_ERROR)
                d->n_errors++;
        else
                d->n_warnings++;
        return 0;
}

int diag_add(struct diag *d, enum diag_level level, const char *file, unsigned line,
             const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = diag_addv(d, level, file, line, fmt, ap);
        va_end(ap);
        return r;
}

void diag_print(const struct diag *d, FILE *f)
{
        for (size_t i = 0; d && i < d->n_msgs; i++) {
                const struct diag_msg *m = &d->msgs[i];
                const char *lvl = m->level == DIAG_ERROR ? "error" : "warning";

                if (m->file && m->line)
                        fprintf(f, "%s:%u: %s: %s\n", m->file, m->line, lvl, m->text);
                else if (m->file)
                        fprintf(f, "%s: %s: %s\n", m->file, lvl, m->text);
                else
                        fprintf(f, "%s: %s\n", lvl, m->text);
        }
}

const char *diag_first(const struct diag *d, enum diag_level level)
{
        for (size_t i = 0; d && i < d->n_msgs; i++)
                if (d->msgs[i].level == level)
                        return d->msgs[i].text;
        return NULL;
}
