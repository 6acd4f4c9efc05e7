// SPDX-License-Identifier: GPL-2.0
/*
 * kbitsd taking many queued jobs (issue 11, "take jobs at the speed of the
 * registry"), on the host: kbitsd.c itself (its work-item handler, its
 * store batching and acknowledgements, its engine) with a fake channel in
 * place of /dev/kbits. Every check is a count (store commits, scheduling
 * passes, jobs a pass looked at), never a timing.
 *
 * With arguments it is a driver to profile by hand (not run by make check):
 *   agent_intake_test profile JOBS [JOBS_PER_ITERATION]
 * feeds JOBS jobs as CHANGED + RUN items, JOBS_PER_ITERATION jobs per loop
 * iteration (default 1, as when kbitsd keeps up with the creator), and
 * prints the time and the counts. KB_INTAKE_DB=PATH puts the store there
 * (/dev/shm: on tmpfs, as bench-agent-rss has it in the VM).
 */
/*
 * With kbitsd.c in the same unit GCC 12 loses track of t_top's length in
 * t_run_cases' "%s/case-%02zu" (both are 256 bytes, mkdtemp's name is 23):
 * a false -Wformat-truncation that the other agent tests do not get.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "harness.h"
#pragma GCC diagnostic pop

#include <poll.h>

/* kbitsd.c with its main() renamed; the channel below is the fake one. */
int kbitsd_main(int argc, char **argv);
#define main kbitsd_main
#include "kbitsd.c"
#undef main

/* ---- the fake channel ------------------------------------------------------ */

#define MAXJOBS	20000

struct kb_channel {
	int unused;
};

static struct fake {
	struct kb_channel ch;
	unsigned int njobs;
	uint32_t state[MAXJOBS], priority[MAXJOBS];
	bool complete[MAXJOBS];		/* its file is in, in done-N.tmp: only the sync is left */
	uint64_t seq[MAXJOBS];
	uint32_t last_state[MAXJOBS];	/* as reported by kbitsd */
	uint64_t state_reports, temp_reports, url_reports, stored_calls, stored_entries;
	uint64_t commits_at_first_ack;	/* the store's commits when the first ack came */
	bool acked;
	struct agent *a;
	char url[128];
	char moved[160];	/* job 0's URL when set: the client changed it */
} fk;

static void job_id(uint32_t i, uint8_t id[16])
{
	memset(id, 0, 16);
	id[0] = 0x1b;
	id[1] = 0x17;
	id[12] = (uint8_t)(i >> 24);
	id[13] = (uint8_t)(i >> 16);
	id[14] = (uint8_t)(i >> 8);
	id[15] = (uint8_t)i;
}

static int index_of(const uint8_t id[16])
{
	uint32_t i = (uint32_t)id[12] << 24 | (uint32_t)id[13] << 16 | (uint32_t)id[14] << 8 | id[15];

	if (id[0] != 0x1b || id[1] != 0x17 || i >= fk.njobs)
		return -1;
	return (int)i;
}

int kb_channel_fetch_job_seq(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out,
			     uint64_t *change_seq)
{
	int i = index_of(id);
	struct kb_job *job;
	char p[512], name[32];

	(void)ch;
	if (i < 0)
		return -ENOENT;
	job = kb_job_new(1);
	if (!job)
		return -ENOMEM;
	memcpy(job->id, id, 16);
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->state = fk.state[i];
	job->priority = fk.priority[i];
	job->min_retry_delay = 600;
	job->no_progress_timeout = 600;
	snprintf(name, sizeof(name), "dl/f%d", i);
	t_path(p, sizeof(p), name);
	kb_strset(&job->files[0].url, i == 0 && fk.moved[0] ? fk.moved : fk.url);
	kb_strset(&job->files[0].path, p);
	job->files[0].bytes_total = KBITS_UNKNOWN;
	if (fk.complete[i]) {
		snprintf(name, sizeof(name), "done-%d.tmp", i);
		kb_strset(&job->files[0].temp_name, name);
		job->files[0].bytes_total = job->files[0].bytes_transferred = 5;
		job->files[0].flags |= KBITS_FILE_COMPLETED;
	}
	*out = job;
	if (change_seq)
		*change_seq = fk.seq[i];
	return 0;
}

int kb_channel_fetch_job(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out)
{
	return kb_channel_fetch_job_seq(ch, id, out, NULL);
}

int kb_channel_stored(struct kb_channel *ch, const struct kbits_stored_job *jobs, size_t n)
{
	struct kb_store_stats st;

	(void)ch;
	(void)jobs;
	kb_store_get_stats(fk.a->store, &st);
	if (!fk.acked)
		fk.commits_at_first_ack = st.commits;
	fk.acked = true;
	fk.stored_calls++;
	fk.stored_entries += n;
	return 0;
}

int kb_channel_report_state(struct kb_channel *ch, const struct kb_job *job, uint32_t state)
{
	int i = index_of(job->id);

	(void)ch;
	fk.state_reports++;
	if (i >= 0)
		fk.last_state[i] = state;
	return 0;
}

int kb_channel_report_progress(struct kb_channel *ch, const struct kb_job *job, uint32_t idx,
			       uint64_t bytes)
{
	(void)ch, (void)job, (void)idx, (void)bytes;
	return 0;
}

int kb_channel_report_file_done(struct kb_channel *ch, const uint8_t id[16], uint32_t idx,
				uint64_t total, uint64_t done, const uint8_t *sha256, bool verified)
{
	(void)ch, (void)id, (void)idx, (void)total, (void)done, (void)sha256, (void)verified;
	return 0;
}

int kb_channel_report_reply(struct kb_channel *ch, const struct kb_job *job, uint64_t total,
			    uint64_t done)
{
	(void)ch, (void)job, (void)total, (void)done;
	return 0;
}

int kb_channel_report_temp_name(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	(void)ch, (void)job, (void)idx;
	fk.temp_reports++;
	return 0;
}

int kb_channel_report_url(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	(void)ch, (void)job, (void)idx;
	fk.url_reports++;
	return 0;
}

int kb_channel_set_headers(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	(void)ch, (void)job, (void)idx;
	return 0;
}

int kb_channel_report_error(struct kb_channel *ch, const struct kb_job *job,
			    const struct kb_error *err)
{
	(void)ch, (void)job, (void)err;
	return 0;
}

int kb_channel_outcome(struct kb_channel *ch, const uint8_t id[16], uint32_t work,
		       uint32_t result, uint32_t files_done, int error)
{
	(void)ch, (void)id, (void)work, (void)result, (void)files_done, (void)error;
	return 0;
}

int kb_channel_enum(struct kb_channel *ch, struct kbits_job_enum *en)
{
	(void)ch;
	en->count = 0;
	return 0;
}

int kb_channel_restore(struct kb_channel *ch, const struct kb_job *job)
{
	(void)ch, (void)job;
	return 0;
}

int kb_channel_open(const char *dev, struct kb_channel **out)
{
	(void)dev;
	*out = &fk.ch;
	return 0;
}

void kb_channel_close(struct kb_channel *ch)
{
	(void)ch;
}

const uint8_t *kb_channel_instance(const struct kb_channel *ch)
{
	static const uint8_t none[16];

	(void)ch;
	return none;
}

int kb_channel_attach(struct kb_channel *ch, struct kb_loop *loop, kb_work_cb cb, void *arg)
{
	(void)ch, (void)loop, (void)cb, (void)arg;
	return 0;
}

int kb_sd_notify(const char *state)
{
	(void)state;
	return 0;
}

/* ---- the fixture ---------------------------------------------------------- */

static struct agent ag;
static struct kb_engine_config cfg;
static int silent_fd = -1;	/* a server that takes connections and never answers */

/* Work items delivered from one loop completion, as channel_readable does. */
static struct feeder {
	struct kb_op op;
	int fd[2];
	uint32_t from, to;	/* jobs [from, to): CHANGED then RUN each */
	uint32_t priority;
} feed;

static void item(uint32_t i, uint32_t type)
{
	struct kbits_work w = { .type = type, .owner_uid = getuid(), .owner_gid = getgid() };

	job_id(i, w.job_id);
	fk.seq[i]++;
	fk.state[i] = type == KBITS_WORK_CHANGED ? KBITS_STATE_SUSPENDED : KBITS_STATE_QUEUED;
	on_work(&ag, &w);
}

static void feed_ready(struct kb_op *op, int res)
{
	char c;

	(void)op, (void)res;
	if (read(feed.fd[0], &c, 1) != 1)
		return;
	for (uint32_t i = feed.from; i < feed.to; i++) {
		fk.priority[i] = feed.priority;
		item(i, KBITS_WORK_CHANGED);
		item(i, KBITS_WORK_RUN);
	}
	kb_loop_poll(ag.loop, &feed.op, feed.fd[0], POLLIN);
}

/* Jobs [from, to) arrive in the next loop iteration. */
static void feed_jobs(uint32_t from, uint32_t to, uint32_t priority)
{
	feed.from = from;
	feed.to = to;
	feed.priority = priority;
	if (to > fk.njobs)
		fk.njobs = to;
	if (write(feed.fd[1], "x", 1) != 1)
		diag("feed: %s", strerror(errno));
}

static bool intake_setup(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char db[512];

	memset(&fk, 0, sizeof(fk));
	memset(&ag, 0, sizeof(ag));
	ag.sigfd = -1;
	fk.a = &ag;
	t_mkdir("dl", 0755);
	silent_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (silent_fd < 0 || bind(silent_fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    listen(silent_fd, 4096) || getsockname(silent_fd, (struct sockaddr *)&sin, &len))
		return check(false, "a silent server on 127.0.0.1: %s", strerror(errno));
	snprintf(fk.url, sizeof(fk.url), "http://127.0.0.1:%d/never", ntohs(sin.sin_port));
	t_path(db, sizeof(db), "kbits.db");
	if (getenv("KB_INTAKE_DB"))	/* the driver: a store on tmpfs, as in the VM */
		snprintf(db, sizeof(db), "%s", getenv("KB_INTAKE_DB"));
	if (kb_store_open(db, &ag.store) < 0)
		return check(false, "the store %s opens", db);
	kb_store_batch(ag.store, true);
	ag.loop = kb_loop_new(512);
	ag.engine = ag.loop ? kb_engine_new(ag.loop, &cfg, &agent_ops, &ag) : NULL;
	ag.ncmd = ag.loop ? kb_ncmd_new(ag.loop, KB_NCMD_TIMEOUT_S) : NULL;
	kb_channel_open("fake", &ag.ch);
	if (!ag.engine || pipe2(feed.fd, O_CLOEXEC | O_NONBLOCK))
		return check(false, "a loop, an engine, a feeder pipe");
	feed.op.cb = feed_ready;
	kb_loop_poll(ag.loop, &feed.op, feed.fd[0], POLLIN);
	kb_loop_set_flush(ag.loop, agent_flush, &ag);
	return true;
}

static void intake_teardown(void)
{
	kb_engine_free(ag.engine);
	agent_sync(&ag);
	kb_loop_set_flush(ag.loop, NULL, NULL);
	kb_ncmd_free(ag.ncmd);
	kb_store_close(ag.store);
	while (ag.known)
		known_drop(&ag, ag.known->job->id);
	kb_jobindex_free(&ag.known_ix);
	kb_loop_poll_remove(ag.loop, &feed.op);
	kb_loop_run_once(ag.loop, 10000000ull);
	kb_loop_free(ag.loop);
	free(ag.done_q);
	free(ag.ack_q);
	close(feed.fd[0]);
	close(feed.fd[1]);
	close(silent_fd);
}

static unsigned int nr_transferring(void)
{
	return kb_engine_active(ag.engine);
}

/* Loop iterations until cond() or about bound_s seconds: false on the bound. */
static bool run_until(bool (*cond)(void), double bound_s)
{
	double end = t_now() + bound_s;

	while (!cond()) {
		if (t_now() > end)
			return false;
		kb_loop_run_once(ag.loop, 20000000ull);
	}
	return true;
}

static bool all_slots_taken(void)
{
	return nr_transferring() >= cfg.max_transfers;
}

static uint32_t engine_state(uint32_t i)
{
	uint8_t id[16];
	const struct kb_job *j;

	job_id(i, id);
	j = kb_engine_job(ag.engine, id);
	return j ? j->state : ~0u;
}

static bool engine_has(uint32_t i)
{
	return engine_state(i) != ~0u;
}

static bool running(uint32_t i)
{
	uint32_t s = engine_state(i);

	return s == KBITS_STATE_CONNECTING || s == KBITS_STATE_TRANSFERRING;
}

/* ---- the cases ------------------------------------------------------------- */

#define NQ	1000

/* NQ NORMAL jobs fed in, until every slot transfers: the setup of the pass cases. */
static bool fill_queue(void)
{
	feed_jobs(0, NQ, KBITS_PRIORITY_NORMAL);
	return check(run_until(all_slots_taken, 20), "%d queued jobs: %u of %u slots transferring", NQ,
		     nr_transferring(), cfg.max_transfers);
}

static void test_one_commit(void)
{
	struct kb_store_stats s0, s1;
	uint64_t reports0 = fk.state_reports + fk.temp_reports, reports;

	kb_store_get_stats(ag.store, &s0);
	feed_jobs(0, NQ, KBITS_PRIORITY_NORMAL);
	/* the iteration that reads them (the feeder's completion) and ends with the flush */
	for (int i = 0; i < 100 && !fk.acked; i++)
		kb_loop_run_once(ag.loop, 100000000ull);
	kb_store_get_stats(ag.store, &s1);
	/* the CHANGED and the RUN of a job in one iteration: its rows written once */
	check(s1.changes - s0.changes >= NQ && s1.changes - s0.changes <= NQ + 4 * cfg.max_transfers,
	      "%d jobs as %d work items in one iteration: %llu store changes (one a job, and the "
	      "started transfers')", NQ, 2 * NQ, (unsigned long long)(s1.changes - s0.changes));
	/* every other commit of the iteration is a state change reported right after it */
	reports = fk.state_reports + fk.temp_reports - reports0;
	check(s1.commits - s0.commits <= 1 + reports && reports <= 4 * cfg.max_transfers,
	      "%d work items in one loop iteration: %llu store commits (1 for the items, at most one "
	      "for each state or temporary name of a started transfer reported: %llu)", 2 * NQ,
	      (unsigned long long)(s1.commits - s0.commits), (unsigned long long)reports);
	check(fk.acked && fk.commits_at_first_ack == s0.commits + 1,
	      "the jobs were acknowledged as stored after the first commit (%llu), not before",
	      (unsigned long long)(fk.commits_at_first_ack - s0.commits));
	check(fk.stored_entries == 2 * NQ && fk.stored_calls == 1,
	      "one acknowledgement per item (%llu), all in one call after the commit (%llu calls)",
	      (unsigned long long)fk.stored_entries, (unsigned long long)fk.stored_calls);
}

static int count_job(void *arg, struct kb_job *job)
{
	(*(int *)arg)++;
	kb_job_put(job);
	return 0;
}

static void test_one_commit_stored(void)
{
	struct kb_store *other;
	char db[512];
	int n = 0;

	test_one_commit();
	t_path(db, sizeof(db), "kbits.db");
	if (kb_store_open(db, &other) == 0) {
		kb_store_load(other, count_job, &n);
		kb_store_close(other);
	}
	check(n == NQ, "a second reader of the store sees all %d jobs (%d)", NQ, n);
}

static void test_pass_cost(void)
{
	struct kb_engine_stats e0, e1;
	uint8_t id[16];

	if (!fill_queue())
		return;
	job_id(0, id);
	kb_engine_get_stats(ag.engine, &e0);
	for (int k = 0; k < 20; k++) {
		kb_engine_set_job_bandwidth(ag.engine, id, 0);	/* asks for a pass */
		kb_loop_run_once(ag.loop, 1000000ull);
	}
	kb_engine_get_stats(ag.engine, &e1);
	check(e1.sched_passes - e0.sched_passes == 20,
	      "20 loop iterations that ask for a pass: %llu passes",
	      (unsigned long long)(e1.sched_passes - e0.sched_passes));
	check(e1.sched_jobs - e0.sched_jobs <= 20 * (2 * cfg.max_transfers + 2),
	      "with every slot taken a pass looks at the jobs that run and the head of the queue, "
	      "not the %d queued ones: %llu jobs in 20 passes", NQ,
	      (unsigned long long)(e1.sched_jobs - e0.sched_jobs));
}

static bool job4_running(void)
{
	return running(cfg.max_transfers);
}

static bool fg_running(void)
{
	return running(NQ) && !running(cfg.max_transfers);
}

static void test_turns(void)
{
	uint32_t m = cfg.max_transfers;
	struct kbits_work w = { .type = KBITS_WORK_CANCEL };
	bool first = true, ok;

	if (!fill_queue())
		return;
	for (uint32_t i = 0; i < NQ; i++)
		first &= running(i) == (i < m);
	check(first, "the first %u jobs run, in their order", m);
	/* job 0 is cancelled: its slot goes to the next in the queue */
	job_id(0, w.job_id);
	on_work(&ag, &w);
	ok = run_until(job4_running, 20);
	check(ok && !engine_has(0) && running(1),
	      "job 0 cancelled: job %u, the head of the queue, runs", m);
	/* a FOREGROUND job takes the slot of the last NORMAL job in order */
	feed_jobs(NQ, NQ + 1, KBITS_PRIORITY_FOREGROUND);
	ok = run_until(fg_running, 20);
	check(ok && running(1) && running(m - 1) &&
	      engine_state(m) == KBITS_STATE_QUEUED,
	      "a FOREGROUND job runs; job %u, the last NORMAL one granted, waits again (%u)", m,
	      engine_state(m));
}

static bool done_transferred(void)
{
	return fk.last_state[NQ] == KBITS_STATE_TRANSFERRED;
}

/*
 * A job whose files are all in (the module said so, after a restart of
 * kbitsd) wants no transfer: at the back of a full queue it is still
 * synced and reported TRANSFERRED, though a pass stops looking for
 * grants long before it.
 */
static void test_complete_behind_queue(void)
{
	char p[512], name[32];
	bool ok;

	if (!fill_queue())
		return;
	snprintf(name, sizeof(name), "dl/done-%d.tmp", NQ);
	t_path(p, sizeof(p), name);
	t_write_file(p, 5, 7);
	fk.complete[NQ] = true;
	feed_jobs(NQ, NQ + 1, KBITS_PRIORITY_NORMAL);
	ok = run_until(done_transferred, 20);
	check(ok && nr_transferring() == cfg.max_transfers,
	      "a job with its file in, behind %d queued jobs, is synced and TRANSFERRED (%u); "
	      "the %u transfers go on", NQ, fk.last_state[NQ], cfg.max_transfers);
}

/*
 * SetRemoteName / ReplaceRemotePrefix: the CHANGED of a job whose file has a
 * new URL. kbitsd keeps what it knows of the bytes (validators, synced count,
 * response headers) for the resume's If-Range to judge at the new server, and
 * forgets the old URL's final URL.
 */
static void test_new_url_keeps_validators(void)
{
	struct kbits_work w = { .type = KBITS_WORK_CHANGED, .owner_uid = getuid(),
				.owner_gid = getgid() };
	char old[128];
	struct kb_job *job;
	struct known *k;
	uint64_t seq;

	fk.njobs = 1;
	item(0, KBITS_WORK_CHANGED);
	job_id(0, w.job_id);
	k = known_find(&ag, w.job_id);
	if (!check(k != NULL, "new URL: the job is known"))
		return;
	kb_strset(&k->job->files[0].etag, "\"v1\"");
	kb_strset(&k->job->files[0].last_modified, "Mon, 30 Nov 2026 00:00:00 GMT");
	kb_strset(&k->job->files[0].final_url, "http://127.0.0.1/final");
	kb_strset(&k->job->files[0].resp_headers, "HTTP/1.1 200 OK\r\nETag: \"v1\"\r\n");
	k->job->files[0].bytes_transferred = 1234;
	k->job->files[0].ranges_ok = true;
	snprintf(old, sizeof(old), "%s", fk.url);
	snprintf(fk.url, sizeof(fk.url), "http://127.0.0.2/mirror/never");
	fk.seq[0]++;
	job = learn_job(&ag, &w, &seq);
	snprintf(fk.url, sizeof(fk.url), "%s", old);
	if (!check(job != NULL, "new URL: the CHANGED job is learnt"))
		return;
	check(!strcmp(job->files[0].url, "http://127.0.0.2/mirror/never"), "new URL: it is the new one");
	check(job->files[0].etag && !strcmp(job->files[0].etag, "\"v1\"") &&
	      job->files[0].last_modified && job->files[0].ranges_ok &&
	      job->files[0].bytes_transferred == 1234,
	      "new URL: the validators and the synced bytes are kept (etag %s, %llu bytes)",
	      job->files[0].etag ? job->files[0].etag : "none",
	      (unsigned long long)job->files[0].bytes_transferred);
	check(job->files[0].resp_headers && strstr(job->files[0].resp_headers, "ETag"),
	      "new URL: the last transfer's response headers are kept");
	check(!job->files[0].final_url, "new URL: the old URL's final URL is dropped");
	kb_job_put(job);
}

static bool job0_running(void)
{
	return running(0);
}

static bool job0_moved(void)
{
	uint8_t id[16];
	const struct kb_job *j;

	job_id(0, id);
	j = kb_engine_job(ag.engine, id);
	return j && j->files[0].url && !strcmp(j->files[0].url, fk.moved);
}

/* The URL of job 0's file as the store holds it (a second reader). */
static int url_in_store(void *arg, struct kb_job *job)
{
	uint8_t id[16];

	job_id(0, id);
	if (!memcmp(job->id, id, 16) && job->nr_files && job->files[0].url)
		snprintf(arg, 160, "%s", job->files[0].url);
	kb_job_put(job);
	return 0;
}

/*
 * The client gives a file another URL while it transfers (a CHANGED, as
 * after SetRemoteName): the engine drains the old description, whose
 * aborted transfer saves its file once more. That save is about the old
 * URL: it must not take the client's new URL back, in kbitsd, in the store
 * or in the module (a URL report is for a redirect, ALLOW_REPORT).
 */
static void test_changed_url(void)
{
	struct kbits_work w = { .type = KBITS_WORK_CHANGED, .owner_uid = getuid(),
				.owner_gid = getgid() };
	char stored[160] = "", db[512];
	struct kb_store *other;
	struct known *k;
	bool ok;

	feed_jobs(0, 1, KBITS_PRIORITY_NORMAL);
	if (!check(run_until(job0_running, 20), "job 0 transfers (from a server that never answers)"))
		return;
	snprintf(fk.moved, sizeof(fk.moved), "%s?moved", fk.url);
	job_id(0, w.job_id);
	fk.seq[0]++;
	fk.state[0] = KBITS_STATE_QUEUED;
	on_work(&ag, &w);
	ok = run_until(job0_moved, 20);
	for (int i = 0; i < 5; i++)	/* the old transfer's last save, if late */
		kb_loop_run_once(ag.loop, 20000000ull);
	agent_sync(&ag);
	k = known_find(&ag, w.job_id);
	t_path(db, sizeof(db), "kbits.db");
	if (kb_store_open(db, &other) == 0) {
		kb_store_load(other, url_in_store, stored);
		kb_store_close(other);
	}
	check(ok && k && !strcmp(k->job->files[0].url, fk.moved) && !strcmp(stored, fk.moved) &&
	      fk.url_reports == 0,
	      "a URL the client changed during the transfer is the one kbitsd runs, stores and keeps "
	      "(kbitsd: %s, store: %s, %llu URL reports to the module)",
	      k ? k->job->files[0].url : "-", stored, (unsigned long long)fk.url_reports);
}

static const struct t_case cases[] = {
	{ "a new URL for a file keeps its validators and bytes for the resume to judge",
	  test_new_url_keeps_validators },
	{ "the work items of one loop iteration are stored in one commit and acknowledged after it",
	  test_one_commit_stored },
	{ "a scheduling pass with every slot taken does not walk the queued jobs", test_pass_cost },
	{ "a freed slot goes to the head of the queue, a higher priority takes the last one's",
	  test_turns },
	{ "a job with every file in, behind a full queue, still becomes TRANSFERRED",
	  test_complete_behind_queue },
	{ "a URL changed by the client while its file transfers is not taken back by the old "
	  "transfer's last save", test_changed_url },
};

/* ---- the profiling driver --------------------------------------------------- */

static int profile(uint32_t n, uint32_t per_iter)
{
	struct kb_engine_stats es;
	struct kb_store_stats ss;
	double t0;

	if (n > MAXJOBS)
		n = MAXJOBS;
	if (!intake_setup())
		return 1;
	t0 = t_now();
	for (uint32_t i = 0; i < n; i += per_iter) {
		feed_jobs(i, i + per_iter < n ? i + per_iter : n, KBITS_PRIORITY_NORMAL);
		kb_loop_run_once(ag.loop, 0);
	}
	for (int k = 0; k < 3; k++)
		kb_loop_run_once(ag.loop, 1000000ull);
	kb_engine_get_stats(ag.engine, &es);
	kb_store_get_stats(ag.store, &ss);
	printf("%u jobs, %u per iteration: %.2f s; %llu passes looked at %llu jobs; "
	       "store: %llu changes, %llu commits; %u transferring\n", n, per_iter, t_now() - t0,
	       (unsigned long long)es.sched_passes, (unsigned long long)es.sched_jobs,
	       (unsigned long long)ss.changes, (unsigned long long)ss.commits, nr_transferring());
	intake_teardown();
	return 0;
}

static int run_profile(int argc, char **argv)
{
	cfg.max_transfers = 16;
	if (!t_begin(3600))
		return 1;
	profile((uint32_t)strtoul(argv[2], NULL, 0),
		argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 1);
	t_rm_rf(t_top);
	return 0;
}

int main(int argc, char **argv)
{
	kb_engine_config_default(&cfg);
	cfg.max_transfers = 4;
	if (argc > 2 && !strcmp(argv[1], "profile"))
		return run_profile(argc, argv);
	if (!t_begin(300))
		return 1;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), intake_setup, intake_teardown, 120);
	return t_end();
}
