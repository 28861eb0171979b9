/* history: past host backups, test freezes and recoveries, newest first; -v shows each in full. */
#include <stdio.h>

#include "hvvssctl.h"
#include "output.h"

int cmd_history(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *ops = NULL, *params = NULL;
        size_t n;
        int r;

        if (ctl->limit > 0) {
                params = json_object_new_object();
                json_object_object_add(params, "limit", json_object_new_int64(ctl->limit));
        }
        r = ctl_call(ctl, "GetHistory", params, &reply);
        json_object_put(params);
        if (r < 0)
                return r;
        if (ctl->json) {
                r = output_json(stdout, reply, false);
                json_object_put(reply);
                return r;
        }
        json_object_object_get_ex(reply, "operations", &ops);
        n = ops ? json_object_array_length(ops) : 0;
        if (n == 0)
                printf("No operations yet: no host backup or test freeze since hvvssd started.\n");
        else if (ctl->verbose > 0)
                for (size_t i = 0; i < n && r == 0; i++) {
                        if (i)
                                printf("\n");
                        r = output_operation(ctl, stdout, json_object_array_get_idx(ops, i));
                }
        else
                r = output_table(ctl, stdout, &table_operations, ops, NULL);
        json_object_put(reply);
        return r;
}
