// SPDX-License-Identifier: GPL-2.0-only
/*
 * fuzz-replay: feed files (or every file in directories) to the fuzzer's
 * entry point with the normal compiler, so the seed corpus and any saved
 * crash inputs are checked by every build, sanitizers included.
 * Exits non-zero if an argument cannot be read or no input was found: an
 * empty run must not pass as a successful one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-proto.h"

#define REPLAY_MAX_INPUT	(1u << 20)

/* Returns 0 and runs the input, or -errno. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *data;
	size_t n;
	int r = 0;

	if (!f)
		return -errno;
	data = malloc(REPLAY_MAX_INPUT);
	if (!data) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(data, 1, REPLAY_MAX_INPUT, f);
	if (ferror(f))
		r = -EIO;
	else
		LLVMFuzzerTestOneInput(data, n);
	free(data);
	fclose(f);
	return r;
}

/* Replays every regular file in @dir; adds to *count. */
static int replay_dir(const char *dir, unsigned int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int r = 0;

	if (!d)
		return -errno;
	while (r == 0 && (e = readdir(d))) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = replay_file(path);
		if (r == 0)
			(*count)++;
	}
	closedir(d);
	return r;
}

static int replay_arg(const char *arg, unsigned int *count)
{
	struct stat st;
	int r;

	if (stat(arg, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return replay_dir(arg, count);
	r = replay_file(arg);
	if (r == 0)
		(*count)++;
	return r;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		int r = replay_arg(argv[i], &count);

		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
			return 1;
		}
	}
	if (count == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	printf("replayed %u inputs\n", count);
	return 0;
}
