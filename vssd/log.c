/*
 * log: freeze-safe logging.
 *
 * Every accepted line goes into one bounded ring (lines and bytes) with the
 * realtime clock of the log_write() call and a flag saying whether it has been
 * written out. Thawed, a line is written out at once and kept in the ring only
 * as history for log_get_recent(). Frozen, nothing is written to any fd: stderr
 * may be a pipe to journald, and journald may be blocked writing to a frozen
 * /var, which would block us while we hold the freeze (failure mode 1). The
 * line waits in the ring; when the ring is full the oldest line goes, and if
 * it was never written out it is counted as dropped. Thawing writes out the
 * waiting lines in order, each with its original timestamp.
 *
 * sd_notify goes to a socket under /run (tmpfs, never frozen), so it is not
 * buffered.
 *
 * One mutex guards all state, so threads (hook runners, the freezer's workers)
 * may log. Nothing here calls log_write() recursively.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

typedef struct LogEntry {
        struct timespec ts;
        int priority;
        bool written;           /* already written out */
        char *msg;
        size_t len;
} LogEntry;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
        char ident[64];
        int max_level;
        LogTarget target;
        int fd;
        bool frozen;
        LogEntry *ring;         /* max_lines entries, allocated on first use */
        size_t max_lines, max_bytes;
        size_t head, count, bytes;
        size_t dropped;         /* since log_init() */
        size_t dropped_frozen;  /* during the current freeze */
} L = {
        .ident = "hvvssd",
        .max_level = LOG_INFO,
        .target = LOG_TARGET_CONSOLE,
        .fd = 2,
        .max_lines = LOG_RING_MAX_LINES,
        .max_bytes = LOG_RING_MAX_BYTES,
};

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
        [LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

const char *log_level_to_string(int priority)
{
        if (priority < 0 || priority > LOG_DEBUG)
                return "unknown";
        return level_names[priority];
}

int log_level_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        for (int i = 0; i <= LOG_DEBUG; i++)
                if (strcmp(s, level_names[i]) == 0)
                        return i;
        if (strcmp(s, "err") == 0)
                return LOG_ERR;
        if (strcmp(s, "warn") == 0)
                return LOG_WARNING;
        if (strcmp(s, "emergency") == 0)
                return LOG_EMERG;
        if (strcmp(s, "critical") == 0)
                return LOG_CRIT;
        return -EINVAL;
}

static void ring_clear(void)
{
        if (L.ring)
                for (size_t i = 0; i < L.count; i++)
                        free(L.ring[(L.head + i) % L.max_lines].msg);
        free(L.ring);
        L.ring = NULL;
        L.head = L.count = L.bytes = 0;
}

LogTarget log_detect_target(int fd)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        char *end;

        if (!e)
                return LOG_TARGET_CONSOLE;
        errno = 0;
        dev = strtoull(e, &end, 10);
        if (errno || end == e || *end != ':')
                return LOG_TARGET_CONSOLE;
        e = end + 1;
        ino = strtoull(e, &end, 10);
        if (errno || end == e || *end)
                return LOG_TARGET_CONSOLE;
        if (fstat(fd, &st) < 0)
                return LOG_TARGET_CONSOLE;
        if ((unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
                return LOG_TARGET_JOURNAL;
        return LOG_TARGET_CONSOLE;
}

int log_init(const char *ident, int max_level, LogTarget target)
{
        /* Read the zone file now, not when formatting the first timestamp. */
        tzset();

        pthread_mutex_lock(&log_lock);
        snprintf(L.ident, sizeof(L.ident), "%s", ident ? ident : "hvvssd");
        L.max_level = max_level < 0 ? 0 : max_level > LOG_DEBUG ? LOG_DEBUG : max_level;
        L.target = target == LOG_TARGET_AUTO ? log_detect_target(L.fd) : target;
        L.dropped = L.dropped_frozen = 0;
        pthread_mutex_unlock(&log_lock);
        return 0;
}

void log_close(void)
{
        pthread_mutex_lock(&log_lock);
        ring_clear();
        L.frozen = false;
        L.fd = 2;
        L.dropped = L.dropped_frozen = 0;
        L.max_lines = LOG_RING_MAX_LINES;
        L.max_bytes = LOG_RING_MAX_BYTES;
        pthread_mutex_unlock(&log_lock);
}

LogTarget log_get_target(void)
{
        return L.target;
}

void log_set_max_level(int max_level)
{
        pthread_mutex_lock(&log_lock);
        L.max_level = max_level < 0 ? 0 : max_level > LOG_DEBUG ? LOG_DEBUG : max_level;
        pthread_mutex_unlock(&log_lock);
}

int log_get_max_level(void)
{
        return L.max_level;
}

void log_set_output_fd(int fd)
{
        pthread_mutex_lock(&log_lock);
        L.fd = fd;
        pthread_mutex_unlock(&log_lock);
}

void log_set_ring_limits(size_t max_lines, size_t max_bytes)
{
        pthread_mutex_lock(&log_lock);
        ring_clear();
        L.max_lines = max_lines == 0 || max_lines > LOG_RING_MAX_LINES ? LOG_RING_MAX_LINES : max_lines;
        L.max_bytes = max_bytes == 0 || max_bytes > LOG_RING_MAX_BYTES ? LOG_RING_MAX_BYTES : max_bytes;
        pthread_mutex_unlock(&log_lock);
}

bool log_is_frozen(void)
{
        bool f;

        pthread_mutex_lock(&log_lock);
        f = L.frozen;
        pthread_mutex_unlock(&log_lock);
        return f;
}

size_t log_get_dropped(void)
{
        size_t d;

        pthread_mutex_lock(&log_lock);
        d = L.dropped;
        pthread_mutex_unlock(&log_lock);
        return d;
}

static void format_time(const struct timespec *ts, char *buf, size_t size)
{
        struct tm tm;
        size_t n;

        if (!localtime_r(&ts->tv_sec, &tm)) {
                snprintf(buf, size, "@%lld", (long long)ts->tv_sec);
                return;
        }
        n = strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03ld", ts->tv_nsec / 1000000L);
}

static void write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return;         /* nowhere to report it */
                }
                buf += n;
                len -= (size_t)n;
        }
}

/* Writes one entry, one output line per line of the message. Caller holds the lock. */
static void write_entry(const LogEntry *e, bool delayed)
{
        char ts[48], line[LOG_LINE_MAX + 160];
        const char *p = e->msg, *level;

        format_time(&e->ts, ts, sizeof(ts));
        level = e->priority <= LOG_WARNING || e->priority == LOG_DEBUG ?
                log_level_to_string(e->priority) : NULL;

        for (;;) {
                size_t seg = strcspn(p, "\n");
                int n;

                if (L.target == LOG_TARGET_JOURNAL) {
                        if (delayed)
                                n = snprintf(line, sizeof(line), "<%d>[logged at %s] %.*s\n",
                                             e->priority, ts, (int)seg, p);
                        else
                                n = snprintf(line, sizeof(line), "<%d>%.*s\n",
                                             e->priority, (int)seg, p);
                } else {
                        n = snprintf(line, sizeof(line), "%s %s: %s%s%.*s\n", ts, L.ident,
                                     level ? level : "", level ? ": " : "", (int)seg, p);
                }
                if (n > 0)
                        write_all(L.fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
                if (!p[seg])
                        break;
                p += seg + 1;
        }
}

static void ring_evict_oldest(void)
{
        LogEntry *e = &L.ring[L.head];

        if (!e->written) {
                L.dropped++;
                L.dropped_frozen++;
        }
        L.bytes -= e->len;
        free(e->msg);
        e->msg = NULL;
        L.head = (L.head + 1) % L.max_lines;
        L.count--;
}

/* Caller holds the lock. */
static void ring_append(int priority, const struct timespec *ts, const char *msg, size_t len, bool written)
{
        LogEntry *e;
        char *copy;

        if (!L.ring) {
                L.ring = calloc(L.max_lines, sizeof(LogEntry));
                if (!L.ring)
                        goto drop;
        }
        if (len > L.max_bytes)
                len = L.max_bytes;
        while (L.count > 0 && (L.count >= L.max_lines || L.bytes + len > L.max_bytes))
                ring_evict_oldest();

        copy = malloc(len + 1);
        if (!copy)
                goto drop;
        memcpy(copy, msg, len);
        copy[len] = 0;

        e = &L.ring[(L.head + L.count) % L.max_lines];
        *e = (LogEntry) { .ts = *ts, .priority = priority, .written = written, .msg = copy, .len = len };
        L.count++;
        L.bytes += len;
        return;
drop:
        if (!written) {
                L.dropped++;
                L.dropped_frozen++;
        }
}

/* Caller holds the lock. */
static void log_internal(int priority, const struct timespec *ts, const char *msg, size_t len)
{
        if (!L.frozen) {
                LogEntry e = { .ts = *ts, .priority = priority, .msg = (char *)msg, .len = len };

                write_entry(&e, false);
        }
        ring_append(priority, ts, msg, len, !L.frozen);
}

static void log_va(int priority, int saved_errno, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void log_va(int priority, int saved_errno, const char *fmt, va_list ap)
{
        char buf[LOG_LINE_MAX];
        struct timespec ts;
        size_t len;
        int n;

        priority &= LOG_PRIMASK;
        if (priority > L.max_level)
                return;

        clock_gettime(CLOCK_REALTIME, &ts);
        errno = saved_errno;
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        if (n < 0)
                return;
        len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = 0;

        pthread_mutex_lock(&log_lock);
        log_internal(priority, &ts, buf, len);
        pthread_mutex_unlock(&log_lock);
}

void log_write(int priority, const char *fmt, ...)
{
        int saved_errno = errno;
        va_list ap;

        va_start(ap, fmt);
        log_va(priority, saved_errno, fmt, ap);
        va_end(ap);
        errno = saved_errno;
}

int log_write_errno(int priority, int error, const char *fmt, ...)
{
        int saved_errno = errno;
        va_list ap;

        va_start(ap, fmt);
        log_va(priority, error < 0 ? -error : error, fmt, ap);
        va_end(ap);
        errno = saved_errno;
        return error;
}

void log_set_frozen(bool frozen)
{
        int saved_errno = errno;

        pthread_mutex_lock(&log_lock);
        if (frozen == L.frozen)
                goto out;
        if (frozen) {
                L.frozen = true;
                L.dropped_frozen = 0;
                goto out;
        }

        L.frozen = false;
        {
                char msg[160];
                struct timespec ts;
                size_t dropped = L.dropped_frozen;
                int n = 0;

                /* The note comes first in the output, marking the gap before the kept lines,
                 * but goes into the ring (by its time) after them, once they are written. */
                if (dropped > 0) {
                        clock_gettime(CLOCK_REALTIME, &ts);
                        n = snprintf(msg, sizeof(msg), "log: %zu earlier lines logged while frozen "
                                     "were dropped (buffer full)", dropped);
                        LogEntry note = { .ts = ts, .priority = LOG_WARNING, .msg = msg, .len = (size_t)n };
                        write_entry(&note, false);
                }
                for (size_t i = 0; i < L.count; i++) {
                        LogEntry *e = &L.ring[(L.head + i) % L.max_lines];

                        if (!e->written) {
                                write_entry(e, true);
                                e->written = true;
                        }
                }
                if (dropped > 0)
                        ring_append(LOG_WARNING, &ts, msg, (size_t)n, true);
                L.dropped_frozen = 0;
        }
out:
        pthread_mutex_unlock(&log_lock);
        errno = saved_errno;
}

int log_get_recent(size_t n, char ***ret_lines)
{
        char **lines;
        size_t k, first;
        int r = 0;

        pthread_mutex_lock(&log_lock);
        k = n < L.count ? n : L.count;
        first = L.count - k;
        lines = calloc(k + 1, sizeof(char *));
        if (!lines) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < k; i++) {
                const LogEntry *e = &L.ring[(L.head + first + i) % L.max_lines];
                char ts[48];

                format_time(&e->ts, ts, sizeof(ts));
                if (asprintf(&lines[i], "%s %s: %s", ts, log_level_to_string(e->priority), e->msg) < 0) {
                        lines[i] = NULL;
                        for (size_t j = 0; j < i; j++)
                                free(lines[j]);
                        free(lines);
                        r = -ENOMEM;
                        goto out;
                }
        }
        *ret_lines = lines;
out:
        pthread_mutex_unlock(&log_lock);
        return r;
}

#ifdef HAVE_SYSTEMD
static int notify(const char *state)
{
        return sd_notify(0, state);
}
#else
static int notify(const char *state)
{
        (void)state;
        return 0;
}
#endif

int log_notify_ready(void)
{
        return notify("READY=1");
}

int log_notify_stopping(void)
{
        return notify("STOPPING=1");
}

int log_notify_watchdog(void)
{
        return notify("WATCHDOG=1");
}

int log_notify_status(const char *fmt, ...)
{
        char buf[512] = "STATUS=";
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), fmt, ap);
        va_end(ap);
        /* A newline would start a new assignment. */
        for (char *p = buf; *p; p++)
                if (*p == '\n')
                        *p = ' ';
        return notify(buf);
}
