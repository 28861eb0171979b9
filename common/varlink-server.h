/* varlink-server: the control socket's listener, its connections, and dispatch of calls to method tables. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "varlink.h"

#define VARLINK_IDLE_TIMEOUT_USEC_DEFAULT (UINT64_C(10) * 1000000)
#define VARLINK_MAX_CONNECTIONS_DEFAULT 64u

struct varlink_server;
struct varlink_call;

/*
 * A method handler. It may answer at once (varlink_call_reply/_error), or
 * keep the call (varlink_call_ref) and answer later from any other callback
 * of the event loop; a call with `more` may be answered any number of times
 * with varlink_call_notify() before the final reply. While a call is
 * unanswered, the connection's later messages wait. @parameters is always
 * an object (empty if the caller sent none), owned by the call.
 * A negative return without an answer sends VARLINK_ERROR_INTERNAL.
 */
typedef int (*varlink_method_fn)(struct varlink_call *call, json_object *parameters, void *userdata);

enum {
        VARLINK_METHOD_MORE = 1u << 0, /* accepts calls with more=true (streams notify replies) */
};

struct varlink_method {
        const char *name;               /* the member name, e.g. "GetStatus" */
        varlink_method_fn fn;
        enum varlink_access access;     /* the least a peer needs: VARLINK_ACCESS_READ or _ADMIN */
        unsigned flags;                 /* VARLINK_METHOD_* */
};

/* Registered by pointer: the caller keeps it (usually static const) alive. */
struct varlink_interface {
        const char *name;               /* e.g. "io.hypervvss" */
        const char *description;        /* the interface definition, GetInterfaceDescription's answer */
        const struct varlink_method *methods;
        size_t n_methods;
};

struct varlink_server_config {
        gid_t group;                    /* (gid_t)-1: none; else the socket's group and the READ group */
        const char *group_name;         /* for NotPermitted messages; NULL: "hyperv-vss" */
        size_t max_message;             /* per request; 0: VARLINK_MAX_MESSAGE_DEFAULT */
        size_t max_output;              /* unsent backlog per connection; 0: VARLINK_MAX_OUTPUT_DEFAULT */
        uint64_t idle_timeout_usec;     /* a message in progress (or unsent output) stalled this long
                                         * closes the connection; 0: VARLINK_IDLE_TIMEOUT_USEC_DEFAULT */
        unsigned max_connections;       /* more are accepted and closed at once; 0: default */
        const char *vendor, *product, *version, *url; /* GetInfo; NULL: built-in defaults */
        /* Authorization; NULL: varlink_access_decide. Tests inject their own. */
        enum varlink_access (*decide)(const struct varlink_creds *creds, gid_t group);
};

/* @config may be NULL for defaults; it is copied (its strings are not: keep them alive). */
int varlink_server_new(struct varlink_server **ret, const struct varlink_server_config *config, void *userdata);
struct varlink_server *varlink_server_free(struct varlink_server *s);

int varlink_server_add_interface(struct varlink_server *s, const struct varlink_interface *iface);

/*
 * Listens on the unix socket @path: creates its parent directories (0755)
 * if missing, replaces a stale socket (-EADDRINUSE if a server answers
 * there, -EEXIST if it is not a socket), binds with mode 0600 and then sets
 * group and mode 0660 so there is no window in which others may connect.
 */
int varlink_server_listen(struct varlink_server *s, const char *path);
/* Uses an already listening socket (socket activation); takes ownership. */
int varlink_server_listen_fd(struct varlink_server *s, int fd);

/*
 * Event loop integration: the server is a single fd (an epoll fd holding
 * the listening socket, every connection and a timer for the idle
 * timeouts). Add it to the daemon's epoll for EPOLLIN and call
 * varlink_server_dispatch() whenever it is readable. dispatch never blocks;
 * it returns 0 or a negative errno for a failure of the server itself
 * (per-connection trouble only closes that connection).
 */
int varlink_server_get_fd(const struct varlink_server *s);
int varlink_server_dispatch(struct varlink_server *s);
unsigned varlink_server_n_connections(const struct varlink_server *s);

static inline void varlink_server_freep(struct varlink_server **s)
{
        varlink_server_free(*s);
}

/* Calls. A call handle stays valid while the handler holds a reference. */
struct varlink_call *varlink_call_ref(struct varlink_call *call);
struct varlink_call *varlink_call_unref(struct varlink_call *call);

/* Final reply. @parameters is not consumed; NULL sends {}. -ENOTCONN if the peer is gone. */
int varlink_call_reply(struct varlink_call *call, json_object *parameters);
/* An intermediate reply (continues=true); -EINVAL unless the call has more=true. */
int varlink_call_notify(struct varlink_call *call, json_object *parameters);
/* Final error reply, e.g. "io.hypervvss.Busy"; @parameters not consumed, NULL sends {}. */
int varlink_call_error(struct varlink_call *call, const char *error, json_object *parameters);

bool varlink_call_more(const struct varlink_call *call);
bool varlink_call_oneway(const struct varlink_call *call);
/* False once the peer has gone away (or the call was answered). */
bool varlink_call_is_connected(const struct varlink_call *call);
const char *varlink_call_method(const struct varlink_call *call);
/* The caller's credentials as seen at connect(); groups are not kept (NULL). */
const struct varlink_creds *varlink_call_creds(const struct varlink_call *call);
enum varlink_access varlink_call_access(const struct varlink_call *call);

/*
 * Called once, from varlink_server_dispatch(), when the peer of an
 * unanswered call goes away (the call is then disconnected; the handler
 * still owns its reference and must unref it).
 */
typedef void (*varlink_disconnect_fn)(struct varlink_call *call, void *userdata);
void varlink_call_set_disconnect(struct varlink_call *call, varlink_disconnect_fn fn, void *userdata);
