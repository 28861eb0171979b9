/*
 * hostsim: test-freeze --kernel.
 *
 * Plays the host side of one backup through /dev/hv_vss_hostsim exactly as
 * Hyper-V would (packets from tests/unit/host_packets.h: the host's version
 * offer, HOT_BACKUP, a FREEZE with 260 LUN entries, THAW), so the whole path
 * runs: simulator -> hv_vss core -> /dev/vmbus/hv_vss -> hvvssd -> FIFREEZE
 * and back. A frame on the simulator is a 16-byte header
 * { le64 request_id; le32 length; le32 flags } and one VMBus packet.
 *
 * Whatever happens after FREEZE was sent (a failed reply, Ctrl-C during the
 * hold), THAW is sent: the daemon would thaw on its watchdog anyway, but a
 * test tool should not leave that to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json-util.h"
#include "host_packets.h"
#include "hostsim.h"
#include "hvvssctl.h"
#include "output.h"

#define FRAME_HDR_LEN 16
#define FRAME_MAX (FRAME_HDR_LEN + HVVSS_MAX_PKT_LEN)

enum step_id { STEP_NEGOTIATE, STEP_HOT_BACKUP, STEP_FREEZE, STEP_THAW, _STEP_MAX };

struct step {
        const char *name;        /* as in the protocol */
        int timeout_s;           /* how long a host would wait (the kernel's own timeout + margin) */
        /* results */
        bool sent, replied;
        size_t request_len, reply_len;
        struct hostpkt_reply reply;
        double ms;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
        (void)sig;
        interrupted = 1;
}

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static bool step_ok(const struct step *s, enum step_id id)
{
        if (!s->replied || s->reply.status != HVVSS_S_OK)
                return false;
        if (id == STEP_NEGOTIATE)
                return s->reply.fw_cnt == 1 && s->reply.msg_cnt == 1;
        return s->reply_len == s->request_len;
}

/* Discards replies left over from earlier runs, so request ids cannot be confused. */
static void drain(int fd)
{
        uint8_t buf[FRAME_MAX];
        struct pollfd p = { .fd = fd, .events = POLLIN };

        while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN))
                if (read(fd, buf, sizeof(buf)) <= 0)
                        break;
}

/* Sends @pkt as request @reqid and waits for its reply: 0, -ETIMEDOUT, -EINTR or -errno. */
static int transact(int fd, uint64_t reqid, const uint8_t *pkt, size_t len, struct step *s)
{
        static uint8_t frame[FRAME_MAX];
        double start, deadline;
        ssize_t n;

        hvvss_put_le32(frame, (u32)reqid);
        hvvss_put_le32(frame + 4, (u32)(reqid >> 32));
        hvvss_put_le32(frame + 8, (u32)len);
        hvvss_put_le32(frame + 12, 0);
        memcpy(frame + FRAME_HDR_LEN, pkt, len);
        s->request_len = len;
        start = now_ms();
        n = write(fd, frame, FRAME_HDR_LEN + len);
        if (n < 0)
                return -errno;
        if ((size_t)n != FRAME_HDR_LEN + len)
                return -EIO;
        s->sent = true;
        deadline = start + s->timeout_s * 1000.0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                double left = deadline - now_ms();
                uint64_t got;
                u32 got_len;
                int k;

                if (left <= 0)
                        return -ETIMEDOUT;
                k = poll(&p, 1, (int)(left + 1));
                if (k < 0 && errno == EINTR)
                        continue; /* a signal during a transaction: finish it first */
                if (k < 0)
                        return -errno;
                if (k == 0)
                        continue;
                n = read(fd, frame, sizeof(frame));
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n < 0)
                        return -errno;
                if (n < FRAME_HDR_LEN)
                        return -EBADMSG;
                got = (uint64_t)hvvss_get_le32(frame) | (uint64_t)hvvss_get_le32(frame + 4) << 32;
                got_len = hvvss_get_le32(frame + 8);
                if ((size_t)n != FRAME_HDR_LEN + got_len)
                        return -EBADMSG;
                if (got != reqid)
                        continue; /* a reply to someone else's request */
                s->ms = now_ms() - start;
                if (hostpkt_parse_reply(frame + FRAME_HDR_LEN, got_len, &s->reply) < 0)
                        return -EBADMSG;
                s->replied = true;
                s->reply_len = got_len;
                return 0;
        }
}

static const char *step_detail(const struct step *s, enum step_id id, char *buf, size_t size)
{
        if (!s->replied) {
                snprintf(buf, size, "%s", s->sent ? "no reply" : "not sent");
                return buf;
        }
        switch (id) {
        case STEP_NEGOTIATE:
                if (s->reply.fw_cnt == 1 && s->reply.msg_cnt == 1)
                        snprintf(buf, size, "framework %u.%u, message %u.%u", s->reply.fw.major, s->reply.fw.minor,
                                 s->reply.msg.major, s->reply.msg.minor);
                else
                        snprintf(buf, size, "no common version");
                break;
        case STEP_HOT_BACKUP:
                snprintf(buf, size, "flags 0x%08" PRIx32 "%s", s->reply.flags,
                         s->reply.flags == HVVSS_HBU_NO_AUTO_RECOVERY ? " (no auto-recovery)" : "");
                break;
        case STEP_FREEZE:
                snprintf(buf, size, "%zu-byte request (%d LUNs), %zu-byte reply", s->request_len, HOSTPKT_MAX_LUNS,
                         s->reply_len);
                break;
        default:
                snprintf(buf, size, "%zu-byte reply", s->reply_len);
                break;
        }
        return buf;
}

static void print_step(const struct hvvssctl *ctl, const struct step *s, enum step_id id)
{
        char detail[128], dur[32];
        bool ok = step_ok(s, id);
        const char *word = !s->replied ? "none" : ok ? "ok" : s->reply.status == HVVSS_E_FAIL ? "HV_E_FAIL" : "wrong";

        printf("  host -> %-11s %s%-9s%s %-44s %10s\n", s->name, color(ctl, ok ? COLOR_GREEN : COLOR_RED), word,
               color(ctl, COLOR_RESET), step_detail(s, id, detail, sizeof(detail)),
               s->replied ? format_duration_ms(s->ms, dur, sizeof(dur)) : "-");
        fflush(stdout);
}

static json_object *step_json(const struct step *s, enum step_id id)
{
        json_object *o = json_object_new_object();
        char hex[16];

        json_object_object_add(o, "request", json_object_new_string(s->name));
        json_object_object_add(o, "request_len", json_object_new_int64((int64_t)s->request_len));
        json_object_object_add(o, "replied", json_object_new_boolean(s->replied));
        json_object_object_add(o, "ok", json_object_new_boolean(step_ok(s, id)));
        if (s->replied) {
                snprintf(hex, sizeof(hex), "0x%08" PRIx32, s->reply.status);
                json_object_object_add(o, "status", json_object_new_string(hex));
                json_object_object_add(o, "reply_len", json_object_new_int64((int64_t)s->reply_len));
                json_object_object_add(o, "duration_ms", json_new_measure(s->ms));
        } else {
                json_object_object_add(o, "status", NULL);
                json_object_object_add(o, "reply_len", NULL);
                json_object_object_add(o, "duration_ms", NULL);
        }
        if (id == STEP_NEGOTIATE && s->replied && s->reply.fw_cnt == 1 && s->reply.msg_cnt == 1) {
                snprintf(hex, sizeof(hex), "%u.%u", s->reply.fw.major, s->reply.fw.minor);
                json_object_object_add(o, "framework_version", json_object_new_string(hex));
                snprintf(hex, sizeof(hex), "%u.%u", s->reply.msg.major, s->reply.msg.minor);
                json_object_object_add(o, "message_version", json_object_new_string(hex));
        }
        if (id == STEP_HOT_BACKUP && s->replied && s->reply.has_flags) {
                snprintf(hex, sizeof(hex), "0x%08" PRIx32, s->reply.flags);
                json_object_object_add(o, "flags", json_object_new_string(hex));
        }
        return o;
}

/* The id of the newest operation in hvvssd's history, -1 if none; < -1 if the call failed. */
static long long newest_operation(struct hvvssctl *ctl, json_object **ret_op)
{
        json_object *params = json_object_new_object(), *reply = NULL, *ops = NULL, *op;
        long long id = -1;
        int r;

        json_object_object_add(params, "limit", json_object_new_int(1));
        r = ctl_call(ctl, "GetHistory", params, &reply);
        json_object_put(params);
        if (r < 0)
                return -2;
        if (json_object_object_get_ex(reply, "operations", &ops) && json_object_array_length(ops) > 0) {
                op = json_object_array_get_idx(ops, 0);
                id = (long long)json_num(op, "id", -1);
                if (ret_op)
                        *ret_op = json_object_get(op);
        }
        json_object_put(reply);
        return id;
}

static void show_frozen_during_hold(struct hvvssctl *ctl)
{
        json_object *reply = NULL, *frozen = NULL;

        if (ctl_call(ctl, "ListFrozen", NULL, &reply) < 0)
                return;
        if (json_object_object_get_ex(reply, "frozen", &frozen) && json_object_array_length(frozen) > 0) {
                printf("  frozen now (hvvssctl frozen):\n");
                output_table(ctl, stdout, &table_frozen, frozen, "    ");
        } else
                printf("  %sfrozen now: nothing%s (did hvvssd serve this FREEZE?)\n", color(ctl, COLOR_YELLOW),
                       color(ctl, COLOR_RESET));
        json_object_put(reply);
}

static void hold(double seconds)
{
        double end = now_ms() + seconds * 1000;

        while (!interrupted) {
                double left = end - now_ms();
                struct timespec ts;

                if (left <= 0)
                        break;
                ts.tv_sec = (time_t)(left / 1000);
                ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1000) * 1e6);
                nanosleep(&ts, NULL);
        }
}

int hostsim_run(struct hvvssctl *ctl)
{
        struct step steps[_STEP_MAX] = {
                [STEP_NEGOTIATE] = { .name = "NEGOTIATE", .timeout_s = 5 },
                [STEP_HOT_BACKUP] = { .name = "HOT_BACKUP", .timeout_s = 35 },
                [STEP_FREEZE] = { .name = "FREEZE", .timeout_s = 910 },
                [STEP_THAW] = { .name = "THAW", .timeout_s = 35 },
        };
        static uint8_t pkt[HVVSS_MAX_PKT_LEN];
        struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
        double hold_s = ctl->hold_s >= 0 ? ctl->hold_s : 2;
        bool daemon_lost = false;
        json_object *status = NULL, *op = NULL, *out;
        long long before;
        uint64_t reqid = ((uint64_t)getpid() << 16) | 1;
        bool all_ok = true, frozen_sent = false;
        int fd, r = 0;
        size_t len;

        /* hvvssd must be the one answering, or there is no history entry to show. */
        r = ctl_call(ctl, "GetStatus", NULL, &status);
        if (r < 0)
                return r;
        if (!ctl->json)
                printf("hvvssd %s on %s (%s), channel %s; playing the host on %s\n", json_str(status, "version") ?: "?",
                       json_str(status, "device") ?: "?", json_str(status, "device_state") ?: "?",
                       json_str(status, "channel_driver") ?: "?", ctl->hostsim);
        json_object_put(status);
        before = newest_operation(ctl, NULL);
        if (before < -1)
                return -EIO;

        fd = open(ctl->hostsim, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT) {
                        ctl_error("no host simulator at %s: load it with 'modprobe hv_vss_hostsim' (not on a real "
                                  "Hyper-V guest: there the host itself sends backups)", ctl->hostsim);
                        return HVVSSCTL_R_FAILED;
                }
                ctl_error("cannot open %s: %s%s", ctl->hostsim, strerror(-r),
                          r == -EACCES || r == -EPERM ? " (run as root)" : "");
                return r == -EACCES || r == -EPERM ? r : HVVSSCTL_R_FAILED;
        }
        drain(fd);
        sigaction(SIGINT, &sa, &old_int);
        sigaction(SIGTERM, &sa, &old_term);

        for (int id = 0; id < _STEP_MAX; id++) {
                struct step *s = &steps[id];

                if (id == STEP_THAW) {
                        if (!frozen_sent)
                                break;
                        if (all_ok && !interrupted) {
                                if (!ctl->json) {
                                        printf("  host takes the snapshot: holding %.1f s\n", hold_s);
                                        show_frozen_during_hold(ctl);
                                        fflush(stdout);
                                }
                                hold(hold_s);
                        }
                } else if (!all_ok || interrupted)
                        break;

                switch (id) {
                case STEP_NEGOTIATE:
                        len = hostpkt_negotiate_default(pkt, sizeof(pkt));
                        break;
                case STEP_HOT_BACKUP:
                        len = hostpkt_vss(pkt, sizeof(pkt), HVVSS_OP_HOT_BACKUP,
                                          hostpkt_vss_default_len(HVVSS_OP_HOT_BACKUP), 0);
                        break;
                case STEP_FREEZE:
                        len = hostpkt_vss(pkt, sizeof(pkt), HVVSS_OP_FREEZE, HOSTPKT_FULL_FREEZE_LEN, 0);
                        frozen_sent = true;
                        break;
                default:
                        len = hostpkt_vss(pkt, sizeof(pkt), HVVSS_OP_THAW, hostpkt_vss_default_len(HVVSS_OP_THAW), 0);
                        break;
                }
                r = transact(fd, reqid++, pkt, len, s);
                if (r < 0 && r != -ETIMEDOUT) {
                        ctl_error("%s on %s: %s", s->name, ctl->hostsim, strerror(-r));
                        all_ok = false;
                } else if (r == -ETIMEDOUT)
                        ctl_error("%s: no reply within %d s", s->name, s->timeout_s);
                if (!step_ok(s, (enum step_id)id))
                        all_ok = false;
                if (!ctl->json)
                        print_step(ctl, s, (enum step_id)id);
        }
        close(fd);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        if (interrupted) {
                ctl_error("interrupted%s", frozen_sent ? "; THAW was sent" : "");
                all_ok = false;
        }

        /* The daemon's record of this backup: newer than the one before, and finished. */
        for (int tries = 0; tries < 20; tries++) {
                long long newest;

                json_object_put(op);
                op = NULL;
                newest = newest_operation(ctl, &op);
                /* A failed call has been reported once; a dead connection stays dead. */
                if (newest < -1) {
                        daemon_lost = true;
                        break;
                }
                if (newest > before && op && strcmp(json_str(op, "result") ?: "", "in-progress") != 0)
                        break;
                usleep(100 * 1000);
        }
        if (op && (long long)json_num(op, "id", -1) <= before) {
                json_object_put(op);
                op = NULL;
        }

        if (ctl->json) {
                json_object *arr = json_object_new_array();

                out = json_object_new_object();
                json_object_object_add(out, "device", json_object_new_string(ctl->hostsim));
                json_object_object_add(out, "hold_s", json_new_measure(hold_s));
                for (int id = 0; id < _STEP_MAX; id++)
                        if (steps[id].sent)
                                json_object_array_add(arr, step_json(&steps[id], (enum step_id)id));
                json_object_object_add(out, "steps", arr);
                json_object_object_add(out, "result", json_object_new_string(all_ok ? "ok" : "failed"));
                json_object_object_add(out, "operation", json_object_get(op));
                r = output_json(stdout, out, false);
                json_object_put(out);
        } else {
                printf("\n");
                if (op)
                        r = output_operation(ctl, stdout, op);
                else if (daemon_lost)
                        printf("hvvssd's record of this backup could not be read: the daemon went away during "
                               "the backup (see journalctl -u hvvssd)\n");
                else
                        printf("hvvssd recorded no operation for this backup (is another daemon holding "
                               "/dev/vmbus/hv_vss?)\n");
                printf("\n%sResult: %s%s\n", color(ctl, all_ok ? COLOR_GREEN : COLOR_RED),
                       all_ok ? "ok: the host would get an application-consistent snapshot"
                              : "failed: the host would fall back to a crash-consistent backup or fail",
                       color(ctl, COLOR_RESET));
        }
        json_object_put(op);
        if (r < 0)
                return r;
        return all_ok ? 0 : HVVSSCTL_R_FAILED;
}
