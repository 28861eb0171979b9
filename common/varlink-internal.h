/* varlink-internal: cleanup helpers shared by the common/ sources only (not installed, not for callers). */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VL_CLEANUP(f) __attribute__((cleanup(f)))

static inline void vl_freep(void *p)
{
        free(*(void **)p);
}

static inline void vl_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;

                close(*fd);
                errno = saved;
        }
}

static inline void vl_json_putp(json_object **o)
{
        json_object_put(*o);
}

static inline void *vl_steal(void *pp)
{
        void **p = pp;
        void *v = *p;

        *p = NULL;
        return v;
}

static inline int vl_steal_fd(int *fd)
{
        int v = *fd;

        *fd = -1;
        return v;
}

#define vl_cleanup_free VL_CLEANUP(vl_freep)
#define vl_cleanup_close VL_CLEANUP(vl_closep)
#define vl_cleanup_json VL_CLEANUP(vl_json_putp)

#define VL_ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* Adds key: value (consumed) to object o; -ENOMEM if value is NULL or on failure. */
static inline int vl_json_add(json_object *o, const char *key, json_object *value)
{
        if (!value)
                return -ENOMEM;
        if (json_object_object_add(o, key, value) < 0) {
                json_object_put(value);
                return -ENOMEM;
        }
        return 0;
}

/* Adds key: a new string to object o; -ENOMEM on failure. */
static inline int vl_json_add_string(json_object *o, const char *key, const char *value)
{
        return vl_json_add(o, key, json_object_new_string(value));
}
