/* thaw: the emergency exit. Thaws what hvvssd (or a dead instance, from its state directory) froze. */
#include <stdio.h>

#include "hvvssctl.h"
#include "output.h"

int cmd_thaw(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *thawed = NULL;
        size_t n;
        int r;

        r = ctl_call(ctl, "Thaw", NULL, &reply);
        if (r < 0)
                return r;
        if (ctl->json)
                r = output_json(stdout, reply, false);
        else {
                json_object_object_get_ex(reply, "thawed", &thawed);
                n = thawed ? json_object_array_length(thawed) : 0;
                if (n == 0)
                        printf("Nothing was frozen; nothing to thaw.\n");
                else
                        printf("Thawed %zu filesystem(s):\n", n);
                for (size_t i = 0; i < n; i++)
                        printf("  %s\n", json_object_get_string(json_object_array_get_idx(thawed, i)));
        }
        json_object_put(reply);
        return r;
}
