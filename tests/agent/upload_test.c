// SPDX-License-Identifier: GPL-2.0
/*
 * Upload and upload-reply jobs on the host, without the module: the
 * project's BITS Upload Protocol server (tests/servers/bitsserver.py) and
 * nginx's WebDAV PUT on 127.0.0.1; every byte verified by the sha256 the
 * server computed. The engine's saves go to a real store, so "kill the
 * agent" is: free the engine mid-upload, load the job from the store into
 * a new engine.
 */
#include "harness.h"

#include "engine.h"
#include "commit.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "upload.h"

struct obs {
	int nerrors, files_done, stopped, reply_calls, progress_calls, transients;
	struct kb_error err;
	uint64_t acked, reply_total, reply_done;
	/* by the job's id[1]: its last progress (acknowledged or on disk),
	 * its turns (QUEUED, then CONNECTING or TRANSFERRING) and last state */
	uint64_t prog[256];
	int turns[256];
	uint32_t last[256];
};

static struct obs obs;
static struct kb_loop *loop;
static struct kb_engine *engine;
static struct kb_store *store;
static struct kb_engine_config cfg;
static int bits_port, nginx_port;
static char bits_log_file[512];	/* the log of the server bits_log reads */

static void o_state(void *ctx, const struct kb_job *job, uint32_t state)
{
	(void)ctx;
	if (state == KBITS_STATE_TRANSIENT_ERROR)
		obs.transients++;
	if ((state == KBITS_STATE_CONNECTING || state == KBITS_STATE_TRANSFERRING) &&
	    obs.last[job->id[1]] != KBITS_STATE_CONNECTING && obs.last[job->id[1]] != KBITS_STATE_TRANSFERRING)
		obs.turns[job->id[1]]++;
	obs.last[job->id[1]] = state;
	kb_store_put_state(store, job);
}

static void o_progress(void *ctx, const struct kb_job *job, uint32_t f, uint64_t n)
{
	(void)ctx;
	(void)job;
	(void)f;
	obs.acked = n;
	obs.prog[job->id[1]] = n;
	obs.progress_calls++;
}

static void o_saved(void *ctx, const struct kb_job *job, uint32_t f)
{
	(void)ctx;
	(void)f;
	kb_store_put_job(store, job);
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

static void o_reply(void *ctx, const struct kb_job *job, uint64_t total, uint64_t done)
{
	(void)ctx;
	(void)job;
	obs.reply_calls++;
	obs.reply_total = total;
	obs.reply_done = done;
}

/* A job stops (or the engine is freed): its transfer time in its row. */
static void o_active_time(void *ctx, const struct kb_job *job)
{
	(void)ctx;
	kb_store_put_state(store, job);
}

static const struct kb_engine_ops ops = {
	.state = o_state, .progress = o_progress, .file_saved = o_saved, .file_done = o_done,
	.error = o_error, .stopped = o_stopped, .reply_progress = o_reply, .active_time = o_active_time,
};

static uint8_t next_id = 1;

static struct kb_job *up_make(uint32_t type, const char *url, const char *name)
{
	struct kb_job *job = kb_job_new(1);
	char p[512];

	job->id[0] = 0xb1;
	job->id[1] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = type;
	job->min_retry_delay = 0;
	job->no_progress_timeout = 600;
	t_path(p, sizeof(p), name);
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, p);
	return job;
}

static char *bits_url(const char *name, const char *query)
{
	static char bufs[8][600];
	static int k;
	char *b = bufs[k++ % 8];

	snprintf(b, 600, "http://127.0.0.1:%d/upload/%s%s%s", bits_port, name, query ? "?" : "",
		 query ? query : "");
	return b;
}

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

#define DONE_MASK (1u << KBITS_STATE_TRANSFERRED | 1u << KBITS_STATE_ERROR)

static void obs_reset(void)
{
	memset(&obs, 0, sizeof(obs));
}

/* Stops the job; returns the engine's last copy. */
static struct kb_job *finish(const uint8_t id[16])
{
	const struct kb_job *j = kb_engine_job(engine, id);
	struct kb_job *copy = j ? kb_job_dup(j) : NULL;

	kb_engine_stop(engine, id);
	return copy;
}

/* The server's log lines of one upload name containing what, joined by '|';
 * waits (bounded) for at least min matching lines. */
static int bits_log(const char *name, const char *what, int min, char *out, size_t len)
{
	char p[512], line[1024];
	size_t nl = strlen(name);
	int n = 0;

	snprintf(p, sizeof(p), "%s", bits_log_file);
	for (int tries = 0; tries < 150; tries++) {
		FILE *f = fopen(p, "r");

		n = 0;
		out[0] = '\0';
		if (f) {
			while (fgets(line, sizeof(line), f)) {
				if (strncmp(line, name, nl) || line[nl] != ' ' || !strstr(line, what))
					continue;
				line[strcspn(line, "\n")] = '\0';
				if (strlen(out) + strlen(line) + 2 < len) {
					if (out[0])
						strcat(out, "|");
					strcat(out, line);
				}
				n++;
			}
			fclose(f);
		}
		if (n >= min)
			break;
		usleep(20000);
	}
	return n;
}

/* Did the server close a session of name with the sha256 of local file src? */
static bool server_has(const char *name, const char *src_name, const char *event)
{
	char line[4096], want[200], p[512], h[65];

	t_path(p, sizeof(p), src_name);
	t_sha256(p, h);
	snprintf(want, sizeof(want), "%s size=", event);
	if (!bits_log(name, want, 1, line, sizeof(line)))
		return false;
	return h[0] && strstr(line, h) != NULL;
}

static void test_sizes(void)
{
	static const char *const names[] = { "empty", "one", "1m", "64m" };
	struct kb_job *jobs[4];
	double t0 = t_now();
	int transferred = 0;

	obs_reset();
	for (int i = 0; i < 4; i++) {
		char src[64];

		snprintf(src, sizeof(src), "src/%s", names[i]);
		jobs[i] = up_make(KBITS_JOB_UPLOAD, bits_url(names[i], NULL), src);
		kb_engine_run(engine, jobs[i]);
	}
	for (int i = 0; i < 4; i++)
		transferred += run_until(jobs[i]->id, DONE_MASK, 120) == KBITS_STATE_TRANSFERRED;
	double secs = t_now() - t0;

	check(transferred == 4, "sizes: uploads of 0 B, 1 B, 1 MiB, 64 MiB are TRANSFERRED (%d; %s)",
	      transferred, obs.nerrors ? obs.err.desc : "no error");
	diag("65 MiB + 1 B over BITS in %.2f s (%.0f MiB/s), 1 MiB fragments, %d progress calls", secs,
	     65.0 / secs, obs.progress_calls);
	check(obs.files_done == 4, "sizes: four files done (%d)", obs.files_done);
	for (int i = 0; i < 4; i++) {
		char src[64];
		struct kb_job *last = finish(jobs[i]->id);
		uint32_t fd = 0;
		int err = 0;

		snprintf(src, sizeof(src), "src/%s", names[i]);
		check(server_has(names[i], src, "CLOSE"),
		      "sizes: the server closed %s with the sha256 of the source", names[i]);
		check(last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL && fd == 1,
		      "sizes: Complete of %s (%u, %d)", names[i], fd, err);
		kb_job_put(last);
		kb_job_put(jobs[i]);
	}
	{
		char log[4096];

		bits_log("empty", "Fragment", 1, log, sizeof(log));
		check(strstr(log, "range=bytes_*/0") != NULL, "sizes: the empty file is one Fragment bytes */0 (%s)",
		      log);
		bits_log("one", "Create-Session", 1, log, sizeof(log));
		check(bits_log("one", "Ping 200", 1, log, sizeof(log)) == 1, "sizes: one Ping, one Create-Session");
	}
}

/* The job's own bandwidth limit holds for an upload as for a download. */
static void test_bandwidth(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("bw", NULL), "src/1m"), *last;
	double t0 = t_now(), secs;
	uint32_t st;

	obs_reset();
	job->max_bandwidth = 256 << 10;
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 30);
	secs = t_now() - t0;
	check(st == KBITS_STATE_TRANSFERRED, "bandwidth: the upload is TRANSFERRED (%s)",
	      obs.nerrors ? obs.err.desc : "no error");
	/* 4 s at the limit, less a burst of 16 KiB */
	check(secs >= 3.0 && secs < 8.0, "bandwidth: 1 MiB at max_bandwidth 256 KiB/s took %.2f s (3 to 8)", secs);
	last = finish(job->id);
	check(server_has("bw", "src/1m", "CLOSE"), "bandwidth: the server closed it with the sha256 of the source");
	kb_job_put(last);
	kb_job_put(job);
}

/*
 * Priorities: a LOW upload (1 MiB at 256 KiB/s) waits in QUEUED while a
 * FOREGROUND download runs (8 MB at 4 MiB/s), then goes on and arrives whole.
 */
/* The case's engine again, with these scheduler settings. */
static void sched_engine(unsigned int max_transfers, uint64_t max_bandwidth, unsigned int slice_ms)
{
	struct kb_engine_config c = cfg;

	kb_engine_free(engine);
	c.max_transfers = max_transfers;
	c.max_bandwidth = max_bandwidth;
	c.slice_ms = slice_ms;
	c.write_chunk = 64 << 10;	/* a download's progress in small steps */
	engine = kb_engine_new(loop, &c, &ops, NULL);
}

/* A download of nginx's t_dir/<src> to <name>, at a priority and a rate. */
static struct kb_job *dl_make(uint32_t priority, const char *src_name, const char *name, uint64_t bps)
{
	struct kb_job *dl = kb_job_new(1);
	char u[512], p[512];

	dl->id[0] = 0xd1;
	dl->id[1] = next_id++;
	dl->owner_uid = getuid();
	dl->owner_gid = getgid();
	dl->type = KBITS_JOB_DOWNLOAD;
	dl->priority = priority;
	dl->no_progress_timeout = 600;
	dl->max_bandwidth = bps;
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/%s", nginx_port, src_name);
	t_path(p, sizeof(p), name);
	kb_strset(&dl->files[0].url, u);
	kb_strset(&dl->files[0].path, p);
	return dl;
}

/* Completes the download (stopping it) and compares its file with the source. */
static bool complete_same(const uint8_t id[16], const char *a_name, const char *b_name)
{
	struct kb_job *last = finish(id);
	char a[512], b[512], ha[65], hb[65];
	uint32_t fd = 0;
	int err = 0;
	bool ok = last && kb_job_complete_files(last, &fd, &err) == KBITS_COMPLETE_ALL && fd == 1;

	kb_job_put(last);
	if (!ok)
		return false;
	t_path(a, sizeof(a), a_name);
	t_path(b, sizeof(b), b_name);
	t_sha256(a, ha);
	t_sha256(b, hb);
	return ha[0] && !strcmp(ha, hb);
}

static void test_foreground_download_preempts(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("prio", NULL), "src/1m"), *dl, *last;
	const struct kb_job *j;
	char u[512], p[512];
	uint64_t acked_at_hold = 0, acked_later = 0;
	uint32_t up_state = ~0u, dst;
	double end;

	obs_reset();
	sched_engine(1, 0, 30000);	/* one slot: the FOREGROUND download takes it */
	/* fragments of 64 KiB: the acknowledged count moves while it sends */
	kb_upload_fragment_size = 64 << 10;
	up->priority = KBITS_PRIORITY_LOW;
	up->max_bandwidth = 256 << 10;
	kb_engine_run(engine, up);
	run_until(up->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	for (end = t_now() + 0.5; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	dl = kb_job_new(1);
	dl->id[0] = 0xd1;
	dl->id[1] = next_id++;
	dl->owner_uid = getuid();
	dl->owner_gid = getgid();
	dl->type = KBITS_JOB_DOWNLOAD;
	dl->priority = KBITS_PRIORITY_FOREGROUND;
	dl->no_progress_timeout = 600;
	dl->max_bandwidth = 4 << 20;
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/src/kill.bin", nginx_port);
	t_path(p, sizeof(p), "prio-dl.bin");
	kb_strset(&dl->files[0].url, u);
	kb_strset(&dl->files[0].path, p);
	kb_engine_run(engine, dl);
	for (end = t_now() + 1.0; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	j = kb_engine_job(engine, up->id);
	if (j) {
		up_state = j->state;
		acked_at_hold = j->files[0].bytes_transferred;
	}
	check(acked_at_hold > 0 && acked_at_hold < (1 << 20),
	      "preempt: the upload had sent part of the file (%llu bytes acknowledged)",
	      (unsigned long long)acked_at_hold);
	check(up_state == KBITS_STATE_QUEUED,
	      "preempt: 1 s after a FOREGROUND download started the LOW upload is QUEUED (state %u)", up_state);
	for (end = t_now() + 0.5; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	j = kb_engine_job(engine, up->id);
	acked_later = j ? j->files[0].bytes_transferred : 0;
	check(acked_later == acked_at_hold, "preempt: the held upload sends nothing (%llu then %llu bytes)",
	      (unsigned long long)acked_at_hold, (unsigned long long)acked_later);
	dst = run_until(dl->id, DONE_MASK, 30);
	check(dst == KBITS_STATE_TRANSFERRED, "preempt: the download is TRANSFERRED (%u)", dst);
	check(run_until(up->id, DONE_MASK, 30) == KBITS_STATE_TRANSFERRED,
	      "preempt: then the upload goes on and is TRANSFERRED (%s)", obs.nerrors ? obs.err.desc : "no error");
	last = finish(up->id);
	check(server_has("prio", "src/1m", "CLOSE"), "preempt: the server closed it with the sha256 of the source");
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(last);
	kb_engine_stop(engine, dl->id);
	for (end = t_now() + 0.2; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(dl);
	kb_job_put(up);
}

/*
 * One slot (--max-transfers 1): a NORMAL download takes it, a LOW upload
 * given at the same time waits in QUEUED and sends nothing, then runs.
 */
static void test_slot_download_first(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("slot1", NULL), "src/1m");
	struct kb_job *dl = dl_make(KBITS_PRIORITY_NORMAL, "src/kill.bin", "slot1-dl.bin", 4 << 20);
	unsigned int max_active = 0;
	uint64_t up_during = 0;
	uint32_t dst = ~0u, ust;
	double end;

	obs_reset();
	sched_engine(1, 0, 30000);
	kb_upload_fragment_size = 64 << 10;
	up->priority = KBITS_PRIORITY_LOW;
	up->max_bandwidth = 512 << 10;
	kb_engine_run(engine, up);
	kb_engine_run(engine, dl);
	for (end = t_now() + 30; t_now() < end;) {
		const struct kb_job *j = kb_engine_job(engine, dl->id);

		kb_loop_run_once(loop, 20000000ull);
		if (kb_engine_active(engine) > max_active)
			max_active = kb_engine_active(engine);
		if (j && (DONE_MASK & (1u << j->state))) {
			dst = j->state;
			break;
		}
	}
	up_during = obs.prog[up->id[1]];
	check(dst == KBITS_STATE_TRANSFERRED, "slot: the NORMAL download is TRANSFERRED (%u)", dst);
	/* (it may begin its session while the download's last bytes are synced: that holds no slot) */
	check(up_during == 0, "slot: the LOW upload sent nothing meanwhile (%llu bytes acknowledged)",
	      (unsigned long long)up_during);
	ust = run_until(up->id, DONE_MASK, 30);
	check(ust == KBITS_STATE_TRANSFERRED, "slot: then the upload runs and is TRANSFERRED (%s)",
	      obs.nerrors ? obs.err.desc : "no error");
	check(max_active == 1, "slot: one transfer on the network at most (%u)", max_active);
	kb_job_put(finish(up->id));
	check(server_has("slot1", "src/1m", "CLOSE"), "slot: the server closed it with the sha256 of the source");
	check(complete_same(dl->id, "src/kill.bin", "slot1-dl.bin"), "slot: the download's bytes are the source's");
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(dl);
	kb_job_put(up);
}

/*
 * One slot: a LOW download runs; a FOREGROUND upload takes the slot from
 * it (the download back in QUEUED, its bytes kept), then the download
 * resumes and arrives whole.
 */
static void test_slot_upload_preempts(void)
{
	struct kb_job *dl = dl_make(KBITS_PRIORITY_LOW, "src/kill.bin", "slot2-dl.bin", 2 << 20);
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("slot2", NULL), "src/1m");
	uint64_t dl_at, dl_later;
	uint32_t dl_state = ~0u, ust, dst;
	double end;

	obs_reset();
	sched_engine(1, 0, 30000);
	kb_upload_fragment_size = 64 << 10;
	kb_engine_run(engine, dl);
	run_until(dl->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	for (end = t_now() + 0.5; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	up->priority = KBITS_PRIORITY_FOREGROUND;
	up->max_bandwidth = 512 << 10;
	kb_engine_run(engine, up);
	run_until(up->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	for (end = t_now() + 0.5; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	if (kb_engine_job(engine, dl->id))
		dl_state = kb_engine_job(engine, dl->id)->state;
	dl_at = obs.prog[dl->id[1]];
	check(dl_at > 0 && dl_state == KBITS_STATE_QUEUED,
	      "upload preempts: the LOW download (%llu bytes on disk) is QUEUED while the FOREGROUND upload runs (state %u)",
	      (unsigned long long)dl_at, dl_state);
	ust = run_until(up->id, DONE_MASK, 30);
	dl_later = obs.prog[dl->id[1]];
	check(ust == KBITS_STATE_TRANSFERRED && dl_later == dl_at,
	      "upload preempts: the upload is TRANSFERRED (%u), the download wrote nothing meanwhile (%llu then %llu)",
	      ust, (unsigned long long)dl_at, (unsigned long long)dl_later);
	dst = run_until(dl->id, DONE_MASK, 30);
	check(dst == KBITS_STATE_TRANSFERRED && complete_same(dl->id, "src/kill.bin", "slot2-dl.bin"),
	      "upload preempts: then the download resumes and arrives whole (state %u)", dst);
	kb_job_put(finish(up->id));
	check(server_has("slot2", "src/1m", "CLOSE"), "upload preempts: the server closed the upload with its sha256");
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(dl);
	kb_job_put(up);
}

/*
 * One slot, slices of 400 ms: a NORMAL upload and a NORMAL download take
 * turns. Never both on the network; the upload resumes its one session
 * with a probe at what the server acknowledged.
 */
static void test_slot_slices(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("slices", NULL), "src/1m");
	struct kb_job *dl = dl_make(KBITS_PRIORITY_NORMAL, "src/kill.bin", "slices-dl.bin", 2 << 20);
	unsigned int max_active = 0;
	uint32_t ust = ~0u, dst = ~0u;
	char log[16384];
	int probes = 0;
	double end;

	obs_reset();
	sched_engine(1, 0, 400);
	kb_upload_fragment_size = 64 << 10;
	up->max_bandwidth = 256 << 10;
	kb_engine_run(engine, up);
	kb_engine_run(engine, dl);
	for (end = t_now() + 60; t_now() < end && (ust == ~0u || dst == ~0u);) {
		const struct kb_job *u = kb_engine_job(engine, up->id), *d = kb_engine_job(engine, dl->id);

		kb_loop_run_once(loop, 20000000ull);
		if (kb_engine_active(engine) > max_active)
			max_active = kb_engine_active(engine);
		if (u && (DONE_MASK & (1u << u->state)))
			ust = u->state;
		if (d && (DONE_MASK & (1u << d->state)))
			dst = d->state;
	}
	check(ust == KBITS_STATE_TRANSFERRED && dst == KBITS_STATE_TRANSFERRED,
	      "slices: both are TRANSFERRED (upload %u, download %u; %s)", ust, dst,
	      obs.nerrors ? obs.err.desc : "no error");
	check(max_active == 1, "slices: never both on the network (%u at most)", max_active);
	check(obs.turns[up->id[1]] >= 2 && obs.turns[dl->id[1]] >= 2, "slices: they took turns (upload %d, download %d)",
	      obs.turns[up->id[1]], obs.turns[dl->id[1]]);
	/* a turn of the upload after the first begins with a one-byte probe at the server's count */
	bits_log("slices", "Fragment", 1, log, sizeof(log));
	for (char *q = log; (q = strstr(q, "range=bytes_")); q++) {
		unsigned long long a, b;

		if (sscanf(q, "range=bytes_%llu-%llu/", &a, &b) == 2 && a == b && a > 0)
			probes++;
	}
	check(probes >= 1 && bits_log("slices", "Create-Session", 1, log, sizeof(log)) == 1,
	      "slices: the upload resumed its one session %d times with a probe where the server stood", probes);
	kb_job_put(finish(up->id));
	check(server_has("slices", "src/1m", "CLOSE") && complete_same(dl->id, "src/kill.bin", "slices-dl.bin"),
	      "slices: the server closed the upload with its sha256, the download has the source's bytes");
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(dl);
	kb_job_put(up);
}

/*
 * --max-bandwidth 512 KiB/s over one upload and one download: shared
 * max-min fairly, each about half. Bounds only (no absolute speed is
 * required): each between 25% and 75% of what both moved, and both
 * together not above the limit (with a burst's slack).
 */
static void test_global_bandwidth_shared(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("share", NULL), "src/kill.bin");
	struct kb_job *dl = dl_make(KBITS_PRIORITY_NORMAL, "src/kill.bin", "share-dl.bin", 0);
	uint64_t u0, d0, u1, d1, total;
	double t0, secs, limit = 512 << 10;

	obs_reset();
	sched_engine(16, 512 << 10, 30000);
	kb_upload_fragment_size = 32 << 10;
	kb_engine_run(engine, up);
	kb_engine_run(engine, dl);
	run_until(up->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	run_until(dl->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	for (double end = t_now() + 1.0; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	u0 = obs.prog[up->id[1]];
	d0 = obs.prog[dl->id[1]];
	t0 = t_now();
	for (double end = t0 + 4.0; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	u1 = obs.prog[up->id[1]];
	d1 = obs.prog[dl->id[1]];
	secs = t_now() - t0;
	total = (u1 - u0) + (d1 - d0);
	diag("share: upload %llu B, download %llu B in %.2f s (limit %.0f B/s)", (unsigned long long)(u1 - u0),
	     (unsigned long long)(d1 - d0), secs, limit);
	check(total > 0 && (u1 - u0) >= total / 4 && (u1 - u0) <= total * 3 / 4,
	      "share: the upload moved %.0f%% of the bytes (25%% to 75%%)", total ? 100.0 * (double)(u1 - u0) / (double)total : 0.0);
	check(total > 0 && (d1 - d0) >= total / 4 && (d1 - d0) <= total * 3 / 4,
	      "share: the download moved %.0f%% of the bytes (25%% to 75%%)", total ? 100.0 * (double)(d1 - d0) / (double)total : 0.0);
	check((double)total <= 1.5 * limit * secs,
	      "share: together %.0f B/s, within --max-bandwidth %.0f B/s (x1.5 for bursts and fragment steps)",
	      (double)total / secs, limit);
	kb_engine_stop(engine, up->id);
	kb_engine_stop(engine, dl->id);
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(dl);
	kb_job_put(up);
}

/* A slow upload with a maximum download time of 2 s: ERROR, -ETIME, GENERAL_QUEUE_MANAGER. */
static void test_max_download_time(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("mdt", NULL), "src/1m");
	double t0 = t_now();
	char log[4096];
	uint32_t st;

	obs_reset();
	kb_upload_fragment_size = 64 << 10;
	up->max_bandwidth = 64 << 10;	/* 16 s for the whole file */
	up->max_download_time = 2;
	kb_engine_run(engine, up);
	st = run_until(up->id, DONE_MASK, 20);
	check(st == KBITS_STATE_ERROR && obs.err.code == -ETIME &&
	      obs.err.context == KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
	      "max_download_time: ERROR after %.1f s (state %u, code %d, context %u: %s)", t_now() - t0, st,
	      obs.err.code, obs.err.context, obs.err.desc);
	check(bits_log("mdt", "CLOSE", 0, log, sizeof(log)) == 0, "max_download_time: the server closed nothing");
	kb_job_put(finish(up->id));
	kb_upload_fragment_size = 1 << 20;
	kb_job_put(up);
}

static int load_mdt(void *arg, struct kb_job *job)
{
	struct kb_job **out = arg;

	if (job->type != KBITS_JOB_DOWNLOAD && job->files && strstr(job->files[0].path, "src/mdt.bin") && !*out)
		*out = job;
	else
		kb_job_put(job);
	return 0;
}

/*
 * The time an upload transferred is kept across a restart: 2.5 s of a
 * 4 s maximum, the engine freed (kbitsd exits), the job loaded from the
 * store into a new engine: it fails after the rest, not after 4 s more.
 */
static void test_max_download_time_restart(void)
{
	struct kb_job *up = up_make(KBITS_JOB_UPLOAD, bits_url("mdt2", NULL), "src/mdt.bin"), *loaded = NULL;
	double t0;
	uint32_t st;

	obs_reset();
	kb_upload_fragment_size = 64 << 10;
	up->max_bandwidth = 64 << 10;
	up->max_download_time = 4;
	kb_engine_run(engine, up);
	run_until(up->id, 1u << KBITS_STATE_TRANSFERRING, 10);
	for (double end = t_now() + 2.5; t_now() < end;)
		kb_loop_run_once(loop, 20000000ull);
	kb_engine_free(engine);
	engine = kb_engine_new(loop, &cfg, &ops, NULL);
	kb_store_load(store, load_mdt, &loaded);
	check(loaded && loaded->active_ns >= 2000000000ull && loaded->active_ns < 4000000000ull,
	      "max_download_time restart: the store has the upload's active time (%.2f s, 2 to 4)",
	      loaded ? (double)loaded->active_ns / 1e9 : -1.0);
	if (!loaded) {
		kb_job_put(up);
		kb_upload_fragment_size = 1 << 20;
		return;
	}
	obs_reset();
	t0 = t_now();
	kb_engine_run(engine, loaded);
	st = run_until(loaded->id, DONE_MASK, 20);
	check(st == KBITS_STATE_ERROR && obs.err.code == -ETIME && t_now() - t0 < 3.5,
	      "max_download_time restart: a new engine fails it after the rest of its time (%.1f s, state %u, code %d)",
	      t_now() - t0, st, obs.err.code);
	kb_job_put(finish(loaded->id));
	kb_job_put(loaded);
	kb_job_put(up);
	kb_upload_fragment_size = 1 << 20;
}

static void test_drops(void)
{
	const uint64_t size = 3000000;
	unsigned int seed = getenv("KBITS_TEST_SEED") ? (unsigned int)atoi(getenv("KBITS_TEST_SEED")) :
			    (unsigned int)time(NULL);
	uint64_t pts[3];
	char q[128], log[16384];
	struct kb_job *job;
	uint32_t st;

	srand(seed);
	for (int i = 0; i < 3; i++)
		pts[i] = 1 + (uint64_t)rand() % (size - 2);
	diag("drops: seed %u (KBITS_TEST_SEED), connection drops at %llu, %llu, %llu bytes", seed,
	     (unsigned long long)pts[0], (unsigned long long)pts[1], (unsigned long long)pts[2]);
	snprintf(q, sizeof(q), "drop=%llu,%llu,%llu", (unsigned long long)pts[0], (unsigned long long)pts[1],
		 (unsigned long long)pts[2]);
	kb_upload_fragment_size = 256 << 10;
	job = up_make(KBITS_JOB_UPLOAD, bits_url("drop.bin", q), "src/drop.bin");
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED, "drops: TRANSFERRED after interruptions (state %d, %s)", (int)st,
	      obs.err.desc);
	check(obs.transients >= 1 && obs.transients <= 3 && obs.err.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT,
	      "drops: %d transient GENERAL_TRANSPORT errors (code %d)", obs.transients, obs.err.code);
	check(server_has("drop.bin", "src/drop.bin", "CLOSE"), "drops: the server holds every byte (sha256)");
	bits_log("drop.bin", "Fragment", 1, log, sizeof(log));
	{
		/* after each drop: a one-byte probe, answered with the server's count */
		int probes = 0;

		for (char *p = log; (p = strstr(p, "range=bytes_")); p++) {
			unsigned long long a, b;

			if (sscanf(p, "range=bytes_%llu-%llu/", &a, &b) == 2 && a == b && a + 1 < size)
				probes++;
		}
		check(probes == obs.transients, "drops: one probe fragment per interruption (%d)", probes);
	}
	kb_job_put(finish(job->id));
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

/*
 * The server closes the session and drops the connection without a byte of
 * its answer: nothing tells a handled Close from one that never arrived
 * (libcurl sends it again and the server knows no session). A lost upload
 * must not pass for a done one: the upload starts over in a new session.
 */
static void test_close_answer_lost(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("closelost.bin", "dropclose=1"),
				     "src/rewind.bin");
	char log[4096];
	uint32_t st;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED, "close answer lost: TRANSFERRED (state %d, %s)", (int)st,
	      obs.err.desc);
	check(bits_log("closelost.bin", "Create-Session 200", 2, log, sizeof(log)) == 2,
	      "close answer lost: without evidence the Close arrived, the upload starts over (2 sessions)");
	check(server_has("closelost.bin", "src/rewind.bin", "CLOSE"),
	      "close answer lost: the server holds every byte (sha256)");
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

static void test_rewind_416(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("rewind.bin", "rewind=700000"), "src/rewind.bin");
	char log[16384];
	uint32_t st;

	kb_upload_fragment_size = 256 << 10;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED && obs.nerrors == 0,
	      "416: TRANSFERRED without an error after the server lost bytes (state %d)", (int)st);
	bits_log("rewind.bin", "Fragment 416", 1, log, sizeof(log));
	check(strstr(log, "recv=350000") != NULL, "416: the server answered 416 with its count 350000 (%s)", log);
	check(server_has("rewind.bin", "src/rewind.bin", "CLOSE"), "416: resynchronised: every byte (sha256)");
	kb_job_put(finish(job->id));
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

static void test_bits_error(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD,
				     bits_url("err.bin", "status=500&code=0x80070005&context=0x7&times=100"),
				     "src/one");
	uint32_t st;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK | 1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR, "500: a 500 with BITS-Error-Code makes the job ERROR (state %d)", (int)st);
	check(obs.err.context == KBITS_ERROR_CONTEXT_REMOTE_APPLICATION && obs.err.code == (int32_t)0x80070005,
	      "500: context REMOTE_APPLICATION, code 0x80070005 (context %u, code 0x%08x: %s)", obs.err.context,
	      (uint32_t)obs.err.code, obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/*
 * The server lost the session (restarted without it, or expired it): BITS
 * starts over in a new session, as after a power cut of the client's VM
 * whose server kept its sessions in memory.
 */
static void test_session_lost(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD,
				     bits_url("lost.bin", "status=400&code=0x80200031&times=1"), "src/rewind.bin");
	char log[4096];
	uint32_t st;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED, "session lost: a fragment answered 'session not found' starts a new "
	      "session, TRANSFERRED (state %d, %s)", (int)st, obs.err.desc);
	check(bits_log("lost.bin", "Create-Session 200", 2, log, sizeof(log)) == 2 &&
	      server_has("lost.bin", "src/rewind.bin", "CLOSE"),
	      "session lost: two sessions, the second holds every byte (sha256)");
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* A server that loses every session before acknowledging a byte: ERROR, not a loop. */
static void test_session_always_lost(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD,
				     bits_url("lostall.bin", "status=400&code=0x80200031&times=100"), "src/one");
	char log[4096];
	uint32_t st;

	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK | 1u << KBITS_STATE_TRANSIENT_ERROR, 30);
	check(st == KBITS_STATE_ERROR && obs.err.code == (int32_t)0x80200031,
	      "session always lost: ERROR with BG_E_SESSION_NOT_FOUND (state %d, code 0x%08x)", (int)st,
	      (uint32_t)obs.err.code);
	check(bits_log("lostall.bin", "Create-Session 200", 4, log, sizeof(log)) == 4,
	      "session always lost: the first session and three new ones, then the error");
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

static pid_t start_bits_as(const char *tag, int *port, bool single);
static void use_bits_log(const char *dir, const char *tag);

/*
 * An upload-reply job against a BITS server of the case's own, then
 * Complete with that server and the engine gone: the reply is on disk
 * already, Complete needs no network.
 */
static void test_reply(void)
{
	int port = 0;
	pid_t srv = start_bits_as("reply", &port, false);
	struct kb_job *job, *reply_job;
	char u[256], p[512], h[65], buf[128] = "";
	uint32_t st, fd = 0;
	int err = 0;
	FILE *f;

	if (!check(srv > 0, "reply: a BITS server of the case's own on 127.0.0.1:%d", port))
		return;
	use_bits_log(t_dir, "reply");
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/upload/reply.bin?reply=1&reply_pad=300000", port);
	job = up_make(KBITS_JOB_UPLOAD_REPLY, u, "src/reply.bin");
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 30);
	check(st == KBITS_STATE_TRANSFERRED, "reply: upload-reply TRANSFERRED (state %d, %s)", (int)st, obs.err.desc);
	check(server_has("reply.bin", "src/reply.bin", "CLOSE"), "reply: the server got every byte (sha256)");
	check(obs.reply_calls >= 2 && obs.reply_total == obs.reply_done && obs.reply_done > 300000,
	      "reply: reply progress reported (%d calls, %llu of %llu bytes)", obs.reply_calls,
	      (unsigned long long)obs.reply_done, (unsigned long long)obs.reply_total);
	reply_job = finish(job->id);
	t_path(p, sizeof(p), "src/reply.bin.reply");
	check(access(p, F_OK) != 0, "reply: no reply file before Complete");
	kb_job_put(job);

	/* the servers gone: the engine freed, the case's BITS server stopped */
	kb_engine_free(engine);
	engine = NULL;
	t_kill(srv);
	check(reply_job && kb_job_complete_files(reply_job, &fd, &err) == KBITS_COMPLETE_ALL,
	      "reply: Complete with the servers gone (no network) renames the reply into place (%d)", err);
	t_path(p, sizeof(p), "src/reply.bin");
	t_sha256(p, h);
	t_path(p, sizeof(p), "src/reply.bin.reply");
	f = fopen(p, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	check(!strncmp(buf, "sha256=", 7) && !strncmp(buf + 7, h, 64),
	      "reply: <file>.reply holds the server's answer naming the source's sha256");
	{
		struct stat sb = { 0 };

		stat(p, &sb);
		check(sb.st_size == (off_t)strlen(buf) + 300000 && (sb.st_mode & 0777) == 0644,
		      "reply: the whole reply, mode 0644 (%lld bytes, 0%o)", (long long)sb.st_size,
		      sb.st_mode & 0777);
	}
	kb_job_put(reply_job);
}

static void test_hostid(void)
{
	char q[128];
	struct kb_job *job;
	uint32_t st;
	double t0;

	snprintf(q, sizeof(q), "hostid=127.0.0.1:%d&hostid_timeout=1", t_free_port());
	job = up_make(KBITS_JOB_UPLOAD, bits_url("hostid.bin", q), "src/hostid.bin");
	obs_reset();
	t0 = t_now();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 30);
	check(st == KBITS_STATE_TRANSFERRED && obs.nerrors == 0,
	      "host-id: an unreachable BITS-Host-Id falls back to the URL without an error (state %d)", (int)st);
	check(t_now() - t0 >= 1.0, "host-id: after its fallback timeout of 1 s (%.2f s)", t_now() - t0);
	check(server_has("hostid.bin", "src/hostid.bin", "CLOSE"), "host-id: every byte (sha256)");
	kb_job_put(finish(job->id));
	kb_job_put(job);
	/* a reachable Host-Id: the same server under another name */
	snprintf(q, sizeof(q), "hostid=localhost:%d", bits_port);
	job = up_make(KBITS_JOB_UPLOAD, bits_url("hostid2.bin", q), "src/hostid.bin");
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 30);
	check(st == KBITS_STATE_TRANSFERRED && server_has("hostid2.bin", "src/hostid.bin", "CLOSE"),
	      "host-id: fragments go to a reachable BITS-Host-Id (state %d)", (int)st);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

static void test_put_nginx(void)
{
	char u[256], a[512], h1[65], h2[65];
	struct kb_job *job;
	uint32_t st;
	double t0;

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/dav/put64", nginx_port);
	job = up_make(KBITS_JOB_UPLOAD, u, "src/64m");
	job->job_flags = KBITS_JOB_F_HTTP_PUT;
	obs_reset();
	t0 = t_now();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED, "put: 64 MiB PUT to nginx (dav_methods PUT) TRANSFERRED (state %d, %s)",
	      (int)st, obs.err.desc);
	diag("put: 64 MiB in %.2f s", t_now() - t0);
	t_path(a, sizeof(a), "src/64m");
	t_sha256(a, h1);
	t_path(a, sizeof(a), "dav/put64");
	t_sha256(a, h2);
	check(h1[0] && !strcmp(h1, h2), "put: nginx holds the sha256 of the source");
	kb_job_put(finish(job->id));
	kb_job_put(job);
	/* a plain PUT to the BITS server, interrupted: the whole file again */
	job = up_make(KBITS_JOB_UPLOAD, bits_url("put.bin", "drop=100000"), "src/drop.bin");
	job->job_flags = KBITS_JOB_F_HTTP_PUT;
	obs_reset();
	kb_engine_run(engine, job);
	st = run_until(job->id, DONE_MASK, 30);
	check(st == KBITS_STATE_TRANSFERRED && obs.transients == 1,
	      "put: after a drop the whole file is sent again (state %d, %d transient)", (int)st, obs.transients);
	check(server_has("put.bin", "src/drop.bin", "PUTDONE"), "put: every byte (sha256)");
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

static void test_modified(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("mod.bin", "slow=0.1"), "src/mod.bin");
	char p[512], log[4096];
	uint32_t st;
	int fd;

	kb_upload_fragment_size = 64 << 10;
	obs_reset();
	kb_engine_run(engine, job);
	for (int i = 0; i < 200 && obs.acked < (128 << 10); i++)
		kb_loop_run_once(loop, 50000000ull);
	t_path(p, sizeof(p), "src/mod.bin");
	fd = open(p, O_WRONLY | O_APPEND);
	check(fd >= 0 && write(fd, "more", 4) == 4, "modified: appended to the source after %llu bytes",
	      (unsigned long long)obs.acked);
	if (fd >= 0)
		close(fd);
	st = run_until(job->id, DONE_MASK | 1u << KBITS_STATE_TRANSIENT_ERROR, 20);
	check(st == KBITS_STATE_ERROR && obs.err.context == KBITS_ERROR_CONTEXT_LOCAL_FILE && obs.err.code == -ESTALE,
	      "modified: ERROR, LOCAL_FILE, -ESTALE (state %d, context %u, code %d: %s)", (int)st, obs.err.context,
	      obs.err.code, obs.err.desc);
	for (int i = 0; i < 100 && kb_engine_cancels_pending(engine); i++)
		kb_loop_run_once(loop, 50000000ull);
	check(bits_log("mod.bin", "CANCEL", 1, log, sizeof(log)) == 1 &&
	      bits_log("mod.bin", "CLOSE", 0, log, sizeof(log)) == 0,
	      "modified: the session was cancelled, never closed");
	kb_job_put(finish(job->id));
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

static int load_cb(void *arg, struct kb_job *job)
{
	struct kb_job **out = arg;

	if (job->type != KBITS_JOB_DOWNLOAD && job->files && strstr(job->files[0].path, "kill.bin") && !*out)
		*out = job;
	else
		kb_job_put(job);
	return 0;
}

static void test_kill(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("kill.bin", "slow=0.02"), "src/kill.bin");
	struct kb_job *loaded = NULL;
	char log[16384];
	uint64_t at;
	uint32_t st;

	kb_upload_fragment_size = 256 << 10;
	obs_reset();
	kb_engine_run(engine, job);
	for (int i = 0; i < 400 && obs.acked < (3 << 20); i++)
		kb_loop_run_once(loop, 20000000ull);
	at = obs.acked;
	/* a fragment is on its way: the agent dies */
	kb_engine_free(engine);
	engine = kb_engine_new(loop, &cfg, &ops, NULL);
	kb_store_load(store, load_cb, &loaded);
	check(loaded && loaded->up.session_id && loaded->files[0].bytes_transferred == at,
	      "kill: the store has the session and %llu acknowledged bytes (%llu)", (unsigned long long)at,
	      loaded ? (unsigned long long)loaded->files[0].bytes_transferred : 0ull);
	if (!loaded) {
		kb_job_put(job);
		return;
	}
	obs_reset();
	kb_engine_run(engine, loaded);
	st = run_until(loaded->id, DONE_MASK, 60);
	check(st == KBITS_STATE_TRANSFERRED && obs.nerrors == 0, "kill: a new engine resumes the session (state %d, %s)",
	      (int)st, obs.err.desc);
	check(bits_log("kill.bin", "Create-Session", 1, log, sizeof(log)) == 1, "kill: one session only");
	{
		char probe[64];

		snprintf(probe, sizeof(probe), "range=bytes_%llu-%llu/", (unsigned long long)at,
			 (unsigned long long)at);
		bits_log("kill.bin", probe, 1, log, sizeof(log));
		check(strstr(log, probe) != NULL, "kill: resumed with a probe at %llu: %s", (unsigned long long)at, log);
	}
	check(server_has("kill.bin", "src/kill.bin", "CLOSE"), "kill: every byte (sha256)");
	kb_job_put(finish(loaded->id));
	kb_job_put(loaded);
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

static void test_cancel(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("cancel.bin", "slow=0.2"), "src/drop.bin");
	struct kb_job *last;
	char log[4096];

	kb_upload_fragment_size = 64 << 10;
	obs_reset();
	kb_engine_run(engine, job);
	for (int i = 0; i < 200 && obs.acked == 0; i++)
		kb_loop_run_once(loop, 50000000ull);
	last = finish(job->id);
	check(obs.stopped == 1, "cancel: the job stopped");
	check(last && kb_engine_cancel_session(engine, last) == 0, "cancel: Cancel-Session sent");
	for (int i = 0; i < 100 && kb_engine_cancels_pending(engine); i++)
		kb_loop_run_once(loop, 50000000ull);
	check(bits_log("cancel.bin", "CANCEL", 1, log, sizeof(log)) == 1, "cancel: the server dropped the session");
	kb_job_put(last);
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

/* A new engine with this configuration in place of the test's one. */
static void engine_with(const struct kb_engine_config *c)
{
	kb_engine_free(engine);
	engine = kb_engine_new(loop, c, &ops, NULL);
}

static uint32_t run_one(struct kb_job *job, uint32_t mask, double secs)
{
	obs_reset();
	kb_engine_run(engine, job);
	return run_until(job->id, mask, secs);
}

#define ANY_ERROR (DONE_MASK | 1u << KBITS_STATE_TRANSIENT_ERROR)

/* Bug: uploads turned on CURLOPT_VERBOSE without the redacting callback. */
static void test_verbose_hides_credentials(void)
{
	struct kb_engine_config vc = cfg;
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("vauth.bin", "auth=1"), "src/one");
	char logp[512], line[4096];
	int saved = dup(2), fd, lines = 0, leaks = 0, auths = 0;
	FILE *f;

	kb_strset(&job->strings[KBITS_STR_CREDENTIALS], "alice:s3cret");
	t_path(logp, sizeof(logp), "upload-verbose.log");
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	vc.verbose = 3;		/* kbitsd -vvv */
	engine_with(&vc);
	run_one(job, ANY_ERROR, 20);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	engine_with(&cfg);
	f = fopen(logp, "r");
	while (f && fgets(line, sizeof(line), f)) {
		lines++;
		auths += strcasestr(line, "Authorization:") != NULL;
		if (strstr(line, "YWxpY2U6czNjcmV0") || strstr(line, "s3cret")) {
			leaks++;
			diag("leak: %s", line);
		}
	}
	if (f)
		fclose(f);
	check(lines > 10 && auths >= 1, "verbose upload with credentials: curl's log was written (%d lines, %d "
	      "Authorization lines)", lines, auths);
	check(!leaks, "verbose upload with credentials: no password or Basic token in the log (%d leaks)", leaks);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* Bug: the 401 of an auth-asking server needs the body again (rewind). */
static void test_credentials_upload(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("auth.bin", "auth=1"), "src/drop.bin");
	char u[256], a[512], h1[65], h2[65];
	uint32_t st;

	kb_strset(&job->strings[KBITS_STR_CREDENTIALS], "alice:s3cret");
	st = run_one(job, ANY_ERROR, 30);
	check(st == KBITS_STATE_TRANSFERRED && server_has("auth.bin", "src/drop.bin", "CLOSE"),
	      "credentials: a BITS upload to a server asking for Basic auth is TRANSFERRED, every byte (state %d, %s)",
	      (int)st, obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/davauth/put-auth", nginx_port);
	job = up_make(KBITS_JOB_UPLOAD, u, "src/drop.bin");
	job->job_flags = KBITS_JOB_F_HTTP_PUT;
	kb_strset(&job->strings[KBITS_STR_CREDENTIALS], "alice:s3cret");
	st = run_one(job, ANY_ERROR, 30);
	t_path(a, sizeof(a), "src/drop.bin");
	t_sha256(a, h1);
	t_path(a, sizeof(a), "davauth/put-auth");
	t_sha256(a, h2);
	check(st == KBITS_STATE_TRANSFERRED && h1[0] && !strcmp(h1, h2),
	      "credentials: a PUT to nginx auth_basic is TRANSFERRED, every byte (state %d, %s)", (int)st,
	      obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* Bug: uploads handed the BITS bypass list to curl unconverted. */
static void test_proxy_bypass_local(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("bypass.bin", NULL), "src/1m");
	uint32_t st;

	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], "http://127.0.0.1:9");
	kb_strset(&job->strings[KBITS_STR_PROXY_BYPASS], "<local>");
	st = run_one(job, ANY_ERROR, 20);
	check(st == KBITS_STATE_TRANSFERRED && server_has("bypass.bin", "src/1m", "CLOSE"),
	      "proxy bypass '<local>': the upload to 127.0.0.1 goes direct, not to the dead proxy (state %d, %s)",
	      (int)st, obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* Bug: Cancel-Session went direct whatever the job's proxy. The BITS server
 * is its own proxy here: it logs requests in absolute form as via=proxy. */
static void test_cancel_through_proxy(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("cproxy.bin", "slow=0.2"), "src/drop.bin");
	struct kb_job *last;
	char log[4096], proxy[64];

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", bits_port);
	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], proxy);
	kb_upload_fragment_size = 64 << 10;
	obs_reset();
	kb_engine_run(engine, job);
	for (int i = 0; i < 200 && obs.acked == 0; i++)
		kb_loop_run_once(loop, 50000000ull);
	last = finish(job->id);
	check(last && kb_engine_cancel_session(engine, last) == 0, "cancel through a proxy: Cancel-Session sent");
	for (int i = 0; i < 100 && kb_engine_cancels_pending(engine); i++)
		kb_loop_run_once(loop, 50000000ull);
	bits_log("cproxy.bin", "Fragment", 1, log, sizeof(log));
	check(strstr(log, "via=proxy") && !strstr(log, "via=direct"), "cancel through a proxy: fragments via the proxy");
	bits_log("cproxy.bin", "CANCEL", 1, log, sizeof(log));
	check(strstr(log, "CANCEL via=proxy") != NULL, "cancel through a proxy: Cancel-Session via the proxy too (%s)",
	      log);
	kb_job_put(last);
	kb_job_put(job);
	kb_upload_fragment_size = 1 << 20;
}

/* Bug: a proxy's 407 was reported as the origin server's status. */
static void test_proxy_refuses(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("p407.bin", "proxy407=1"), "src/one");
	char proxy[64], origin[128];
	uint32_t st;

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", bits_port);
	snprintf(origin, sizeof(origin), "from http://127.0.0.1:%d/upload", bits_port);
	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], proxy);
	st = run_one(job, ANY_ERROR, 20);
	check(st == KBITS_STATE_ERROR && obs.err.code == 407 && strstr(obs.err.desc, "proxy") &&
	      strstr(obs.err.desc, proxy) && !strstr(obs.err.desc, origin),
	      "proxy 407: ERROR naming the proxy, not the server (state %d, code %d: %s)", (int)st, obs.err.code,
	      obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* Bug: an error answer without Content-Length made kbitsd wait for a body. */
static void test_error_without_length(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD,
				     bits_url("nolen.bin", "status=500&code=0x80070005&context=0x7&times=100&nolength=1"),
				     "src/one");
	double t0 = t_now();
	uint32_t st = run_one(job, ANY_ERROR, 15);

	check(st == KBITS_STATE_ERROR && obs.err.code == (int32_t)0x80070005 && t_now() - t0 < 10,
	      "500 without Content-Length: ERROR with the server's BITS error at once (state %d, %.1f s, code "
	      "0x%08x: %s)", (int)st, t_now() - t0, (uint32_t)obs.err.code, obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/*
 * Bug: the server is killed while a Close-Session it has not handled is on
 * its way (it resets the connection), the next Close is refused, and after
 * the server's restart the Close finds no session. Nothing says the first
 * Close was received: the upload must start over, not be TRANSFERRED.
 * On the way: the transport error text pairs curl's code with its own
 * message (libcurl's silent retry after the reset kept the reset's text).
 */
static void test_server_killed_before_close(void)
{
	int port = 0;
	pid_t srv = start_bits_as("killed", &port, false);
	struct kb_job *job;
	char u[256], log[8192], desc[512] = "";
	uint32_t st;
	bool restarted = false;
	double end;

	if (!check(srv > 0, "killed server: a second BITS server on 127.0.0.1:%d", port))
		return;
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/upload/killed.bin?killclose=1", port);
	job = up_make(KBITS_JOB_UPLOAD, u, "src/1m");
	job->min_retry_delay = 1;
	obs_reset();
	kb_engine_run(engine, job);
	end = t_now() + 40;
	st = ~0u;
	while (t_now() < end) {
		const struct kb_job *j = kb_engine_job(engine, job->id);

		st = j ? j->state : ~0u;
		if (st == KBITS_STATE_TRANSFERRED || st == KBITS_STATE_ERROR)
			break;
		if (!restarted && obs.transients) {
			snprintf(desc, sizeof(desc), "%s", obs.err.desc);
			waitpid(srv, NULL, 0);	/* it exited at the Close */
			srv = start_bits_as("killed", &port, false);	/* same port, no sessions */
			restarted = true;
		}
		kb_loop_run_once(loop, 50000000ull);
	}
	use_bits_log(t_dir, "killed");
	check(restarted && !(strstr(desc, "Couldn't connect") && strstr(desc, "Recv failure")),
	      "killed server: the error text pairs curl's code with its own message (%s)", desc);
	check(st == KBITS_STATE_TRANSFERRED && bits_log("killed.bin", "KILLED-AT-CLOSE", 1, log, sizeof(log)) == 1 &&
	      server_has("killed.bin", "src/1m", "CLOSE"),
	      "killed server: 'session not found' after an unanswered Close restarts the upload; the restarted "
	      "server closes every byte (state %d, %s)", (int)st, obs.err.desc);
	check(bits_log("killed.bin", "Create-Session 200", 2, log, sizeof(log)) == 2,
	      "killed server: two sessions, the lost one and the new one");
	kb_job_put(finish(job->id));
	kb_job_put(job);
	t_kill(srv);
}

/*
 * Bug: Close-Session on a fresh connection waited behind the idle
 * keep-alive connection of a single-threaded server, and a server that
 * keeps sessions per connection does not know the session there.
 */
static void test_single_threaded_server(void)
{
	struct kb_engine_config c = cfg;
	int port = 0;
	pid_t srv = start_bits_as("single", &port, true);
	struct kb_job *job;
	char u[256];
	uint32_t st;
	double t0;

	if (!check(srv > 0, "single-threaded server: on 127.0.0.1:%d, sessions per connection", port))
		return;
	c.low_speed_time = 5;	/* the wait is bounded; the job must not need it */
	engine_with(&c);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/upload/single.bin", port);
	job = up_make(KBITS_JOB_UPLOAD, u, "src/drop.bin");
	t0 = t_now();
	st = run_one(job, ANY_ERROR, 30);
	use_bits_log(t_dir, "single");
	check(st == KBITS_STATE_TRANSFERRED && obs.nerrors == 0 && server_has("single.bin", "src/drop.bin", "CLOSE"),
	      "single-threaded server: TRANSFERRED without an error, closed with every byte (state %d, %.1f s, %s)",
	      (int)st, t_now() - t0, obs.err.desc);
	kb_job_put(finish(job->id));
	kb_job_put(job);
	engine_with(&cfg);
	t_kill(srv);
}

/*
 * The server closed the session and began its answer (a status line), then
 * the connection dropped: that is evidence the Close was received, so the
 * repeated Close's "session not found" means closed: one session only.
 */
static void test_close_answer_partial(void)
{
	struct kb_job *job = up_make(KBITS_JOB_UPLOAD, bits_url("closepart.bin", "dropclose=partial"),
				     "src/rewind.bin");
	char log[4096];
	uint32_t st = run_one(job, DONE_MASK, 60);

	check(st == KBITS_STATE_TRANSFERRED && obs.transients == 1,
	      "close answer lost mid-way: TRANSFERRED after one transient error (state %d, %d, %s)", (int)st,
	      obs.transients, obs.err.desc);
	check(server_has("closepart.bin", "src/rewind.bin", "CLOSE") &&
	      bits_log("closepart.bin", "Create-Session 200", 1, log, sizeof(log)) == 1,
	      "close answer lost mid-way: closed with every byte, one session only");
	kb_job_put(finish(job->id));
	kb_job_put(job);
}

/* bits_log reads dir/<tag>.log from now on. */
static void use_bits_log(const char *dir, const char *tag)
{
	snprintf(bits_log_file, sizeof(bits_log_file), "%s/%s.log", dir, tag);
}

/*
 * A BITS server writing t_dir/<tag>.log and --root t_dir/up; port 0: any
 * (written to *port), else that one (a restart). single: --single.
 */
static pid_t start_bits_as(const char *tag, int *port, bool single)
{
	char pf[512], log[512], root[512], name[64], portarg[16];
	pid_t pid;

	snprintf(name, sizeof(name), "%s.port", tag);
	t_path(pf, sizeof(pf), name);
	snprintf(name, sizeof(name), "%s.log", tag);
	t_path(log, sizeof(log), name);
	t_path(root, sizeof(root), "up");
	snprintf(portarg, sizeof(portarg), "%d", *port > 0 ? *port : 0);
	unlink(pf);
	{
		char *argv[] = { "/usr/bin/python3", KB_TOP "/tests/servers/bitsserver.py", "--root", root,
				 "--log", log, "--port-file", pf, "--port", portarg,
				 single ? "--single" : NULL, NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(pf, "r");

		if (f) {
			if (fscanf(f, "%d", port) != 1)
				*port = -1;
			fclose(f);
			if (*port > 0 && t_port_open(*port))
				return pid;
		}
		usleep(20000);
	}
	return -1;
}

static pid_t start_bits(void)
{
	return start_bits_as("bits", &bits_port, false);
}

/* nginx with dav_methods PUT on 127.0.0.1, writing into t_dir/dav. */
static pid_t start_nginx_dav(void)
{
	char conf[512], prefix[300], text[4096];
	pid_t pid;
	FILE *f;

	nginx_port = t_free_port();
	t_path(conf, sizeof(conf), "nginx.conf");
	snprintf(prefix, sizeof(prefix), "%s/", t_dir);
	t_mkdir("nginx-tmp", 0700);
	snprintf(text, sizeof(text),
		 "daemon off;\nmaster_process off;\nworker_processes 1;\n%s"
		 "error_log %s/nginx.err;\npid %s/nginx.pid;\n"
		 "events { worker_connections 64; }\n"
		 "http {\n access_log off;\n client_max_body_size 0;\n"
		 " client_body_temp_path %s/nginx-tmp; proxy_temp_path %s/nginx-tmp;\n"
		 " fastcgi_temp_path %s/nginx-tmp; uwsgi_temp_path %s/nginx-tmp; scgi_temp_path %s/nginx-tmp;\n"
		 " server { listen 127.0.0.1:%d; root %s;\n"
		 "  location /dav/ { dav_methods PUT; create_full_put_path on; dav_access user:rw all:r; }\n"
		 "  location /davauth/ { dav_methods PUT; create_full_put_path on; dav_access user:rw all:r;\n"
		 "   auth_basic kbits; auth_basic_user_file %s/htpasswd; }\n }\n}\n",
		 geteuid() == 0 ? "user root;\n" : "", t_dir, t_dir, t_dir, t_dir, t_dir, t_dir, t_dir,
		 nginx_port, t_dir, t_dir);
	t_path(conf, sizeof(conf), "htpasswd");
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs("alice:{PLAIN}s3cret\n", f);
	fclose(f);
	t_path(conf, sizeof(conf), "nginx.conf");
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	{
		char *argv[] = { "/usr/sbin/nginx", "-p", prefix, "-c", conf, "-e", "stderr", NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 250 && !t_port_open(nginx_port); i++)
		usleep(20000);
	return t_port_open(nginx_port) ? pid : -1;
}

/*
 * What every case owns: a loop, an engine, a store in its scratch
 * directory; bits_log reads the shared server's log (in t_top: the server
 * writes it at its first event, after the cases' links are made).
 */
static bool upload_setup(void)
{
	char p[512];

	use_bits_log(t_top, "bits");
	t_path(p, sizeof(p), "kbits.db");
	loop = kb_loop_new(256);
	engine = loop ? kb_engine_new(loop, &cfg, &ops, NULL) : NULL;
	return check(loop && engine && kb_store_open(p, &store) == 0,
		     "engine and store: a loop, an engine and a store of the case's own");
}

static void upload_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
	kb_store_close(store);
}

static const struct t_case cases[] = {
	{ "BITS uploads of 0 B, 1 B, 1 MiB and 64 MiB arrive whole (sha256) and complete", test_sizes },
	{ "an upload keeps the job's max_bandwidth (1 MiB at 256 KiB/s takes about 4 s)", test_bandwidth },
	{ "a FOREGROUND download preempts a LOW upload, which goes on after it",
	  test_foreground_download_preempts },
	{ "with one slot a NORMAL download runs first, a LOW upload waits for it", test_slot_download_first },
	{ "with one slot a FOREGROUND upload preempts a LOW download, which resumes after it",
	  test_slot_upload_preempts },
	{ "with one slot and short slices a NORMAL upload and a NORMAL download take turns", test_slot_slices },
	{ "--max-bandwidth is shared by an upload and a download, about half each",
	  test_global_bandwidth_shared },
	{ "an upload past its maximum download time fails with -ETIME", test_max_download_time },
	{ "an upload's active time survives a restart of the engine and the store",
	  test_max_download_time_restart },
	{ "an upload whose connections drop resumes where the server says it stopped", test_drops },
	{ "a Close-Session whose answer is lost without a byte starts the upload over in a new session",
	  test_close_answer_lost },
	{ "a 416 from the server resynchronises the upload to the server's count", test_rewind_416 },
	{ "a 500 with a BITS error code is a fatal REMOTE_APPLICATION error with the server's code",
	  test_bits_error },
	{ "a fragment answered 'session not found' starts the upload over in a new session", test_session_lost },
	{ "a session lost again and again ends in an error after three new sessions", test_session_always_lost },
	{ "an upload-reply job reports reply progress, and Complete with the server gone puts the reply in place",
	  test_reply },
	{ "an unreachable BITS-Host-Id falls back to the URL; a reachable one gets the fragments", test_hostid },
	{ "a plain PUT to nginx arrives whole, and an interrupted PUT is sent whole again", test_put_nginx },
	{ "a source modified during its upload is a fatal LOCAL_FILE error and its session is cancelled",
	  test_modified },
	{ "a new engine resumes, from the store, the session of an agent killed mid-upload", test_kill },
	{ "Cancel-Session of a stopped upload drops the session on the server", test_cancel },
	{ "kbitsd -vvv never logs an upload's credentials", test_verbose_hides_credentials },
	{ "uploads with credentials to servers asking for Basic auth arrive whole", test_credentials_upload },
	{ "the job's proxy bypass list '<local>' makes an upload to 127.0.0.1 go direct", test_proxy_bypass_local },
	{ "Cancel-Session goes through the job's proxy like the fragments", test_cancel_through_proxy },
	{ "a proxy's 407 is an error naming the proxy, not the server", test_proxy_refuses },
	{ "a server's error answer without Content-Length is reported at once", test_error_without_length },
	{ "'session not found' after an unanswered Close on a killed server restarts the upload",
	  test_server_killed_before_close },
	{ "a single-threaded server keeping sessions per connection gets the upload without an error",
	  test_single_threaded_server },
	{ "a Close answer lost mid-way is evidence of the Close: one session only", test_close_answer_partial },
};

int main(void)
{
	pid_t bits, nginx;
	char p[512];

	if (!t_begin(600))
		return 1;
	t_mkdir("src", 0755);
	t_mkdir("up", 0755);
	t_mkdir("dav", 0755);
	t_mkdir("davauth", 0755);
	{
		static const struct { const char *name; uint64_t size; } files[] = {
			{ "src/empty", 0 }, { "src/one", 1 }, { "src/1m", 1 << 20 }, { "src/64m", 64ull << 20 },
			{ "src/drop.bin", 3000000 }, { "src/rewind.bin", 2000000 }, { "src/reply.bin", 300001 },
			{ "src/hostid.bin", 200000 }, { "src/mod.bin", 2000000 }, { "src/kill.bin", 8000000 },
			{ "src/mdt.bin", 2000000 },
		};

		for (unsigned int i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			t_path(p, sizeof(p), files[i].name);
			t_write_file(p, files[i].size, i + 100);
		}
	}
	bits = start_bits();
	nginx = start_nginx_dav();
	if (!check(bits > 0 && nginx > 0, "servers: BITS server on 127.0.0.1:%d, nginx (dav) on 127.0.0.1:%d",
		   bits_port, nginx_port))
		goto out;
	kb_engine_config_default(&cfg);
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), upload_setup, upload_teardown, 180);
out:
	t_kill(bits);
	t_kill(nginx);
	return t_end();
}
