/* control: the io.hypervvss methods on the Varlink control socket, over a backend the daemon (or a test) provides. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "history.h"
#include "hooks.h"
#include "plan.h"
#include "varlink-server.h"

#define CONTROL_INTERFACE "io.hypervvss"
#define CONTROL_ERROR_BUSY "io.hypervvss.Busy"
#define CONTROL_ERROR_FAILED "io.hypervvss.Failed"
#define CONTROL_GROUP_DEFAULT "hyperv-vss"
#define CONTROL_SOCKET_DEFAULT "/run/hyperv-vss/control"
#define CONTROL_HOLD_S_DEFAULT 5.0
#define CONTROL_HOLD_S_MAX 3600.0

/* Positive returns of ControlBackend.test_freeze / thaw. */
enum {
        CONTROL_E_BUSY = 1,     /* another operation runs: answered with Busy (message from ret_message) */
};

/* What GetStatus reports; the daemon fills it, control turns it into JSON. */
typedef struct ControlStatus {
        double uptime_s;
        const char *state;              /* idle, freezing, frozen, thawing */
        const char *operation;          /* host-backup, test-freeze, NULL */
        const char *device;
        const char *device_state;       /* registered, absent, busy, broken, opening */
        const char *channel_driver;     /* hv_vss, hv_utils, none */
        const char *framework_version;  /* NULL: null */
        const char *message_version;
        unsigned frozen_count;
        double max_frozen_time_s;
        const char *hooks_dir;
        unsigned hooks_count;
        const OpRecord *last;           /* NULL: null */
        char *const *warnings;          /* NULL: [] */
} ControlStatus;

/* A filesystem frozen now (ListFrozen). */
typedef struct ControlFrozen {
        const char *mount_point;
        struct timespec since;          /* CLOCK_REALTIME */
        double frozen_for_ms;
        long long operation_id;         /* 0 if unknown */
        const char *by;                 /* host-backup, test-freeze, left-over */
} ControlFrozen;

typedef struct ControlBackend {
        /* Fills *ret; pointers must stay valid until the call returns. The
         * backend frees what it allocated in status_done (may be NULL). */
        int (*get_status)(void *ud, ControlStatus *ret);
        void (*status_done)(void *ud, ControlStatus *status);
        /* The current plan, owned by the caller afterwards. */
        int (*get_plan)(void *ud, struct plan **ret);
        /* A malloc()ed array; strings stay owned by the backend until the next call. */
        int (*list_frozen)(void *ud, ControlFrozen **ret, size_t *ret_n);
        int (*list_hooks)(void *ud, struct hook_list **ret);
        History *(*get_history)(void *ud);
        /* Start a test freeze. 0: the backend took a reference on call and
         * answers it (with notify events when more); CONTROL_E_BUSY with
         * *ret_message (static text): answered Busy; -errno: InternalError. */
        int (*test_freeze)(void *ud, struct varlink_call *call, double hold_s, bool hooks,
                           const char **ret_message);
        /* Emergency thaw: like test_freeze, the backend answers. */
        int (*thaw)(void *ud, struct varlink_call *call, const char **ret_message);
} ControlBackend;

typedef struct ControlConfig {
        const char *socket_path;        /* NULL: CONTROL_SOCKET_DEFAULT */
        const char *group_name;         /* NULL: CONTROL_GROUP_DEFAULT; absent group: root only */
        /* Tests: replaces the peer-credential rule. */
        enum varlink_access (*decide)(const struct varlink_creds *creds, gid_t group);
        uint64_t idle_timeout_usec;     /* 0: the server's default */
} ControlConfig;

typedef struct Control Control;

/* Creates the server and listens on the socket. */
int control_new(Control **ret, const ControlConfig *cfg, const ControlBackend *backend, void *userdata);
Control *control_free(Control *c);
int control_get_fd(const Control *c);
int control_dispatch(Control *c);
/* The gid the socket is shared with, (gid_t)-1 if the group does not exist. */
gid_t control_get_group(const Control *c);

/* JSON builders, exposed for the daemon and the tests. */
int control_status_to_json(const ControlStatus *s, json_object **ret);
int control_plan_to_json(const struct plan *p, json_object **ret);
int control_frozen_to_json(const ControlFrozen *f, size_t n, json_object **ret);
int control_hooks_to_json(const struct hook_list *l, json_object **ret);
/* A TestFreeze progress reply; op may be NULL. */
int control_event_to_json(const char *event, const char *phase, const char *mount_point,
                          const char *message, const OpRecord *op, json_object **ret);

/* The interface definition (io.hypervvss.varlink) built in. */
extern const char control_interface_description[];

static inline void control_freep(Control **c) { control_free(*c); }
