/* test-plan: the plan's rules one by one, from fixtures and small generated trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libmount/libmount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "plan.h"
#include "sysfs-stack.h"
#include "util.h"

#define FIX(path) FIXTURES "/" path

static struct plan *plan_for(const char *name, const struct config *c, char *const *scope,
                             struct diag *diag)
{
        _cleanup_free_ char *mi = NULL, *sys = NULL;
        struct plan *p = NULL;
        struct stat st;

        assert_true(asprintf(&mi, FIX("mountinfo/%s"), name) > 0);
        assert_true(asprintf(&sys, FIX("sysfs/%s"), name) > 0);
        if (stat(sys, &st) < 0) {
                free(sys);
                sys = strdup(FIX("sysfs/empty"));
        }
        assert_int_equal(plan_new(&p, &(struct plan_input){ .mountinfo = mi, .sysfs = sys, .config = c,
                                                            .scope = scope, .diag = diag }),
                         0);
        assert_non_null(p);
        return p;
}

static struct config *config_from(const char *text)
{
        struct config *c = NULL;
        FILE *f = fmemopen((void *)text, strlen(text), "r");

        assert_non_null(f);
        assert_int_equal(config_load_stream(&c, f, "test.conf", NULL), 0);
        fclose(f);
        return c;
}

static const struct plan_entry *find(const struct plan *p, const char *target)
{
        const struct plan_entry *e = plan_find(p, target);

        if (!e)
                fail_msg("no entry for %s", target);
        return e;
}

static void assert_level(const struct plan *p, unsigned level, const char *const *targets)
{
        size_t n, i;
        const struct plan_entry *const *l = plan_level(p, level, &n);

        for (i = 0; targets[i]; i++) {
                assert_true(i < n);
                assert_string_equal(l[i]->target, targets[i]);
                assert_int_equal(l[i]->decision, PLAN_FREEZE);
                assert_int_equal(l[i]->level, level);
        }
        assert_int_equal(n, i);
}

static void assert_skip(const struct plan *p, const char *target, enum plan_reason reason,
                        const char *text_part)
{
        const struct plan_entry *e = find(p, target);

        assert_int_equal(e->decision, PLAN_SKIP);
        if (e->reason != reason)
                fail_msg("%s: reason %s, expected %s (%s)", target, plan_reason_to_string(e->reason),
                         plan_reason_to_string(reason), e->reason_text);
        assert_non_null(e->reason_text);
        if (text_part && !strstr(e->reason_text, text_part))
                fail_msg("%s: reason '%s' does not mention '%s'", target, e->reason_text, text_part);
}

static void test_loop_on_loop_order(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("loop-on-loop", NULL, NULL, NULL);

        (void)state;
        assert_int_equal(plan_n_levels(p), 3);
        assert_level(p, 0, (const char *const[]){ "/mnt/b", "/srv", NULL });
        assert_level(p, 1, (const char *const[]){ "/mnt/a", NULL });
        assert_level(p, 2, (const char *const[]){ "/", NULL });
        assert_string_equal(find(p, "/mnt/b")->backing_files[0], "/mnt/a/b.img");
        assert_null(find(p, "/mnt/b")->backing_files[1]);
        assert_null(find(p, "/")->reason_text);
        assert_null(find(p, "/srv")->backing_files[0]);
        assert_null(plan_level(p, 3, &(size_t){ 0 }));
}

static void test_root_alone_last(void **state)
{
        static const char *const fixtures[] = { "debian-vm", "docker-overlay2", "docker-devicemapper",
                                                "btrfs", "lvm", "loop-on-loop", "k8s-node",
                                                "ubuntu-snap", "read-only", "network-fuse" };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
                _cleanup_plan_free_ struct plan *p = plan_for(fixtures[i], NULL, NULL, NULL);
                size_t n;
                const struct plan_entry *const *last = plan_level(p, plan_n_levels(p) - 1, &n);

                if (n != 1 || !streq(last[0]->target, "/"))
                        fail_msg("%s: the last level is not \"/\" alone", fixtures[i]);
        }
}

static void test_devicemapper_on_loop(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("docker-devicemapper", NULL, NULL, NULL);
        size_t n;
        const struct plan_entry *const *l0 = plan_level(p, 0, &n);

        (void)state;
        assert_int_equal(plan_n_levels(p), 2);
        assert_int_equal(n, 2);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(l0[i]->fstype, "xfs");
                assert_int_equal(major(l0[i]->devno), 253);
                assert_string_equal(l0[i]->backing_files[0], "/var/lib/docker/devicemapper/devicemapper/data");
                assert_string_equal(l0[i]->backing_files[1], "/var/lib/docker/devicemapper/devicemapper/metadata");
        }
        assert_level(p, 1, (const char *const[]){ "/", NULL });
}

static void test_lvm_independent(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("lvm", NULL, NULL, NULL);

        (void)state;
        assert_int_equal(plan_n_levels(p), 2);
        assert_level(p, 0, (const char *const[]){ "/boot", "/home", "/var", NULL });
        assert_null(find(p, "/var")->backing_files[0]);
}

static void test_btrfs_subvolumes_collapse(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("btrfs", NULL, NULL, NULL);
        const struct plan_entry *root = find(p, "/");

        (void)state;
        assert_int_equal(plan_n_targets(p), 3);
        assert_string_equal(root->root, "/@");
        assert_int_equal(root->decision, PLAN_FREEZE);
        for (const char *const *t = (const char *const[]){ "/home", "/var/log", "/.snapshots", NULL }; *t; t++) {
                assert_skip(p, *t, PLAN_REASON_SAME_FILESYSTEM, "same filesystem as /");
                assert_ptr_equal(find(p, *t)->same_as, root);
                assert_true(find(p, *t)->devno == root->devno);
        }
        /* btrfs on a loop device has an anonymous devno: found through its source */
        assert_string_equal(find(p, "/mnt/scratch")->backing_files[0], "/home/alice/vm/scratch.img");
        assert_int_equal(find(p, "/mnt/scratch")->level, 0);
}

static void test_k8s_collapses_bind_mounts(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("k8s-node", NULL, NULL, NULL);
        size_t same = 0;

        (void)state;
        assert_int_equal(plan_n_entries(p), 510);
        assert_int_equal(plan_n_targets(p), 12);
        assert_int_equal(plan_n_levels(p), 2);
        for (size_t i = 0; i < plan_n_entries(p); i++) {
                const struct plan_entry *e = plan_entry(p, i);

                if (e->reason == PLAN_REASON_SAME_FILESYSTEM) {
                        same++;
                        assert_non_null(e->same_as);
                        assert_int_equal(e->same_as->decision, PLAN_FREEZE);
                        assert_true(e->same_as->devno == e->devno);
                }
        }
        assert_int_equal(same, 60 * 2 + 10);
        assert_null(plan_entry(p, 510));
}

static void test_scope(void **state)
{
        char *scope[] = { (char *)"/mnt/a", (char *)"/mnt/b/", NULL };
        _cleanup_plan_free_ struct plan *p = plan_for("loop-on-loop", NULL, scope, NULL);

        (void)state;
        assert_int_equal(plan_n_levels(p), 2);
        assert_level(p, 0, (const char *const[]){ "/mnt/b", NULL });
        assert_level(p, 1, (const char *const[]){ "/mnt/a", NULL });
        assert_skip(p, "/", PLAN_REASON_OUTSIDE_SCOPE, "outside scope");
        assert_skip(p, "/srv", PLAN_REASON_OUTSIDE_SCOPE, NULL);
        assert_skip(p, "/proc", PLAN_REASON_OUTSIDE_SCOPE, NULL);
}

static void test_scope_matches_nothing(void **state)
{
        char *scope[] = { (char *)"/nonexistent", NULL };
        _cleanup_plan_free_ struct plan *p = plan_for("debian-vm", NULL, scope, NULL);
        size_t n = 99;

        (void)state;
        assert_int_equal(plan_n_targets(p), 0);
        assert_int_equal(plan_n_levels(p), 0);
        assert_null(plan_level(p, 0, &n));
        assert_int_equal(n, 0);
        assert_int_equal(plan_n_skipped(p), plan_n_entries(p));
}

/* Scope excludes a bind mount of a target: it is not used to reach it. */
static void test_scope_bind_mount(void **state)
{
        char *scope[] = { (char *)"/srv/pgdata", NULL };
        _cleanup_plan_free_ struct plan *p = plan_for("docker-overlay2", NULL, scope, NULL);

        (void)state;
        assert_level(p, 0, (const char *const[]){ "/srv/pgdata", NULL });
        assert_skip(p, "/var/lib/docker", PLAN_REASON_OUTSIDE_SCOPE, NULL);
}

static void test_cycle_is_an_error(void **state)
{
        struct diag d = DIAG_NULL;
        struct plan *p = NULL;

        (void)state;
        assert_int_equal(plan_new(&p, &(struct plan_input){ .mountinfo = FIX("mountinfo/loop-cycle"),
                                                            .sysfs = FIX("sysfs/loop-cycle"),
                                                            .diag = &d }),
                         -ELOOP);
        assert_null(p);
        assert_int_equal(d.n_errors, 1);
        assert_non_null(strstr(diag_first(&d, DIAG_ERROR), "cycle through /mnt/a, /mnt/b"));
        diag_clear(&d);
}

static void test_excludes(void **state)
{
        _cleanup_config_free_ struct config *c = config_from(
                "exclude_types = xfs\nexclude_devices = /dev/sde*\nexclude_mounts = /backup/* /srv/scratch\n");
        _cleanup_plan_free_ struct plan *p = plan_for("excludes", c, NULL, NULL);

        (void)state;
        assert_skip(p, "/srv/data", PLAN_REASON_EXCLUDED_TYPE, "exclude_types pattern 'xfs'");
        assert_skip(p, "/opt", PLAN_REASON_EXCLUDED_DEVICE, "exclude_devices pattern '/dev/sde*'");
        assert_skip(p, "/srv/scratch", PLAN_REASON_EXCLUDED_MOUNT, "pattern '/srv/scratch'");
        /* Excluding one mount excludes its filesystem: the other mount says why. */
        assert_skip(p, "/backup/mysql-view", PLAN_REASON_EXCLUDED_MOUNT, "pattern '/backup/*'");
        assert_skip(p, "/var/lib/mysql", PLAN_REASON_EXCLUDED_MOUNT, "same filesystem as /backup/mysql-view");
        assert_level(p, 0, (const char *const[]){ "/boot", "/home", NULL });
}

static void test_include_mounts(void **state)
{
        _cleanup_config_free_ struct config *c = config_from("include_mounts = /home /var/lib/*\n");
        _cleanup_plan_free_ struct plan *p = plan_for("excludes", c, NULL, NULL);

        (void)state;
        assert_int_equal(plan_n_levels(p), 1);
        assert_level(p, 0, (const char *const[]){ "/home", "/var/lib/mysql", NULL });
        assert_skip(p, "/", PLAN_REASON_NOT_INCLUDED, "include_mounts");
        assert_skip(p, "/backup/mysql-view", PLAN_REASON_SAME_FILESYSTEM, "/var/lib/mysql");
}

static void test_never_freeze_types_replaced(void **state)
{
        _cleanup_config_free_ struct config *c = config_from("never_freeze_types = squashfs\n");
        _cleanup_plan_free_ struct plan *p = plan_for("debian-vm", c, NULL, NULL);

        (void)state;
        assert_int_equal(find(p, "/boot/efi")->decision, PLAN_FREEZE);
        /* tmpfs is still pseudo to libmount: never frozen whatever the config says */
        assert_skip(p, "/run", PLAN_REASON_PSEUDO, "pseudo filesystem (tmpfs)");
}

static void test_type_rules(void **state)
{
        _cleanup_plan_free_ struct plan *p = plan_for("network-fuse", NULL, NULL, NULL);
        _cleanup_plan_free_ struct plan *vm = plan_for("debian-vm", NULL, NULL, NULL);
        _cleanup_plan_free_ struct plan *ro = plan_for("read-only", NULL, NULL, NULL);
        _cleanup_plan_free_ struct plan *dk = plan_for("docker-overlay2", NULL, NULL, NULL);

        (void)state;
        assert_skip(p, "/mnt/nfs", PLAN_REASON_NETWORK, "nfs4");
        assert_skip(p, "/mnt/share", PLAN_REASON_NETWORK, "cifs");
        assert_skip(p, "/home/alice/remote", PLAN_REASON_FUSE, "fuse.sshfs");
        assert_skip(p, "/mnt/windows", PLAN_REASON_FUSE, "fuseblk");
        assert_skip(p, "/home/alice/.gvfs-old", PLAN_REASON_FUSE, NULL);
        assert_skip(p, "/mnt/cephfs", PLAN_REASON_NEVER_FREEZE_TYPE, "'ceph'");
        assert_skip(p, "/sys/fs/fuse/connections", PLAN_REASON_PSEUDO, "fusectl");
        assert_int_equal(plan_n_targets(p), 1);
        assert_skip(vm, "/proc", PLAN_REASON_PSEUDO, NULL);
        assert_skip(vm, "/run", PLAN_REASON_NEVER_FREEZE_TYPE, "tmpfs");
        assert_skip(vm, "/boot/efi", PLAN_REASON_NEVER_FREEZE_TYPE, "vfat");
        assert_skip(ro, "/usr", PLAN_REASON_READ_ONLY, NULL);
        assert_skip(ro, "/mnt/recovery", PLAN_REASON_READ_ONLY, NULL);
        /* a read-only bind mount of a writable filesystem is that filesystem */
        assert_skip(ro, "/srv-ro-view", PLAN_REASON_SAME_FILESYSTEM, "/srv");
        assert_skip(dk, "/var/lib/docker/overlay2/e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382716f5e4d3c2b1a09f8e/merged",
                    PLAN_REASON_NEVER_FREEZE_TYPE, "upper directory");
}

static void test_hidden_mounts(void **state)
{
        struct diag d = DIAG_NULL;
        _cleanup_plan_free_ struct plan *p = plan_for("overmount", NULL, NULL, &d);
        const struct plan_entry *srv = NULL;

        (void)state;
        assert_skip(p, "/mnt/data", PLAN_REASON_HIDDEN, "later mount at /mnt");
        /* /srv is mounted twice: the first (sdd1) is reached through /srv/www */
        for (size_t i = 0; i < plan_n_entries(p); i++)
                if (streq(plan_entry(p, i)->target, "/srv") && plan_entry(p, i)->decision == PLAN_SKIP)
                        srv = plan_entry(p, i);
        assert_non_null(srv);
        assert_string_equal(srv->source, "/dev/sdd1");
        assert_string_equal(srv->same_as->target, "/srv/www");
        assert_string_equal(find(p, "/srv")->source, "/dev/sde1");
        assert_int_equal(find(p, "/srv")->decision, PLAN_FREEZE);
        assert_int_equal(plan_n_parse_errors(p), 1);
        assert_int_equal(d.n_warnings, 1);
        assert_int_equal(d.msgs[0].line, 8);
        diag_clear(&d);
}

static void test_missing_mountinfo(void **state)
{
        struct diag d = DIAG_NULL;
        struct plan *p = NULL;
        int r;

        (void)state;
        r = plan_new(&p, &(struct plan_input){ .mountinfo = FIX("mountinfo/does-not-exist"),
                                               .sysfs = FIX("sysfs/empty"), .diag = &d });
        assert_true(r < 0);
        assert_null(p);
        assert_non_null(strstr(d.msgs[0].file, "does-not-exist"));
        assert_non_null(strstr(d.msgs[0].text, "cannot read the mount table"));
        diag_clear(&d);
}

static void test_table_input(void **state)
{
        struct libmnt_table *tb = mnt_new_table_from_file(FIX("mountinfo/lvm"));
        _cleanup_plan_free_ struct plan *p = NULL;

        (void)state;
        assert_non_null(tb);
        assert_int_equal(plan_new(&p, &(struct plan_input){ .table = tb, .sysfs = FIX("sysfs/lvm") }), 0);
        assert_int_equal(plan_n_targets(p), 4);
        /* the caller's table is not consumed */
        assert_int_equal(mnt_table_get_nents(tb), 9);
        mnt_unref_table(tb);
}

static void test_reason_names(void **state)
{
        (void)state;
        for (int i = 0; i < _PLAN_REASON_MAX; i++) {
                assert_non_null(plan_reason_to_string(i));
                for (int j = 0; j < i; j++)
                        assert_string_not_equal(plan_reason_to_string(i), plan_reason_to_string(j));
        }
        assert_null(plan_reason_to_string(_PLAN_REASON_MAX));
        assert_string_equal(plan_decision_to_string(PLAN_FREEZE), "freeze");
        assert_string_equal(plan_decision_to_string(PLAN_SKIP), "skip");
}

/* ---- sysfs-stack ---- */

static void test_stack_dm_over_loops(void **state)
{
        _cleanup_strv_free_ char **files = NULL;

        (void)state;
        assert_int_equal(sysfs_stack_backing_files(FIX("sysfs/docker-devicemapper"), makedev(253, 2),
                                                   "/dev/mapper/whatever", &files),
                         0);
        assert_int_equal(strv_length(files), 2);
        assert_string_equal(files[0], "/var/lib/docker/devicemapper/devicemapper/data");
        strv_free(files);
        /* by name, as for a filesystem with an anonymous devno */
        assert_int_equal(sysfs_stack_backing_files(FIX("sysfs/docker-devicemapper"), makedev(0, 50),
                                                   "/dev/mapper/docker-8:1-1835020-pool", &files),
                         0);
        assert_int_equal(strv_length(files), 2);
        strv_free(files);
        assert_int_equal(sysfs_stack_backing_files(FIX("sysfs/docker-devicemapper"), makedev(8, 1),
                                                   "/dev/sda1", &files),
                         0);
        assert_int_equal(strv_length(files), 0);
}

static void test_stack_partition_deleted(void **state)
{
        _cleanup_strv_free_ char **files = NULL;

        (void)state;
        assert_int_equal(sysfs_stack_backing_files(FIX("sysfs/loop-partition"), makedev(259, 0),
                                                   "/dev/loop2p1", &files),
                         0);
        assert_int_equal(strv_length(files), 1);
        assert_string_equal(files[0], "/var/tmp/disk.img");
}

static void test_stack_unknown_sources(void **state)
{
        static const char *const sources[] = { "tmpfs", "/dev/disk/by-label/x", "/dev/mapper/nope",
                                               "/dev/nonexistent", "" };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                _cleanup_strv_free_ char **files = NULL;

                assert_int_equal(sysfs_stack_backing_files(FIX("sysfs/lvm"), makedev(0, 99), sources[i], &files), 0);
                assert_int_equal(strv_length(files), 0);
        }
}

static void make_dir(const char *root, const char *path)
{
        _cleanup_free_ char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", root, path) > 0);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void make_link(const char *root, const char *path, const char *to)
{
        _cleanup_free_ char *p = NULL;

        assert_true(asprintf(&p, "%s/%s", root, path) > 0);
        assert_int_equal(symlink(to, p), 0);
}

static void remove_tree(const char *root)
{
        _cleanup_free_ char *cmd = NULL;

        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
}

/* A sysfs tree whose slave links loop (dm-0 on dm-1 on dm-0) must end. */
static void test_stack_slave_loop_terminates(void **state)
{
        char root[] = "/tmp/test-plan-sysfs-XXXXXX";
        _cleanup_strv_free_ char **files = NULL;

        (void)state;
        assert_non_null(mkdtemp(root));
        make_dir(root, "dev");
        make_dir(root, "dev/block");
        make_dir(root, "d0");
        make_dir(root, "d1");
        make_dir(root, "d0/slaves");
        make_dir(root, "d1/slaves");
        make_link(root, "dev/block/253:0", "../../d0");
        make_link(root, "d0/slaves/dm-1", "../../d1");
        make_link(root, "d1/slaves/dm-0", "../../d0");
        assert_int_equal(sysfs_stack_backing_files(root, makedev(253, 0), "/dev/dm-0", &files), 0);
        assert_int_equal(strv_length(files), 0);
        remove_tree(root);
}

/* A chain deeper than SYSFS_STACK_MAX_DEPTH is refused, not followed. */
static void test_stack_too_deep(void **state)
{
        char root[] = "/tmp/test-plan-sysfs-XXXXXX";
        char **files = NULL;

        (void)state;
        assert_non_null(mkdtemp(root));
        make_dir(root, "dev");
        make_dir(root, "dev/block");
        make_link(root, "dev/block/253:0", "../../d0");
        for (int i = 0; i <= SYSFS_STACK_MAX_DEPTH + 1; i++) {
                _cleanup_free_ char *d = NULL, *s = NULL, *l = NULL, *to = NULL;

                assert_true(asprintf(&d, "d%d", i) > 0 && asprintf(&s, "d%d/slaves", i) > 0);
                assert_true(asprintf(&l, "d%d/slaves/dm-%d", i, i + 1) > 0 && asprintf(&to, "../../d%d", i + 1) > 0);
                make_dir(root, d);
                make_dir(root, s);
                make_link(root, l, to);
        }
        assert_int_equal(sysfs_stack_backing_files(root, makedev(253, 0), "/dev/dm-0", &files), -ELOOP);
        assert_null(files);
        remove_tree(root);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* A loop device whose backing file is on its own filesystem. */
static void test_self_cycle(void **state)
{
        char root[] = "/tmp/test-plan-sysfs-XXXXXX";
        _cleanup_free_ char *mi = NULL, *bf = NULL;
        struct diag d = DIAG_NULL;
        struct plan *p = NULL;

        (void)state;
        assert_non_null(mkdtemp(root));
        make_dir(root, "dev");
        make_dir(root, "dev/block");
        make_dir(root, "loop0");
        make_dir(root, "loop0/loop");
        make_link(root, "dev/block/7:0", "../../loop0");
        assert_true(asprintf(&bf, "%s/loop0/loop/backing_file", root) > 0);
        write_file(bf, "/mnt/a/self.img\n");
        assert_true(asprintf(&mi, "%s/mountinfo", root) > 0);
        write_file(mi, "21 1 8:1 / / rw - ext4 /dev/sda1 rw\n22 21 7:0 / /mnt/a rw - ext4 /dev/loop0 rw\n");
        assert_int_equal(plan_new(&p, &(struct plan_input){ .mountinfo = mi, .sysfs = root, .diag = &d }), -ELOOP);
        assert_non_null(strstr(diag_first(&d, DIAG_ERROR), "/mnt/a"));
        diag_clear(&d);
        remove_tree(root);
}

/* "/" on a loop file of another filesystem must precede it, still alone. */
static void test_root_on_loop(void **state)
{
        char root[] = "/tmp/test-plan-sysfs-XXXXXX";
        _cleanup_free_ char *mi = NULL, *bf = NULL;
        _cleanup_plan_free_ struct plan *p = NULL;

        (void)state;
        assert_non_null(mkdtemp(root));
        make_dir(root, "dev");
        make_dir(root, "dev/block");
        make_dir(root, "loop0");
        make_dir(root, "loop0/loop");
        make_link(root, "dev/block/7:0", "../../loop0");
        assert_true(asprintf(&bf, "%s/loop0/loop/backing_file", root) > 0);
        write_file(bf, "/host/ubuntu/disks/root.disk\n");
        assert_true(asprintf(&mi, "%s/mountinfo", root) > 0);
        write_file(mi, "21 1 7:0 / / rw - ext4 /dev/loop0 rw\n"
                       "22 21 8:2 / /host rw - ext4 /dev/sda2 rw\n"
                       "23 21 8:3 / /data rw - ext4 /dev/sda3 rw\n");
        assert_int_equal(plan_new(&p, &(struct plan_input){ .mountinfo = mi, .sysfs = root }), 0);
        assert_int_equal(plan_n_levels(p), 3);
        assert_level(p, 0, (const char *const[]){ "/data", NULL });
        assert_level(p, 1, (const char *const[]){ "/", NULL });
        assert_level(p, 2, (const char *const[]){ "/host", NULL });
        remove_tree(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_loop_on_loop_order),
                cmocka_unit_test(test_root_alone_last),
                cmocka_unit_test(test_devicemapper_on_loop),
                cmocka_unit_test(test_lvm_independent),
                cmocka_unit_test(test_btrfs_subvolumes_collapse),
                cmocka_unit_test(test_k8s_collapses_bind_mounts),
                cmocka_unit_test(test_scope),
                cmocka_unit_test(test_scope_matches_nothing),
                cmocka_unit_test(test_scope_bind_mount),
                cmocka_unit_test(test_cycle_is_an_error),
                cmocka_unit_test(test_excludes),
                cmocka_unit_test(test_include_mounts),
                cmocka_unit_test(test_never_freeze_types_replaced),
                cmocka_unit_test(test_type_rules),
                cmocka_unit_test(test_hidden_mounts),
                cmocka_unit_test(test_missing_mountinfo),
                cmocka_unit_test(test_table_input),
                cmocka_unit_test(test_reason_names),
                cmocka_unit_test(test_stack_dm_over_loops),
                cmocka_unit_test(test_stack_partition_deleted),
                cmocka_unit_test(test_stack_unknown_sources),
                cmocka_unit_test(test_stack_slave_loop_terminates),
                cmocka_unit_test(test_stack_too_deep),
                cmocka_unit_test(test_self_cycle),
                cmocka_unit_test(test_root_on_loop),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
