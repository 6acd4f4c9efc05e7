// SPDX-License-Identifier: GPL-2.0
/*
 * kbits_get: kbitsd's transfer path without the module, for `make bench`
 * on a host that cannot load kbits.ko. It is the code kbitsd runs between
 * a work item and its report: the same engine (libcurl multi on the
 * io_uring loop, fsync before a file counts), the same SQLite store written
 * on every durable change (WAL, synchronous=FULL, batched per loop iteration
 * as kbitsd does), and the same Complete (rename into place, directory
 * fsync). Only the channel to /dev/kbits is missing.
 *
 *   kbits_get [--files-per-job N] [--max-transfers N] [--store DB]
 *             [--kill-at BYTES] [--timeout S] LIST
 *
 * LIST has one "URL PATH" per line; all of them form one job. With --store
 * a job found in DB is resumed instead (the list is then ignored), as
 * kbitsd does after a restart. --kill-at sends the process SIGKILL once
 * file 0 has that many bytes on disk (printing killed_at=BYTES first, and
 * received=BYTES, the body bytes curl had handed over): kill -9 at a
 * known point; a resumed run prints checkpoint=BYTES (file 0's
 * last checkpoint in the store: where a power cut would resume it; with -v
 * the engine logs "resume at BYTES", where this same-boot restart resumes).
 * At the end it prints
 *   files=N bytes=B secs=T user=U sys=S state=STATE resumed=0|1
 * and exits 0 when the job was transferred and completed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "commit.h"
#include "engine.h"
#include "log.h"
#include "loop.h"
#include "store.h"

struct bench {
	struct kb_store *store;
	struct kb_engine *engine;
	uint64_t kill_at;
};

/* The engine's copy already holds the new state. */
static void ev_state(void *ctx, const struct kb_job *job, uint32_t state)
{
	struct bench *b = ctx;

	(void)state;
	if (b->store)
		kb_store_put_state(b->store, job);
}

static void ev_progress(void *ctx, const struct kb_job *job, uint32_t idx, uint64_t on_disk)
{
	struct bench *b = ctx;

	(void)job;
	if (b->kill_at && idx == 0 && on_disk >= b->kill_at) {
		struct kb_engine_stats es;

		/* what the process had received: beyond it, socket buffers */
		kb_engine_get_stats(b->engine, &es);
		printf("killed_at=%llu received=%llu\n", (unsigned long long)on_disk,
		       (unsigned long long)es.body_bytes);
		fflush(stdout);
		raise(SIGKILL);
	}
}

static void ev_file_saved(void *ctx, const struct kb_job *job, uint32_t idx)
{
	struct bench *b = ctx;

	if (b->store)
		kb_store_put_file(b->store, job, idx);
}

/* As kbitsd: the rows of a file never started are committed unsynced. */
static void ev_file_noted(void *ctx, const struct kb_job *job, uint32_t idx)
{
	struct bench *b = ctx;

	if (b->store)
		kb_store_put_file_unsynced(b->store, job, idx);
}

/* As kbitsd: a checkpoint is committed with the next batch, told to nobody. */
static void ev_checkpoint(void *ctx, const struct kb_job *job, uint32_t idx)
{
	struct bench *b = ctx;

	if (b->store)
		kb_store_put_checkpoint(b->store, job, idx);
}

static void ev_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	(void)ctx;
	(void)job;
	fprintf(stderr, "kbits_get: error context %u code %d file %u: %s\n",
		err->context, err->code, err->file, err->desc);
}

/* As kbitsd: the store's batch commits at the end of every loop iteration. */
static void flush_store(void *arg)
{
	struct bench *b = arg;

	kb_store_flush(b->store);
}

static const struct kb_engine_ops ops = {
	.state = ev_state,
	.progress = ev_progress,
	.file_saved = ev_file_saved,
	.file_noted = ev_file_noted,
	.checkpoint = ev_checkpoint,
	.error = ev_error,
};

static struct kb_job *read_list(const char *path)
{
	char url[4096], dest[4096];
	struct kb_job *job;
	uint32_t n = 0, i = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "kbits_get: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while (fscanf(f, "%4095s %4095s", url, dest) == 2)
		n++;
	if (!n) {
		fprintf(stderr, "kbits_get: %s: no \"URL PATH\" line\n", path);
		fclose(f);
		return NULL;
	}
	job = kb_job_new(n);
	rewind(f);
	while (job && i < n && fscanf(f, "%4095s %4095s", url, dest) == 2) {
		if (kb_strset(&job->files[i].url, url) || kb_strset(&job->files[i].path, dest)) {
			kb_job_put(job);
			job = NULL;
			break;
		}
		i++;
	}
	fclose(f);
	return job;
}

static int load_one(void *arg, struct kb_job *job)
{
	struct kb_job **out = arg;

	if (*out) {
		kb_job_put(job);
		return 0;
	}
	*out = job;
	return 0;
}

static double tv_secs(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static const char *state_name(uint32_t s)
{
	static const char *const names[] = {
		"queued", "connecting", "transferring", "suspended", "error",
		"transient_error", "transferred", "acknowledged", "cancelled",
	};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static int usage(void)
{
	fprintf(stderr, "usage: kbits_get [--files-per-job N] [--max-transfers N] [--store DB]\n"
			"                 [--kill-at BYTES] [--timeout S] LIST\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "files-per-job", required_argument, NULL, 'f' },
		{ "max-transfers", required_argument, NULL, 'm' },
		{ "store", required_argument, NULL, 's' },
		{ "kill-at", required_argument, NULL, 'k' },
		{ "timeout", required_argument, NULL, 't' },
		{ 0 }
	};
	struct bench b = { 0 };
	struct kb_engine_config cfg;
	struct kb_engine *e = NULL;
	struct kb_loop *loop = NULL;
	struct kb_job *job = NULL;
	const struct kb_job *cur;
	const char *db = NULL;
	double timeout = 600;
	uint32_t state = 0, r = KBITS_COMPLETE_FAILED, done = 0;
	uint64_t t0, end, bytes = 0;
	struct rusage ru;
	int c, err = 0, resumed = 0, rc = 1;

	kb_engine_config_default(&cfg);
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'f': cfg.files_per_job = (unsigned int)atoi(optarg); break;
		case 'm': cfg.max_transfers = (unsigned int)atoi(optarg); break;
		case 's': db = optarg; break;
		case 'k': b.kill_at = strtoull(optarg, NULL, 0); break;
		case 't': timeout = atof(optarg); break;
		case 'v': kb_log_level++; break;
		default: return usage();
		}
	}
	if (argc - optind != 1 || !cfg.files_per_job || !cfg.max_transfers ||
	    timeout <= 0 || timeout > 86400)
		return usage();

	t0 = kb_now();
	if (db) {
		err = kb_store_open(db, &b.store);
		if (err < 0) {
			fprintf(stderr, "kbits_get: %s: %s\n", db, strerror(-err));
			return 1;
		}
		if (kb_store_load(b.store, load_one, &job) < 0)
			goto out;
		resumed = job != NULL;
		if (job)
			printf("checkpoint=%llu\n", (unsigned long long)job->files[0].bytes_transferred);
		kb_store_batch(b.store, true);
	}
	if (!job) {
		job = read_list(argv[optind]);
		if (!job)
			goto out;
		job->id[0] = 1;
		job->owner_uid = getuid();
		job->owner_gid = getgid();
		job->type = KBITS_JOB_DOWNLOAD;
		job->priority = KBITS_PRIORITY_FOREGROUND;
		job->no_progress_timeout = 600;
		if (b.store && kb_store_put_job(b.store, job) < 0)
			goto out;
	}
	loop = kb_loop_new(256);
	e = loop ? kb_engine_new(loop, &cfg, &ops, &b) : NULL;
	b.engine = e;
	if (!e || kb_engine_run(e, job) < 0)
		goto out;
	if (b.store)
		kb_loop_set_flush(loop, flush_store, &b);
	/* The engine schedules in the loop's idle hook. kbitsd's RUN items
	 * come inside an iteration, so their pass follows at once; here the
	 * job came before the first, which must not wait (it cost 100 ms). */
	kb_loop_run_once(loop, 1);
	end = t0 + (uint64_t)(timeout * 1e9);
	while (kb_now() < end) {
		cur = kb_engine_job(e, job->id);
		state = cur ? cur->state : KBITS_STATE_ERROR;
		if (state == KBITS_STATE_TRANSFERRED || state == KBITS_STATE_ERROR)
			break;
		kb_loop_run_once(loop, 100000000ull);
	}
	cur = kb_engine_job(e, job->id);
	if (state == KBITS_STATE_TRANSFERRED && cur) {
		r = kb_job_complete_files(cur, &done, &err);
		for (uint32_t i = 0; i < cur->nr_files; i++)
			bytes += cur->files[i].bytes_transferred;
		if (b.store) {
			kb_store_delete_job(b.store, job->id);
			kb_store_flush(b.store);
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("files=%u bytes=%llu secs=%.3f user=%.3f sys=%.3f state=%s resumed=%d\n",
	       done, (unsigned long long)bytes, (double)(kb_now() - t0) / 1e9,
	       tv_secs(ru.ru_utime), tv_secs(ru.ru_stime), state_name(state), resumed);
	if (r == KBITS_COMPLETE_ALL)
		rc = 0;
	else
		fprintf(stderr, "kbits_get: not complete: state %s, %u of %u files in place%s%s\n",
			state_name(state), done, job->nr_files, err ? ": " : "",
			err ? strerror(-err) : "");
out:
	if (e)
		kb_engine_free(e);
	kb_loop_free(loop);
	kb_job_put(job);
	kb_store_close(b.store);
	return rc;
}
