// SPDX-License-Identifier: GPL-2.0
/*
 * kbits.ko benchmark, run as root in the VM with the module loaded
 * (bench/module/run does that):
 *
 *   - create + add one file + cancel per second, over a few seconds;
 *   - lookup time per job (KBITS_IOC_JOB_GET_INFO of random existing
 *     ids) with 1,000 and with 100,000 jobs in the registry; the
 *     100k/1k ratio must stay under 1.5;
 *   - kernel memory per job: the Slab delta of /proc/meminfo over
 *     100,000 jobs with one file each (plus vmalloc, reported apart);
 *   - a netlink dump (KBITS_CMD_GET_JOB) of the 100,000 jobs.
 *
 * Prints a table, then "key=value" lines that the runner turns into
 * Documentation/performance.md. Exit status 1 when the ratio fails.
 * Environment: KBITS_BENCH_JOBS (100000), KBITS_BENCH_SECONDS (3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/kbits.h>

#include "../../tests/kernel/kbits_rawnl.h"

#define PARAMS "/sys/module/kbits/parameters/"
#define URL "http://127.0.0.1/kbits/bench.bin"
#define PATH "/tmp/kbits-bench/bench.bin"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u64 rs = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static int param_set(const char *name, long v)
{
	char path[128], buf[32];
	int fd, n, ok;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld", v);
	ok = write(fd, buf, n) == n;
	close(fd);
	return ok ? 0 : -1;
}

/* A field of /proc/meminfo in kB. */
static long meminfo(const char *key)
{
	char line[256];
	size_t k = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, k) && line[k] == ':') {
			v = strtol(line + k + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	sync();
	if (fd >= 0) {
		if (write(fd, "3", 1) != 1)
			perror("drop_caches");
		close(fd);
	}
}

static int create_with_file(int fd, __u8 id[16])
{
	struct kbits_job_create c;
	struct kbits_file_spec s;
	struct kbits_job_add_files a;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.type = KBITS_JOB_DOWNLOAD;
	c.display_name = (uintptr_t)"bench";
	c.display_name_len = 5;
	if (ioctl(fd, KBITS_IOC_JOB_CREATE, &c))
		return -errno;
	memcpy(id, c.job_id, 16);
	memset(&s, 0, sizeof(s));
	s.url = (uintptr_t)URL;
	s.url_len = strlen(URL);
	s.path = (uintptr_t)PATH;
	s.path_len = strlen(PATH);
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.count = 1;
	memcpy(a.job_id, id, 16);
	a.files = (uintptr_t)&s;
	a.spec_size = sizeof(s);
	return ioctl(fd, KBITS_IOC_JOB_ADD_FILES, &a) ? -errno : 0;
}

static int cancel(int fd, const __u8 id[16])
{
	struct kbits_job_ref r;

	memset(&r, 0, sizeof(r));
	memcpy(r.job_id, id, 16);
	return ioctl(fd, KBITS_IOC_JOB_CANCEL, &r) ? -errno : 0;
}

/*
 * ns per GET_INFO of a random id among ids[0..n). The ids are drawn into a
 * sample of the same size for both n, so that only the kernel's side of the
 * lookup depends on n (a random walk over 1.6 MB of ids in userspace would
 * cost more than one over 16 kB, under TCG especially).
 */
#define SAMPLE 4096
static double lookup_ns(int fd, __u8 (*ids)[16], long n, long calls)
{
	static __u8 sample[SAMPLE][16];
	struct kbits_job_info info;
	double t0, best = 1e30;
	long i;
	int round;

	for (i = 0; i < SAMPLE; i++)
		memcpy(sample[i], ids[rnd() % n], 16);

	/* Best of 3 rounds: the VM's timing is noisy. */
	for (round = 0; round < 3; round++) {
		t0 = now_s();
		for (i = 0; i < calls; i++) {
			memset(&info, 0, sizeof(info));
			info.size = sizeof(info);
			memcpy(info.job_id, sample[i % SAMPLE], 16);
			if (ioctl(fd, KBITS_IOC_JOB_GET_INFO, &info)) {
				perror("GET_INFO");
				exit(2);
			}
		}
		t0 = (now_s() - t0) * 1e9 / calls;
		if (t0 < best)
			best = t0;
	}
	return best;
}

int main(void)
{
	const char *e = getenv("KBITS_BENCH_JOBS");
	long njobs = e && *e ? strtol(e, NULL, 10) : 100000;
	double secs = getenv("KBITS_BENCH_SECONDS") ? atof(getenv("KBITS_BENCH_SECONDS")) : 3;
	static char buf[1 << 20];
	__u8 (*ids)[16] = calloc(njobs, 16);
	double t0, t, ops_rate, l1k, l100k, dump_s, cancel_s;
	long slab0, slab1, vm0, vm1, n, i, msgs = 0, bytes = 0;
	int fd = open("/dev/kbits", O_RDWR | O_CLOEXEC), family, nl, intr, tries, pass;
	__u8 id[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fd < 0 || !ids) {
		perror("/dev/kbits");
		return 2;
	}
	if (param_set("max_jobs_total", 1000000) || param_set("max_jobs_per_user", 1000000)) {
		perror("raising the limits");
		return 2;
	}
	if (kbnl_resolve(&family, NULL)) {
		fprintf(stderr, "no netlink family %s\n", KBITS_GENL_NAME);
		return 2;
	}

	/* 1. create + add file + cancel */
	n = 0;
	t0 = now_s();
	do {
		for (i = 0; i < 256; i++) {
			if (create_with_file(fd, id) || cancel(fd, id)) {
				perror("create/add/cancel");
				return 2;
			}
		}
		n += 256;
		t = now_s() - t0;
	} while (t < secs);
	ops_rate = n / t;

	/* 2. memory and lookups with every job in place (1,000: step 4) */
	drop_caches();
	slab0 = meminfo("Slab");
	vm0 = meminfo("VmallocUsed");
	for (i = 0; i < njobs; i++)
		if (create_with_file(fd, ids[i])) {
			perror("create");
			return 2;
		}
	drop_caches();
	slab1 = meminfo("Slab");
	vm1 = meminfo("VmallocUsed");
	l100k = lookup_ns(fd, ids, njobs, 200000);

	/* 3. netlink dump of every job */
	nl = kbnl_socket(0, 0);
	if (nl < 0) {
		perror("netlink socket");
		return 2;
	}
	for (tries = 0; tries < 5; tries++) {
		msgs = 0;
		bytes = 0;
		t0 = now_s();
		if (kbnl_send(nl, family, KBITS_CMD_GET_JOB, NLM_F_DUMP, NULL, tries + 1)) {
			perror("dump");
			return 2;
		}
		msgs = kbnl_recv_all(nl, buf, sizeof(buf), &intr, &bytes);
		dump_s = now_s() - t0;
		if (msgs < 0) {
			fprintf(stderr, "dump: %s\n", strerror(-msgs));
			return 2;
		}
		if (!intr)
			break;
	}
	close(nl);

	/* 4. back down to 1,000 jobs, lookups again */
	t0 = now_s();
	for (i = 1000; i < njobs; i++)
		if (cancel(fd, ids[i])) {
			perror("cancel");
			return 2;
		}
	cancel_s = now_s() - t0;
	l1k = lookup_ns(fd, ids, 1000, 200000);
	for (i = 0; i < 1000; i++)
		cancel(fd, ids[i]);
	param_set("max_jobs_total", 300);
	param_set("max_jobs_per_user", 60);

	pass = l100k / l1k < 1.5;
	printf("| measure | value |\n|---|---|\n");
	printf("| create + add file + cancel | %.0f ops/s (%.0f ioctls/s) |\n", ops_rate, 3 * ops_rate);
	printf("| GET_INFO lookup, 1,000 jobs | %.0f ns |\n", l1k);
	printf("| GET_INFO lookup, %ld jobs | %.0f ns |\n", njobs, l100k);
	printf("| lookup ratio %ldk/1k | %.2f (limit 1.5: %s) |\n", njobs / 1000, l100k / l1k,
	       pass ? "PASS" : "FAIL");
	printf("| kernel memory per job (one file) | %.0f bytes slab, %.0f bytes vmalloc |\n",
	       (slab1 - slab0) * 1024.0 / njobs, (vm1 - vm0) * 1024.0 / njobs);
	printf("| netlink dump of %ld jobs | %ld messages in %.2f s: %.0f messages/s, %.1f MB/s |\n",
	       njobs, msgs, dump_s, msgs / dump_s, bytes / dump_s / 1e6);
	printf("| cancel of %ld jobs | %.2f s (%.0f/s) |\n", njobs - 1000, cancel_s,
	       (njobs - 1000) / cancel_s);
	printf("ratio_%s\n", pass ? "PASS" : "FAIL");
	if (msgs != njobs)
		printf("warning: the dump returned %ld messages for %ld jobs\n", msgs, njobs);
	return pass ? 0 : 1;
}
