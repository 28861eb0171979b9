/*
 * varlink: framing of one Varlink stream.
 *
 * Input is one buffer of at most max_message + 1 bytes: [start, len) holds
 * unconsumed bytes, [start, scan) has been searched for the NUL terminator
 * already, so a message arriving byte by byte is scanned once. Reading stops
 * when the buffer is full; then either a complete message is at its front
 * or the message in progress is too large, which varlink_conn_next() reports.
 *
 * Output is an append buffer [ostart, olen); writes go out until EAGAIN and
 * the rest waits for EPOLLOUT. Its backlog is bounded so that a peer that
 * never reads costs a fixed amount of memory before it is dropped.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>

#include "varlink-internal.h"
#include "varlink.h"

#define READ_CHUNK ((size_t)16 * 1024)
#define JSON_MAX_DEPTH 64

struct varlink_conn {
        int fd;
        size_t max_message;
        size_t max_output;
        bool eof;

        char *in;
        size_t in_alloc;
        size_t start, scan, len;

        char *out;
        size_t out_alloc;
        size_t ostart, olen;
};

uint64_t varlink_now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * UINT64_C(1000000) + (uint64_t)ts.tv_nsec / 1000;
}

enum varlink_access varlink_access_decide(const struct varlink_creds *creds, gid_t group)
{
        if (creds->uid == 0)
                return VARLINK_ACCESS_ADMIN;
        if (group == (gid_t)-1)
                return VARLINK_ACCESS_NONE;
        if (creds->gid == group)
                return VARLINK_ACCESS_READ;
        for (size_t i = 0; i < creds->n_groups; i++)
                if (creds->groups[i] == group)
                        return VARLINK_ACCESS_READ;
        return VARLINK_ACCESS_NONE;
}

int varlink_creds_from_fd(int fd, struct varlink_creds *ret_creds, gid_t **ret_groups)
{
        vl_cleanup_free gid_t *groups = NULL;
        struct ucred uc;
        socklen_t sl = sizeof(uc);
        size_t n = 0;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) < 0)
                return -errno;
        if (sl != sizeof(uc))
                return -EIO;

        for (size_t want = 16;; want *= 2) {
                gid_t *g;

                if (want > 65536)
                        return -E2BIG;
                g = realloc(groups, want * sizeof(gid_t));
                if (!g)
                        return -ENOMEM;
                groups = g;
                sl = (socklen_t)(want * sizeof(gid_t));
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &sl) >= 0) {
                        n = sl / sizeof(gid_t);
                        break;
                }
                if (errno == ENOPROTOOPT || errno == ENODATA) {
                        /* A kernel before 4.13: only the primary group counts. */
                        n = 0;
                        break;
                }
                if (errno != ERANGE)
                        return -errno;
        }

        if (n == 0)
                groups = (free(groups), NULL);
        *ret_creds = (struct varlink_creds){
                .pid = uc.pid,
                .uid = uc.uid,
                .gid = uc.gid,
                .groups = groups,
                .n_groups = n,
        };
        *ret_groups = vl_steal(&groups);
        return 0;
}

int varlink_conn_new(struct varlink_conn **ret, int fd, size_t max_message, size_t max_output)
{
        struct varlink_conn *c;
        int flags;

        if (fd < 0)
                return -EBADF;
        if (max_message == 0)
                max_message = VARLINK_MAX_MESSAGE_DEFAULT;
        if (max_output == 0)
                max_output = VARLINK_MAX_OUTPUT_DEFAULT;
        if (max_message >= SIZE_MAX / 2)
                return -EINVAL;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->fd = fd;
        c->max_message = max_message;
        c->max_output = max_output;
        *ret = c;
        return 0;
}

struct varlink_conn *varlink_conn_free(struct varlink_conn *c)
{
        if (!c)
                return NULL;
        if (c->fd >= 0)
                close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
        return NULL;
}

int varlink_conn_get_fd(const struct varlink_conn *c)
{
        return c->fd;
}

bool varlink_conn_eof(const struct varlink_conn *c)
{
        return c->eof;
}

bool varlink_conn_input_full(const struct varlink_conn *c)
{
        return c->len - c->start > c->max_message;
}

size_t varlink_conn_input_partial(const struct varlink_conn *c)
{
        return c->len - c->start;
}

/* Makes room for at least one byte of input without exceeding max_message + 1 buffered. */
static int conn_in_reserve(struct varlink_conn *c, size_t *ret_room)
{
        size_t cap = c->max_message + 1;
        size_t used = c->len - c->start;
        size_t want;

        if (c->start > 0 && c->len + (cap - used < READ_CHUNK ? cap - used : READ_CHUNK) > c->in_alloc) {
                memmove(c->in, c->in + c->start, used);
                c->scan -= c->start;
                c->len -= c->start;
                c->start = 0;
        }
        want = c->len + (cap - used < READ_CHUNK ? cap - used : READ_CHUNK);
        if (want > c->in_alloc) {
                char *p = realloc(c->in, want);

                if (!p)
                        return -ENOMEM;
                c->in = p;
                c->in_alloc = want;
        }
        *ret_room = (cap - used < c->in_alloc - c->len) ? cap - used : c->in_alloc - c->len;
        return 0;
}

int varlink_conn_read(struct varlink_conn *c)
{
        while (!c->eof && !varlink_conn_input_full(c)) {
                size_t room;
                ssize_t n;
                int r;

                r = conn_in_reserve(c, &room);
                if (r < 0)
                        return r;
                n = recv(c->fd, c->in + c->len, room, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        /* The peer closed with our data unread: what it sent is still
                         * worth handling (an error reply before a close), so it ends
                         * the input like a close does. */
                        if (errno != ECONNRESET)
                                return -errno;
                        n = 0;
                }
                if (n == 0) {
                        c->eof = true;
                        break;
                }
                c->len += (size_t)n;
        }
        return 0;
}

int varlink_conn_next(struct varlink_conn *c, json_object **ret_message)
{
        vl_cleanup_json json_object *o = NULL;
        json_tokener *tok;
        char *nul;
        size_t mlen;
        bool ok;

        nul = c->scan < c->len ? memchr(c->in + c->scan, 0, c->len - c->scan) : NULL;
        if (!nul) {
                c->scan = c->len;
                if (c->len - c->start > c->max_message)
                        return VARLINK_E_TOO_LARGE;
                return VARLINK_E_AGAIN;
        }
        mlen = (size_t)(nul - (c->in + c->start));
        if (mlen > c->max_message)
                return VARLINK_E_TOO_LARGE;

        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = mlen > 0 && mlen <= INT_MAX ? json_tokener_parse_ex(tok, c->in + c->start, (int)mlen) : NULL;
        ok = o && json_tokener_get_error(tok) == json_tokener_success &&
             json_tokener_get_parse_end(tok) == mlen && json_object_is_type(o, json_type_object);
        json_tokener_free(tok);

        c->start += mlen + 1;
        c->scan = c->start;
        if (c->start == c->len)
                c->start = c->scan = c->len = 0;
        if (!ok)
                return VARLINK_E_BAD_MESSAGE;
        *ret_message = vl_steal(&o);
        return 0;
}

int varlink_conn_queue(struct varlink_conn *c, json_object *message)
{
        const char *s;
        size_t n, pending = c->olen - c->ostart;

        s = json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        n = strlen(s) + 1;
        if (pending > 0 && pending + n > c->max_output)
                return -ENOBUFS;

        if (c->ostart > 0 && c->olen + n > c->out_alloc) {
                memmove(c->out, c->out + c->ostart, pending);
                c->olen = pending;
                c->ostart = 0;
        }
        if (c->olen + n > c->out_alloc) {
                size_t want = c->olen + n;
                char *p;

                if (want < c->out_alloc * 2)
                        want = c->out_alloc * 2;
                p = realloc(c->out, want);
                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_alloc = want;
        }
        memcpy(c->out + c->olen, s, n);
        c->olen += n;
        return 0;
}

int varlink_conn_write(struct varlink_conn *c)
{
        while (c->ostart < c->olen) {
                ssize_t n = send(c->fd, c->out + c->ostart, c->olen - c->ostart, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                c->ostart += (size_t)n;
        }
        c->ostart = c->olen = 0;
        /* A burst (a large reply) should not pin its memory for the connection's life. */
        if (c->out_alloc > 64 * 1024) {
                free(c->out);
                c->out = NULL;
                c->out_alloc = 0;
        }
        return 0;
}

size_t varlink_conn_output_pending(const struct varlink_conn *c)
{
        return c->olen - c->ostart;
}
