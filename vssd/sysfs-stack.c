/*
 * sysfs-stack: works on device directory paths rather than names. Opening
 * "<root>/dev/block/M:m/slaves/loop0/loop/backing_file" lets the kernel
 * follow the sysfs symlinks (and "/.." from a partition to its disk) for
 * us, so the same code reads a live /sys and a fixture tree whose links
 * point at plain directories. Each visited device is identified by its
 * realpath() so a looping tree ends instead of recursing forever.
 */
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sysfs-stack.h"
#include "util.h"

struct walk {
        char **files;
        char **visited;
};

static int read_line(const char *path, char **ret)
{
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        n = getline(&line, &cap, f);
        if (n < 0)
                return ferror(f) ? -EIO : -ENODATA;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
                line[--n] = 0;
        *ret = steal_ptr(&line);
        return 0;
}

static bool exists(const char *path)
{
        return access(path, F_OK) == 0;
}

static int add_backing_file(struct walk *w, const char *dev)
{
        static const char deleted[] = " (deleted)";
        _cleanup_free_ char *path = NULL, *file = NULL;
        size_t n;
        int r;

        if (asprintf(&path, "%s/loop/backing_file", dev) < 0)
                return -ENOMEM;
        r = read_line(path, &file);
        if (r == -ENOENT || r == -ENODATA)
                return 0;       /* a loop device with no file: nothing mounted on it */
        if (r < 0)
                return r;
        /* The file was unlinked but still backs the loop: same filesystem. */
        n = strlen(file);
        if (n > strlen(deleted) && streq(file + n - strlen(deleted), deleted))
                file[n - strlen(deleted)] = 0;
        if (strv_contains(w->files, file))
                return 0;
        return strv_extend(&w->files, file);
}

static int walk_device(struct walk *w, const char *dev, unsigned depth);

static int walk_slaves(struct walk *w, const char *dev, unsigned depth)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        if (asprintf(&dir, "%s/slaves", dev) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *slave = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&slave, "%s/%s", dir, de->d_name) < 0)
                        return -ENOMEM;
                r = walk_device(w, slave, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int walk_device(struct walk *w, const char *dev, unsigned depth)
{
        _cleanup_free_ char *part = NULL, *parent = NULL;
        char real[PATH_MAX];
        int r;

        if (depth > SYSFS_STACK_MAX_DEPTH)
                return -ELOOP;
        if (!realpath(dev, real))
                return errno == ENOENT ? 0 : -errno;
        if (strv_contains(w->visited, real))
                return 0;
        r = strv_extend(&w->visited, real);
        if (r < 0)
                return r;

        /* A partition of a loop device (loop0p1): its disk holds the file. */
        if (asprintf(&part, "%s/partition", dev) < 0 || asprintf(&parent, "%s/..", dev) < 0)
                return -ENOMEM;
        if (exists(part))
                return walk_device(w, parent, depth + 1);

        r = add_backing_file(w, dev);
        if (r < 0)
                return r;
        return walk_slaves(w, dev, depth);
}

/* /dev/mapper/NAME names a dm device by its dm/name attribute. */
static int find_dm_by_name(const char *root, const char *name, char **ret)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;

        if (asprintf(&dir, "%s/class/block", root) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *attr = NULL, *value = NULL;

                if (!startswith(de->d_name, "dm-"))
                        continue;
                if (asprintf(&attr, "%s/%s/dm/name", dir, de->d_name) < 0)
                        return -ENOMEM;
                if (read_line(attr, &value) < 0 || !streq(value, name))
                        continue;
                return asprintf(ret, "%s/%s", dir, de->d_name) < 0 ? -ENOMEM : 1;
        }
        return 0;
}

/* The sysfs directory of the device the filesystem is on; 0 and NULL when
 * it has none (tmpfs, nfs, an unresolvable source). */
static int device_dir(const char *root, dev_t devno, const char *source, char **ret)
{
        *ret = NULL;
        if (major(devno) != 0)
                return asprintf(ret, "%s/dev/block/%u:%u", root, major(devno), minor(devno)) < 0
                               ? -ENOMEM
                               : 0;
        if (!source || !startswith(source, "/dev/"))
                return 0;
        if (startswith(source, "/dev/mapper/")) {
                int r = find_dm_by_name(root, source + strlen("/dev/mapper/"), ret);

                return r < 0 ? r : 0;
        }
        if (strchr(source + strlen("/dev/"), '/'))
                return 0;
        return asprintf(ret, "%s/class/block/%s", root, source + strlen("/dev/")) < 0 ? -ENOMEM : 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int sysfs_stack_backing_files(const char *sysfs_root, dev_t devno, const char *source,
                              char ***ret_files)
{
        _cleanup_free_ char *dev = NULL;
        struct walk w = {};
        int r;

        r = device_dir(sysfs_root, devno, source, &dev);
        if (r < 0)
                return r;
        r = strv_copy(&w.files, NULL);
        if (r >= 0 && dev)
                r = walk_device(&w, dev, 0);
        strv_free(w.visited);
        if (r < 0) {
                strv_free(w.files);
                return r;
        }
        /* readdir() order is not stable: callers get the files sorted. */
        qsort(w.files, strv_length(w.files), sizeof(char *), cmp_str);
        *ret_files = w.files;
        return 0;
}
