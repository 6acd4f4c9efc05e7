// SPDX-License-Identifier: GPL-2.0
/*
 * kbitsd's transfer engine on the host, without the module: real nginx and
 * the project's fault server on 127.0.0.1, real files, sha256 of results.
 */
#include "harness.h"

#include "engine.h"
#include "httpreq.h"
#include "commit.h"
#include "tempfile.h"
#include "loop.h"
#include "log.h"

struct obs {
	uint32_t state;
	int nstates, nerrors, files_done, saves, progress_calls, stopped, ckpts;
	int noted;			/* rows of files never started (unsynced) */
	uint64_t max_unsynced;		/* bytes written beyond a checkpoint, most seen */
	int saves_at_transferred;	/* file rows saved when TRANSFERRED came */
	uint64_t syncs_at_transferred;
	uint32_t states[64];
	struct kb_error err;
	double first_transient, requeued;
};

static struct obs obs;
static struct kb_loop *loop;
static struct kb_engine *engine;
static int nginx_port, fault_port, tls_port;

static void o_state(void *ctx, const struct kb_job *job, uint32_t state)
{
	(void)ctx;
	(void)job;
	obs.state = state;
	if (state == KBITS_STATE_TRANSFERRED) {
		struct kb_engine_stats es;

		kb_engine_get_stats(engine, &es);
		obs.saves_at_transferred = obs.saves;
		obs.syncs_at_transferred = es.syncs;
	}
	if (obs.nstates < 64)
		obs.states[obs.nstates] = state;
	obs.nstates++;
	if (state == KBITS_STATE_TRANSIENT_ERROR && !obs.first_transient)
		obs.first_transient = t_now();
	if (state == KBITS_STATE_QUEUED && obs.first_transient && !obs.requeued)
		obs.requeued = t_now();
}

static void o_progress(void *ctx, const struct kb_job *job, uint32_t f, uint64_t on_disk)
{
	(void)ctx;
	obs.progress_calls++;
	/* bytes written beyond the last checkpoint: bounded only by checkpoint_bytes */
	if (on_disk > job->files[f].bytes_transferred &&
	    on_disk - job->files[f].bytes_transferred > obs.max_unsynced)
		obs.max_unsynced = on_disk - job->files[f].bytes_transferred;
}

/* What the store would hold: the job as of its last save. */
static struct kb_job *last_saved;

static void o_saved(void *ctx, const struct kb_job *job, uint32_t f)
{
	(void)ctx;
	(void)f;
	obs.saves++;
	kb_job_put(last_saved);
	last_saved = kb_job_dup(job);
}

static void o_checkpoint(void *ctx, const struct kb_job *job, uint32_t f)
{
	obs.ckpts++;
	o_saved(ctx, job, f);
	obs.saves--;
}

static void o_noted(void *ctx, const struct kb_job *job, uint32_t f)
{
	obs.noted++;
	o_saved(ctx, job, f);
	obs.saves--;
}

static void o_done(void *ctx, const struct kb_job *job, uint32_t f)
{
	(void)ctx;
	(void)job;
	(void)f;
	obs.files_done++;
}

static void o_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	(void)ctx;
	(void)job;
	obs.err = *err;
	obs.nerrors++;
}

static void o_stopped(void *ctx, const uint8_t id[16])
{
	(void)ctx;
	(void)id;
	obs.stopped++;
}

static const struct kb_engine_ops ops = {
	.state = o_state, .progress = o_progress, .file_saved = o_saved, .file_noted = o_noted,
	.checkpoint = o_checkpoint, .file_done = o_done, .error = o_error, .stopped = o_stopped,
};

static uint8_t next_id = 1;

static struct kb_job *job_make(int n, const char *const urls[], const char *const names[])
{
	struct kb_job *job = kb_job_new((uint32_t)n);
	char p[512];

	memset(job->id, 0, 16);
	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->min_retry_delay = 0;
	job->no_progress_timeout = 600;
	for (int i = 0; i < n; i++) {
		t_path(p, sizeof(p), names[i]);
		kb_strset(&job->files[i].url, urls[i]);
		kb_strset(&job->files[i].path, p);
	}
	return job;
}

static char *url_of(int port, const char *name)
{
	static char bufs[8][512];
	static int k;
	char *b = bufs[k++ % 8];

	snprintf(b, 512, "http://127.0.0.1:%d/%s", port, name);
	return b;
}

/* Runs the loop until the job reaches a state in mask or secs pass. */
static uint32_t run_until(const uint8_t id[16], uint32_t mask, double secs)
{
	double end = t_now() + secs;

	while (t_now() < end) {
		const struct kb_job *j = kb_engine_job(engine, id);

		if (j && (mask & (1u << j->state)))
			return j->state;
		kb_loop_run_once(loop, 50000000ull);
	}
	return ~0u;
}

static void obs_reset(void)
{
	memset(&obs, 0, sizeof(obs));
	obs.state = ~0u;
}

/* Stops the job, waits for the drain; returns the job as last saved
 * (what kbitsd's store holds), or the engine's copy if never saved. */
static struct kb_job *job_finish(const uint8_t id[16])
{
	const struct kb_job *j = kb_engine_job(engine, id);
	struct kb_job *copy = j ? kb_job_dup(j) : NULL;
	double end = t_now() + 10;
	int before = obs.stopped;

	kb_engine_stop(engine, id);
	while (obs.stopped == before && t_now() < end)
		kb_loop_run_once(loop, 50000000ull);
	if (copy && last_saved && !memcmp(last_saved->id, id, 16)) {
		/* the file rows come from the saves, the rest from the copy */
		for (uint32_t i = 0; i < copy->nr_files && i < last_saved->nr_files; i++) {
			struct kb_file *d = &copy->files[i], *s = &last_saved->files[i];

			kb_strset(&d->url, s->url);
			kb_strset(&d->temp_name, s->temp_name);
			kb_strset(&d->etag, s->etag);
			kb_strset(&d->last_modified, s->last_modified);
			kb_strset(&d->final_url, s->final_url);
			kb_strset(&d->resp_headers, s->resp_headers);
			d->bytes_total = s->bytes_total;
			d->bytes_transferred = s->bytes_transferred;
			d->flags = s->flags;
			d->ranges_ok = s->ranges_ok;
			memcpy(d->sha256, s->sha256, sizeof(d->sha256));
		}
	}
	return copy;
}

static bool same_file(const char *a_name, const char *b_name)
{
	char a[512], b[512], ha[65], hb[65];

	t_path(a, sizeof(a), a_name);
	t_path(b, sizeof(b), b_name);
	t_sha256(a, ha);
	t_sha256(b, hb);
	return ha[0] && !strcmp(ha, hb);
}

static void test_nginx_sizes(void)
{
	static const char *const src[] = { "www/empty", "www/one", "www/1m", "www/64m" };
	const char *urls[4] = { url_of(nginx_port, "empty"), url_of(nginx_port, "one"),
				url_of(nginx_port, "1m"), url_of(nginx_port, "64m") };
	static const char *const dst[] = { "dl/empty", "dl/one", "dl/1m", "dl/64m" };
	struct kb_job *job = job_make(4, urls, dst), *last;
	uint32_t files_done = 0, st;
	int err = 0;
	double t0;

	obs_reset();
	t0 = t_now();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 60);
	double secs = t_now() - t0;
	check(st == KBITS_STATE_TRANSFERRED, "nginx: a job of 0 B, 1 B, 1 MiB and 64 MiB files is TRANSFERRED (state %d, %s)",
	      (int)st, obs.nerrors ? obs.err.desc : "no error");
	diag("65 MiB in %.3f s: %.0f MiB/s including fsync, %d progress calls, %d saves",
	     secs, 65.0 / secs, obs.progress_calls, obs.saves);
	check(obs.files_done == 4, "nginx: four files done (got %d)", obs.files_done);
	{
		struct kb_engine_stats es;

		kb_engine_get_stats(engine, &es);
		diag("engine: %llu writes, %llu fsyncs, %llu polls, %llu pauses for back-pressure",
		     (unsigned long long)es.writes, (unsigned long long)es.syncs, (unsigned long long)es.polls,
		     (unsigned long long)es.pauses);
		check(es.syncs >= 3, "nginx: every non-empty file fsynced (%llu fsyncs)",
		      (unsigned long long)es.syncs);
		/*
		 * checkpoint_bytes is 4 MiB here: at most 16 in 64 MiB. How many
		 * finish before the body does depends on fsync's latency against a
		 * transfer of a fraction of a second (0 was seen on a loaded disk):
		 * test_checkpoints_slow shows that they happen.
		 */
		check(obs.ckpts <= 16 && es.checkpoints == (uint64_t)obs.ckpts,
		      "nginx: the 64 MiB file got at most 16 checkpoints, one per 4 MiB (%d)", obs.ckpts);
		/* curl is not paused while a checkpoint runs: bytes beyond the last
		 * checkpoint exceed checkpoint_bytes (the old sync bound held them under it) */
		check(obs.max_unsynced > (4u << 20),
		      "nginx: writes went on during checkpoints: up to %llu bytes beyond the last one",
		      (unsigned long long)obs.max_unsynced);
		check(es.pauses > 0, "nginx: curl was paused while 4 writes were in flight (%llu pauses)",
		      (unsigned long long)es.pauses);
	}
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &files_done, &err) == KBITS_COMPLETE_ALL && files_done == 4,
	      "nginx: Complete renames all four into place (%u, error %d)", files_done, err);
	for (int i = 0; i < 4; i++)
		check(same_file(src[i], dst[i]), "nginx: %s has the sha256 of the source", dst[i]);
	{
		char p[512];
		struct stat sb = { 0 };

		t_path(p, sizeof(p), "dl/1m");
		stat(p, &sb);
		check((sb.st_mode & 0777) == 0644, "nginx: the result is mode 0644 (0%o)",
		      sb.st_mode & 0777);
	}
	kb_job_put(last);
	kb_job_put(job);
}

/*
 * TRANSFERRED means durable: 100 small files are synced in one batch at
 * the job's end (syncfs: one per filesystem), and their rows are saved
 * before the state turns TRANSFERRED; 3 files take one fdatasync each and
 * one fsync of their directory.
 */
/* At 32 MiB/s the body lasts 2 s: checkpoints complete while it comes. */
static void test_checkpoints_slow(void)
{
	const char *urls[1] = { url_of(nginx_port, "slow/64m") };
	static const char *const dst[] = { "dl/slow64m" };
	struct kb_job *job = job_make(1, urls, dst), *last;
	struct kb_engine_stats es;
	uint32_t st, files_done = 0;
	bool done;
	int err = 0;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 60);
	check(st == KBITS_STATE_TRANSFERRED, "slow: 64 MiB at 32 MiB/s is TRANSFERRED (state %d, %s)",
	      (int)st, obs.nerrors ? obs.err.desc : "no error");
	kb_engine_get_stats(engine, &es);
	check(obs.ckpts >= 1 && obs.ckpts <= 16 && es.checkpoints == (uint64_t)obs.ckpts,
	      "slow: checkpoints completed during the transfer, at most one per 4 MiB (%d, engine %llu)",
	      obs.ckpts, (unsigned long long)es.checkpoints);
	last = job_finish(job->id);
	done = last && kb_job_complete_files(last, &files_done, &err) == KBITS_COMPLETE_ALL;
	check(done && files_done == 1, "slow: Complete renames it into place (%u, error %d)",
	      files_done, err);
	check(same_file("www/64m", "dl/slow64m"), "slow: the file equals its source");
	kb_job_put(last);
	kb_job_put(job);
}

static void test_many_files(void)
{
	enum { N = 100 };
	static char ubuf[N][128], nbuf[N][64];
	const char *urls[N], *names[N];
	struct kb_engine_stats es0;
	struct kb_job *job, *last;
	char p[512];
	uint32_t st, fd = 0;
	int err = 0;

	t_mkdir("www/many", 0755);
	for (int i = 0; i < N; i++) {
		snprintf(p, sizeof(p), "%s/www/many/f%d", t_dir, i);
		t_write_file(p, 4096 + (uint64_t)i, (uint32_t)i + 100);
		snprintf(ubuf[i], sizeof(ubuf[i]), "http://127.0.0.1:%d/many/f%d", nginx_port, i);
		snprintf(nbuf[i], sizeof(nbuf[i]), "dl/f%d", i);
		urls[i] = ubuf[i];
		names[i] = nbuf[i];
	}
	for (int round = 0; round < 2; round++) {
		int n = round ? 3 : N;

		job = job_make(n, urls, names);
		obs_reset();
		kb_engine_get_stats(engine, &es0);
		kb_engine_run(engine, job);
		/*
		 * Under valgrind on a loaded host 100 files took just over 100 s
		 * (CI run of 2026-11-29: TRANSFERRED soon after the bound): the
		 * bound is for a hang, not a measure.
		 */
		st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 280);
		check(st == KBITS_STATE_TRANSFERRED, "%d files: TRANSFERRED (state %d)", n, (int)st);
		check(obs.saves_at_transferred >= n,
		      "%d files: every file's row was saved before TRANSFERRED (%d saves)", n,
		      obs.saves_at_transferred);
		/* the rows that promise nothing cost no WAL sync (store.h) */
		check(obs.saves_at_transferred == n && obs.noted == 2 * n,
		      "%d files never started: their new temporary files and first responses noted "
		      "unsynced (%d), only the complete rows saved with TRANSFERRED (%d)", n, obs.noted,
		      obs.saves_at_transferred);
		diag("%d files: %llu syncs to TRANSFERRED", n,
		     (unsigned long long)(obs.syncs_at_transferred - es0.syncs));
		if (round)
			check(obs.syncs_at_transferred - es0.syncs == 4,
			      "3 files: three fdatasyncs and one directory fsync before TRANSFERRED (%llu)",
			      (unsigned long long)(obs.syncs_at_transferred - es0.syncs));
#ifdef KB_SYNCFS_MIN	/* the valgrind build (agent.mk): fdatasyncs, never syncfs */
		else
			check(obs.syncs_at_transferred - es0.syncs == (uint64_t)n + 1,
			      "%d files: one batch of fdatasyncs and one directory fsync before TRANSFERRED (%llu)",
			      n, (unsigned long long)(obs.syncs_at_transferred - es0.syncs));
#else
		else
			check(obs.syncs_at_transferred - es0.syncs == 1,
			      "%d files: one syncfs before TRANSFERRED, not one fsync per file (%llu)", n,
			      (unsigned long long)(obs.syncs_at_transferred - es0.syncs));
#endif
		last = job_finish(job->id);
		check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL,
		      "%d files: Complete (error %d)", n, err);
		check(same_file("www/many/f0", "dl/f0") && same_file("www/many/f2", "dl/f2"),
		      "%d files: the results match (sha256)", n);
		kb_job_put(last);
		kb_job_put(job);
	}
}

/*
 * A power cut inside Complete: some files were renamed into place, their
 * temporary files are gone. Complete again must count them as in place,
 * and must not count an older file of the same size that was there before
 * the job (its temporary file lost).
 */
static void test_complete_again_after_cut(void)
{
	static const char *const urls[] = { "http://127.0.0.1:9/a", "http://127.0.0.1:9/b",
					     "http://127.0.0.1:9/c" };
	static const char *const dst[] = { "dl/cut-a", "dl/cut-b", "dl/cut-c" };
	struct kb_job *job = job_make(3, urls, dst);
	char tmp[600];
	uint32_t done = 0, r;
	int err = 0;

	/* c: a file of the same size that was there before the job */
	t_write_file(job->files[2].path, 5000, 9);
	job->creation_time = (uint64_t)time(NULL) * 1000000000ull + 2000000000ull;
	for (int i = 0; i < 3; i++) {
		struct kb_file *f = &job->files[i];

		snprintf(tmp, sizeof(tmp), ".cut-%d.kbits", i);
		kb_strset(&f->temp_name, tmp);
		f->bytes_total = f->bytes_transferred = 5000;
		f->flags |= KBITS_FILE_COMPLETED;
	}
	/* a and b were written during the job (mtime after creation_time) */
	for (int i = 0; i < 2; i++) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

		t_write_file(job->files[i].path, 5000, (uint32_t)i);
		ts[1].tv_sec = (time_t)(job->creation_time / 1000000000ull) + 1;
		utimensat(AT_FDCWD, job->files[i].path, ts, 0);
	}
	/* the cut came before b's rename: b's temporary file is still there */
	snprintf(tmp, sizeof(tmp), "%s", job->files[1].path);
	*strrchr(tmp, '/') = 0;
	snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "/%s", job->files[1].temp_name);
	check(rename(job->files[1].path, tmp) == 0, "cut: b is still in its temporary file");
	r = kb_job_complete_files(job, &done, &err);
	check(r == KBITS_COMPLETE_PARTIAL && done == 2 && err == -ENOENT,
	      "Complete again: a (renamed before the cut) and b count, c (an older file) does not "
	      "(result %u, %u done, error %d)", r, done, err);
	check(access(job->files[1].path, F_OK) == 0 && access(tmp, F_OK) != 0,
	      "Complete again: b is renamed into place");
	kb_job_put(job);
}

static void test_resume_after_drop(void)
{
	const char *urls[] = { "" };
	static const char *const dst[] = { "dl/drop.bin" };
	char u[512], log[4096];
	struct kb_job *job, *last;
	uint32_t st, fd = 0;
	int err;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/drop.bin?drop=300000", fault_port);
	urls[0] = u;
	job = job_make(1, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "drop: TRANSFERRED after a connection dropped at 300000 bytes (state %d)",
	      (int)st);
	check(obs.nerrors == 1 && obs.err.transient && obs.err.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT,
	      "drop: one transient GENERAL_TRANSPORT error (%d errors, code %d: %s)", obs.nerrors, obs.err.code,
	      obs.err.desc);
	t_fault_log("drop.bin", log, sizeof(log));
	diag("server saw: %s", log);
	check(strstr(log, "GET 200 range=- if_range=- sent=300000|drop.bin GET 206 range=bytes=300000- if_range=\"") != NULL,
	      "drop: the retry asked Range: bytes=300000- with If-Range: <ETag> and got 206");
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL, "drop: Complete");
	check(same_file("www/drop.bin", "dl/drop.bin"), "drop: the resumed file has the source's sha256");
	kb_job_put(last);
	kb_job_put(job);
}

static void test_changed_etag(void)
{
	const char *urls[1];
	static const char *const dst[] = { "dl/change.bin" };
	char u[512], log[4096];
	struct kb_job *job, *last;
	uint32_t st, fd = 0;
	int err;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/change.bin?drop=200000&change=1", fault_port);
	urls[0] = u;
	job = job_make(1, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "change: TRANSFERRED (state %d)", (int)st);
	t_fault_log("change.bin", log, sizeof(log));
	diag("server saw: %s", log);
	check(strstr(log, "|change.bin GET 200 range=bytes=200000- if_range=\"") != NULL,
	      "change: If-Range with the old ETag got the whole new file (200)");
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL, "change: Complete");
	check(same_file("www/change.bin.v2", "dl/change.bin"),
	      "change: the result is the new version, restarted from zero (sha256)");
	kb_job_put(last);
	kb_job_put(job);
}

/*
 * SetRemoteName / ReplaceRemotePrefix reach the engine as a new description
 * of a job it holds (kbitsd's CHANGED: kb_engine_run). A job waiting to
 * retry after a drop at 300000 bytes gets the URL to; its bytes and
 * validators are kept and the resume asks the new server with If-Range:
 * the same bytes (same ETag) continue (206), other bytes come whole (200)
 * and the file restarts. The file's response headers are the last answer's.
 */
static void url_change(const char *from, const char *to, const char *src, bool same)
{
	char u[512], u2[512], log[4096], want[96], d[64];
	const char *dst[] = { d };
	const char *urls[1];
	const char *h;
	struct kb_job *job, *nj, *last;
	uint32_t st, fd = 0;
	int err;

	/* the fault server drops only the first request of a name */
	snprintf(d, sizeof(d), "dl/urlchg-%s", to);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/%s?drop=300000", fault_port, from);
	urls[0] = u;
	job = job_make(1, urls, dst);
	job->min_retry_delay = 3600;	/* it waits for the new URL, not for a retry */
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSIENT_ERROR | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSFERRED, 30);
	check(st == KBITS_STATE_TRANSIENT_ERROR, "url %s: waiting to retry after a drop (state %d)", to,
	      (int)st);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/%s", fault_port, to);
	urls[0] = u2;
	nj = job_make(1, urls, dst);
	memcpy(nj->id, job->id, 16);
	nj->min_retry_delay = 3600;
	kb_engine_run(engine, nj);
	st = run_until(nj->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "url %s: TRANSFERRED from the new URL (state %d)", to, (int)st);
	snprintf(want, sizeof(want), "GET %d range=bytes=300000- if_range=\"", same ? 206 : 200);
	for (double end = t_now() + 5; t_fault_log_n(to, 1, log, sizeof(log)), !strstr(log, want) &&
	     t_now() < end;)
		usleep(50000);
	check(strstr(log, want) != NULL, "url %s: the new server was asked to continue with If-Range "
	      "and answered %s (server saw: %s)", to, same ? "206: bytes kept" : "200: restart", log);
	last = job_finish(nj->id);
	h = last ? last->files[0].resp_headers : NULL;
	check(h && !strncmp(h, "HTTP/1.", 7) && strstr(h, "\r\nETag: \"") &&
	      (strstr(h, "Content-Range: bytes 300000-") != NULL) == same,
	      "url %s: the file's response headers are the last answer's (%s)", to, h ? h : "none");
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file(src, d), "url %s: the result is %s (sha256)", to, src);
	kb_job_put(last);
	kb_job_put(nj);
	kb_job_put(job);
}

static void test_url_change_same_etag(void)
{
	url_change("url-a.bin", "url-b.bin", "www/url-a.bin", true);
}

static void test_url_change_other_etag(void)
{
	url_change("url-a2.bin", "url-c.bin", "www/url-c.bin", false);
}

static void test_no_range(void)
{
	const char *urls[2];
	static const char *const dst[] = { "dl/norange.bin", "dl/nolength.bin" };
	char u[512], u2[512], log[4096];
	struct kb_job *job, *last;
	uint32_t st, fd = 0;
	int err;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/norange.bin?norange=1&drop=250000", fault_port);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/nolength.bin?nolength=1", fault_port);
	urls[0] = u;
	urls[1] = u2;
	job = job_make(2, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "norange: TRANSFERRED (state %d)", (int)st);
	t_fault_log("norange.bin", log, sizeof(log));
	diag("server saw: %s", log);
	check(strstr(log, "sent=250000|norange.bin GET 200 range=- if_range=-") != NULL,
	      "norange: after the drop, a whole GET without Range");
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL, "norange: Complete");
	check(same_file("www/norange.bin", "dl/norange.bin"), "norange: sha256 matches");
	check(same_file("www/nolength.bin", "dl/nolength.bin"),
	      "nolength: a body without Content-Length is downloaded whole (sha256)");
	check(last && last->files[1].bytes_total == 777777, "nolength: the size is learnt at the end (%llu)",
	      last ? (unsigned long long)last->files[1].bytes_total : 0ull);
	kb_job_put(last);
	kb_job_put(job);
}

/* Suspend mid-transfer, then resume from what the store would hold. */
static void test_suspend_resume(void)
{
	const char *urls[1];
	static const char *const dst[] = { "dl/slow.bin" };
	char u[512], log[4096], want[64];
	struct kb_job *job, *saved, *last;
	uint32_t st, fd = 0;
	uint64_t from;
	int err;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/slow.bin?slow=2000000", fault_port);
	urls[0] = u;
	job = job_make(1, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	/* 0.8 s, and some bytes written (valgrind on a busy host is slow) */
	for (double start = t_now(); t_now() < start + 30 && (t_now() < start + 0.8 || !obs.progress_calls);)
		kb_loop_run_once(loop, 50000000ull);
	saved = job_finish(job->id);	/* Suspend: stop and drain */
	check(saved && saved->files[0].bytes_transferred > 0 && saved->files[0].bytes_transferred < 3000000 &&
	      saved->files[0].temp_name && saved->files[0].etag,
	      "suspend: synced bytes, temporary name and ETag kept (%llu bytes)",
	      saved ? (unsigned long long)saved->files[0].bytes_transferred : 0ull);
	if (!saved) {
		kb_job_put(job);
		return;
	}
	/* as kbitsd would load it from the store; the engine shares it from here on */
	from = saved->files[0].bytes_transferred;
	obs_reset();
	kb_engine_run(engine, saved);
	st = run_until(saved->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "resume: TRANSFERRED (state %d)", (int)st);
	t_fault_log("slow.bin", log, sizeof(log));
	diag("server saw: %s", log);
	snprintf(want, sizeof(want), "range=bytes=%llu- if_range=\"", (unsigned long long)from);
	check(strstr(log, want) != NULL, "resume: asked for the rest from the synced offset with If-Range");
	last = job_finish(saved->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/slow.bin", "dl/slow.bin"), "resume: the result matches (sha256)");
	kb_job_put(last);
	kb_job_put(saved);
	kb_job_put(job);
}

/*
 * Suspends a slow.bin transfer after 0.8 s: the job as the store would hold
 * it, with its temporary file (NULL when the transfer did not get far).
 */
static struct kb_job *suspended_slow(const char *name, char *url, size_t len)
{
	const char *urls[1];
	const char *dst[] = { name };
	struct kb_job *job, *saved;

	snprintf(url, len, "http://127.0.0.1:%d/slow.bin?slow=2000000", fault_port);
	urls[0] = url;
	job = job_make(1, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	/* 0.8 s, and some bytes written (valgrind on a busy host is slow) */
	for (double start = t_now(); t_now() < start + 30 && (t_now() < start + 0.8 || !obs.progress_calls);)
		kb_loop_run_once(loop, 50000000ull);
	saved = job_finish(job->id);
	kb_job_put(job);
	if (saved && (!saved->files[0].temp_name || !saved->files[0].bytes_transferred)) {
		diag("the suspended transfer got %llu bytes: too few for the test",
		     (unsigned long long)saved->files[0].bytes_transferred);
		kb_job_put(saved);
		return NULL;
	}
	return saved;
}

/* The temporary file of a job's first file: path into p. */
static int temp_of(const struct kb_job *job, char *p, size_t len, int flags)
{
	const char *path = job->files[0].path, *slash = strrchr(path, '/');

	if (snprintf(p, len, "%.*s/%s", (int)(slash - path), path, job->files[0].temp_name) >= (int)len)
		return -1;
	return open(p, flags);
}

/* Resumes saved; checks the Range asked for and the result. */
static void resume_check(struct kb_job *saved, const char *what, uint64_t want_off, const char *dst)
{
	char log[4096], want[64];
	uint32_t st, fd = 0;
	struct kb_job *last;
	int err;

	obs_reset();
	kb_engine_run(engine, saved);
	st = run_until(saved->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "%s: TRANSFERRED (state %d)", what, (int)st);
	snprintf(want, sizeof(want), "range=bytes=%llu- ", (unsigned long long)want_off);
	/* the server logs a request once it sent the answer: wait for it */
	for (double end = t_now() + 5; t_fault_log("slow.bin", log, sizeof(log)), !strstr(log, want) &&
	     t_now() < end;)
		usleep(50000);
	check(strstr(log, want) != NULL, "%s: resumed at %llu (server saw: %s)", what,
	      (unsigned long long)want_off, log);
	last = job_finish(saved->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/slow.bin", dst), "%s: the result matches (sha256)", what);
	kb_job_put(last);
}

/*
 * kbitsd killed, restarted in the same boot: the temporary file holds a
 * write that completed out of order beyond a hole (one that never did).
 * The resume point is the hole, not the checkpoint and not st_size.
 */
static void test_resume_hole(void)
{
	char u[512], p[512], src[512];
	struct kb_job *saved = suspended_slow("dl/hole.bin", u, sizeof(u));
	static char buf[1 << 20];
	int fd, sfd;

	if (!check(saved != NULL, "hole: a suspended transfer to resume"))
		return;
	/* [0, 1 MiB) written, [1 MiB, 2 MiB) never, [2 MiB, 2.5 MiB) written */
	t_path(src, sizeof(src), "www/slow.bin");
	sfd = open(src, O_RDONLY);
	fd = temp_of(saved, p, sizeof(p), O_WRONLY | O_TRUNC);
	check(fd >= 0 && sfd >= 0 && pread(sfd, buf, sizeof(buf), 0) == sizeof(buf) &&
	      pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf) &&
	      pread(sfd, buf, 512 << 10, 2 << 20) == 512 << 10 &&
	      pwrite(fd, buf, 512 << 10, 2 << 20) == 512 << 10, "hole: a temporary file with a hole at 1 MiB");
	if (fd >= 0)
		close(fd);
	if (sfd >= 0)
		close(sfd);
	saved->files[0].bytes_transferred = 256 << 10;	/* the last checkpoint */
	resume_check(saved, "hole", 1 << 20, "dl/hole.bin");
	kb_job_put(saved);
}

/*
 * A new boot: what lies beyond the checkpoint was never synced and may be
 * anything. kb_temp_recover (kbitsd at load) truncates it away; the resume
 * starts at the checkpoint and the result is byte-exact.
 */
static void test_new_boot(void)
{
	char u[512], p[512];
	struct kb_job *saved = suspended_slow("dl/boot.bin", u, sizeof(u));
	static char junk[1 << 20];
	struct kb_owner o;
	struct stat sb = { 0 };
	int fd;

	if (!check(saved != NULL, "new boot: a suspended transfer to resume"))
		return;
	/* a power cut kept the size but not the bytes after the checkpoint */
	memset(junk, 'X', sizeof(junk));
	fd = temp_of(saved, p, sizeof(p), O_WRONLY);
	check(fd >= 0 && pwrite(fd, junk, sizeof(junk), 512 << 10) == sizeof(junk),
	      "new boot: junk after the checkpoint at 512 KiB");
	if (fd >= 0)
		close(fd);
	saved->files[0].bytes_transferred = 512 << 10;
	kb_owner_init(&o, saved->owner_uid, saved->owner_gid);
	fd = kb_temp_recover(&o, &saved->files[0]);
	stat(p, &sb);
	check(fd == 0 && sb.st_size == 512 << 10,
	      "new boot: the temporary file is truncated to its checkpoint (%lld bytes)",
	      (long long)sb.st_size);
	resume_check(saved, "new boot", 512 << 10, "dl/boot.bin");
	kb_job_put(saved);
}

/*
 * A power cut lost the unsynced row that named a new temporary file
 * (store.h): the store knows the file as never started. After the new
 * boot kbitsd removes that file by its derived name, only if it is the
 * owner's own regular file (kb_temp_forget_derived); the transfer starts
 * again from 0 under the same name and the result is byte-exact.
 */
static void test_lost_temp_row(void)
{
	char u[512], p[512], derived[256];
	struct kb_job *saved = suspended_slow("dl/lost.bin", u, sizeof(u)), *last;
	struct kb_file *f;
	struct kb_owner o;
	uint32_t st, fd = 0;
	struct stat sb;
	int err, ret;

	if (!check(saved != NULL, "lost row: a transfer started, then stopped"))
		return;
	f = &saved->files[0];
	ret = kb_temp_name_derive(saved->id, 0, "lost.bin", derived, sizeof(derived));
	check(ret == 0 && !strcmp(f->temp_name, derived),
	      "lost row: the new temporary file has its derived name (%s, %s)", f->temp_name, derived);
	t_path(p, sizeof(p), "dl");
	snprintf(p + strlen(p), sizeof(p) - strlen(p), "/%s", derived);
	/* what the store holds after the cut */
	kb_strset(&f->temp_name, NULL);
	kb_strset(&f->etag, NULL);
	kb_strset(&f->last_modified, NULL);
	f->bytes_transferred = 0;
	kb_owner_init(&o, saved->owner_uid, saved->owner_gid);
	ret = chown(p, 65534, 65534) ?: kb_temp_forget_derived(&o, f, saved->id, 0);
	check(ret == -EINVAL && stat(p, &sb) == 0,
	      "lost row: a file of that name owned by another user is left alone (%d)", ret);
	ret = chown(p, o.uid, o.gid) ?: kb_temp_forget_derived(&o, f, saved->id, 0);
	check(ret == 0 && stat(p, &sb) < 0 && errno == ENOENT,
	      "lost row: the owner's file of that name is removed (%d)", ret);
	ret = kb_temp_forget_derived(&o, f, saved->id, 0);
	check(ret == -ENOENT, "lost row: a second time there is nothing to remove (%d)", ret);
	obs_reset();
	kb_engine_run(engine, saved);
	st = run_until(saved->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "lost row: TRANSFERRED again (state %d)", (int)st);
	last = job_finish(saved->id);
	check(last && last->files[0].temp_name && !strcmp(last->files[0].temp_name, derived),
	      "lost row: the file started again under its derived name (%s)",
	      last && last->files[0].temp_name ? last->files[0].temp_name : "none");
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/slow.bin", "dl/lost.bin"), "lost row: the result matches (sha256)");
	kb_job_put(last);
	kb_job_put(saved);
}

static void test_404(void)
{
	const char *urls[] = { url_of(nginx_port, "missing") };
	static const char *const dst[] = { "dl/missing" };
	struct kb_job *job = job_make(1, urls, dst), *last;
	uint32_t st;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR, "404: the job is in ERROR (state %d)", (int)st);
	check(obs.err.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && obs.err.code == 404 && !obs.err.transient &&
	      obs.err.file == 0,
	      "404: fatal, context REMOTE_FILE, code 404, file 0 (context %u code %d: %s)", obs.err.context,
	      obs.err.code, obs.err.desc);
	last = job_finish(job->id);
	check(last && last->error_count == 1, "404: error count 1");
	check(last && kb_job_cancel_files(last) == 0, "404: Cancel removes the temporary file");
	kb_job_put(last);
	kb_job_put(job);
}

static void test_refused(void)
{
	int port = t_free_port();
	const char *urls[] = { url_of(port, "x") };
	static const char *const dst[] = { "dl/refused" };
	struct kb_job *job = job_make(1, urls, dst), *last;
	uint32_t st;

	job->min_retry_delay = 3600;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_TRANSIENT_ERROR, "refused: TRANSIENT_ERROR (state %d)", (int)st);
	check(obs.err.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT && obs.err.code == -ECONNREFUSED,
	      "refused: context GENERAL_TRANSPORT, code -ECONNREFUSED (%u, %d: %s)", obs.err.context, obs.err.code,
	      obs.err.desc);
	last = job_finish(job->id);
	kb_job_cancel_files(last);
	kb_job_put(last);

	/* no_progress_timeout 0: every error is fatal */
	job->id[1] = 1;
	job->no_progress_timeout = 0;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_ERROR | 1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR, "refused: with no-progress timeout 0 the error is fatal (state %d)", (int)st);
	last = job_finish(job->id);
	kb_job_cancel_files(last);
	kb_job_put(last);
	kb_job_put(job);
}

static void test_retry_after(void)
{
	const char *urls[1];
	static const char *const dst[] = { "dl/busy.bin" };
	char u[512];
	struct kb_job *job, *last;
	uint32_t st, fd = 0;
	int err;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/busy.bin?status=503&retry_after=2&times=1", fault_port);
	urls[0] = u;
	job = job_make(1, urls, dst);
	job->min_retry_delay = 1;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 20);
	check(st == KBITS_STATE_TRANSFERRED, "503: TRANSFERRED after one 503 (state %d)", (int)st);
	check(obs.nerrors == 1 && obs.err.code == 503 && obs.err.transient && obs.err.retry_after == 2,
	      "503: one transient error 503 with Retry-After 2 (%d errors, code %d, retry_after %u)", obs.nerrors,
	      obs.err.code, obs.err.retry_after);
	check(obs.requeued - obs.first_transient >= 1.9 && obs.requeued - obs.first_transient < 4,
	      "503: retried after max(min_retry_delay 1, Retry-After 2) s (%.2f s)",
	      obs.requeued - obs.first_transient);
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/busy.bin", "dl/busy.bin"), "503: the result matches (sha256)");
	kb_job_put(last);
	kb_job_put(job);
}

static void test_symlink(void)
{
	const char *urls[] = { url_of(nginx_port, "1m") };
	static const char *const dst[] = { "dl/sym.bin" };
	struct kb_job *job = job_make(1, urls, dst), *last;
	char victim[512], link[512], h[65];
	uint32_t st, fd = 0;
	int err;

	t_path(victim, sizeof(victim), "victim");
	t_path(link, sizeof(link), "dl/.sym.bin.kbits-planted");
	t_write_file(victim, 10, 7);
	t_sha256(victim, h);
	unlink(link);
	if (symlink(victim, link) < 0)
		diag("symlink: %s", strerror(errno));
	/* a resumed file whose temporary name was swapped for a symlink */
	kb_strset(&job->files[0].temp_name, ".sym.bin.kbits-planted");
	job->files[0].bytes_transferred = 5;
	kb_strset(&job->files[0].etag, "\"x\"");
	job->files[0].ranges_ok = true;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 20);
	check(st == KBITS_STATE_TRANSFERRED, "symlink: TRANSFERRED (state %d)", (int)st);
	{
		char h2[65];
		struct stat sb;

		t_sha256(victim, h2);
		check(!strcmp(h, h2) && lstat(victim, &sb) == 0 && sb.st_size == 10,
		      "symlink: the symlink's target was not written");
	}
	last = job_finish(job->id);
	check(last && last->files[0].temp_name && strcmp(last->files[0].temp_name, ".sym.bin.kbits-planted"),
	      "symlink: a fresh temporary name was chosen (%s)", last ? last->files[0].temp_name : "?");
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/1m", "dl/sym.bin"), "symlink: the result matches (sha256)");
	kb_job_put(last);
	kb_job_put(job);
}

static void test_redirects(void)
{
	const char *urls[2];
	static const char *const dst[] = { "dl/redir.bin" };
	static const char *const dst2[] = { "dl/ftp.bin" };
	char u[600], u2[600];
	struct kb_job *job, *last;
	uint32_t st;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/r?redirect=http://127.0.0.1:%d/1m", fault_port, nginx_port);
	urls[0] = u;
	job = job_make(1, urls, dst);
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 20);
	check(st == KBITS_STATE_TRANSFERRED, "redirect: followed to nginx (state %d)", (int)st);
	last = job_finish(job->id);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/1m", nginx_port);
	check(last && last->files[0].final_url && !strcmp(last->files[0].final_url, u2),
	      "redirect: the final URL is recorded (%s)", last && last->files[0].final_url ? last->files[0].final_url : "-");
	check(last && !strcmp(last->files[0].url, u),
	      "redirect policy ALLOW_SILENT (default): the file keeps its URL (%s)", last ? last->files[0].url : "-");
	kb_job_cancel_files(last);
	kb_job_put(last);
	kb_job_put(job);

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/r2?redirect=ftp://127.0.0.1:%d/x", fault_port, fault_port);
	urls[0] = u;
	job = job_make(1, urls, dst2);
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR && obs.err.code == -EPROTONOSUPPORT,
	      "redirect: to ftp:// is refused, fatal (state %d, code %d: %s)", (int)st, obs.err.code, obs.err.desc);
	last = job_finish(job->id);
	kb_job_cancel_files(last);
	kb_job_put(last);
	kb_job_put(job);
}

/* One download of url under the given security flags, to its end (TRANSFERRED or ERROR). */
static struct kb_job *redirected(const char *url, const char *name, uint32_t flags, uint32_t *st)
{
	const char *urls[] = { url };
	const char *dst[] = { name };
	struct kb_job *job = job_make(1, urls, dst), *last;

	job->security_flags = flags;
	obs_reset();
	kb_engine_run(engine, job);
	*st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
			1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	last = job_finish(job->id);
	kb_job_put(job);
	return last;
}

static void test_redirect_policy(void)
{
	char u[600], to[300], p[512];
	struct kb_job *last;
	uint32_t st;
	const char *l;

	/* the scheme rule, as given to CURLOPT_REDIR_PROTOCOLS_STR */
	check(!strcmp(kb_httpreq_redir_protocols("https://h/x", 0), "https") &&
	      !strcmp(kb_httpreq_redir_protocols("HTTPS://h/x", 0), "https"),
	      "redirect: from https only to https by default");
	check(!strcmp(kb_httpreq_redir_protocols("https://h/x", KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP),
		      "http,https") &&
	      !strcmp(kb_httpreq_redir_protocols("http://h/x", 0), "http,https"),
	      "redirect: from https to http with HTTPS_TO_HTTP; from http to either");

	snprintf(to, sizeof(to), "http://127.0.0.1:%d/1m", nginx_port);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/rd?redirect=%s", fault_port, to);
	last = redirected(u, "dl/rd.bin", KBITS_SECURITY_REDIRECT_DISALLOW, &st);
	check(st == KBITS_STATE_ERROR && obs.err.code == 302 && !obs.err.transient &&
	      obs.err.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && strstr(obs.err.desc, to),
	      "redirect policy DISALLOW: a fatal REMOTE_FILE error, HTTP 302, naming the location "
	      "(state %d, code %d: %s)", (int)st, obs.err.code, obs.err.desc);
	t_path(p, sizeof(p), "dl/rd.bin");
	check(access(p, F_OK) < 0 && last && last->files[0].bytes_transferred == 0,
	      "redirect policy DISALLOW: nothing written (%llu bytes)",
	      last ? (unsigned long long)last->files[0].bytes_transferred : 0ull);
	kb_job_cancel_files(last);
	kb_job_put(last);

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/rr?redirect=%s", fault_port, to);
	last = redirected(u, "dl/rr.bin", KBITS_SECURITY_REDIRECT_ALLOW_REPORT, &st);
	check(st == KBITS_STATE_TRANSFERRED && last && !strcmp(last->files[0].url, to),
	      "redirect policy ALLOW_REPORT: followed, the file's saved URL is the final one "
	      "(state %d, %s)", (int)st, last ? last->files[0].url : "-");
	kb_job_cancel_files(last);
	kb_job_put(last);

	/* over TLS (a certificate made by the test, the engine's CA file) */
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/1m", tls_port);
	last = redirected(u, "dl/tls.bin", 0, &st);
	check(st == KBITS_STATE_TRANSFERRED, "redirect: the TLS test server answers (state %d, %s)",
	      (int)st, obs.err.desc);
	kb_job_cancel_files(last);
	kb_job_put(last);

	snprintf(u, sizeof(u), "https://127.0.0.1:%d/rs?redirect=%s", tls_port, to);
	last = redirected(u, "dl/rs.bin", 0, &st);
	l = obs.err.desc;
	check(st == KBITS_STATE_ERROR && obs.err.code == -EPROTONOSUPPORT && !obs.err.transient &&
	      strstr(l, "is refused: from https to http") && strstr(l, to),
	      "redirect from https to http: refused by default, a fatal error naming the location "
	      "(state %d, code %d: %s)", (int)st, obs.err.code, l);
	kb_job_cancel_files(last);
	kb_job_put(last);

	snprintf(u, sizeof(u), "https://127.0.0.1:%d/rt?redirect=%s", tls_port, to);
	last = redirected(u, "dl/rt.bin", KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP, &st);
	check(st == KBITS_STATE_TRANSFERRED, "redirect from https to http: followed with HTTPS_TO_HTTP "
	      "(state %d, %s)", (int)st, obs.err.desc);
	kb_job_cancel_files(last);
	kb_job_put(last);
}

static void test_owner_denied(void)
{
	const char *urls[] = { url_of(nginx_port, "one") };
	static const char *const dst[] = { "rootonly/one" };
	struct kb_job *job;
	char dir[512], cmd[600];
	uint32_t st;

	if (geteuid() != 0) {
		check(false, "owner: needs root to act as another user");
		return;
	}
	job = job_make(1, urls, dst);
	job->owner_uid = 65534;
	job->owner_gid = 65534;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR && obs.err.context == KBITS_ERROR_CONTEXT_LOCAL_FILE &&
	      obs.err.code == -EACCES,
	      "owner: nobody's job aimed at a root-only directory is ERROR/LOCAL_FILE/-EACCES (state %d, %u, %d)",
	      (int)st, obs.err.context, obs.err.code);
	t_path(dir, sizeof(dir), "rootonly");
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", dir);
	check(system(cmd) == 0, "owner: nothing was written there");
	kb_job_put(job_finish(job->id));
	kb_job_put(job);
}

static void test_max_size(void)
{
	const char *urls[] = { url_of(nginx_port, "1m") };
	static const char *const dst[] = { "dl/toolarge" };
	struct kb_job *job = job_make(1, urls, dst), *last;
	uint32_t st;

	job->max_download_size = 1000;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR |
		       1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR && obs.err.code == -EFBIG,
	      "max size: a 1 MiB file in a job limited to 1000 bytes is a fatal error (state %d, code %d)", (int)st,
	      obs.err.code);
	last = job_finish(job->id);
	kb_job_cancel_files(last);
	kb_job_put(last);
	kb_job_put(job);
}

/* ---- SHA-256: computed while writing, checked against the client's ---------- */

static void unhex(const char *h, uint8_t out[KBITS_SHA256_LEN])
{
	for (int i = 0; i < KBITS_SHA256_LEN; i++) {
		unsigned int v = 0;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static void tohex(const uint8_t in[KBITS_SHA256_LEN], char out[65])
{
	for (int i = 0; i < KBITS_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* sha256sum of a file under the test directory. */
static void src_sha(const char *name, char out[65])
{
	char p[512];

	t_path(p, sizeof(p), name);
	t_sha256(p, out);
}

static void test_digest_verified(void)
{
	const char *urls[3] = { url_of(nginx_port, "1m"), url_of(nginx_port, "one"),
				url_of(nginx_port, "empty") };
	static const char *const dst[] = { "dl/dg-1m", "dl/dg-one", "dl/dg-empty" };
	struct kb_job *job = job_make(3, urls, dst), *last;
	char want[65], got[65];
	const struct kb_job *j;
	uint32_t st, fd = 0;
	int err = 0;

	src_sha("www/1m", want);
	unhex(want, job->files[0].expected_sha256);
	job->files[0].expected_size = 1 << 20;
	job->files[0].flags |= KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 60);
	check(st == KBITS_STATE_TRANSFERRED, "digest: the expected SHA-256 and size: TRANSFERRED (state %d, %s)",
	      (int)st, obs.nerrors ? obs.err.desc : "no error");
	j = kb_engine_job(engine, job->id);
	if (!check(j != NULL, "digest: the engine still holds the job"))
		goto out;
	tohex(j->files[0].sha256, got);
	check((j->files[0].flags & (KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED)) ==
	      (KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED) && !strcmp(got, want),
	      "digest: 1 MiB verified, its digest is sha256sum's (%s, flags 0x%x)", got, j->files[0].flags);
	src_sha("www/one", want);
	tohex(j->files[1].sha256, got);
	check((j->files[1].flags & (KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED)) == KBITS_FILE_SHA256 &&
	      !strcmp(got, want), "digest: without an expectation the digest is still computed, not verified (%s)",
	      got);
	tohex(j->files[2].sha256, got);
	check((j->files[2].flags & KBITS_FILE_SHA256) &&
	      !strcmp(got, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	      "digest: an empty file has the empty string's SHA-256 (%s)", got);
	last = job_finish(job->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL && fd == 3 &&
	      same_file("www/1m", "dl/dg-1m"), "digest: Complete puts the verified file in place");
	kb_job_put(last);
out:
	kb_job_put(job);
}

static void test_digest_mismatch(void)
{
	const char *urls[2] = { url_of(nginx_port, "one"), url_of(nginx_port, "1m") };
	static const char *const dst[] = { "dl/dg-ok", "dl/dg-bad" };
	struct kb_job *job = job_make(2, urls, dst), *last;
	char p[512], want[65];
	uint32_t st, fd = 0, r;
	int err = 0;

	src_sha("www/1m", want);
	want[0] = want[0] == '0' ? '1' : '0';	/* one bit off */
	unhex(want, job->files[1].expected_sha256);
	job->files[1].flags |= KBITS_FILE_EXPECT_SHA256;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 60);
	check(st == KBITS_STATE_ERROR, "mismatch: a wrong SHA-256 puts the job in ERROR (state %d)", (int)st);
	check(obs.err.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && obs.err.code == KBITS_E_DIGEST_MISMATCH &&
	      !obs.err.transient && obs.err.file == 1 && strstr(obs.err.desc, "dl/dg-bad"),
	      "mismatch: REMOTE_FILE, KBITS_E_DIGEST_MISMATCH, file 1, named (%d: %s)", obs.err.code,
	      obs.err.desc);
	last = job_finish(job->id);
	check(last && !(last->files[1].flags & (KBITS_FILE_COMPLETED | KBITS_FILE_SHA256)) &&
	      last->files[1].bytes_transferred == 0,
	      "mismatch: the file is not complete and its bytes are dropped for a retry (flags 0x%x)",
	      last ? last->files[1].flags : 0);
	r = last ? kb_job_complete_files(last, &fd, &err) : ~0u;
	t_path(p, sizeof(p), "dl/dg-bad");
	/* the good file's row waits for the job's final sync, which an ERROR job never reaches */
	check(r != KBITS_COMPLETE_ALL && fd <= 1 && access(p, F_OK) != 0,
	      "mismatch: Complete never puts the bad file in place (result %u, %u done)", r, fd);
	kb_job_put(last);
	kb_job_put(job);

	/* the size, known from Content-Length: refused before any byte */
	urls[0] = url_of(nginx_port, "1m");
	job = job_make(1, urls, (const char *const[]){ "dl/dg-size" });
	job->files[0].expected_size = 1000;
	job->files[0].flags |= KBITS_FILE_EXPECT_SIZE;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 60);
	check(st == KBITS_STATE_ERROR && obs.err.code == KBITS_E_SIZE_MISMATCH &&
	      obs.err.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && strstr(obs.err.desc, "dl/dg-size"),
	      "mismatch: a wrong expected size is KBITS_E_SIZE_MISMATCH (state %d, %d: %s)", (int)st,
	      obs.err.code, obs.err.desc);
	last = job_finish(job->id);
	kb_job_cancel_files(last);
	kb_job_put(last);
	kb_job_put(job);
}

/*
 * kbitsd killed after a suspend-like stop, the store's checkpoint older than
 * what is on disk (as after kill -9): the resume hashes the bytes already
 * there once, then the rest as it comes, and verifies the whole.
 */
static void test_digest_resume(void)
{
	char u[512], log[4096], want[65], got[65], p[600], range[64];
	struct kb_job *saved = suspended_slow("dl/dg-resume.bin", u, sizeof(u)), *last;
	const struct kb_job *j;
	uint32_t st, fd = 0;
	struct stat sb;
	int err = 0, tfd;

	if (!check(saved != NULL, "digest resume: a suspended transfer to resume"))
		return;
	/* where it resumes: the bytes on disk, in whole 4 KiB blocks */
	tfd = temp_of(saved, p, sizeof(p), O_RDONLY);
	check(tfd >= 0 && fstat(tfd, &sb) == 0 && sb.st_size >= 8192, "digest resume: a partial file");
	if (tfd >= 0)
		close(tfd);
	snprintf(range, sizeof(range), "GET 206 range=bytes=%llu-",
		 (unsigned long long)sb.st_size & ~4095ull);
	src_sha("www/slow.bin", want);
	unhex(want, saved->files[0].expected_sha256);
	saved->files[0].flags |= KBITS_FILE_EXPECT_SHA256;
	saved->files[0].bytes_transferred /= 2;	/* an older checkpoint: the disk has more */
	obs_reset();
	kb_engine_run(engine, saved);
	st = run_until(saved->id, 1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED, "digest resume: TRANSFERRED, verified (state %d, %s)", (int)st,
	      obs.nerrors ? obs.err.desc : "no error");
	for (double end = t_now() + 5; t_fault_log("slow.bin", log, sizeof(log)), !strstr(log, range) &&
	     t_now() < end;)
		usleep(50000);
	check(strstr(log, range) != NULL, "digest resume: resumed where the disk ends (%s; %s)", range,
	      log);
	j = kb_engine_job(engine, saved->id);
	if (j)
		tohex(j->files[0].sha256, got);
	check(j && (j->files[0].flags & KBITS_FILE_VERIFIED) && !strcmp(got, want),
	      "digest resume: the digest of the resumed file is sha256sum's");
	last = job_finish(saved->id);
	check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL &&
	      same_file("www/slow.bin", "dl/dg-resume.bin"), "digest resume: the result matches");
	kb_job_put(last);
	kb_job_put(saved);
}

static struct kb_engine_config cfg;

/* Each case's own loop, engine and destination directories. */
static bool engine_setup(void)
{
	t_mkdir("dl", 0755);
	t_mkdir("rootonly", 0700);
	loop = kb_loop_new(256);
	engine = loop ? kb_engine_new(loop, &cfg, &ops, NULL) : NULL;
	return check(loop && engine, "engine: a loop and an engine of the case's own");
}

static void engine_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
	kb_job_put(last_saved);
}

static const struct t_case cases[] = {
	{ "files of 0 B, 1 B, 1 MiB and 64 MiB from nginx arrive whole, fsynced, mode 0644",
	  test_nginx_sizes },
	{ "checkpoints complete while a 64 MiB body comes at 32 MiB/s", test_checkpoints_slow },
	{ "TRANSFERRED comes after the job's files were synced in one batch and their rows saved",
	  test_many_files },
	{ "a download whose connection drops is retried with Range and If-Range from where it stopped",
	  test_resume_after_drop },
	{ "a file that changed on the server between two tries is fetched whole again", test_changed_etag },
	{ "a new URL whose server has the same ETag continues the bytes (206); headers of the last answer",
	  test_url_change_same_etag },
	{ "a new URL whose server has another ETag restarts the file (200)", test_url_change_other_etag },
	{ "without Range support a retry fetches the whole file; a body without a length is learnt at its end", test_no_range },
	{ "a suspended job keeps its synced bytes, temporary name and ETag, and resumes from them", test_suspend_resume },
	{ "same boot: a partial file resumes at the end of its contiguous bytes (a hole), not st_size",
	  test_resume_hole },
	{ "a new boot: a partial file is truncated to its checkpoint and resumes there", test_new_boot },
	{ "a new boot that lost the row of a new temporary file removes the file by its derived name",
	  test_lost_temp_row },
	{ "Complete again after a power cut inside Complete counts the files already renamed, not older ones",
	  test_complete_again_after_cut },
	{ "a 404 is a fatal REMOTE_FILE error, and Cancel removes the temporary file", test_404 },
	{ "a refused connection is a transient error, fatal with a no-progress timeout of 0", test_refused },
	{ "a 503 with Retry-After is retried after the longer of min retry delay and Retry-After", test_retry_after },
	{ "a temporary file swapped for a symlink is not followed; a fresh one is chosen", test_symlink },
	{ "an http redirect is followed and its final URL kept; one to ftp:// is a fatal error",
	  test_redirects },
	{ "redirect policy: DISALLOW fails naming the location, ALLOW_REPORT keeps the final URL, "
	  "https to http only with HTTPS_TO_HTTP", test_redirect_policy },
	{ "a job of another user cannot write where that user cannot", test_owner_denied },
	{ "a file larger than the job's maximum download size is a fatal error", test_max_size },
	{ "every file's SHA-256 is computed while it is written and verified when expected",
	  test_digest_verified },
	{ "a wrong SHA-256 or size is a fatal REMOTE_FILE error and the file never goes in place",
	  test_digest_mismatch },
	{ "a resume hashes the bytes already on disk once and verifies the whole file",
	  test_digest_resume },
};

int main(void)
{
	pid_t nginx, fault, tls = -1;
	char p[512], cmd[3000];

	if (!t_begin(600))
		return 1;
	t_mkdir("www", 0755);
	{
		static const struct { const char *name; uint64_t size; } files[] = {
			{ "www/empty", 0 }, { "www/one", 1 }, { "www/1m", 1 << 20 }, { "www/64m", 64ull << 20 },
			{ "www/drop.bin", 1000000 }, { "www/change.bin", 600000 }, { "www/change.bin.v2", 650000 },
			{ "www/norange.bin", 500000 }, { "www/nolength.bin", 777777 }, { "www/busy.bin", 12345 },
			{ "www/slow.bin", 3000000 },
			/* a and b: the same bytes (the fault server's ETag is their sha1) */
			{ "www/url-a.bin", 1000000 }, { "www/url-a2.bin", 1000000 },
			{ "www/url-b.bin", 1000000 },
			{ "www/url-c.bin", 900000 },
		};

		for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			t_path(p, sizeof(p), files[i].name);
			t_write_file(p, files[i].size, strncmp(files[i].name, "www/url-", 8) ? i + 1 :
				     files[i].name[8] == 'c' ? 51 : 50);
		}
	}
	nginx = t_start_nginx(&nginx_port);
	fault = t_start_fault(&fault_port);
	/* a self-signed certificate for 127.0.0.1: the TLS server's and the engine's CA file */
	t_path(p, sizeof(p), "tls.pem");
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s.crt 2>/dev/null && "
		 "cat %s.crt >> %s", p, p, p, p);
	if (system(cmd) == 0)
		tls = t_start_fault_as(&tls_port, "fault-tls", p);
	if (!check(nginx > 0 && fault > 0 && tls > 0, "servers: nginx on 127.0.0.1:%d, fault server on "
		   "127.0.0.1:%d, over TLS on 127.0.0.1:%d", nginx_port, fault_port, tls_port))
		goto out;
	kb_engine_config_default(&cfg);
	cfg.ca_file = p;	/* only the TLS test server's certificate is trusted */
	cfg.max_writes_inflight = 4;	/* small: back-pressure is exercised */
	cfg.checkpoint_bytes = 4 << 20;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), engine_setup, engine_teardown, 300);
out:
	t_kill(nginx);
	t_kill(fault);
	t_kill(tls);
	return t_end();
}
