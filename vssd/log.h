/* log: the daemon's freeze-safe log (direct to stderr, or buffered in memory while anything is frozen) and sd_notify helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

typedef enum LogTarget {
        LOG_TARGET_AUTO,        /* JOURNAL if stderr is the journal (JOURNAL_STREAM), else CONSOLE */
        LOG_TARGET_JOURNAL,     /* "<N>message" lines: journald reads the priority prefix */
        LOG_TARGET_CONSOLE,     /* "YYYY-MM-DD HH:MM:SS.mmm ident: level: message" for people */
} LogTarget;

#define LOG_RING_MAX_LINES 2000
#define LOG_RING_MAX_BYTES (256 * 1024)
#define LOG_LINE_MAX 4096       /* longer messages are truncated */

/*
 * Sets the identity, the maximum priority written (LOG_ERR..LOG_DEBUG) and the
 * target; output goes to fd 2 until log_set_output_fd(). May be called again.
 * Returns 0 or -ENOMEM.
 */
int log_init(const char *ident, int max_level, LogTarget target);
/* Frees the ring and resets to defaults (thawed, fd 2). */
void log_close(void);

/* The target AUTO resolves to for fd: JOURNAL when $JOURNAL_STREAM names fd's dev:ino. */
LogTarget log_detect_target(int fd);
LogTarget log_get_target(void);
void log_set_max_level(int max_level);
int log_get_max_level(void);
/* "emerg".."debug" (or a number 0-7) to a priority; -EINVAL otherwise. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int priority);
/* Where direct output goes (default 2); the log does not own it. */
void log_set_output_fd(int fd);
/* Limits of the in-memory ring (clamped to the defaults above); clears it. */
void log_set_ring_limits(size_t max_lines, size_t max_bytes);

/*
 * Logs one message at priority (LOG_ERR...). Never changes errno; %m works.
 * Messages above the max level are discarded. While frozen nothing is written
 * anywhere: the line goes to the ring with the time of this call.
 */
void log_write(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with errno set to -error for %m; returns error (for "return log_error_errno(r, ...)"). */
int log_write_errno(int priority, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_write(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_error_errno(error, ...) log_write_errno(LOG_ERR, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_write_errno(LOG_WARNING, (error), __VA_ARGS__)

/*
 * true: from now on buffer everything in memory (call before the first FIFREEZE).
 * false: write out what was buffered, in order, with the original timestamps, then
 * a line counting what the ring dropped, and resume direct output (call after the
 * last FITHAW).
 */
void log_set_frozen(bool frozen);
bool log_is_frozen(void);
/* Lines dropped from the frozen buffer since log_init() (the ring was full). */
size_t log_get_dropped(void);

/*
 * The last n lines logged (fewer if fewer are kept), oldest first, each
 * "YYYY-MM-DD HH:MM:SS.mmm level: message", as a NULL-terminated vector the caller
 * frees (strv_free). Includes lines still buffered while frozen.
 */
int log_get_recent(size_t n, char ***ret_lines);

/*
 * sd_notify(3) helpers: no-ops (returning 0) when $NOTIFY_SOCKET is unset or
 * built without libsystemd. They talk to a socket in /run, never to a possibly
 * frozen filesystem, so they work while frozen. Return >0 sent, 0 not, -errno.
 */
int log_notify_ready(void);
int log_notify_stopping(void);
int log_notify_watchdog(void);
int log_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
