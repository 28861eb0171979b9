// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-stall: how long an application writing to a filesystem is blocked
 * by a freeze (run inside the benchmark VM by bench/freeze-latency.sh).
 *
 *   bench-stall [--interval-ms N] DIR...
 *
 * One thread per DIR rewrites 512 bytes at offset 0 of DIR/.bench-stall
 * every N ms (default 5), without fsync: each write() takes the
 * filesystem's write reference (sb_start_write), so it blocks from the
 * moment a freeze starts until the thaw.  A thread remembers the largest
 * gap between two of its completed writes.
 *
 * On SIGUSR1 it waits until every thread has completed one more write (so
 * a write still blocked is counted, not lost), then prints one line and
 * starts a new window:
 *
 *   stall seq=K max_ms=M DIR=M1 DIR=M2 ...
 *
 * M is the largest gap over all DIRs in the window, in whole milliseconds.
 * SIGTERM or SIGINT ends it (exit 0).  The files are left in place: one
 * may be on a frozen filesystem.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct writer {
	const char *dir;
	int fd;
	pthread_t thread;
	atomic_ullong writes;		/* completed writes */
	atomic_llong max_gap_ns;	/* in the current window */
};

static long interval_ms = 5;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char buf[512];
	struct timespec pause = {
		.tv_sec = interval_ms / 1000,
		.tv_nsec = (interval_ms % 1000) * 1000000L,
	};
	long long last = now_ns();
	unsigned long long n = 0;

	memset(buf, 'w', sizeof(buf));
	for (;;) {
		long long t, gap;

		snprintf(buf, sizeof(buf), "%llu\n", n++);
		if (pwrite(w->fd, buf, sizeof(buf), 0) < 0) {
			fprintf(stderr, "bench-stall: write to %s: %s\n", w->dir,
				strerror(errno));
			exit(2);
		}
		t = now_ns();
		gap = t - last;
		last = t;
		if (gap > atomic_load(&w->max_gap_ns))
			atomic_store(&w->max_gap_ns, gap);
		atomic_fetch_add(&w->writes, 1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static long ms_round(long long ns)
{
	return (long)((ns + 500000) / 1000000);
}

int main(int argc, char **argv)
{
	struct writer *w;
	int nw, i, first = 1;
	unsigned long seq = 0;
	sigset_t set;

	if (argc > 2 && strcmp(argv[1], "--interval-ms") == 0) {
		interval_ms = strtol(argv[2], NULL, 10);
		if (interval_ms < 1 || interval_ms > 1000) {
			fprintf(stderr, "bench-stall: --interval-ms takes 1 to 1000\n");
			return 2;
		}
		first = 3;
	}
	nw = argc - first;
	if (nw < 1) {
		fprintf(stderr, "usage: bench-stall [--interval-ms N] DIR...\n");
		return 2;
	}
	w = calloc((size_t)nw, sizeof(*w));
	if (!w)
		return 2;

	/* Threads inherit this mask: only sigwait() below sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	for (i = 0; i < nw; i++) {
		char path[4096];

		w[i].dir = argv[first + i];
		snprintf(path, sizeof(path), "%s/.bench-stall", w[i].dir);
		w[i].fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (w[i].fd < 0) {
			fprintf(stderr, "bench-stall: %s: %s\n", path, strerror(errno));
			return 2;
		}
		if (pthread_create(&w[i].thread, NULL, writer_main, &w[i])) {
			fprintf(stderr, "bench-stall: pthread_create failed\n");
			return 2;
		}
	}
	printf("stall ready writers=%d interval_ms=%ld\n", nw, interval_ms);
	fflush(stdout);

	for (;;) {
		unsigned long long *base;
		long long max = 0;
		int sig;

		if (sigwait(&set, &sig))
			return 2;
		if (sig != SIGUSR1)
			return 0;
		base = calloc((size_t)nw, sizeof(*base));
		if (!base)
			return 2;
		for (i = 0; i < nw; i++)
			base[i] = atomic_load(&w[i].writes);
		for (i = 0; i < nw; i++) {
			struct timespec ms = { 0, 1000000L };

			while (atomic_load(&w[i].writes) == base[i])
				nanosleep(&ms, NULL);
		}
		free(base);
		for (i = 0; i < nw; i++) {
			long long g = atomic_load(&w[i].max_gap_ns);

			if (g > max)
				max = g;
		}
		printf("stall seq=%lu max_ms=%ld", ++seq, ms_round(max));
		for (i = 0; i < nw; i++) {
			printf(" %s=%ld", w[i].dir,
			       ms_round(atomic_exchange(&w[i].max_gap_ns, 0)));
		}
		printf("\n");
		fflush(stdout);
	}
}
