/*
 * channel-driver: only sysfs is read, so unit tests run on a fake tree.
 * Ours wins when its misc device exists; a loaded hv_vss module without
 * it, while hv_utils is bound to the VSS device, means the inbox driver
 * owns the channel (the caller warns about that).
 */
#include "channel-driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static int path_join(char **ret, const char *root, const char *rel)
{
        if (asprintf(ret, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        return 0;
}

static bool exists(const char *root, const char *rel)
{
        _cleanup_free_ char *p = NULL;

        if (path_join(&p, root, rel) < 0)
                return false;
        return access(p, F_OK) == 0;
}

/* First line of a small file, without trailing whitespace; NULL if unreadable. */
static char *read_line(const char *path)
{
        _cleanup_fclose_ FILE *f = NULL;
        char buf[256];
        size_t n;

        f = fopen(path, "re");
        if (!f || !fgets(buf, sizeof(buf), f))
                return NULL;
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
                buf[--n] = '\0';
        return strdup(buf);
}

static int read_version(const char *root, const char *rel, char **ret)
{
        _cleanup_free_ char *p = NULL;
        char *v;

        if (path_join(&p, root, rel) < 0)
                return -ENOMEM;
        v = read_line(p);
        if (v && (v[0] == '\0' || streq(v, "none"))) {
                free(v);
                v = NULL;
        }
        *ret = v;
        return 0;
}

static bool inbox_has_vss(const char *root)
{
        _cleanup_free_ char *dir = NULL;
        struct dirent *de;
        bool found = false;
        DIR *d;

        if (path_join(&dir, root, "bus/vmbus/drivers/hv_utils") < 0)
                return false;
        d = opendir(dir);
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                _cleanup_free_ char *id = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s/class_id", dir, de->d_name) < 0)
                        break;
                id = read_line(p);
                if (id && strcasecmp(id, CHANNEL_DRIVER_VSS_CLASS_ID) == 0)
                        found = true;
        }
        closedir(d);
        return found;
}

int channel_driver_detect(const char *sysfs_root, ChannelDriverInfo *ret)
{
        ChannelDriverInfo info = {};
        bool misc;
        int r;

        if (!sysfs_root)
                sysfs_root = "/sys";

        misc = exists(sysfs_root, "class/misc/vmbus!hv_vss/state");
        info.ours_loaded = exists(sysfs_root, "module/hv_vss");
        info.inbox_has_channel = inbox_has_vss(sysfs_root);

        /* The misc device proves ours holds the channel; a loaded module
         * without it while hv_utils is bound to the VSS device means the
         * inbox driver won the channel. */
        if (misc || (info.ours_loaded && !info.inbox_has_channel)) {
                info.driver = CHANNEL_DRIVER_HV_VSS;
                r = read_version(sysfs_root, "class/misc/vmbus!hv_vss/framework_version",
                                 &info.framework_version);
                if (r < 0)
                        return r;
                r = read_version(sysfs_root, "class/misc/vmbus!hv_vss/message_version",
                                 &info.message_version);
                if (r < 0) {
                        channel_driver_info_clear(&info);
                        return r;
                }
        } else if (info.inbox_has_channel) {
                info.driver = CHANNEL_DRIVER_HV_UTILS;
        }
        *ret = info;
        return 0;
}

void channel_driver_info_clear(ChannelDriverInfo *info)
{
        if (!info)
                return;
        free(info->framework_version);
        free(info->message_version);
        *info = (ChannelDriverInfo){};
}

const char *channel_driver_to_string(ChannelDriver d)
{
        switch (d) {
        case CHANNEL_DRIVER_HV_VSS:
                return "hv_vss";
        case CHANNEL_DRIVER_HV_UTILS:
                return "hv_utils";
        default:
                return "none";
        }
}
