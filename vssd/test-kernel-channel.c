/* Unit tests of kernel-channel against the fake kernel end (a SOCK_SEQPACKET socket) and a fake /proc. */

#include <errno.h>
#include <fcntl.h>
#include <linux/hyperv.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-kernel.h"
#include "kernel-channel.h"

/* write() is wrapped (-Wl,--wrap=write) so a test can make the channel's next write fail. */
ssize_t __real_write(int fd, const void *buf, size_t n);
ssize_t __wrap_write(int fd, const void *buf, size_t n);

static int fail_write_fd = -1;
static int fail_write_errno;

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
        if (fd == fail_write_fd) {
                fail_write_fd = -1;
                errno = fail_write_errno;
                return -1;
        }
        return __real_write(fd, buf, n);
}

#define MAX_EVENTS 16

typedef struct Fixture {
        char dir[64];
        char sock[128];
        FakeKernel *fk;
        KernelChannel *ch;
        KernelChannelEvent ev[MAX_EVENTS];
        size_t n_ev;
} Fixture;

static void on_event(KernelChannel *ch, const KernelChannelEvent *ev, void *userdata)
{
        Fixture *f = userdata;

        assert_ptr_equal(ch, f->ch);
        assert_true(f->n_ev < MAX_EVENTS);
        f->ev[f->n_ev++] = *ev;
}

static int setup(void **state)
{
        Fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        strcpy(f->dir, "/tmp/test-kernel-channel.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->sock, sizeof(f->sock), "%s/hv_vss", f->dir);
        assert_int_equal(fake_kernel_new(&f->fk, f->sock), 0);
        *state = f;
        return 0;
}

static int rm_rf(const char *path)
{
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
        return system(cmd);
}

static int teardown(void **state)
{
        Fixture *f = *state;

        fail_write_fd = -1;
        f->ch = kernel_channel_free(f->ch);
        f->fk = fake_kernel_free(f->fk);
        rm_rf(f->dir);
        free(f);
        return 0;
}

/* Opens the channel and completes the handshake through dispatch(). */
static void connect_registered(Fixture *f)
{
        assert_int_equal(kernel_channel_new(&f->ch, f->sock, on_event, f), 0);
        assert_int_equal(kernel_channel_register(f->ch), 0);
        assert_int_equal(fake_kernel_accept_register(f->fk, 1000), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        f->n_ev = 0;
}

static void test_handshake(void **state)
{
        Fixture *f = *state;

        assert_int_equal(kernel_channel_new(&f->ch, f->sock, on_event, f), 0);
        assert_true(kernel_channel_get_fd(f->ch) >= 0);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_OPEN);
        assert_string_equal(kernel_channel_get_path(f->ch), f->sock);

        /* Nothing to read yet: dispatch returns without an event. */
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(f->n_ev, 0);

        assert_int_equal(kernel_channel_register(f->ch), 0);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_REGISTERING);
        assert_int_equal(kernel_channel_register(f->ch), -EALREADY);
        /* The fake checks the 12-byte REGISTER1 and answers 129. */
        assert_int_equal(fake_kernel_accept_register(f->fk, 1000), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);

        assert_int_equal(f->n_ev, 1);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_REGISTERED);
        assert_int_equal(f->ev[0].version, VSS_OP_REGISTER1);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        assert_string_equal(kernel_channel_state_to_string(KERNEL_CHANNEL_READY), "ready");
        assert_int_equal(kernel_channel_get_pending_op(f->ch), -1);
}

static void *fake_register_thread(void *p)
{
        Fixture *f = p;

        return (void *)(intptr_t)fake_kernel_accept_register(f->fk, 2000);
}

static void test_register_sync(void **state)
{
        Fixture *f = *state;
        pthread_t t;
        void *res;

        assert_int_equal(pthread_create(&t, NULL, fake_register_thread, f), 0);
        assert_int_equal(kernel_channel_new(&f->ch, f->sock, on_event, f), 0);
        assert_int_equal(kernel_channel_register_sync(f->ch, 2000), 0);
        assert_int_equal(pthread_join(t, &res), 0);
        assert_int_equal((intptr_t)res, 0);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        assert_int_equal(f->n_ev, 1);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_REGISTERED);
        /* Already registered: nothing to wait for. */
        assert_int_equal(kernel_channel_register_sync(f->ch, 0), 0);
}

static void test_register_timeout(void **state)
{
        Fixture *f = *state;

        /* The fake never answers (never even accepts). */
        assert_int_equal(kernel_channel_new(&f->ch, f->sock, NULL, NULL), 0);
        assert_int_equal(kernel_channel_register_sync(f->ch, 100), -ETIMEDOUT);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_REGISTERING);
}

static void test_register_bad_version(void **state)
{
        Fixture *f = *state;
        uint32_t v = 128, first;

        assert_int_equal(kernel_channel_new(&f->ch, f->sock, on_event, f), 0);
        assert_int_equal(kernel_channel_register(f->ch), 0);
        assert_int_equal(fake_kernel_accept(f->fk, 1000), 0);
        assert_int_equal(fake_kernel_wait_reply(f->fk, 1000, &first), 0);
        assert_int_equal(first, VSS_OP_REGISTER1);
        assert_int_equal(fake_kernel_send_raw(f->fk, &v, sizeof(v)), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(f->n_ev, 1);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_BROKEN);
        assert_int_equal(f->ev[0].error, -EPROTO);
}

static void test_requests(void **state)
{
        Fixture *f = *state;
        static const struct {
                int op;
                bool ok;
                uint32_t status;
        } cases[] = {
                { VSS_OP_HOT_BACKUP, true, HV_S_OK },
                { VSS_OP_FREEZE, true, HV_S_OK },
                { VSS_OP_THAW, false, HV_E_FAIL },
        };
        uint32_t status;

        connect_registered(f);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                f->n_ev = 0;
                assert_int_equal(fake_kernel_send_op(f->fk, (uint8_t)cases[i].op), 0);
                assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
                assert_int_equal(f->n_ev, 1);
                assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_REQUEST);
                assert_int_equal(f->ev[0].op, cases[i].op);
                assert_int_equal(f->ev[0].superseded_op, -1);
                assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_PENDING);
                assert_int_equal(kernel_channel_get_pending_op(f->ch), cases[i].op);

                /* No reply yet: the fake sees nothing. */
                assert_int_equal(fake_kernel_wait_reply(f->fk, 0, &status), -ETIMEDOUT);

                assert_int_equal(kernel_channel_reply(f->ch, cases[i].ok), 0);
                assert_int_equal(fake_kernel_wait_reply(f->fk, 1000, &status), 0);
                assert_int_equal(status, cases[i].status);
                assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        }
        assert_int_equal(kernel_channel_reply(f->ch, true), KERNEL_CHANNEL_E_NO_REQUEST);
}

static void test_reads_until_eagain(void **state)
{
        Fixture *f = *state;

        connect_registered(f);
        /* Two queued requests: one dispatch delivers both; the second supersedes the first. */
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_FREEZE), 0);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_THAW), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(f->n_ev, 2);
        assert_int_equal(f->ev[0].op, VSS_OP_FREEZE);
        assert_int_equal(f->ev[1].op, VSS_OP_THAW);
        assert_int_equal(f->ev[1].superseded_op, VSS_OP_FREEZE);
        assert_int_equal(kernel_channel_get_pending_op(f->ch), VSS_OP_THAW);
}

static void test_unexpected_op(void **state)
{
        Fixture *f = *state;
        uint32_t status;

        connect_registered(f);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_AUTO_RECOVER), 0);
        assert_int_equal(fake_kernel_send_op(f->fk, 42), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(f->n_ev, 2);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_UNEXPECTED);
        assert_int_equal(f->ev[0].op, VSS_OP_AUTO_RECOVER);
        assert_int_equal(f->ev[1].type, KERNEL_CHANNEL_EVENT_UNEXPECTED);
        assert_int_equal(f->ev[1].op, 42);
        /* Both answered HV_E_FAIL by the channel itself. */
        assert_int_equal(fake_kernel_wait_reply(f->fk, 1000, &status), 0);
        assert_int_equal(status, HV_E_FAIL);
        assert_int_equal(fake_kernel_wait_reply(f->fk, 1000, &status), 0);
        assert_int_equal(status, HV_E_FAIL);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        assert_int_equal(kernel_channel_reply(f->ch, true), KERNEL_CHANNEL_E_NO_REQUEST);
}

static void test_malformed_message(void **state)
{
        Fixture *f = *state;
        const char junk[5] = "junk";

        connect_registered(f);
        assert_int_equal(fake_kernel_send_raw(f->fk, junk, sizeof(junk)), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(f->n_ev, 1);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_BROKEN);
        assert_int_equal(f->ev[0].error, -EPROTO);
}

static void test_peer_close_and_reopen(void **state)
{
        Fixture *f = *state;

        connect_registered(f);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_FREEZE), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        f->n_ev = 0;

        /* The fake closes, as a rescinded channel would. */
        fake_kernel_disconnect(f->fk);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN | EPOLLHUP), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(f->n_ev, 1);
        assert_int_equal(f->ev[0].type, KERNEL_CHANNEL_EVENT_BROKEN);
        assert_int_equal(f->ev[0].error, -EPIPE);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_BROKEN);
        assert_int_equal(kernel_channel_get_error(f->ch), -EPIPE);
        assert_int_equal(kernel_channel_get_pending_op(f->ch), -1);

        /* Reported once; later calls say broken without another event. */
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLHUP), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(f->n_ev, 1);
        assert_int_equal(kernel_channel_reply(f->ch, true), KERNEL_CHANNEL_E_BROKEN);

        /* Backoff grows per attempt; a registration resets it. */
        assert_int_equal(kernel_channel_get_reopen_delay_ms(f->ch), 250);
        assert_int_equal(kernel_channel_reopen(f->ch), 0);
        assert_int_equal(kernel_channel_get_reopen_delay_ms(f->ch), 500);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_OPEN);
        assert_int_equal(kernel_channel_register(f->ch), 0);
        assert_int_equal(fake_kernel_accept_register(f->fk, 1000), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);
        assert_int_equal(kernel_channel_get_reopen_delay_ms(f->ch), 250);
}

static void test_hangup_without_data(void **state)
{
        Fixture *f = *state;

        connect_registered(f);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLERR), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(f->ev[0].error, -EIO);
}

static void test_reopen_fails(void **state)
{
        Fixture *f = *state;

        connect_registered(f);
        f->fk = fake_kernel_free(f->fk);        /* removes the socket */
        assert_int_equal(kernel_channel_reopen(f->ch), -ENOENT);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_CLOSED);
        assert_int_equal(kernel_channel_get_fd(f->ch), -1);
        assert_int_equal(kernel_channel_reopen(f->ch), -ENOENT);
        assert_int_equal(kernel_channel_get_reopen_delay_ms(f->ch), 1000);
}

static void test_late_reply(void **state)
{
        Fixture *f = *state;
        uint32_t status;

        connect_registered(f);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_FREEZE), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);

        /* On the device a reply after the kernel's timeout fails with EINVAL. */
        fail_write_fd = kernel_channel_get_fd(f->ch);
        fail_write_errno = EINVAL;
        assert_int_equal(kernel_channel_reply(f->ch, true), KERNEL_CHANNEL_E_LATE);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_READY);

        /* The channel goes on working. */
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_THAW), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(kernel_channel_reply(f->ch, true), 0);
        assert_int_equal(fake_kernel_wait_reply(f->fk, 1000, &status), 0);
        assert_int_equal(status, HV_S_OK);
}

static void test_reply_write_error(void **state)
{
        Fixture *f = *state;

        connect_registered(f);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_THAW), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);

        fail_write_fd = kernel_channel_get_fd(f->ch);
        fail_write_errno = ENODEV;
        assert_int_equal(kernel_channel_reply(f->ch, true), KERNEL_CHANNEL_E_BROKEN);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_BROKEN);
        assert_int_equal(kernel_channel_get_error(f->ch), -ENODEV);

        /* EAGAIN leaves the request pending. */
        assert_int_equal(kernel_channel_reopen(f->ch), 0);
        fake_kernel_disconnect(f->fk);
        assert_int_equal(kernel_channel_register(f->ch), 0);
        assert_int_equal(fake_kernel_accept_register(f->fk, 1000), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        assert_int_equal(fake_kernel_send_op(f->fk, VSS_OP_THAW), 0);
        assert_int_equal(kernel_channel_dispatch(f->ch, EPOLLIN), 0);
        fail_write_fd = kernel_channel_get_fd(f->ch);
        fail_write_errno = EAGAIN;
        assert_int_equal(kernel_channel_reply(f->ch, true), -EAGAIN);
        assert_int_equal(kernel_channel_get_state(f->ch), KERNEL_CHANNEL_PENDING);
        assert_int_equal(kernel_channel_reply(f->ch, true), 0);
}

static void test_backoff(void **state)
{
        (void)state;
        assert_int_equal(kernel_channel_backoff_ms(0), 250);
        assert_int_equal(kernel_channel_backoff_ms(1), 500);
        assert_int_equal(kernel_channel_backoff_ms(6), 16000);
        assert_int_equal(kernel_channel_backoff_ms(7), KERNEL_CHANNEL_BACKOFF_MAX_MS);
        assert_int_equal(kernel_channel_backoff_ms(1000), KERNEL_CHANNEL_BACKOFF_MAX_MS);
}

static void write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "we");

        assert_non_null(fp);
        fputs(text, fp);
        assert_int_equal(fclose(fp), 0);
}

/* dir/proc/PID/fd/N -> target, dir/proc/PID/comm */
static void fake_proc_fd(const char *dir, const char *pid, const char *comm, const char *fd,
                         const char *target)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/proc", dir);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/proc/%s", dir, pid);
        mkdir(p, 0755);
        if (comm) {
                char c[64];

                snprintf(p, sizeof(p), "%s/proc/%s/comm", dir, pid);
                snprintf(c, sizeof(c), "%s\n", comm);
                write_file(p, c);
        }
        snprintf(p, sizeof(p), "%s/proc/%s/fd", dir, pid);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/proc/%s/fd/%s", dir, pid, fd);
        assert_int_equal(symlink(target, p), 0);
}

static void make_fake_proc(const Fixture *f)
{
        char p[256];

        fake_proc_fd(f->dir, "1", "systemd", "0", "/dev/null");
        fake_proc_fd(f->dir, "1", NULL, "1", "socket:[1234]");
        fake_proc_fd(f->dir, "77", "bash", "0", "/dev/pts/0");
        fake_proc_fd(f->dir, "812", "hv_vss_daemon", "0", "/dev/null");
        fake_proc_fd(f->dir, "812", NULL, "3", "/dev/vmbus/hv_vss");
        /* Not a pid: ignored even though it matches. */
        fake_proc_fd(f->dir, "self", "self", "3", "/dev/vmbus/hv_vss");
        snprintf(p, sizeof(p), "%s/proc/sys", f->dir);
        mkdir(p, 0755);
}

static void test_find_holder(void **state)
{
        Fixture *f = *state;
        char proc[128];
        char *comm = NULL;
        struct stat st;
        pid_t pid = 0;

        make_fake_proc(f);
        snprintf(proc, sizeof(proc), "%s/proc", f->dir);

        assert_int_equal(kernel_channel_find_holder(proc, "/dev/vmbus/hv_vss", 0, &pid, &comm), 0);
        assert_int_equal(pid, 812);
        assert_string_equal(comm, "hv_vss_daemon");
        free(comm);
        comm = NULL;

        assert_int_equal(kernel_channel_find_holder(proc, "/dev/other", 0, &pid, &comm), -ESRCH);
        assert_null(comm);

        /* By dev_t: a link under another name to the same character device. */
        assert_int_equal(stat("/dev/null", &st), 0);
        pid = 0;
        assert_int_equal(kernel_channel_find_holder(proc, "/dev/vmbus/renamed", st.st_rdev, &pid, &comm), 0);
        assert_true(pid == 1 || pid == 812);
        free(comm);

        assert_int_equal(kernel_channel_find_holder("/nonexistent-proc", "/x", 0, &pid, &comm), -ENOENT);
}

static void test_find_holder_real_proc(void **state)
{
        Fixture *f = *state;
        char path[128], *comm = NULL;
        pid_t pid = 0;
        int fd;

        snprintf(path, sizeof(path), "%s/held", f->dir);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(kernel_channel_find_holder("/proc", path, 0, &pid, &comm), 0);
        assert_int_equal(pid, getpid());
        assert_non_null(comm);
        free(comm);
        close(fd);
}

static void test_describe_errors(void **state)
{
        Fixture *f = *state;
        char proc[128], *m = NULL;
        KernelChannel *ch = NULL;

        assert_int_equal(kernel_channel_new(&ch, "/nonexistent/vmbus/hv_vss", NULL, NULL), -ENOENT);
        assert_null(ch);
        assert_int_equal(kernel_channel_describe_open_error("/dev/vmbus/hv_vss", -ENOENT, NULL, &m), 0);
        assert_non_null(strstr(m, "/dev/vmbus/hv_vss: no VSS channel"));
        assert_non_null(strstr(m, "not running on Hyper-V"));
        assert_non_null(strstr(m, "VSS integration service"));
        assert_non_null(strstr(m, "disabled in the VM settings"));
        assert_non_null(strstr(m, "hv_utils / hv_vss module is not loaded"));
        free(m);

        make_fake_proc(f);
        snprintf(proc, sizeof(proc), "%s/proc", f->dir);
        assert_int_equal(kernel_channel_describe_open_error("/dev/vmbus/hv_vss", -EBUSY, proc, &m), 0);
        assert_non_null(strstr(m, "held by pid 812 (hv_vss_daemon)"));
        assert_non_null(strstr(m, "systemctl disable --now hv-vss-daemon.service"));
        assert_non_null(strstr(m, "hv_vss_daemon.service"));
        free(m);

        /* Holder not visible (not root, or gone). */
        assert_int_equal(kernel_channel_describe_open_error("/dev/vmbus/nobody", -EBUSY, proc, &m), 0);
        assert_non_null(strstr(m, "held by another process"));
        assert_non_null(strstr(m, "fuser -v /dev/vmbus/nobody"));
        free(m);

        assert_int_equal(kernel_channel_describe_open_error("/dev/vmbus/hv_vss", -EACCES, NULL, &m), 0);
        assert_non_null(strstr(m, "must run as root"));
        free(m);

        assert_int_equal(kernel_channel_describe_open_error("/dev/vmbus/hv_vss", -EIO, NULL, &m), 0);
        assert_non_null(strstr(m, strerror(EIO)));
        free(m);
}

static void test_connection_refused(void **state)
{
        Fixture *f = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        KernelChannel *ch = NULL;
        char *m = NULL;
        int fd;

        /* A socket file left behind with nobody listening. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale", f->dir);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);

        assert_int_equal(kernel_channel_new(&ch, sa.sun_path, NULL, NULL), -ECONNREFUSED);
        assert_null(ch);
        assert_int_equal(kernel_channel_describe_open_error(sa.sun_path, -ECONNREFUSED, NULL, &m), 0);
        assert_non_null(strstr(m, "nobody listens"));
        free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_sync, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_register_bad_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reads_until_eagain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unexpected_op, setup, teardown),
                cmocka_unit_test_setup_teardown(test_malformed_message, setup, teardown),
                cmocka_unit_test_setup_teardown(test_peer_close_and_reopen, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hangup_without_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_late_reply, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reply_write_error, setup, teardown),
                cmocka_unit_test(test_backoff),
                cmocka_unit_test_setup_teardown(test_find_holder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find_holder_real_proc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_describe_errors, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_refused, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
