/* varlink-client: a blocking Varlink client for one connection (hvvssctl's side of the control socket). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "varlink.h"

#define VARLINK_CLIENT_MAX_MESSAGE ((size_t)16 * 1024 * 1024)

/* Positive return codes of varlink_client_call*(): the caller must handle them. */
enum {
        VARLINK_CLIENT_E_ERROR = 1, /* the server answered with an error: see ret_error, ret_parameters */
};

struct varlink_client;

/*
 * Connects to the unix socket @path, waiting at most @timeout_ms (also the
 * default for each reply afterwards; <= 0: 30 s). Errors that name the cause:
 * -ENOENT or -ECONNREFUSED: nobody listens (the daemon is not running);
 * -EACCES or -EPERM: no permission to use the socket; -ETIMEDOUT: the
 * daemon did not accept in time. varlink_client_strerror() words them.
 */
int varlink_client_connect(struct varlink_client **ret, const char *path, int timeout_ms);
struct varlink_client *varlink_client_free(struct varlink_client *c);
/* Timeout for each reply from now on; <= 0 waits forever. */
void varlink_client_set_timeout(struct varlink_client *c, int timeout_ms);

/*
 * Calls @method ("io.hypervvss.GetStatus") with @parameters (not consumed;
 * NULL sends {}) and waits for the reply. 0: *ret_parameters is the reply;
 * VARLINK_CLIENT_E_ERROR: *ret_error is the error name (malloc()ed) and
 * *ret_parameters its parameters; negative errno: transport trouble
 * (-ETIMEDOUT, -ECONNRESET: the daemon closed the connection, -EBADMSG: not
 * a Varlink reply), outputs untouched. Either ret_ pointer may be NULL.
 */
int varlink_client_call(struct varlink_client *c, const char *method, json_object *parameters,
                        json_object **ret_parameters, char **ret_error);

/*
 * Called for every reply of a `more` call, the last one with continues
 * false; a negative return stops waiting (and is returned by the call).
 */
typedef int (*varlink_reply_fn)(json_object *parameters, bool continues, void *userdata);

/*
 * Calls @method with more=true; @fn sees each successful reply in turn.
 * Returns 0 after the final reply, VARLINK_CLIENT_E_ERROR with ret_error /
 * ret_parameters as for varlink_client_call() if an error ended the
 * stream, or a negative errno. The timeout applies to each reply.
 */
int varlink_client_call_more(struct varlink_client *c, const char *method, json_object *parameters,
                             varlink_reply_fn fn, void *userdata, json_object **ret_parameters, char **ret_error);

/* Sends a oneway call (no reply comes); returns once it is written. */
int varlink_client_call_oneway(struct varlink_client *c, const char *method, json_object *parameters);

/* A sentence for a negative errno from connect or call, naming the likely cause and fix. */
const char *varlink_client_strerror(int error);
/*
 * Maps an error name of the daemon to a negative errno for exit codes:
 * NotPermitted -EACCES, MethodNotFound/InterfaceNotFound -EOPNOTSUPP (an
 * older daemon), InvalidParameter -EINVAL, anything else -EREMOTEIO.
 */
int varlink_error_to_errno(const char *error);

static inline void varlink_client_freep(struct varlink_client **c)
{
        varlink_client_free(*c);
}
