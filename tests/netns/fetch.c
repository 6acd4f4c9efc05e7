// SPDX-License-Identifier: GPL-2.0
/*
 * kbits_fetch: the kbitsd engine alone (no module) downloading one URL at
 * a priority for at most S seconds, for tests/netns/lp_test.sh. Prints
 *   bytes=N secs=T rate=B/s lp_available=0|1 lp_sockets=N rlp_cuts=N state=S
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "commit.h"
#include "log.h"
#include "loop.h"
#include "sched.h"

static uint64_t on_disk;

static void o_progress(void *ctx, const struct kb_job *job, uint32_t f, uint64_t n)
{
	(void)ctx;
	(void)job;
	(void)f;
	if (n > on_disk)
		on_disk = n;
}

static const struct kb_engine_ops ops = { .progress = o_progress };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "priority", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "no-rlp", no_argument, NULL, 'n' },
		{ 0 }
	};
	struct kb_engine_config cfg;
	struct kb_engine_stats st;
	struct kb_engine *e;
	struct kb_loop *loop;
	struct kb_job *job;
	const struct kb_job *cur;
	double secs = 10;
	uint32_t priority = KBITS_PRIORITY_LOW, state = 0;
	uint64_t t0, t1, end;
	int c;

	kb_engine_config_default(&cfg);
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'p': priority = (uint32_t)atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'n': cfg.no_rlp = true; break;
		case 'v': kb_log_level++; break;
		default: return 2;
		}
	}
	if (argc - optind != 2 || priority > KBITS_PRIORITY_LOW || secs <= 0 || secs > 3600) {
		fprintf(stderr, "usage: kbits_fetch [--priority 0-3] [--seconds S] [--no-rlp] URL DEST\n");
		return 2;
	}
	loop = kb_loop_new(256);
	e = loop ? kb_engine_new(loop, &cfg, &ops, NULL) : NULL;
	job = kb_job_new(1);
	if (!e || !job)
		return 1;
	job->id[0] = 1;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->priority = priority;
	job->no_progress_timeout = 600;
	kb_strset(&job->files[0].url, argv[optind]);
	kb_strset(&job->files[0].path, argv[optind + 1]);
	t0 = kb_now();
	end = t0 + (uint64_t)(secs * 1e9);
	kb_engine_run(e, job);
	while (kb_now() < end) {
		cur = kb_engine_job(e, job->id);
		state = cur ? cur->state : 0;
		if (state == KBITS_STATE_TRANSFERRED || state == KBITS_STATE_ERROR)
			break;
		kb_loop_run_once(loop, 20000000ull);
	}
	t1 = kb_now();
	kb_engine_get_stats(e, &st);
	printf("bytes=%llu secs=%.2f rate=%.0f lp_available=%d lp_sockets=%llu rlp_cuts=%llu state=%u\n",
	       (unsigned long long)on_disk, (double)(t1 - t0) / 1e9,
	       (double)on_disk / ((double)(t1 - t0) / 1e9), kb_sched_lp_available(),
	       (unsigned long long)st.lp_sockets, (unsigned long long)st.rlp_cuts, state);
	fflush(stdout);
	cur = kb_engine_job(e, job->id);
	if (cur) {
		struct kb_job *copy = kb_job_dup(cur);

		kb_engine_stop(e, job->id);
		for (int i = 0; i < 100 && kb_engine_job(e, job->id); i++)
			kb_loop_run_once(loop, 20000000ull);
		if (copy)
			kb_job_cancel_files(copy);
		kb_job_put(copy);
	}
	kb_engine_free(e);
	kb_loop_free(loop);
	kb_job_put(job);
	return 0;
}
