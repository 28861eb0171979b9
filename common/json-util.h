/* json-util: small json-c helpers shared by hvvssd and hvvssctl. */
#pragma once

#include <stdio.h>
#include <json-c/json.h>

/*
 * A measured number (milliseconds, seconds) for JSON output, with three
 * decimals: json-c would otherwise print the binary value in full, e.g.
 * 5.2313489999999998 for 5.231349, which is noise to every reader.
 */
static inline struct json_object *json_new_measure(double v)
{
        char buf[64];

        snprintf(buf, sizeof(buf), "%.3f", v);
        return json_object_new_double_s(v, buf);
}
