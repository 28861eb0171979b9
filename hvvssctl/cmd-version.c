/* version: this hvvssctl's version and the running daemon's. */
#include <errno.h>
#include <stdio.h>

#include "hvvssctl.h"
#include "output.h"

int cmd_version(struct hvvssctl *ctl)
{
        json_object *st = NULL, *out;
        const char *daemon;
        int r, w;

        r = ctl_call(ctl, "GetStatus", NULL, &st);
        daemon = r == 0 ? json_str(st, "version") : NULL;
        if (ctl->json) {
                out = json_object_new_object();
                json_object_object_add(out, "client_version", json_object_new_string(HVVSS_VERSION));
                json_object_object_add(out, "daemon_version", daemon ? json_object_new_string(daemon) : NULL);
                w = output_json(stdout, out, false);
                json_object_put(out);
        } else {
                printf("hvvssctl %s\n", HVVSS_VERSION);
                printf("hvvssd   %s\n", daemon ? daemon : "unknown (not reachable)");
                w = ferror(stdout) ? -EIO : 0;
        }
        json_object_put(st);
        return r < 0 ? r : w;
}
