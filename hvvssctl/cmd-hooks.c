/* hooks: the application hooks hvvssd would run, and why any of them would be refused. */
#include <stdio.h>

#include "hvvssctl.h"
#include "output.h"

int cmd_hooks(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *hooks = NULL;
        size_t n, problems = 0;
        int r;

        r = ctl_call(ctl, "ListHooks", NULL, &reply);
        if (r < 0)
                return r;
        json_object_object_get_ex(reply, "hooks", &hooks);
        n = hooks ? json_object_array_length(hooks) : 0;
        for (size_t i = 0; i < n; i++)
                if (json_has(json_object_array_get_idx(hooks, i), "problem"))
                        problems++;
        if (ctl->json)
                r = output_json(stdout, reply, false);
        else if (n == 0)
                printf("No hooks installed (hvvssd freezes filesystems without quiescing applications).\n");
        else {
                r = output_table(ctl, stdout, &table_hooks, hooks, NULL);
                if (problems > 0)
                        printf("\n%s%zu hook(s) would be refused.%s A hook must be a regular executable file owned by "
                               "root and not writable by group or others:\n  chown root:root HOOK && chmod 0755 HOOK\n",
                               color(ctl, COLOR_YELLOW), problems, color(ctl, COLOR_RESET));
        }
        json_object_put(reply);
        if (r < 0)
                return r;
        return problems > 0 ? HVVSSCTL_R_WARNINGS : 0;
}
