// SPDX-License-Identifier: GPL-2.0
/*
 * mkjobs: create N download jobs of one file each through libkbits and
 * resume them (bench-agent-rss: kbitsctl would cost a process per call,
 * far too slow under QEMU TCG for 10,000 jobs).
 *
 *   mkjobs N URL PATH-PATTERN
 *
 * Every job downloads URL; the destination of job i (0 .. N-1) is
 * PATH-PATTERN with its first "%u" replaced by i (an absolute path). Prints
 * "created N jobs in S s" on success; on the first failure, what failed
 * (kbits_strerror) and how many jobs were made, and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kbits.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, unsigned long i, int err)
{
	fprintf(stderr, "mkjobs: %s of job %lu: %s (%lu jobs created)\n", what, i,
		kbits_strerror(err), i);
	return 1;
}

int main(int argc, char **argv)
{
	const char *url, *pattern, *mark;
	unsigned long n, i;
	struct kbits *k;
	char *end, path[4096], name[64];
	double t0;
	int ret;

	if (argc != 4) {
		fprintf(stderr, "usage: mkjobs N URL PATH-PATTERN  (PATH-PATTERN contains %%u)\n");
		return 2;
	}
	errno = 0;
	n = strtoul(argv[1], &end, 10);
	url = argv[2];
	pattern = argv[3];
	mark = strstr(pattern, "%u");
	if (errno || *end || !n || n > 1000000 || !mark || pattern[0] != '/') {
		fprintf(stderr, "mkjobs: N must be 1..1000000 and PATH-PATTERN an absolute path with %%u\n");
		return 2;
	}
	ret = kbits_open(&k);
	if (ret < 0) {
		fprintf(stderr, "mkjobs: /dev/kbits: %s\n",
			ret == -ENOENT ? "missing (kbits.ko is not loaded)" : kbits_strerror(ret));
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct kbits_guid id;
		int len;

		len = snprintf(path, sizeof(path), "%.*s%lu%s", (int)(mark - pattern), pattern, i,
			       mark + 2);
		if (len < 0 || (size_t)len >= sizeof(path)) {
			fprintf(stderr, "mkjobs: destination path too long\n");
			kbits_close(k);
			return 2;
		}
		snprintf(name, sizeof(name), "bench-agent-rss %lu", i);
		ret = kbits_job_create(k, KBITS_JOB_DOWNLOAD, name, &id);
		if (ret < 0) {
			kbits_close(k);
			return fail("create", i, ret);
		}
		ret = kbits_job_add_file(k, &id, url, path);
		if (!ret)
			ret = kbits_job_resume(k, &id);
		if (ret < 0) {
			char g[KBITS_GUID_STRLEN + 1];

			fprintf(stderr, "mkjobs: job %s: %s\n", kbits_guid_format(&id, g),
				kbits_strerror(ret));
			kbits_close(k);
			return fail("add file/resume", i, ret);
		}
	}
	printf("created %lu jobs in %.2f s\n", n, now_s() - t0);
	kbits_close(k);
	return 0;
}
