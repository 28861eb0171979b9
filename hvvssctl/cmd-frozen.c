/* frozen: what hvvssd holds frozen now, since when, and for which operation. */
#include <stdio.h>

#include "hvvssctl.h"
#include "output.h"

int cmd_frozen(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *frozen = NULL;
        int r;

        r = ctl_call(ctl, "ListFrozen", NULL, &reply);
        if (r < 0)
                return r;
        if (ctl->json)
                r = output_json(stdout, reply, false);
        else {
                json_object_object_get_ex(reply, "frozen", &frozen);
                if (!frozen || json_object_array_length(frozen) == 0)
                        printf("Nothing is frozen.\n");
                else
                        r = output_table(ctl, stdout, &table_frozen, frozen, NULL);
        }
        json_object_put(reply);
        return r;
}
