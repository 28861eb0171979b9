/* varlink: one Varlink stream (NUL-terminated JSON messages) over a non-blocking socket, plus the shared names and access rules. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VARLINK_MAX_MESSAGE_DEFAULT ((size_t)64 * 1024)
#define VARLINK_MAX_OUTPUT_DEFAULT ((size_t)1024 * 1024)

/* Standard errors of org.varlink.service. */
#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
/* Ours: the daemon's interface description must declare them. */
#define VARLINK_ERROR_NOT_PERMITTED "io.hypervvss.NotPermitted"   /* (message: string) */
#define VARLINK_ERROR_PROTOCOL "io.hypervvss.ProtocolError"       /* (message: string) */
#define VARLINK_ERROR_INTERNAL "io.hypervvss.InternalError"       /* (errno: int, message: string) */

/* Positive return codes of varlink_conn_*(): the caller must handle them. */
enum {
        VARLINK_E_AGAIN = 1,     /* no complete message buffered yet */
        VARLINK_E_TOO_LARGE,     /* the buffered message exceeds max_message; stream unusable */
        VARLINK_E_BAD_MESSAGE,   /* a complete message that is not a JSON object; it was consumed */
};

/* What a peer may do on the control socket. Ordered: a level includes those below. */
enum varlink_access {
        VARLINK_ACCESS_NONE,     /* introspection (org.varlink.service) only */
        VARLINK_ACCESS_READ,     /* read-level methods: members of the configured group */
        VARLINK_ACCESS_ADMIN,    /* everything: root */
};

/* A peer's credentials as the kernel recorded them at connect(). */
struct varlink_creds {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;     /* supplementary groups (SO_PEERGROUPS), may be NULL */
        size_t n_groups;
};

/*
 * The authorization rule, a pure function: uid 0 is ADMIN; a peer whose
 * primary or supplementary group is @group is READ; everyone else NONE.
 * @group (gid_t)-1 means no group is configured (only root has access).
 */
enum varlink_access varlink_access_decide(const struct varlink_creds *creds, gid_t group);

/*
 * Reads the peer credentials of a connected unix socket: SO_PEERCRED and
 * SO_PEERGROUPS, both captured by the kernel at connect() time (so a peer
 * that changes its groups or exits afterwards cannot confuse us, unlike
 * reading /proc/<pid>/status, where the pid may already be reused, or
 * getgrouplist(), which asks NSS, may block, and ignores groups the peer
 * process dropped). On success *ret_groups is malloc()ed (may be NULL if
 * the peer has none) and ret_creds->groups points to it.
 */
int varlink_creds_from_fd(int fd, struct varlink_creds *ret_creds, gid_t **ret_groups);

/* The framing of one connection: buffered input and output over a non-blocking fd. */
struct varlink_conn;

/*
 * Takes ownership of @fd (switched to O_NONBLOCK). @max_message bounds one
 * incoming message without its NUL (0: VARLINK_MAX_MESSAGE_DEFAULT);
 * @max_output bounds the unsent output backlog (0: VARLINK_MAX_OUTPUT_DEFAULT).
 */
int varlink_conn_new(struct varlink_conn **ret, int fd, size_t max_message, size_t max_output);
struct varlink_conn *varlink_conn_free(struct varlink_conn *c);
int varlink_conn_get_fd(const struct varlink_conn *c);

/*
 * Reads until EAGAIN, end of file, or the input buffer is full (it holds
 * max_message + 1 bytes: either a complete message or one that is too
 * large). Returns 0 or a negative errno.
 */
int varlink_conn_read(struct varlink_conn *c);
/* True once the peer shut down its writing side (read returned 0 or ECONNRESET). */
bool varlink_conn_eof(const struct varlink_conn *c);
/* True if the input buffer is full: reading must wait for varlink_conn_next(). */
bool varlink_conn_input_full(const struct varlink_conn *c);
/* Bytes buffered after the last complete message (a message in progress). */
size_t varlink_conn_input_partial(const struct varlink_conn *c);

/*
 * Takes the next complete message out of the input buffer: 0 and a JSON
 * object in *ret_message (the caller owns a reference), VARLINK_E_AGAIN,
 * VARLINK_E_TOO_LARGE, or VARLINK_E_BAD_MESSAGE.
 */
int varlink_conn_next(struct varlink_conn *c, json_object **ret_message);

/*
 * Serializes @message (not consumed) to the output buffer. -ENOBUFS if
 * output is already pending and this would exceed max_output: the peer is
 * not reading and the connection should be dropped.
 */
int varlink_conn_queue(struct varlink_conn *c, json_object *message);
/* Writes until EAGAIN or nothing is left. Returns 0 or a negative errno (-EPIPE: peer gone). */
int varlink_conn_write(struct varlink_conn *c);
size_t varlink_conn_output_pending(const struct varlink_conn *c);

static inline void varlink_conn_freep(struct varlink_conn **c)
{
        varlink_conn_free(*c);
}

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t varlink_now_usec(void);
