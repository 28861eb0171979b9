/*
 * hvvss-fake-kernel SOCKET: plays the kernel end of /dev/vmbus/hv_vss for shell
 * integration tests. Listens on SOCKET (point the daemon's device path at it),
 * prints "listening", then runs commands read from stdin, one a line:
 *
 *   register [TIMEOUT_MS]     accept the daemon and do the REGISTER1 handshake;
 *                             prints "registered" (implicit before a request)
 *   freeze | thaw | hot_backup   send that request
 *   op N                      send a request with operation N (unexpected ops)
 *   wait-reply TIMEOUT_MS     prints "reply ok", "reply fail", "reply 0xXXXXXXXX",
 *                             "reply timeout" or "reply closed"
 *   close                     drop the connection (a rescinded channel)
 *   sleep MS
 *
 * Blank lines and lines starting with '#' are ignored. Exit status: 0 at end of
 * input, 1 when a command fails, 2 on a usage error.
 */

#include <errno.h>
#include <inttypes.h>
#include <linux/hyperv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake-kernel.h"

#define DEFAULT_REGISTER_TIMEOUT_MS 30000

static const char *program = "hvvss-fake-kernel";

static int parse_ms(const char *s, int *ret)
{
        char *end;
        long v;

        if (!s)
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 0 || v > 24L * 3600 * 1000)
                return -EINVAL;
        *ret = (int)v;
        return 0;
}

static const char *result_text(int r)
{
        switch (r) {
        case FAKE_KERNEL_E_CLOSED:
                return "the daemon closed the channel";
        case FAKE_KERNEL_E_HANDSHAKE:
                return "the daemon's first message was not REGISTER1";
        case FAKE_KERNEL_E_MESSAGE:
                return "a reply of the wrong size";
        default:
                return r < 0 ? strerror(-r) : "unknown";
        }
}

static int ensure_registered(FakeKernel *fk, int timeout_ms)
{
        int r;

        if (fake_kernel_is_connected(fk))
                return 0;
        r = fake_kernel_accept_register(fk, timeout_ms);
        if (r != 0) {
                fprintf(stderr, "%s: register: %s\n", program, result_text(r));
                fake_kernel_disconnect(fk);
                return -1;
        }
        printf("registered\n");
        return 0;
}

static int send_op(FakeKernel *fk, long op)
{
        int r;

        if (ensure_registered(fk, DEFAULT_REGISTER_TIMEOUT_MS) < 0)
                return -1;
        r = fake_kernel_send_op(fk, (uint8_t)op);
        if (r != 0) {
                fprintf(stderr, "%s: send op %ld: %s\n", program, op, result_text(r));
                return -1;
        }
        return 0;
}

static int run_command(FakeKernel *fk, char *line, int lineno)
{
        char *save = NULL, *cmd, *arg, *extra;
        int ms;

        cmd = strtok_r(line, " \t\r\n", &save);
        if (!cmd || cmd[0] == '#')
                return 0;
        arg = strtok_r(NULL, " \t\r\n", &save);
        extra = strtok_r(NULL, " \t\r\n", &save);
        if (extra) {
                fprintf(stderr, "%s: line %d: too many arguments to '%s'\n", program, lineno, cmd);
                return 2;
        }

        if (strcmp(cmd, "freeze") == 0)
                return send_op(fk, VSS_OP_FREEZE) < 0;
        if (strcmp(cmd, "thaw") == 0)
                return send_op(fk, VSS_OP_THAW) < 0;
        if (strcmp(cmd, "hot_backup") == 0 || strcmp(cmd, "hot-backup") == 0)
                return send_op(fk, VSS_OP_HOT_BACKUP) < 0;
        if (strcmp(cmd, "op") == 0) {
                char *end;
                long op;

                op = arg ? strtol(arg, &end, 0) : -1;
                if (!arg || *end || op < 0 || op > 255) {
                        fprintf(stderr, "%s: line %d: 'op' needs a number 0-255\n", program, lineno);
                        return 2;
                }
                return send_op(fk, op) < 0;
        }
        if (strcmp(cmd, "register") == 0) {
                ms = DEFAULT_REGISTER_TIMEOUT_MS;
                if (arg && parse_ms(arg, &ms) < 0) {
                        fprintf(stderr, "%s: line %d: bad timeout '%s'\n", program, lineno, arg);
                        return 2;
                }
                if (fake_kernel_is_connected(fk)) {
                        printf("registered\n");
                        return 0;
                }
                return ensure_registered(fk, ms) < 0;
        }
        if (strcmp(cmd, "wait-reply") == 0) {
                uint32_t status;
                int r;

                if (parse_ms(arg, &ms) < 0) {
                        fprintf(stderr, "%s: line %d: 'wait-reply' needs TIMEOUT_MS\n", program, lineno);
                        return 2;
                }
                r = fake_kernel_wait_reply(fk, ms, &status);
                if (r == 0 && status == HV_S_OK)
                        printf("reply ok\n");
                else if (r == 0 && status == HV_E_FAIL)
                        printf("reply fail\n");
                else if (r == 0)
                        printf("reply 0x%08" PRIx32 "\n", status);
                else if (r == -ETIMEDOUT)
                        printf("reply timeout\n");
                else if (r == FAKE_KERNEL_E_CLOSED || r == -ENOTCONN) {
                        fake_kernel_disconnect(fk);
                        printf("reply closed\n");
                } else {
                        fprintf(stderr, "%s: wait-reply: %s\n", program, result_text(r));
                        return 1;
                }
                return 0;
        }
        if (strcmp(cmd, "close") == 0) {
                fake_kernel_disconnect(fk);
                return 0;
        }
        if (strcmp(cmd, "sleep") == 0) {
                struct timespec ts;

                if (parse_ms(arg, &ms) < 0) {
                        fprintf(stderr, "%s: line %d: 'sleep' needs MS\n", program, lineno);
                        return 2;
                }
                ts.tv_sec = ms / 1000;
                ts.tv_nsec = (long)(ms % 1000) * 1000000L;
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                return 0;
        }
        fprintf(stderr, "%s: line %d: unknown command '%s' (see the comment at the top of "
                "fake-kernel-main.c)\n", program, lineno, cmd);
        return 2;
}

int main(int argc, char **argv)
{
        FakeKernel *fk = NULL;
        char line[256];
        int r, lineno = 0, status = 0;

        if (argc != 2) {
                fprintf(stderr, "usage: %s SOCKET   (commands on stdin)\n", program);
                return 2;
        }
        r = fake_kernel_new(&fk, argv[1]);
        if (r < 0) {
                fprintf(stderr, "%s: %s: %s\n", program, argv[1], strerror(-r));
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("listening\n");

        while (status == 0 && fgets(line, sizeof(line), stdin)) {
                lineno++;
                status = run_command(fk, line, lineno);
                if (fflush(stdout) != 0) {
                        fprintf(stderr, "%s: writing to stdout: %s\n", program, strerror(errno));
                        status = 1;
                }
        }
        fake_kernel_free(fk);
        return status;
}
