/* sysfs-stack: the loop backing files a block device is stacked on, read from a sysfs tree. */
#pragma once

#include <sys/types.h>

#define SYSFS_STACK_MAX_DEPTH 16

/*
 * The backing files of every loop device under the filesystem mounted from
 * devno (mountinfo major:minor) / source (mountinfo source), found directly
 * or through device-mapper/md slaves (recursively) and loop partitions.
 * sysfs_root is "/sys" on a live system, a fake tree in tests. A devno with
 * major 0 (btrfs, tmpfs...) is resolved through a /dev/NAME or
 * /dev/mapper/NAME source. Absent sysfs entries mean "not stacked".
 * Returns 0 and a vector (possibly empty) of absolute paths with any
 * " (deleted)" suffix removed; -ELOOP when the stack is deeper than
 * SYSFS_STACK_MAX_DEPTH; another -errno when sysfs cannot be read.
 */
int sysfs_stack_backing_files(const char *sysfs_root, dev_t devno, const char *source,
                              char ***ret_files);
