/* mounts: the freeze plan, frozen filesystems in level order first, then every skipped mount with its reason. */
#include <stdio.h>
#include <string.h>

#include "hvvssctl.h"
#include "output.h"

static bool is_freeze(json_object *m)
{
        const char *d = json_str(m, "decision");

        return d && strcmp(d, "freeze") == 0;
}

int cmd_mounts(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *mounts = NULL, *ordered;
        size_t n, n_freeze = 0;
        long levels;
        int r;

        r = ctl_call(ctl, "ListMounts", NULL, &reply);
        if (r < 0)
                return r;
        if (ctl->json) {
                r = output_json(stdout, reply, false);
                json_object_put(reply);
                return r;
        }

        json_object_object_get_ex(reply, "mounts", &mounts);
        n = mounts ? json_object_array_length(mounts) : 0;
        levels = (long)json_num(reply, "levels", 0);
        ordered = json_object_new_array();
        /* Freeze order: level 0 first; within a level the daemon's order. Then the skipped ones. */
        for (long level = 0; level < levels + 1; level++)
                for (size_t i = 0; i < n; i++) {
                        json_object *m = json_object_array_get_idx(mounts, i);

                        if (is_freeze(m) && (long)json_num(m, "level", levels) == level) {
                                json_object_array_add(ordered, json_object_get(m));
                                n_freeze++;
                        }
                }
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(mounts, i);

                if (!is_freeze(m) || json_num(m, "level", levels) > levels)
                        json_object_array_add(ordered, json_object_get(m));
        }

        if (n == 0)
                printf("No mounts in hvvssd's view (its scope or mount namespace is empty).\n");
        else {
                r = output_table(ctl, stdout, &table_mounts, ordered, NULL);
                printf("\n%zu filesystem(s) to freeze in %ld level(s) (level 0 first, thawed in reverse); %zu mount(s) "
                       "skipped.\n",
                       n_freeze, levels, n - n_freeze);
                if (n_freeze == 0)
                        printf("%sNothing would be frozen:%s a host backup would be crash-consistent only.\n",
                               color(ctl, COLOR_YELLOW), color(ctl, COLOR_RESET));
        }
        json_object_put(ordered);
        json_object_put(reply);
        return r;
}
