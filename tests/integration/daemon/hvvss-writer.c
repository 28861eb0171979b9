/*
 * hvvss-writer FILE ACKLOG: appends 4 KiB records (record i at offset
 * i * 4096, filled with its sequence number) to FILE, fsync()ing each, and
 * after each fsync returns logs "SEQ REALTIME_NS" to ACKLOG (which must
 * live on a filesystem that is never frozen). Runs until SIGTERM/SIGINT.
 *
 * hvvss-writer --verify FILE ACKLOG: checks that every acknowledged record
 * is in FILE intact; prints "verified N" or the first bad record; exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void fill(char *buf, uint64_t seq)
{
        for (size_t i = 0; i < REC; i += sizeof(seq))
                memcpy(buf + i, &seq, sizeof(seq));
}

static int verify(const char *file, const char *acklog)
{
        FILE *a = fopen(acklog, "re");
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        char want[REC], got[REC];
        uint64_t seq, n = 0;
        long long ns;

        if (!a || fd < 0) {
                fprintf(stderr, "hvvss-writer: cannot open %s or %s: %m\n", file, acklog);
                return 1;
        }
        while (fscanf(a, "%" SCNu64 " %lld", &seq, &ns) == 2) {
                fill(want, seq);
                if (pread(fd, got, REC, (off_t)(seq * REC)) != REC || memcmp(want, got, REC) != 0) {
                        printf("LOST record %" PRIu64 " (acknowledged at %lld)\n", seq, ns);
                        return 1;
                }
                n++;
        }
        printf("verified %" PRIu64 "\n", n);
        return n > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        struct sigaction sa = { .sa_handler = on_signal };
        char buf[REC];
        FILE *ack;
        int fd;

        if (argc == 4 && strcmp(argv[1], "--verify") == 0)
                return verify(argv[2], argv[3]);
        if (argc != 3) {
                fprintf(stderr, "usage: hvvss-writer FILE ACKLOG | --verify FILE ACKLOG\n");
                return 64;
        }
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ack = fopen(argv[2], "we");
        if (fd < 0 || !ack) {
                fprintf(stderr, "hvvss-writer: cannot open %s or %s: %m\n", argv[1], argv[2]);
                return 1;
        }
        for (uint64_t seq = 0; !stop; seq++) {
                struct timespec ts;

                if (seq >= 16384) {     /* 64 MiB written: idle until stopped */
                        seq--;
                        usleep(50000);
                        continue;
                }
                fill(buf, seq);
                if (pwrite(fd, buf, REC, (off_t)(seq * REC)) != REC) {
                        if (errno == EINTR && stop)
                                break;
                        fprintf(stderr, "hvvss-writer: write: %m\n");
                        return 1;
                }
                if (fsync(fd) < 0) {
                        if (errno == EINTR && stop)
                                break;
                        fprintf(stderr, "hvvss-writer: fsync: %m\n");
                        return 1;
                }
                clock_gettime(CLOCK_REALTIME, &ts);
                fprintf(ack, "%" PRIu64 " %lld\n", seq, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
                fflush(ack);
                if (seq % 64 == 63)
                        usleep(20000);  /* stay small: a 64 MB test fs must not fill up */
                else
                        usleep(2000);
        }
        fclose(ack);
        close(fd);
        return 0;
}
