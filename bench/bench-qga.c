// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-qga: one QEMU guest agent command over its unix socket, timed
 * (run inside the benchmark VM by bench/freeze-latency.sh).
 *
 *   bench-qga [--wait S] SOCKET JSON
 *
 * Connects to qemu-ga listening on SOCKET (qemu-ga -m unix-listen -p
 * SOCKET), sends JSON plus a newline, reads the one-line answer and prints
 *
 *   reply ms=N {"return": ...}
 *
 * ms is from the send to the complete answer (the connect is not counted),
 * in whole milliseconds, like vss-host's ms= field.  Exit status: 0 a
 * "return" answer, 1 an "error" answer, 2 usage or I/O error, 3 no answer
 * within S seconds (default 300).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char ans[65536];
	size_t have = 0;
	long long t0, deadline;
	int wait_s = 300, fd, first = 1;
	const char *sock, *json;

	if (argc > 2 && strcmp(argv[1], "--wait") == 0) {
		wait_s = atoi(argv[2]);
		first = 3;
	}
	if (argc - first != 2 || wait_s < 1) {
		fprintf(stderr, "usage: bench-qga [--wait S] SOCKET JSON\n");
		return 2;
	}
	sock = argv[first];
	json = argv[first + 1];
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bench-qga: socket path too long\n");
		return 2;
	}
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bench-qga: connect %s: %s\n", sock, strerror(errno));
		return 2;
	}

	t0 = now_ms();
	deadline = t0 + (long long)wait_s * 1000;
	if (dprintf(fd, "%s\n", json) < 0) {
		fprintf(stderr, "bench-qga: send: %s\n", strerror(errno));
		return 2;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t n;
		char *nl;

		if (left <= 0) {
			printf("no reply\n");
			return 3;
		}
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bench-qga: poll: %s\n", strerror(errno));
			return 2;
		}
		if (!p.revents)
			continue;
		n = read(fd, ans + have, sizeof(ans) - 1 - have);
		if (n <= 0) {
			fprintf(stderr, "bench-qga: connection closed before the answer\n");
			return 2;
		}
		have += (size_t)n;
		ans[have] = '\0';
		nl = strchr(ans, '\n');
		if (!nl && have < sizeof(ans) - 1)
			continue;
		if (nl)
			*nl = '\0';
		printf("reply ms=%lld %s\n", now_ms() - t0, ans);
		close(fd);
		return strstr(ans, "\"return\"") ? 0 : 1;
	}
}
