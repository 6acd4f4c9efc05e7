// SPDX-License-Identifier: GPL-2.0
/*
 * The transfer engine: see engine.h. Jobs, scheduling, retry timers and
 * the kb_engine_* interface; what each job type does is in job_types[]:
 * a download job (struct ejob) runs up to files_per_job transfers (struct
 * xfer, download.c, through engine_int.h); an upload job is upload.h's,
 * and an ejob too for the scheduler: it takes one transfer slot.
 * curl runs on the loop through curlio.c.
 *
 * Nothing here is called from inside a curl callback that could re-enter
 * curl: aborts and handle removal happen from loop completions, timers and
 * the idle hook only.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "curlio.h"
#include "engine.h"
#include "engine_int.h"
#include "log.h"
#include "sched.h"
#include "upload.h"

#define TAIL_FACTOR	4	/* files finishing (sync) per network slot */

void kb_engine_config_default(struct kb_engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->files_per_job = 4;
	c->max_transfers = 16;
	c->write_chunk = 256 << 10;
	c->max_writes_inflight = 14;
	c->checkpoint_bytes = 64ull << 20;
	c->checkpoint_interval_ms = 10000;
	c->max_redirects = 10;
	c->connect_timeout = 30;
	c->low_speed_time = 60;
	c->slice_ms = 30000;
}

static struct ejob *find_job(struct kb_engine *e, const uint8_t id[16])
{
	return kb_jobindex_find(&e->index, id);
}

/* The job's active transfer time into its copy, for ops to persist. */
static void job_time_update(struct ejob *ej)
{
	uint64_t t = ej->sched.active_ns, now = kb_now();

	if (ej->sched.acct_at && now > ej->sched.acct_at)
		t += now - ej->sched.acct_at;
	ej->job->active_ns = t;
}

void kb_job_set_state(struct ejob *ej, uint32_t state)
{
	if (ej->job->state == state)
		return;
	ej->job->state = state;
	/* stored with the state (not per chunk): a restart loses at most the
	 * time since the job's last state change */
	job_time_update(ej);
	if (ej->e->ops->state)
		ej->e->ops->state(ej->e->ctx, ej->job, state);
}

/* ---- jobs ----------------------------------------------------------------- */

static bool job_runnable(const struct ejob *ej)
{
	uint32_t s = ej->job->state;

	return !ej->stopping && !ej->failing && !ej->replace &&
	       (s == KBITS_STATE_QUEUED || s == KBITS_STATE_CONNECTING || s == KBITS_STATE_TRANSFERRING);
}

static void job_unlink(struct ejob *ej);
static void job_link(struct kb_engine *e, struct ejob *ej);

/*
 * The first file not complete. Files complete but never go back (a
 * download's; an upload's one file is not counted here), and a new
 * description of the job resets the cursor, so moving it on is enough.
 */
static uint32_t first_open(struct ejob *ej)
{
	const struct kb_job *job = ej->job;

	if (ej->first_open > job->nr_files)
		ej->first_open = 0;
	while (ej->first_open < job->nr_files &&
	       (job->files[ej->first_open].flags & KBITS_FILE_COMPLETED))
		ej->first_open++;
	return ej->first_open;
}

/* The files not complete, counted up to enough. */
static unsigned int files_left(struct ejob *ej, unsigned int enough)
{
	unsigned int n = 0;

	for (uint32_t i = first_open(ej); i < ej->job->nr_files && n < enough; i++)
		n += !(ej->job->files[i].flags & KBITS_FILE_COMPLETED);
	return n;
}

static unsigned int xfers_live(const struct ejob *ej)
{
	unsigned int n = 0;

	if (ej->up)
		return ej->nactive;
	for (const struct xfer *x = ej->xfers; x; x = x->next_in_job)
		n += x->outcome == XO_NONE && !x->curl_done;
	return n;
}

/*
 * The busy list: the jobs a pass must look at wherever they stand in
 * e->jobs. Every other job is idle: no transfer, no sync, no time being
 * accounted, no rate, nothing new since a pass last ran it through its
 * start step. For an idle job that a pass does not reach, accounting and
 * noting change nothing and starting is not possible (no grant is left),
 * so a pass with every slot taken looks at the busy jobs and at the head
 * of each priority, not at every queued job.
 */
static void busy_add(struct ejob *ej)
{
	struct kb_engine *e = ej->e;

	if (ej->busy_pprev)
		return;
	ej->busy_next = e->busy;
	if (ej->busy_next)
		ej->busy_next->busy_pprev = &ej->busy_next;
	ej->busy_pprev = &e->busy;
	e->busy = ej;
}

static void busy_del(struct ejob *ej)
{
	if (!ej->busy_pprev)
		return;
	if (ej->busy_next)
		ej->busy_next->busy_pprev = ej->busy_pprev;
	*ej->busy_pprev = ej->busy_next;
	ej->busy_next = NULL;
	ej->busy_pprev = NULL;
}

static bool job_idle(const struct ejob *ej)
{
	return !ej->attn && !ej->nactive && !ej->xfers && !ej->sched.acct_at &&
	       !ej->sched.slice_start && !ej->sched.live;
}

static void grant_one(struct kb_sched_pass *p, struct ejob *ej)
{
	bool runnable = job_runnable(ej);

	ej->granted_in = ej->e->pass;
	ej->e->stats.sched_jobs++;
	/* an upload wants its one slot until it is done, its Close included */
	kb_sched_grant(p, &ej->sched, ej->job->priority, runnable,
		       !runnable ? 0 : ej->up ? 1 : files_left(ej, ej->e->cfg.files_per_job));
}

/* The first job of priority band b, NULL when it has none. */
static struct ejob *band_head(struct kb_engine *e, unsigned int b)
{
	if (!e->band_tail[b])
		return NULL;
	while (b-- > 0)
		if (e->band_tail[b])
			return e->band_tail[b]->next;
	return e->jobs;
}

/*
 * Grants in e->jobs' order, as if every job were asked (sched.h). Once
 * no transfer is left to grant every later job gets 0: of those only
 * the first of each priority that wants one is looked at (it makes the
 * priority "waiting", which is all the rest would add), and the busy
 * ones (a running job may have to give its transfers back).
 */
static void grant_all(struct kb_engine *e, struct kb_sched_pass *p, uint64_t now)
{
	struct ejob *ej, *j;

	e->pass++;
	kb_sched_pass_begin(&e->sched, p, now);
	for (ej = e->jobs; ej && p->left; ej = ej->next)
		grant_one(p, ej);
	for (unsigned int b = ej ? ej->band : KB_SCHED_PRIORITIES; b < KB_SCHED_PRIORITIES; b++)
		for (j = b == ej->band ? ej : band_head(e, b); j && j->band == b && !p->waiting[b];
		     j = j->next)
			grant_one(p, j);
	for (j = e->busy; j; j = j->busy_next)
		if (j->granted_in != e->pass)
			grant_one(p, j);
}

/* The jobs the pass looked at from the head of e->jobs on, in order. */
#define for_each_granted_from_head(e, ej, next) \
	for ((ej) = (e)->jobs; (ej) && (ej)->granted_in == (e)->pass && ((next) = (ej)->next, 1); \
	     (ej) = (next))

/*
 * An upload job took or gave back its slot (upload.h): its time up to now
 * is accounted when it leaves it (it is noted as it takes one, in a pass).
 */
static void upload_sync_live(struct ejob *ej)
{
	bool live = kb_upload_live(ej->up);

	if (live == !!ej->nactive)
		return;
	if (!live)
		kb_sched_account(&ej->sched, 0, kb_now());
	ej->nactive = live;
	ej->e->up_live += live ? 1u : -1u;
}

/* upload.h's hook: an upload job's state is about to be reported. */
static void upload_changed(void *arg, const struct kb_job *job)
{
	struct kb_engine *e = arg;
	struct ejob *ej = find_job(e, job->id);

	if (!ej || ej->job != job)
		return;
	upload_sync_live(ej);
	job_time_update(ej);	/* the report carries it (ops->state) */
	e->need_schedule = true;	/* a slot is free, or a retry waits for one */
}

/* An upload job's start step: it takes its slot, or gives it back. */
static void start_upload(struct kb_engine *e, struct ejob *ej, unsigned int *e_live)
{
	unsigned int before = ej->nactive;

	ej->started_in = e->pass;
	ej->attn = false;
	if (!job_runnable(ej))
		return;
	if (ej->nactive && !ej->sched.grant)
		kb_upload_grant(ej->up, false);
	else if (!ej->nactive && ej->sched.grant && *e_live < e->cfg.max_transfers)
		kb_upload_grant(ej->up, true);
	upload_sync_live(ej);
	*e_live = *e_live - before + ej->nactive;
}

/*
 * A job's start step: transfers beyond its grant aborted, files started
 * up to it, and what follows when none is left running.
 */
static void start_job(struct kb_engine *e, struct ejob *ej, unsigned int *e_live)
{
	struct kb_job *job = ej->job;
	unsigned int live;
	uint32_t done = 0;

	if (ej->up) {
		start_upload(e, ej, e_live);
		return;
	}
	ej->started_in = e->pass;
	ej->attn = false;
	if (!job_runnable(ej))
		return;
	/* beyond the grant (a higher priority came, the turn is over):
	 * abort; the synced bytes stay and the next turn resumes */
	live = xfers_live(ej);
	for (struct xfer *x = ej->xfers, *xn; x && live > ej->sched.grant; x = xn) {
		xn = x->next_in_job;
		if (x->outcome == XO_NONE && !x->curl_done) {
			kb_xfer_abort(x);
			live--;
		}
	}
	done = first_open(ej);
	for (uint32_t i = done; i < job->nr_files; i++) {
		if (job->files[i].flags & KBITS_FILE_COMPLETED) {
			done++;
			continue;
		}
		if (ej->file_active[i])
			continue;
		live = xfers_live(ej);
		if (live >= ej->sched.grant || live >= e->cfg.files_per_job ||
		    *e_live >= e->cfg.max_transfers ||
		    ej->nactive >= TAIL_FACTOR * e->cfg.files_per_job ||
		    e->nactive >= TAIL_FACTOR * e->cfg.max_transfers)
			break;
		/* a job that starts transferring sees its owner's groups as they are now */
		if (!ej->nactive)
			kb_owner_refresh(&ej->owner, job->owner_uid, job->owner_gid);
		if (kb_xfer_start(ej, i) < 0 || !job_runnable(ej))
			break;
		(*e_live)++;
	}
	if (done == job->nr_files && !ej->nactive && !ej->synced) {
		kb_job_final_sync(ej);	/* TRANSFERRED means durable */
	} else if (done == job->nr_files && !ej->nactive) {
		job->transfer_completion_time = 0;	/* the module stamps it */
		kb_job_set_state(ej, KBITS_STATE_TRANSFERRED);
	} else if (!ej->nactive && (job->state == KBITS_STATE_CONNECTING ||
				    job->state == KBITS_STATE_TRANSFERRING)) {
		kb_job_set_state(ej, KBITS_STATE_QUEUED);	/* waits for its turn */
	}
}

static void note_job(struct kb_engine *e, struct kb_sched_pass *p, struct ejob *ej)
{
	if (ej->noted_in == e->pass)
		return;
	ej->noted_in = e->pass;
	kb_sched_note(p, &ej->sched, ej->job->priority, xfers_live(ej), ej->job->max_download_time);
}

/* The policy is sched.c's (see sched.h); here are its mechanics. */
static void schedule(struct kb_engine *e)
{
	struct ejob *ej, *next;
	struct kb_sched_pass pass;
	uint64_t now = kb_now();
	unsigned int moved = 0, e_live;

	e->need_schedule = false;
	e->stats.sched_passes++;
	/* time used; the maximum download time (an idle job has none to account) */
	for (ej = e->busy; ej; ej = next) {
		struct kb_error err;

		next = ej->busy_next;
		kb_sched_account(&ej->sched, ej->nactive, now);
		if (job_runnable(ej) && ej->nactive &&
		    kb_sched_expired(&ej->sched, ej->job->max_download_time, &err))
			kb_job_fail(ej, &err);
	}
	/* grants in order; a job whose slice is over while one of its
	 * priority waits goes to the back of its priority, once per pass
	 * (only a job with a grant may rotate: all are near the head) */
	grant_all(e, &pass, now);
	for_each_granted_from_head(e, ej, next) {
		if (kb_sched_should_rotate(&pass, &ej->sched, ej->job->priority)) {
			job_unlink(ej);
			job_link(e, ej);
			moved++;
		}
	}
	if (moved)
		grant_all(e, &pass, now);
	/*
	 * The limits count transfers on the network. A file whose body is in
	 * holds its place only in the wider TAIL_FACTOR bound while its last
	 * writes and its fsync finish: durability does not idle the network.
	 * Jobs in order from the head, then the busy ones further on (their
	 * grant is 0: they only give transfers back and settle).
	 */
	e_live = kb_engine_active(e);
	for_each_granted_from_head(e, ej, next)
		if (ej->started_in != e->pass)
			start_job(e, ej, &e_live);
	for (ej = e->busy; ej; ej = next) {
		next = ej->busy_next;
		if (ej->granted_in == e->pass && ej->started_in != e->pass)
			start_job(e, ej, &e_live);
	}
	/* running state, deadlines, bandwidth (an idle job's are all 0
	 * already); once each: noting links the job into the pass's rates */
	for_each_granted_from_head(e, ej, next)
		note_job(e, &pass, ej);
	for (ej = e->busy; ej; ej = ej->busy_next)
		if (ej->granted_in == e->pass)
			note_job(e, &pass, ej);
	kb_sched_rates(&pass);
	for (struct xfer *x = e->all; x; x = x->next_all)
		if (x->easy && !x->curl_done)
			kb_bucket_set(&x->bucket, x->ej->sched.xfer_rate, now);
	for (struct kb_sched_ent *ent = pass.rate_list; ent; ent = ent->rate_next) {
		ej = (struct ejob *)((char *)ent - offsetof(struct ejob, sched));
		if (ej->up)
			kb_upload_set_rate(ej->up, ent->xfer_rate);
	}
	kb_sched_pass_end(&e->sched, &pass, e->loop);
	/* the busy list for the next pass */
	for (ej = e->busy; ej; ej = next) {
		next = ej->busy_next;
		if (job_idle(ej))
			busy_del(ej);
	}
	for_each_granted_from_head(e, ej, next)
		if (!job_idle(ej))
			busy_add(ej);
	if (e->sched.cfg.rlp && e->nactive && !e->sched.tick.deadline)
		kb_timer_arm_in(e->loop, &e->sched.tick, KB_RLP_TICK_NS);
}

static void sched_timer_fired(struct kb_timer *t)
{
	struct kb_engine *e = (struct kb_engine *)((char *)t - offsetof(struct kb_engine, sched.timer));

	e->need_schedule = true;
}

/* Receive-side yielding of background downloads (sched.h). */
static void sched_tick_fired(struct kb_timer *t)
{
	struct kb_engine *e = (struct kb_engine *)((char *)t - offsetof(struct kb_engine, sched.tick));
	bool any = false;

	for (struct xfer *x = e->all; x; x = x->next_all) {
		if (!x->easy || x->curl_done || x->ej->job->priority == KBITS_PRIORITY_FOREGROUND)
			continue;
		curl_socket_t sock = CURL_SOCKET_BAD;

		any = true;
		/*
		 * Asked each tick: a reused connection never passes through the
		 * sockopt callback, and uploads share the multi handle, so the
		 * socket callback cannot tell whose socket it sees. libcurl
		 * 7.88 names the active socket only once a transfer of the
		 * handle has ended: until then, the one the sockopt callback saw.
		 */
		if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
		    sock == CURL_SOCKET_BAD)
			sock = x->sock;
		if (sock != CURL_SOCKET_BAD)
			kb_rlp_tick(&e->sched, &x->rlp, sock);
	}
	if (any)
		kb_timer_arm_in(e->loop, &e->sched.tick, KB_RLP_TICK_NS);
}

static void retry_fired(struct kb_timer *t)
{
	struct ejob *ej = (struct ejob *)((char *)t - offsetof(struct ejob, retry));

	if (ej->job->state == KBITS_STATE_TRANSIENT_ERROR) {
		kb_job_set_state(ej, KBITS_STATE_QUEUED);
		ej->attn = true;
		busy_add(ej);
		ej->e->need_schedule = true;
	}
}

static void job_finish_error(struct ejob *ej)
{
	struct kb_engine *e = ej->e;
	struct kb_job *job = ej->job;
	struct kb_error err = ej->pending;
	uint64_t idle = kb_now() - ej->last_progress;
	bool fatal;

	ej->failing = false;
	ej->proxy = 0;	/* the next attempt starts at the list's first entry */
	memset(ej->mirror, 0, job->nr_files);	/* and every file at its URL */
	fatal = !err.transient || !job->no_progress_timeout ||
		idle >= (uint64_t)job->no_progress_timeout * 1000000000ull;
	if (!fatal && !err.desc[0])
		snprintf(err.desc, sizeof(err.desc), "transient error");
	job->error_count++;
	job->error_context = err.context;
	job->error_code = err.code;
	job->error_file = err.file;
	kb_strset(&job->strings[KBITS_STR_ERROR_DESCRIPTION], err.desc);
	kb_info("job error (%s): %s", fatal ? "fatal" : "transient", err.desc);
	if (e->ops->error)
		e->ops->error(e->ctx, job, &err);
	kb_job_set_state(ej, fatal ? KBITS_STATE_ERROR : KBITS_STATE_TRANSIENT_ERROR);
	if (!fatal) {
		uint64_t delay = job->min_retry_delay;

		if (err.retry_after > delay)
			delay = err.retry_after;
		kb_timer_arm_in(e->loop, &ej->retry, delay * 1000000000ull);
	}
}

void kb_job_fail(struct ejob *ej, const struct kb_error *err)
{
	struct xfer *x, *next;

	if (ej->up) {
		kb_upload_fail(ej->up, err);
		return;
	}
	if (ej->failing || ej->stopping)
		return;
	ej->failing = true;
	ej->pending = *err;
	for (x = ej->xfers; x; x = next) {
		next = x->next_in_job;
		kb_xfer_abort(x);
	}
}

/*
 * e->jobs is doubly linked and the last job of each priority is known, so
 * that taking a job in, rotating one and letting one go cost O(1) however
 * many jobs wait. A job remembers the priority it was linked under: a
 * replaced description may carry another one.
 */
static void job_unlink(struct ejob *ej)
{
	struct kb_engine *e = ej->e;

	if (e->band_tail[ej->band] == ej)
		e->band_tail[ej->band] = ej->prev && ej->prev->band == ej->band ? ej->prev : NULL;
	if (ej->prev)
		ej->prev->next = ej->next;
	else
		e->jobs = ej->next;
	if (ej->next)
		ej->next->prev = ej->prev;
	ej->next = ej->prev = NULL;
	e->njobs--;
}

/* After the last job of its priority or of the nearest higher one
 * (a lower value); priorities beyond LOW share the last band. */
static void job_link(struct kb_engine *e, struct ejob *ej)
{
	unsigned int band = ej->job->priority < KB_SCHED_PRIORITIES ?
			    ej->job->priority : KB_SCHED_PRIORITIES;
	struct ejob *after = NULL;

	for (unsigned int b = band + 1; b-- > 0 && !after;)
		after = e->band_tail[b];
	ej->band = band;
	ej->prev = after;
	ej->next = after ? after->next : e->jobs;
	if (ej->next)
		ej->next->prev = ej;
	if (after)
		after->next = ej;
	else
		e->jobs = ej;
	e->band_tail[band] = ej;
	e->njobs++;
	/* new, replaced or rotated: the next pass looks at it wherever it is */
	ej->attn = true;
	busy_add(ej);
}

static void job_free(struct ejob *ej)
{
	busy_del(ej);
	kb_timer_cancel(ej->e->loop, &ej->retry);
	kb_job_put(ej->job);
	kb_job_put(ej->replace);
	free(ej->file_active);
	free(ej->restarts);
	free(ej->mirror);
	free(ej);
}

static struct ejob *job_new(struct kb_engine *e, struct kb_job *job)
{
	struct ejob *ej = calloc(1, sizeof(*ej));

	if (!ej)
		return NULL;
	ej->e = e;
	ej->job = kb_job_get(job);
	ej->file_active = calloc(job->nr_files + 1, 1);
	ej->restarts = calloc(job->nr_files + 1, 1);
	ej->mirror = calloc(job->nr_files + 1, 1);
	if (!ej->file_active || !ej->restarts || !ej->mirror) {
		job_free(ej);
		return NULL;
	}
	ej->retry.cb = retry_fired;
	kb_owner_init(&ej->owner, job->owner_uid, job->owner_gid);
	ej->last_progress = kb_now();
	return ej;
}

void kb_job_settle(struct ejob *ej)
{
	struct kb_engine *e = ej->e;

	if (ej->nactive)
		return;
	if (ej->stopping) {
		uint8_t id[16];

		job_time_update(ej);
		if (e->ops->active_time)
			e->ops->active_time(e->ctx, ej->job);
		memcpy(id, ej->job->id, 16);
		kb_jobindex_del(&e->index, id);
		job_unlink(ej);
		job_free(ej);
		/* its slots are free: a job it displaced may run now */
		e->need_schedule = true;
		if (e->ops->stopped)
			e->ops->stopped(e->ctx, id);
		return;
	}
	if (ej->failing)
		job_finish_error(ej);
	if (ej->replace) {
		struct kb_job *nj = ej->replace;
		uint8_t *fa = calloc(nj->nr_files + 1, 1), *rs = calloc(nj->nr_files + 1, 1);
		uint8_t *mi = calloc(nj->nr_files + 1, 1);

		if (fa && rs && mi) {
			/* what the drained transfers did since (job.h) */
			kb_job_carry(nj, ej->job);
			ej->replace = NULL;
			ej->synced = false;	/* its files may have changed */
			kb_job_put(ej->job);
			ej->job = nj;
			ej->first_open = 0;
			free(ej->file_active);
			free(ej->restarts);
			ej->file_active = fa;
			ej->restarts = rs;
			free(ej->mirror);
			ej->mirror = mi;	/* its mirrors may have changed */
			ej->proxy = 0;	/* its proxy list may have changed */
			job_unlink(ej);
			job_link(e, ej);
			kb_owner_init(&ej->owner, nj->owner_uid, nj->owner_gid);
			nj->state = KBITS_STATE_QUEUED;
		} else {
			free(fa);
			free(rs);
			free(mi);
		}
	}
	e->need_schedule = true;
}

/* A job new to the engine, found by its id, with the time it used before
 * (a kbitsd restart: max_download_time counts on); NULL: no memory. */
static struct ejob *job_admit(struct kb_engine *e, struct kb_job *job)
{
	struct ejob *ej = job_new(e, job);

	if (!ej)
		return NULL;
	if (kb_jobindex_put(&e->index, ej->job->id, ej) < 0) {
		job_free(ej);
		return NULL;
	}
	ej->sched.active_ns = job->active_ns;
	return ej;
}

static int download_run(struct kb_engine *e, struct kb_job *job)
{
	struct ejob *ej = find_job(e, job->id);

	if (ej) {
		struct kb_job *nj = kb_job_get(job);
		struct xfer *x, *next;

		kb_job_put(ej->replace);
		ej->replace = nj;
		ej->stopping = false;
		/* a new limit applies from the next pass, also to what still drains */
		ej->sched.bandwidth = job->max_bandwidth;
		e->need_schedule = true;
		if (ej->job->state == KBITS_STATE_ERROR)
			kb_sched_reset(&ej->sched);	/* a Resume restarts the clock */
		kb_timer_cancel(e->loop, &ej->retry);
		for (x = ej->xfers; x; x = next) {
			next = x->next_in_job;
			kb_xfer_abort(x);
		}
		if (!ej->nactive)
			kb_job_settle(ej);
		ej->last_progress = kb_now();
		return 0;
	}
	ej = job_admit(e, job);
	if (!ej)
		return -ENOMEM;
	ej->job->state = KBITS_STATE_QUEUED;
	ej->sched.bandwidth = job->max_bandwidth;
	job_link(e, ej);
	e->need_schedule = true;
	return 0;
}

static int download_cancel(struct kb_engine *e, struct kb_job *job)
{
	(void)e;
	(void)job;
	return 0;	/* nothing on the server to cancel */
}

/*
 * An upload job: its session is upload_session.c's; here it is a job of
 * the scheduler's, in e->jobs like a download job of one file.
 */
static int upload_run(struct kb_engine *e, struct kb_job *job)
{
	struct ejob *ej = find_job(e, job->id);
	bool fresh = !ej;
	int ret;

	if (fresh) {
		ej = job_admit(e, job);
		if (!ej)
			return -ENOMEM;
	} else {
		if (ej->job->state == KBITS_STATE_ERROR)
			kb_sched_reset(&ej->sched);	/* a Resume restarts the clock */
		job_unlink(ej);		/* its priority may have changed */
	}
	ret = kb_uploads_run(e->up, job, &ej->up);
	if (ret < 0) {
		if (fresh) {
			kb_jobindex_del(&e->index, job->id);
			job_free(ej);
		} else {
			job_link(e, ej);
		}
		return ret;
	}
	if (ej->job != job) {
		kb_job_put(ej->job);
		ej->job = kb_job_get(job);
		ej->first_open = 0;
	}
	/* its request was dropped: it waits for the next pass's grant */
	upload_sync_live(ej);
	job_time_update(ej);
	ej->sched.bandwidth = job->max_bandwidth;
	job_link(e, ej);
	e->need_schedule = true;
	return 0;
}

static int upload_cancel(struct kb_engine *e, struct kb_job *job)
{
	return kb_uploads_cancel_session(e->up, job);
}

/* What the engine does with a job, by its type. */
static const struct {
	int (*run)(struct kb_engine *e, struct kb_job *job);
	int (*cancel)(struct kb_engine *e, struct kb_job *job);
} job_types[] = {
	[KBITS_JOB_DOWNLOAD] = { download_run, download_cancel },
	[KBITS_JOB_UPLOAD] = { upload_run, upload_cancel },
	[KBITS_JOB_UPLOAD_REPLY] = { upload_run, upload_cancel },
};

#define KNOWN_TYPE(t)	((t) < sizeof(job_types) / sizeof(job_types[0]))

int kb_engine_run(struct kb_engine *e, struct kb_job *job)
{
	if (!KNOWN_TYPE(job->type))
		return -EINVAL;
	return job_types[job->type].run(e, job);
}

int kb_engine_stop(struct kb_engine *e, const uint8_t job_id[16])
{
	struct ejob *ej = find_job(e, job_id);
	struct xfer *x, *next;
	uint8_t id[16];

	if (!ej)
		return -ENOENT;
	/* job_id may be the job's own (kb_engine_free), freed with it below */
	memcpy(id, job_id, 16);
	if (ej->up) {
		/* at once: its progress is saved at every acknowledgement */
		job_time_update(ej);
		if (e->ops->active_time)
			e->ops->active_time(e->ctx, ej->job);
		if (ej->nactive)
			e->up_live--;
		kb_jobindex_del(&e->index, id);
		job_unlink(ej);
		job_free(ej);
		e->need_schedule = true;	/* its slot is free */
		return kb_uploads_stop(e->up, id);
	}
	if (ej->stopping)
		return 0;
	ej->stopping = true;
	kb_timer_cancel(e->loop, &ej->retry);
	/* The last abort may settle the job and free ej: look it up again. */
	for (x = ej->xfers; x; x = next) {
		next = x->next_in_job;
		kb_xfer_abort(x);
		if (find_job(e, id) != ej)
			return 0;
	}
	if (!ej->nactive)
		kb_job_settle(ej);
	return 0;
}

const struct kb_job *kb_engine_job(struct kb_engine *e, const uint8_t id[16])
{
	struct ejob *ej = find_job(e, id);

	return ej ? ej->job : NULL;
}

int kb_engine_cancel_session(struct kb_engine *e, struct kb_job *job)
{
	if (!e)
		return -ENOTCONN;
	if (!KNOWN_TYPE(job->type))
		return -EINVAL;
	return job_types[job->type].cancel(e, job);
}

unsigned int kb_engine_cancels_pending(struct kb_engine *e)
{
	return e ? kb_uploads_cancels_pending(e->up) : 0;
}

unsigned int kb_engine_active(struct kb_engine *e)
{
	unsigned int n = e->up_live;

	for (struct xfer *x = e->all; x; x = x->next_all)
		n += x->outcome == XO_NONE && !x->curl_done;
	return n;
}

unsigned int kb_engine_jobs(struct kb_engine *e)
{
	return e->njobs;
}

void kb_engine_get_stats(struct kb_engine *e, struct kb_engine_stats *st)
{
	*st = e->stats;
	st->polls = kb_curlio_polls(e->io);
	st->lp_sockets = e->sched.lp_sockets;
	st->rlp_cuts = e->sched.rlp_cuts;
}

int kb_engine_set_job_bandwidth(struct kb_engine *e, const uint8_t id[16], uint64_t bps)
{
	struct ejob *ej = find_job(e, id);

	if (!ej)
		return -ENOENT;
	ej->sched.bandwidth = bps;
	ej->job->max_bandwidth = bps;
	e->need_schedule = true;
	return 0;
}

/* ---- the engine ------------------------------------------------------------- */

static void engine_idle(void *arg)
{
	struct kb_engine *e = arg;

	/* Partial buffers go to disk once per loop iteration. */
	for (struct xfer *x = e->all; x; x = x->next_all)
		if (!x->curl_done && x->cur && x->cur->len && x->outcome == XO_NONE)
			kb_xfer_flush(x);
	if (e->need_schedule)
		schedule(e);
	kb_curlio_arm(e->io);
}

struct kb_engine *kb_engine_new(struct kb_loop *loop, const struct kb_engine_config *c,
				const struct kb_engine_ops *ops, void *ctx)
{
	struct kb_engine *e;

	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->loop = loop;
	if (c)
		e->cfg = *c;
	else
		kb_engine_config_default(&e->cfg);
	if (!e->cfg.files_per_job)
		e->cfg.files_per_job = 1;
	if (!e->cfg.max_writes_inflight)
		e->cfg.max_writes_inflight = 2;
	/* Whole 4 KiB blocks: every write starts at an aligned offset, so a
	 * write that never completed leaves a hole SEEK_HOLE finds (download.c). */
	e->cfg.write_chunk &= ~(KB_WRITE_ALIGN - 1);
	if (e->cfg.write_chunk < KB_WRITE_ALIGN)
		e->cfg.write_chunk = KB_WRITE_ALIGN;
	if (e->cfg.write_chunk > KB_CRASH_BOUND / 4)
		e->cfg.write_chunk = KB_CRASH_BOUND / 4;
	/*
	 * What a process crash may cost a file is what was in flight: the
	 * queued writes, one body callback (at most KB_RECV_BUFFER) taken
	 * with one fewer queued, and the buffer being filled.
	 */
	if ((uint64_t)(e->cfg.max_writes_inflight + 1) * e->cfg.write_chunk + KB_RECV_BUFFER >
	    KB_CRASH_BOUND)
		e->cfg.max_writes_inflight = (KB_CRASH_BOUND - KB_RECV_BUFFER) / e->cfg.write_chunk - 1;
	if (!e->cfg.checkpoint_bytes)
		e->cfg.checkpoint_bytes = 64ull << 20;
	if (!e->cfg.checkpoint_interval_ms)
		e->cfg.checkpoint_interval_ms = 10000;
	e->ops = ops;
	e->ctx = ctx;
	e->sched.timer.cb = sched_timer_fired;
	e->sched.tick.cb = sched_tick_fired;
	e->sched.cfg = (struct kb_sched_cfg){
		.max_transfers = e->cfg.max_transfers, .files_per_job = e->cfg.files_per_job,
		.max_bandwidth = e->cfg.max_bandwidth, .job_bandwidth = e->cfg.job_bandwidth,
		.slice_ns = (uint64_t)e->cfg.slice_ms * 1000000ull, .rlp = !e->cfg.no_rlp,
	};
	e->io = kb_curlio_new(loop, (long)e->cfg.max_transfers * 2);
	if (!e->io) {
		free(e);
		return NULL;
	}
	e->up = kb_uploads_new(loop, e->io, &e->cfg, &e->ops, ctx, upload_changed, e);
	if (!e->up) {
		kb_curlio_free(e->io);
		free(e);
		return NULL;
	}
	kb_loop_set_idle(loop, engine_idle, e);
	return e;
}

void kb_engine_free(struct kb_engine *e)
{
	uint64_t deadline = kb_now() + 5000000000ull;

	if (!e)
		return;
	/* kbitsd exits: every job's time so far is kept */
	for (struct ejob *ej = e->jobs; ej; ej = ej->next) {
		job_time_update(ej);
		if (e->ops->active_time && ej->job->active_ns)
			e->ops->active_time(e->ctx, ej->job);
	}
	e->ops = &(const struct kb_engine_ops){ 0 };
	for (struct ejob *ej = e->jobs, *next; ej; ej = next) {
		next = ej->next;
		kb_engine_stop(e, ej->job->id);
	}
	while (e->jobs && kb_now() < deadline)
		kb_loop_run_once(e->loop, 100000000ull);
	kb_uploads_free(e->up);
	e->up = NULL;
	kb_timer_cancel(e->loop, &e->sched.timer);
	kb_timer_cancel(e->loop, &e->sched.tick);
	kb_loop_set_idle(e->loop, NULL, NULL);
	kb_curlio_free(e->io);	/* runs the loop for stale polls */
	e->io = NULL;
	kb_jobindex_free(&e->index);
	kb_wbpool_free(e->pool);	/* download.c's write buffers */
	free(e);
}
