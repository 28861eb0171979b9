/*
 * varlink-client: blocking calls over the shared framing.
 *
 * The socket is non-blocking underneath (the same struct varlink_conn the
 * server uses); blocking is poll() with the deadline of the reply being
 * waited for. connect() itself uses the kernel's own wait: a blocking
 * AF_UNIX connect to a full backlog sleeps for at most SO_SNDTIMEO and then
 * fails with EAGAIN, which we report as -ETIMEDOUT.
 *
 * After any transport error the connection is unusable (we cannot know
 * where in the stream we are), so later calls fail with -ENOTCONN.
 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "varlink-client.h"
#include "varlink-internal.h"

#define CLIENT_TIMEOUT_MS_DEFAULT 30000

struct varlink_client {
        struct varlink_conn *vc;
        int timeout_ms;
        bool broken;
};

int varlink_client_connect(struct varlink_client **ret, const char *path, int timeout_ms)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        vl_cleanup_close int fd = -1;
        struct varlink_client *c;
        struct timeval tv;
        size_t len;
        int r;

        if (!path)
                return -EINVAL;
        len = strlen(path);
        if (len == 0 || len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len + 1);
        if (timeout_ms <= 0)
                timeout_ms = CLIENT_TIMEOUT_MS_DEFAULT;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        for (;;) {
                if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) == 0)
                        break;
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN || errno == EINPROGRESS)
                        return -ETIMEDOUT;
                return -errno;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = varlink_conn_new(&c->vc, fd, VARLINK_CLIENT_MAX_MESSAGE, 0);
        if (r < 0) {
                free(c);
                return r;
        }
        fd = -1;
        c->timeout_ms = timeout_ms;
        *ret = c;
        return 0;
}

struct varlink_client *varlink_client_free(struct varlink_client *c)
{
        if (!c)
                return NULL;
        varlink_conn_free(c->vc);
        free(c);
        return NULL;
}

void varlink_client_set_timeout(struct varlink_client *c, int timeout_ms)
{
        c->timeout_ms = timeout_ms;
}

static int client_wait(struct varlink_client *c, short events, uint64_t deadline)
{
        struct pollfd p = { .fd = varlink_conn_get_fd(c->vc), .events = events };
        int ms = -1, n;

        if (deadline != UINT64_MAX) {
                uint64_t now = varlink_now_usec();

                if (now >= deadline)
                        return -ETIMEDOUT;
                ms = (int)((deadline - now + 999) / 1000);
        }
        n = poll(&p, 1, ms);
        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ETIMEDOUT;
        return 0;
}

static uint64_t client_deadline(const struct varlink_client *c)
{
        if (c->timeout_ms <= 0)
                return UINT64_MAX;
        return varlink_now_usec() + (uint64_t)c->timeout_ms * 1000;
}

static int client_send(struct varlink_client *c, const char *method, json_object *parameters, bool more, bool oneway)
{
        vl_cleanup_json json_object *m = NULL;
        uint64_t deadline;
        int r;

        if (c->broken)
                return -ENOTCONN;
        if (!method)
                return -EINVAL;
        m = json_object_new_object();
        if (!m)
                return -ENOMEM;
        r = vl_json_add_string(m, "method", method);
        if (r < 0)
                return r;
        r = vl_json_add(m, "parameters", parameters ? json_object_get(parameters) : json_object_new_object());
        if (r < 0)
                return r;
        if (more && (r = vl_json_add(m, "more", json_object_new_boolean(true))) < 0)
                return r;
        if (oneway && (r = vl_json_add(m, "oneway", json_object_new_boolean(true))) < 0)
                return r;
        r = varlink_conn_queue(c->vc, m);
        if (r < 0)
                return r;

        deadline = client_deadline(c);
        for (;;) {
                r = varlink_conn_write(c->vc);
                if (r < 0)
                        break;
                if (varlink_conn_output_pending(c->vc) == 0)
                        return 0;
                r = client_wait(c, POLLOUT, deadline);
                if (r < 0)
                        break;
        }
        c->broken = true;
        return r == -EPIPE ? -ECONNRESET : r;
}

/* Waits for one reply: 0 and its parts, or a negative errno (then the client is broken). */
static int client_receive(struct varlink_client *c, json_object **ret_message)
{
        uint64_t deadline = client_deadline(c);
        int r;

        for (;;) {
                r = varlink_conn_next(c->vc, ret_message);
                if (r == 0)
                        return 0;
                if (r == VARLINK_E_TOO_LARGE)
                        r = -EMSGSIZE;
                else if (r == VARLINK_E_BAD_MESSAGE)
                        r = -EBADMSG;
                else if (r == VARLINK_E_AGAIN && varlink_conn_eof(c->vc))
                        r = -ECONNRESET;
                else if (r == VARLINK_E_AGAIN) {
                        r = client_wait(c, POLLIN, deadline);
                        if (r == 0)
                                r = varlink_conn_read(c->vc);
                }
                if (r < 0) {
                        c->broken = true;
                        return r;
                }
        }
}

/*
 * One round of a call: 0 (a reply, *ret_continues says whether more come),
 * VARLINK_CLIENT_E_ERROR, or a negative errno.
 */
static int client_reply(struct varlink_client *c, json_object **ret_parameters, char **ret_error, bool *ret_continues)
{
        vl_cleanup_json json_object *m = NULL;
        json_object *p = NULL, *e = NULL, *k = NULL;
        bool continues = false;
        int r;

        r = client_receive(c, &m);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(m, "parameters", &p) && p && !json_object_is_type(p, json_type_object))
                goto bad;
        if (json_object_object_get_ex(m, "continues", &k) && k) {
                if (!json_object_is_type(k, json_type_boolean))
                        goto bad;
                continues = json_object_get_boolean(k);
        }
        p = p ? json_object_get(p) : json_object_new_object();
        if (!p)
                return -ENOMEM;
        if (json_object_object_get_ex(m, "error", &e) && e) {
                char *name;

                if (!json_object_is_type(e, json_type_string)) {
                        json_object_put(p);
                        goto bad;
                }
                name = strdup(json_object_get_string(e));
                if (!name) {
                        json_object_put(p);
                        return -ENOMEM;
                }
                if (ret_error)
                        *ret_error = name;
                else
                        free(name);
                if (ret_parameters)
                        *ret_parameters = p;
                else
                        json_object_put(p);
                c->broken = c->broken || continues; /* an error ends the call whatever it says */
                return VARLINK_CLIENT_E_ERROR;
        }
        if (ret_parameters)
                *ret_parameters = p;
        else
                json_object_put(p);
        *ret_continues = continues;
        return 0;

bad:
        c->broken = true;
        return -EBADMSG;
}

int varlink_client_call(struct varlink_client *c, const char *method, json_object *parameters,
                        json_object **ret_parameters, char **ret_error)
{
        json_object *p = NULL;
        bool continues;
        int r;

        r = client_send(c, method, parameters, false, false);
        if (r < 0)
                return r;
        r = client_reply(c, &p, ret_error, &continues);
        if (r < 0)
                return r;
        if (r == 0 && continues) {
                json_object_put(p);
                c->broken = true;
                return -EBADMSG;
        }
        if (ret_parameters)
                *ret_parameters = p;
        else
                json_object_put(p);
        if (r == 0 && ret_error)
                *ret_error = NULL;
        return r;
}

int varlink_client_call_more(struct varlink_client *c, const char *method, json_object *parameters,
                             varlink_reply_fn fn, void *userdata, json_object **ret_parameters, char **ret_error)
{
        int r;

        r = client_send(c, method, parameters, true, false);
        if (r < 0)
                return r;
        for (;;) {
                json_object *p = NULL;
                bool continues;

                r = client_reply(c, &p, ret_error, &continues);
                if (r < 0)
                        return r;
                if (r == VARLINK_CLIENT_E_ERROR) {
                        if (ret_parameters)
                                *ret_parameters = p;
                        else
                                json_object_put(p);
                        return r;
                }
                if (fn) {
                        r = fn(p, continues, userdata);
                        if (r < 0) {
                                json_object_put(p);
                                /* The rest of the stream is still coming: this connection is done. */
                                c->broken = continues;
                                return r;
                        }
                }
                if (!continues) {
                        if (ret_error)
                                *ret_error = NULL;
                        if (ret_parameters)
                                *ret_parameters = p;
                        else
                                json_object_put(p);
                        return 0;
                }
                json_object_put(p);
        }
}

int varlink_client_call_oneway(struct varlink_client *c, const char *method, json_object *parameters)
{
        return client_send(c, method, parameters, false, true);
}

const char *varlink_client_strerror(int error)
{
        switch (error) {
        case -ENOENT:
        case -ECONNREFUSED:
                return "the daemon hvvssd is not running (start it: systemctl start hvvssd)";
        case -EACCES:
        case -EPERM:
                return "permission denied: run as root or join group hyperv-vss";
        case -ETIMEDOUT:
                return "the daemon hvvssd did not answer in time";
        case -ECONNRESET:
        case -EPIPE:
                return "the daemon hvvssd closed the connection";
        case -EBADMSG:
        case -EMSGSIZE:
                return "the daemon hvvssd sent an invalid reply";
        case -ENOTCONN:
                return "the connection to hvvssd is unusable after an earlier error";
        case -ENAMETOOLONG:
                return "the control socket path is too long";
        default:
                return strerror(error < 0 ? -error : error);
        }
}

int varlink_error_to_errno(const char *error)
{
        static const struct {
                const char *name;
                int error;
        } map[] = {
                { VARLINK_ERROR_NOT_PERMITTED, -EACCES },
                { VARLINK_ERROR_METHOD_NOT_FOUND, -EOPNOTSUPP },
                { VARLINK_ERROR_INTERFACE_NOT_FOUND, -EOPNOTSUPP },
                { VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, -EOPNOTSUPP },
                { VARLINK_ERROR_INVALID_PARAMETER, -EINVAL },
        };

        for (size_t i = 0; error && i < VL_ELEMENTSOF(map); i++)
                if (strcmp(map[i].name, error) == 0)
                        return map[i].error;
        return -EREMOTEIO;
}
