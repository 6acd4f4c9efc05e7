// SPDX-License-Identifier: GPL-2.0
/*
 * The downloads' write buffers (wbufpool.c, download.c): what they hold is
 * counted by the pool, never timed. Slow transfers hold small chunks, a
 * fast one grows to write_chunk, chunks are reused, and none is left (in
 * use or kept) once no transfer is.
 */
#include "harness.h"

#include <sys/prctl.h>

#include "engine.h"
#include "engine_int.h"
#include "loop.h"
#include "wbufpool.h"

#define NSLOW		16
#define SLOW_BPS	20000	/* the fault server's slow=: 2,000 bytes every 0.1 s */
#define SLOW_SIZE	40000
#define FAST_SIZE	(8u << 20)
#define NFAST		8

static struct kb_loop *loop;
static struct kb_engine *engine;
static struct kb_engine_config cfg;
static int nginx_port, fault_port;
static int nerrors;
static struct kb_error last_err;

static void o_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	(void)ctx;
	(void)job;
	last_err = *err;
	nerrors++;
}

static const struct kb_engine_ops ops = { .error = o_error };

static struct kb_job *job_make(int n, const char *url_fmt, int port)
{
	struct kb_job *job = kb_job_new((uint32_t)n);
	static uint8_t next_id = 1;
	char p[512], u[512], name[64];

	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->priority = KBITS_PRIORITY_FOREGROUND;
	job->no_progress_timeout = 600;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "dl/f%02d", i);
		t_path(p, sizeof(p), name);
		snprintf(u, sizeof(u), url_fmt, port);
		kb_strset(&job->files[i].url, u);
		kb_strset(&job->files[i].path, p);
	}
	return job;
}

/* Runs the loop until the job is TRANSFERRED or in ERROR (the case's alarm bounds it). */
static uint32_t run_job(const struct kb_job *job)
{
	for (;;) {
		const struct kb_job *j = kb_engine_job(engine, job->id);

		if (!j)
			return ~0u;
		if (j->state == KBITS_STATE_TRANSFERRED || j->state == KBITS_STATE_ERROR)
			return j->state;
		kb_loop_run_once(loop, 50000000ull);
	}
}

static void pool_stats(struct kb_wbpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (engine->pool)
		kb_wbpool_get_stats(engine->pool, st);
}

/* What the pool keeps: its sizes, reuse, the period's peak, the cap, trim. */
static void test_pool(void)
{
	struct kb_wbpool *p = kb_wbpool_new(256u << 10, NULL);
	struct kb_wbpool_stats st;
	void *c[64];
	uint64_t t = 1000000000ull;

	if (!check(p != NULL, "pool: made"))
		return;
	check(kb_wbpool_size(p, 1) == KB_WBUF_MIN && kb_wbpool_size(p, KB_WBUF_MIN + 1) == 2 * KB_WBUF_MIN &&
	      kb_wbpool_size(p, 100000) == 128u << 10 && kb_wbpool_size(p, 10u << 20) == 256u << 10,
	      "pool: sizes are powers of two from 16 KiB up to the largest (%u, %u, %u, %u)",
	      kb_wbpool_size(p, 1), kb_wbpool_size(p, KB_WBUF_MIN + 1), kb_wbpool_size(p, 100000),
	      kb_wbpool_size(p, 10u << 20));
	for (int i = 0; i < 8; i++) {
		c[i] = kb_wbpool_get(p, KB_WBUF_MIN, t);
		memset(c[i], i, KB_WBUF_MIN);
	}
	for (int i = 0; i < 8; i++)
		kb_wbpool_put(p, c[i], KB_WBUF_MIN, t);
	for (int i = 0; i < 8; i++)
		c[i] = kb_wbpool_get(p, KB_WBUF_MIN, t);
	kb_wbpool_get_stats(p, &st);
	check(st.maps == 8 && st.chunks == 8 && st.in_use == 8 * KB_WBUF_MIN && st.kept == 0,
	      "pool: chunks given back are taken again, not mapped anew (%llu maps, %llu in use, %llu B kept)",
	      (unsigned long long)st.maps, (unsigned long long)st.chunks, (unsigned long long)st.kept);
	for (int i = 0; i < 8; i++)
		kb_wbpool_put(p, c[i], KB_WBUF_MIN, t);
	/* the period's peak was 8 chunks: they are kept within it and the next */
	kb_wbpool_tick(p, t + KB_WBUF_PERIOD_NS);
	kb_wbpool_get_stats(p, &st);
	check(st.kept == 8 * KB_WBUF_MIN, "pool: what the last period used is kept (%llu B)",
	      (unsigned long long)st.kept);
	kb_wbpool_tick(p, t + 2 * KB_WBUF_PERIOD_NS);
	kb_wbpool_get_stats(p, &st);
	check(st.kept == 0 && st.unmaps == 8,
	      "pool: after two periods without use every free chunk is given back (%llu B kept, %llu unmaps)",
	      (unsigned long long)st.kept, (unsigned long long)st.unmaps);
	/* 64 x 256 KiB = 16 MiB given back at once: at most KB_WBUF_KEEP_MAX kept */
	for (int i = 0; i < 64; i++)
		c[i] = kb_wbpool_get(p, 256u << 10, t + 3 * KB_WBUF_PERIOD_NS);
	for (int i = 0; i < 64; i++)
		kb_wbpool_put(p, c[i], 256u << 10, t + 3 * KB_WBUF_PERIOD_NS);
	kb_wbpool_get_stats(p, &st);
	check(st.kept <= KB_WBUF_KEEP_MAX && st.in_use == 0 && st.peak == 64ull * (256u << 10),
	      "pool: at most %u B kept however many come back (%llu B kept, peak %llu B)", KB_WBUF_KEEP_MAX,
	      (unsigned long long)st.kept, (unsigned long long)st.peak);
	kb_wbpool_trim(p);
	kb_wbpool_get_stats(p, &st);
	check(st.kept == 0 && st.maps == st.unmaps, "pool: trim gives back every free chunk (%llu maps, %llu unmaps)",
	      (unsigned long long)st.maps, (unsigned long long)st.unmaps);
	kb_wbpool_free(p);
	/* on a loop, its timer gives kept chunks back with no get or put coming */
	p = kb_wbpool_new(256u << 10, loop);
	if (!check(p != NULL, "pool: made on the loop"))
		return;
	for (int i = 0; i < 8; i++)
		c[i] = kb_wbpool_get(p, KB_WBUF_MIN, kb_now());
	for (int i = 0; i < 8; i++)
		kb_wbpool_put(p, c[i], KB_WBUF_MIN, kb_now());
	kb_wbpool_get_stats(p, &st);
	check(st.kept == 8 * KB_WBUF_MIN, "pool: 8 chunks kept after use (%llu B)", (unsigned long long)st.kept);
	for (int i = 0; i < 200 && st.kept; i++) {
		kb_loop_run_once(loop, 50000000ull);
		kb_wbpool_get_stats(p, &st);
	}
	check(st.kept == 0 && st.unmaps == 8, "pool: its timer gave them back (%llu B kept, %llu unmaps)",
	      (unsigned long long)st.kept, (unsigned long long)st.unmaps);
	kb_wbpool_free(p);
}

/*
 * 16 transfers at 20 kB/s each: a loop iteration brings each a few KiB, so
 * each holds one 16 KiB chunk being filled and at most a few being written.
 * Before the pool, each held a 256 KiB (write_chunk) buffer from its first
 * byte on: 4 MiB for 16, where the bound here is 1 MiB.
 */
static void test_slow_transfers(void)
{
	struct kb_job *job = job_make(NSLOW, "http://127.0.0.1:%d/slow.bin?slow=" "20000", fault_port);
	struct kb_wbpool_stats st;
	struct kb_engine_stats es;
	uint64_t bound = (uint64_t)NSLOW * 4 * KB_WBUF_MIN;
	uint32_t state;

	kb_engine_run(engine, job);
	state = run_job(job);
	check(state == KBITS_STATE_TRANSFERRED, "slow: %d files at %d B/s are TRANSFERRED (state %u, %s)", NSLOW,
	      SLOW_BPS, state, nerrors ? last_err.desc : "no error");
	pool_stats(&st);
	kb_engine_get_stats(engine, &es);
	diag("slow: peak %llu B in write buffers, %llu maps, %llu unmaps, %llu writes",
	     (unsigned long long)st.peak, (unsigned long long)st.maps, (unsigned long long)st.unmaps,
	     (unsigned long long)es.writes);
	check(st.peak > 0 && st.peak <= bound,
	      "slow: %d slow transfers held at most %llu B of write buffers at once (4 x %u B each; peak %llu B)",
	      NSLOW, (unsigned long long)bound, KB_WBUF_MIN, (unsigned long long)st.peak);
	check(st.maps < es.writes,
	      "slow: chunks are reused: %llu mapped for %llu writes", (unsigned long long)st.maps,
	      (unsigned long long)es.writes);
	check(st.chunks == 0 && st.in_use == 0 && st.kept == 0 && st.maps == st.unmaps,
	      "slow: no transfer left, no chunk held: %llu in use, %llu B kept, %llu of %llu given back",
	      (unsigned long long)st.chunks, (unsigned long long)st.kept, (unsigned long long)st.unmaps,
	      (unsigned long long)st.maps);
	kb_job_put(job);
}

/*
 * A fast transfer: its buffers grow to write_chunk (full ones double the
 * next), so its writes are not 16 KiB ones; what it holds stays within
 * the per-file bound of bytes in flight (KB_CRASH_BOUND's sum), and is
 * given back at its end.
 */
static void test_fast_transfer(void)
{
	struct kb_job *job = job_make(1, "http://127.0.0.1:%d/fast.bin", nginx_port);
	/* the crash bound's sum (engine.c): the writes queued, one body
	 * callback taken with one fewer queued, the buffer being filled */
	uint64_t bound = (uint64_t)(engine->cfg.max_writes_inflight + 1) * engine->cfg.write_chunk +
			 KB_RECV_BUFFER;
	struct kb_wbpool_stats st;
	struct kb_engine_stats es;
	uint32_t state;

	kb_engine_run(engine, job);
	state = run_job(job);
	check(state == KBITS_STATE_TRANSFERRED, "fast: 8 MiB from nginx is TRANSFERRED (state %u, %s)", state,
	      nerrors ? last_err.desc : "no error");
	pool_stats(&st);
	kb_engine_get_stats(engine, &es);
	diag("fast: peak %llu B in write buffers, %llu maps, %llu writes, %llu pauses",
	     (unsigned long long)st.peak, (unsigned long long)st.maps, (unsigned long long)es.writes,
	     (unsigned long long)es.pauses);
	check(st.peak > KB_WBUF_MIN && st.peak <= bound,
	      "fast: its buffers grew past 16 KiB and stayed within (writes in flight + 1) x write_chunk"
	      " + a callback = %llu B (peak %llu B)",
	      (unsigned long long)bound, (unsigned long long)st.peak);
	check(st.chunks == 0 && st.kept == 0 && st.maps == st.unmaps,
	      "fast: at its end no chunk is held (%llu in use, %llu B kept, %llu of %llu given back)",
	      (unsigned long long)st.chunks, (unsigned long long)st.kept, (unsigned long long)st.unmaps,
	      (unsigned long long)st.maps);
	kb_job_put(job);
}

/*
 * A disk slower than the network: 8 transfers from nginx with 64 KiB
 * chunks could queue 8 x 15 x 64 KiB = 7.5 MiB; write_buffer_max of 1 MiB
 * pauses them while more is queued. What may come beyond it: one body
 * callback (KB_RECV_BUFFER) and its last chunk, and per transfer the
 * buffer being filled and its partial part queued at a loop's end.
 */
static void test_budget(void)
{
	struct kb_job *job = job_make(NFAST, "http://127.0.0.1:%d/fast.bin", nginx_port);
	struct kb_engine_config c = cfg;
	struct kb_wbpool_stats st;
	struct kb_engine_stats es;
	uint64_t bound;
	uint32_t state;

	c.write_chunk = 64u << 10;
	c.write_buffer_max = 1u << 20;
	kb_engine_free(engine);
	engine = kb_engine_new(loop, &c, &ops, NULL);
	if (!check(engine != NULL, "budget: an engine with write_buffer_max 1 MiB"))
		return;
	bound = c.write_buffer_max + KB_RECV_BUFFER + c.write_chunk + 2ull * NFAST * c.write_chunk;
	kb_engine_run(engine, job);
	state = run_job(job);
	check(state == KBITS_STATE_TRANSFERRED, "budget: %d files of 8 MiB are TRANSFERRED (state %u, %s)", NFAST,
	      state, nerrors ? last_err.desc : "no error");
	pool_stats(&st);
	kb_engine_get_stats(engine, &es);
	diag("budget: peak %llu B in write buffers, %llu writes, %llu pauses", (unsigned long long)st.peak,
	     (unsigned long long)es.writes, (unsigned long long)es.pauses);
	check(st.peak <= bound, "budget: at most %llu B of write buffers at once (peak %llu B)",
	      (unsigned long long)bound, (unsigned long long)st.peak);
	check(st.chunks == 0 && st.kept == 0 && engine->wbuf_queued == 0 && engine->wbuf_waiting == 0,
	      "budget: at the end nothing is held, queued or waiting (%llu chunks, %llu B queued, %u waiting)",
	      (unsigned long long)st.chunks, (unsigned long long)engine->wbuf_queued, engine->wbuf_waiting);
	kb_job_put(job);
}

/*
 * The process's policy (curlio.c, set once an engine exists): no
 * transparent huge pages (under THP "always" a touched byte of a merged
 * mapping of buffers makes 2 MiB resident). Its other half, glibc's fixed
 * mmap threshold, is not seen here: ASan and valgrind replace malloc.
 */
static void test_process_policy(void)
{
	check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "policy: transparent huge pages are off for the process");
}

static bool engine_setup(void)
{
	t_mkdir("dl", 0755);
	nerrors = 0;
	loop = kb_loop_new(256);
	engine = loop ? kb_engine_new(loop, &cfg, &ops, NULL) : NULL;
	return check(loop && engine, "engine: a loop and an engine of the case's own");
}

static void engine_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
}

static const struct t_case cases[] = {
	{ "the process has no transparent huge pages",
	  test_process_policy },
	{ "the pool reuses chunks, keeps what the last period needed, and gives the rest back", test_pool },
	{ "16 transfers at 20 kB/s hold 16 KiB chunks, not 256 KiB ones, and none once they end",
	  test_slow_transfers },
	{ "a fast transfer's buffers grow to write_chunk within its bound and are given back", test_fast_transfer },
	{ "8 fast transfers queue no more than write_buffer_max (and what one callback brings)", test_budget },
};

int main(void)
{
	pid_t nginx, fault;
	char p[512];

	if (!t_begin(300))
		return 1;
	t_mkdir("www", 0755);
	t_path(p, sizeof(p), "www/slow.bin");
	t_write_file(p, SLOW_SIZE, 1);
	t_path(p, sizeof(p), "www/fast.bin");
	t_write_file(p, FAST_SIZE, 2);
	nginx = t_start_nginx(&nginx_port);
	fault = t_start_fault(&fault_port);
	if (!check(nginx > 0 && fault > 0, "servers: nginx on 127.0.0.1:%d, fault server on 127.0.0.1:%d",
		   nginx_port, fault_port))
		goto out;
	kb_engine_config_default(&cfg);
	cfg.files_per_job = NSLOW;
	cfg.max_transfers = NSLOW;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), engine_setup, engine_teardown, 120);
out:
	t_kill(nginx);
	t_kill(fault);
	return t_end();
}
