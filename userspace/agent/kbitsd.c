// SPDX-License-Identifier: GPL-2.0
/*
 * kbitsd: the kbits agent. Attaches to /dev/kbits, restores the registry
 * from its store when the module is a new instance, then runs the one
 * loop: work items from the module feed the engine; the engine's events go
 * to the store first and then to the module.
 */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel.h"
#include "engine.h"
#include "commit.h"
#include "jobindex.h"
#include "log.h"
#include "notify.h"
#include "notify_cmd.h"
#include "store.h"
#include "tempfile.h"

#define REPORT_INTERVAL_NS	500000000ull	/* progress per job: 2 per second */

/* A job kbitsd knows: in a list (start-up walks it) and in an index by id. */
struct known {
	struct known *next, **pprev;
	struct kb_job *job;		/* a reference: the job, shared with the engine (job.h) */
	uint64_t last_report;
	uint32_t pending;		/* COMPLETE or CANCEL after the stop */
	/* on a->dirty: its rows are written by the next agent_sync() */
	struct known *dirty_next, **dirty_pprev;
};

struct agent {
	struct kb_loop *loop;
	struct kb_engine *engine;
	struct kb_store *store;
	struct kb_channel *ch;
	struct known *known;
	struct kb_jobindex known_ix;	/* the same, by job id */
	struct known *dirty;		/* jobs learnt in this iteration, not yet written */
	struct kb_op sig_op;
	int sigfd;
	volatile bool stop;
	bool new_boot;			/* the store's partial files predate this boot */
	struct kb_ncmd *ncmd;		/* notify command lines (notify_cmd.c) */
	/* files done in this loop iteration: told once their rows are durable */
	struct done_report {
		uint8_t id[16];
		uint32_t idx;
		uint64_t total, done;
		uint8_t sha256[KBITS_SHA256_LEN];
		bool has_digest, verified;
	} *done_q;
	size_t done_n, done_cap;
	/* jobs stored in this iteration: acknowledged once the commit is done */
	struct kbits_stored_job *ack_q;
	size_t ack_n, ack_cap;
};

static void known_clean(struct known *k)
{
	if (!k->dirty_pprev)
		return;
	if (k->dirty_next)
		k->dirty_next->dirty_pprev = k->dirty_pprev;
	*k->dirty_pprev = k->dirty_next;
	k->dirty_next = NULL;
	k->dirty_pprev = NULL;
}

static void known_dirty(struct agent *a, struct known *k)
{
	if (k->dirty_pprev)
		return;
	k->dirty_next = a->dirty;
	if (k->dirty_next)
		k->dirty_next->dirty_pprev = &k->dirty_next;
	k->dirty_pprev = &a->dirty;
	a->dirty = k;
}

/* A job whose rows could not be written is not acknowledged (its next change tries again). */
static void unack(struct agent *a, const uint8_t id[16])
{
	size_t j = 0;

	for (size_t i = 0; i < a->ack_n; i++)
		if (memcmp(a->ack_q[i].job_id, id, 16))
			a->ack_q[j++] = a->ack_q[i];
	a->ack_n = j;
}

/*
 * The jobs learnt from work items are written once per iteration, from
 * the job as it is then: the CHANGED and the RUN of a job that
 * arrive together cost one write of its rows, not two.
 */
static void store_dirty(struct agent *a)
{
	while (a->dirty) {
		struct known *k = a->dirty;

		known_clean(k);
		if (kb_store_put_job(a->store, k->job) < 0)
			unack(a, k->job->id);
	}
}

/*
 * The store batches the changes of a loop iteration into one transaction
 * (one WAL sync, not one per file). Nothing reaches the module before the
 * changes it reports are durable: every report and outcome is preceded by
 * agent_sync(), and the reports of finished files, the most frequent, wait
 * for the end of the iteration to share its commit.
 */
static void agent_sync(struct agent *a)
{
	int ret;

	store_dirty(a);
	ret = kb_store_flush(a->store);

	if (ret < 0)
		kb_err("store: cannot commit: %s", strerror(-ret));
	/* One ioctl for every job this commit covered (never on a failed one). */
	if (ret >= 0 && a->ack_n) {
		int r = kb_channel_stored(a->ch, a->ack_q, a->ack_n);

		if (r < 0)
			kb_err("cannot acknowledge stored jobs: %s", strerror(-r));
	}
	a->ack_n = 0;
	for (size_t i = 0; i < a->done_n; i++) {
		struct done_report *d = &a->done_q[i];

		kb_channel_report_file_done(a->ch, d->id, d->idx, d->total, d->done,
					    d->has_digest ? d->sha256 : NULL, d->verified);
	}
	a->done_n = 0;
}

static void agent_flush(void *arg)
{
	agent_sync(arg);
}

static struct known *known_find(struct agent *a, const uint8_t id[16])
{
	return kb_jobindex_find(&a->known_ix, id);
}

static struct known *known_set(struct agent *a, struct kb_job *job)
{
	struct known *k = known_find(a, job->id);

	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k)
			return NULL;
		if (kb_jobindex_put(&a->known_ix, job->id, k) < 0) {
			free(k);
			return NULL;
		}
		k->next = a->known;
		if (k->next)
			k->next->pprev = &k->next;
		k->pprev = &a->known;
		a->known = k;
	} else {
		kb_job_put(k->job);
	}
	k->job = job;	/* the caller's reference, now the known list's */
	return k;
}

static void known_drop(struct agent *a, const uint8_t id[16])
{
	struct known *k = kb_jobindex_del(&a->known_ix, id);

	if (!k)
		return;
	known_clean(k);
	if (k->next)
		k->next->pprev = k->pprev;
	*k->pprev = k->next;
	kb_job_put(k->job);
	free(k);
}

/* ---- engine events: store first, then the module --------------------------- */

/*
 * The known entry whose job the event is about, or NULL. The engine shares
 * the known list's job; only while it drains a description the module has
 * replaced since (a CHANGED, job.h) is its job another one. What that one
 * did still counts: kb_job_carry() takes it into the known job, whose rows
 * are then written whole by agent_sync(); its state and reports do not,
 * as the engine queues the new description once drained.
 */
static struct known *known_of(struct agent *a, const struct kb_job *job)
{
	struct known *k = known_find(a, job->id);

	if (!k || k->job == job)
		return k;
	kb_job_carry(k->job, job);
	known_dirty(a, k);
	return NULL;
}

static void ev_state(void *ctx, const struct kb_job *job, uint32_t state)
{
	struct agent *a = ctx;
	struct known *k = known_of(a, job);

	if (k && !k->dirty_pprev)	/* else all its rows go in agent_sync() */
		kb_store_put_state(a->store, k->job);
	agent_sync(a);
	kb_channel_report_state(a->ch, job, state);
	kb_ncmd_on_state(a->ncmd, job, state);	/* TRANSFERRED, ERROR: per the notify flags */
}

static void ev_progress(void *ctx, const struct kb_job *job, uint32_t idx, uint64_t on_disk)
{
	struct agent *a = ctx;
	struct known *k = known_find(a, job->id);
	uint64_t now = kb_now();

	if (k && now - k->last_report < REPORT_INTERVAL_NS)
		return;
	if (k)
		k->last_report = now;
	agent_sync(a);
	kb_channel_report_progress(a->ch, job, idx, on_disk);
}

static void file_row(struct agent *a, const struct kb_job *job, uint32_t idx, bool unsynced)
{
	struct known *k = known_of(a, job);
	struct kb_file *f;
	bool new_temp, new_url, new_headers;

	if (!k || idx >= k->job->nr_files)
		return;
	f = &k->job->files[idx];
	/* what the engine changed that the module must hear of */
	new_temp = f->temp_name && (f->untold & KB_UNTOLD_TEMP);
	/* the redirect policy ALLOW_REPORT replaced the URL with the final one */
	new_url = f->url && (f->untold & KB_UNTOLD_URL);
	new_headers = f->untold & KB_UNTOLD_HEADERS;
	f->untold = 0;
	if (!k->dirty_pprev)	/* else all its rows go in agent_sync(), synced */
		(unsynced ? kb_store_put_file_unsynced : kb_store_put_file)(a->store, k->job, idx);
	if (new_temp) {
		agent_sync(a);
		kb_channel_report_temp_name(a->ch, job, idx);
	}
	if (new_url) {
		agent_sync(a);
		kb_channel_report_url(a->ch, job, idx);
	}
	if (new_headers)
		kb_channel_set_headers(a->ch, job, idx);
}

static void ev_file_saved(void *ctx, const struct kb_job *job, uint32_t idx)
{
	file_row(ctx, job, idx, false);
}

/* A file never started: its temporary file, its first response (transfer.h). */
static void ev_file_noted(void *ctx, const struct kb_job *job, uint32_t idx)
{
	file_row(ctx, job, idx, true);
}

/* A checkpoint: cheap to commit (kb_store_put_checkpoint), told to nobody. */
static void ev_checkpoint(void *ctx, const struct kb_job *job, uint32_t idx)
{
	struct agent *a = ctx;
	struct known *k = known_of(a, job);

	if (!k || idx >= k->job->nr_files)
		return;
	if (!k->dirty_pprev)	/* else in its rows, with the iteration's FULL commit */
		kb_store_put_checkpoint(a->store, k->job, idx);
}

static void ev_file_done(void *ctx, const struct kb_job *job, uint32_t idx)
{
	const struct kb_file *f = &job->files[idx];
	struct agent *a = ctx;
	struct done_report *d;

	if (a->done_n == a->done_cap) {
		size_t cap = a->done_cap ? 2 * a->done_cap : 64;
		void *q = realloc(a->done_q, cap * sizeof(*a->done_q));

		if (!q) {	/* no room to wait: tell now */
			agent_sync(a);
			kb_channel_report_file_done(a->ch, job->id, idx, job->files[idx].bytes_total,
						    job->files[idx].bytes_transferred,
						    f->flags & KBITS_FILE_SHA256 ? f->sha256 : NULL,
						    f->flags & KBITS_FILE_VERIFIED);
			return;
		}
		a->done_q = q;
		a->done_cap = cap;
	}
	d = &a->done_q[a->done_n++];
	memcpy(d->id, job->id, 16);
	d->idx = idx;
	d->total = job->files[idx].bytes_total;
	d->done = job->files[idx].bytes_transferred;
	d->has_digest = f->flags & KBITS_FILE_SHA256;
	d->verified = f->flags & KBITS_FILE_VERIFIED;
	memcpy(d->sha256, f->sha256, sizeof(d->sha256));
}

static void ev_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	struct agent *a = ctx;

	agent_sync(a);
	kb_channel_report_error(a->ch, job, err);
}

static void do_complete(struct agent *a, struct known *k)
{
	uint8_t id[16];
	uint32_t done = 0, r;
	int err = 0;

	memcpy(id, k->job->id, 16);
	r = kb_job_complete_files(k->job, &done, &err);
	if (r != KBITS_COMPLETE_FAILED) {
		/* ACKNOWLEDGED: the job leaves the registry and the store */
		kb_store_delete_job(a->store, id);
		known_drop(a, id);
	}
	agent_sync(a);
	kb_channel_outcome(a->ch, id, KBITS_WORK_COMPLETE, r, done, err);
}

static void do_cancel(struct agent *a, struct known *k)
{
	uint8_t id[16];
	int err = kb_job_cancel_files(k->job);

	if (a->engine)	/* an upload's Cancel-Session, in the background */
		kb_engine_cancel_session(a->engine, k->job);

	memcpy(id, k->job->id, 16);
	if (err)
		kb_err("cancel: cannot remove a temporary file: %s", strerror(-err));
	kb_store_delete_job(a->store, id);
	known_drop(a, id);
}

static void ev_stopped(void *ctx, const uint8_t id[16])
{
	struct agent *a = ctx;
	struct known *k = known_find(a, id);

	if (!k)
		return;
	if (k->pending == KBITS_WORK_CANCEL)
		do_cancel(a, k);
	else if (k->pending == KBITS_WORK_COMPLETE)
		do_complete(a, k);
	else
		k->pending = 0;
}

static void ev_reply(void *ctx, const struct kb_job *job, uint64_t total, uint64_t done)
{
	struct agent *a = ctx;

	agent_sync(a);
	kb_channel_report_reply(a->ch, job, total, done);
}

/* A job stopped (or kbitsd exits): its transfer time, in the job's row. */
static void ev_active_time(void *ctx, const struct kb_job *job)
{
	struct agent *a = ctx;
	struct known *k = known_find(a, job->id);

	if (!k || k->job->active_ns == job->active_ns)
		return;
	k->job->active_ns = job->active_ns;
	if (!k->dirty_pprev)	/* else all its rows go in agent_sync() */
		kb_store_put_state(a->store, k->job);
}

static const struct kb_engine_ops agent_ops = {
	.state = ev_state,
	.progress = ev_progress,
	.file_saved = ev_file_saved,
	.file_noted = ev_file_noted,
	.checkpoint = ev_checkpoint,
	.file_done = ev_file_done,
	.error = ev_error,
	.stopped = ev_stopped,
	.reply_progress = ev_reply,
	.active_time = ev_active_time,
};

/* ---- work items ------------------------------------------------------------- */

/* Acknowledged to the module by the next agent_sync(), after its commit. */
static void ack_later(struct agent *a, const uint8_t id[16], uint64_t seq)
{
	if (a->ack_n == a->ack_cap) {
		size_t cap = a->ack_cap ? 2 * a->ack_cap : 64;
		void *q = realloc(a->ack_q, cap * sizeof(*a->ack_q));

		if (!q)
			return;	/* not durable until its next change: never a false ack */
		a->ack_q = q;
		a->ack_cap = cap;
	}
	memcpy(a->ack_q[a->ack_n].job_id, id, 16);
	a->ack_q[a->ack_n++].change_seq = seq;
}

/* What the module says, plus what only the store knows (validators). */
static struct kb_job *learn_job(struct agent *a, const struct kbits_work *w, uint64_t *seq)
{
	struct kb_job *job;
	struct known *k;
	int ret = kb_channel_fetch_job_seq(a->ch, w->job_id, &job, seq);

	if (ret < 0) {
		/* At most one line a second: a user cancelling in a loop must not flood the log. */
		static uint64_t last_log;
		static unsigned long quiet;
		uint64_t now = kb_now();

		if (last_log && now - last_log < 1000000000ull) {
			quiet++;
			return NULL;
		}
		kb_err("cannot learn a job: %s (%lu more not logged)", strerror(-ret), quiet);
		last_log = now;
		quiet = 0;
		return NULL;
	}
	job->owner_uid = w->owner_uid;	/* initial namespace, from the item */
	job->owner_gid = w->owner_gid;
	k = known_find(a, w->job_id);
	if (k)	/* a new description: what only the agent knows carries over (job.h) */
		kb_job_carry(job, k->job);
	return job;
}

static void on_work(void *arg, const struct kbits_work *w);

/* A job the store has never seen: fetch it and store it like a CHANGED item. */
static void learn_new_job(struct agent *a, const uint8_t id[16])
{
	struct kbits_work w = { .type = KBITS_WORK_CHANGED };
	struct kb_job *job;

	if (kb_channel_fetch_job(a->ch, id, &job) < 0)
		return;
	memcpy(w.job_id, id, 16);
	w.owner_uid = job->owner_uid;
	w.owner_gid = job->owner_gid;
	kb_job_put(job);
	on_work(a, &w);
}

static void on_work(void *arg, const struct kbits_work *w)
{
	struct agent *a = arg;
	struct kb_job *job;
	struct known *k;
	uint64_t seq = 0;

	switch (w->type) {
	case KBITS_WORK_RUN:
	case KBITS_WORK_CHANGED:
		job = learn_job(a, w, &seq);
		if (!job)
			break;
		k = known_set(a, job);	/* takes the fetch's reference */
		if (!k) {
			kb_job_put(job);
			break;
		}
		/* written by the next agent_sync(), then acknowledged */
		known_dirty(a, k);
		ack_later(a, w->job_id, seq);
		/*
		 * Every job type: the engine hands uploads to upload.c. The
		 * CHANGED of a Suspend must not restart what its STOP stops.
		 */
		if (w->type == KBITS_WORK_RUN ||
		    (kb_engine_job(a->engine, w->job_id) && job->state != KBITS_STATE_SUSPENDED))
			kb_engine_run(a->engine, job);	/* and the engine its own */
		break;
	case KBITS_WORK_STOP:
		kb_engine_stop(a->engine, w->job_id);
		break;
	case KBITS_WORK_COMPLETE:
	case KBITS_WORK_CANCEL:
		k = known_find(a, w->job_id);
		if (!k) {
			agent_sync(a);
			if (w->type == KBITS_WORK_COMPLETE)
				kb_channel_outcome(a->ch, w->job_id, KBITS_WORK_COMPLETE,
						   KBITS_COMPLETE_FAILED, 0, -ENOENT);
			break;
		}
		/* the engine lets go of the files first (at once if idle) */
		k->pending = w->type;
		if (kb_engine_stop(a->engine, w->job_id) == -ENOENT)
			ev_stopped(a, w->job_id);
		break;
	default:
		kb_err("unknown work item %u", w->type);
	}
}

/* ---- start-up --------------------------------------------------------------- */

static int load_one(void *arg, struct kb_job *job)
{
	struct agent *a = arg;

	/* After a reboot what lies beyond a checkpoint was never synced. */
	if (a->new_boot && job->type == KBITS_JOB_DOWNLOAD) {
		struct kb_owner o;

		kb_owner_init(&o, job->owner_uid, job->owner_gid);
		for (uint32_t i = 0; i < job->nr_files; i++) {
			struct kb_file *f = &job->files[i];

			if (f->flags & KBITS_FILE_COMPLETED)
				continue;
			/* no name: a new temporary file's unsynced row was lost */
			if (f->temp_name)
				kb_temp_recover(&o, f);
			else if (kb_temp_forget_derived(&o, f, job->id, i) == 0)
				kb_info("%s: removed the temporary file of a file the power cut left "
					"not started", f->path);
		}
	}
	if (!known_set(a, job)) {
		kb_job_put(job);
		return -ENOMEM;
	}
	return 0;
}

static int restore_all(struct agent *a)
{
	int n = 0;

	for (struct known *k = a->known; k; k = k->next) {
		int ret = kb_channel_restore(a->ch, k->job);

		if (ret < 0)
			kb_err("cannot restore a job: %s", strerror(-ret));
		else
			n++;
	}
	return n;
}

/*
 * The same module instance: it is the truth. Jobs the store has and the
 * module does not were cancelled (or completed) while kbitsd was away:
 * their temporary files go. Jobs the module has and the store does not
 * were created meanwhile: they are learnt and stored as if CHANGED
 * (runnable ones also arrive as RUN items, queued by the attach).
 */
static void sync_with_module(struct agent *a)
{
	struct known *k, *next;

	for (k = a->known; k; k = k->next)
		k->pending = KBITS_WORK_CANCEL;	/* until the module names it */
	for (uint64_t cursor = 0, rounds = 0; rounds < 100000; rounds++) {
		struct kbits_job_enum en = { .size = sizeof(en), .flags = KBITS_ENUM_ALL_USERS,
					     .cursor = cursor, .count = 256 };
		uint8_t ids[256][16];

		en.ids = (uintptr_t)ids;
		if (kb_channel_enum(a->ch, &en) < 0) {
			/* cannot tell: keep everything */
			for (k = a->known; k; k = k->next)
				k->pending = 0;
			return;
		}
		if (!en.count)
			break;
		for (uint32_t i = 0; i < en.count && i < 256; i++) {
			k = known_find(a, ids[i]);
			if (k)
				k->pending = 0;
			else
				learn_new_job(a, ids[i]);
		}
		cursor = en.cursor;
	}
	for (k = a->known; k; k = next) {
		next = k->next;
		if (k->pending == KBITS_WORK_CANCEL)
			do_cancel(a, k);
	}
}

static void on_signal(struct kb_op *op, int res)
{
	struct agent *a = (struct agent *)((char *)op - offsetof(struct agent, sig_op));
	struct signalfd_siginfo si;

	(void)res;
	if (read(a->sigfd, &si, sizeof(si)) == sizeof(si))
		a->stop = true;
	else
		kb_loop_poll(a->loop, &a->sig_op, a->sigfd, POLLIN);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kbitsd [--db PATH] [--device PATH] [--files-per-job N] [--max-transfers N] [-v]\n"
		"  --db PATH           the store (default " KB_STORE_DEFAULT_PATH ")\n"
		"  --device PATH       the module's device (default /dev/kbits)\n"
		"  --files-per-job N   files of one job transferred at once (default 4)\n"
		"  --max-transfers N   transfers at once over all jobs (default 16)\n"
		"  --max-bandwidth B   bytes per second over all transfers (default 0: no limit)\n"
		"  --job-bandwidth B   bytes per second per job (default 0: no limit)\n"
		"  --slice MS          jobs of equal priority take turns of MS ms (default 30000)\n"
		"  --checkpoint-bytes B     a file's checkpoint at most every B bytes (default 64 MiB)\n"
		"  --checkpoint-interval MS ... or every MS ms of its transfer (default 10000)\n"
		"  -v                  more log (repeat for more)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "device", required_argument, NULL, 'D' },
		{ "files-per-job", required_argument, NULL, 'f' },
		{ "max-transfers", required_argument, NULL, 'm' },
		{ "max-bandwidth", required_argument, NULL, 'B' },
		{ "job-bandwidth", required_argument, NULL, 'J' },
		{ "slice", required_argument, NULL, 'S' },
		{ "checkpoint-bytes", required_argument, NULL, 'C' },
		{ "checkpoint-interval", required_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *db = KB_STORE_DEFAULT_PATH, *dev = "/dev/" KBITS_DEVICE_NAME;
	struct kb_engine_config cfg;
	struct agent a = { .sigfd = -1 };
	uint8_t seen[16];
	sigset_t mask;
	int c, ret;

	kb_engine_config_default(&cfg);
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'D': dev = optarg; break;
		case 'f': cfg.files_per_job = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'm': cfg.max_transfers = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'B': cfg.max_bandwidth = strtoull(optarg, NULL, 0); break;
		case 'J': cfg.job_bandwidth = strtoull(optarg, NULL, 0); break;
		case 'S': cfg.slice_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'C': cfg.checkpoint_bytes = strtoull(optarg, NULL, 0); break;
		case 'I': cfg.checkpoint_interval_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'v': kb_log_level++; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	cfg.verbose = kb_log_level;
	umask(077);
	if (!strcmp(db, KB_STORE_DEFAULT_PATH))
		mkdir("/var/lib/kbits", 0700);
	ret = kb_store_open(db, &a.store);
	if (ret < 0) {
		kb_err("cannot open the store %s: %s", db, strerror(-ret));
		return 1;
	}
	a.new_boot = kb_store_boot_new(a.store);
	ret = kb_store_load(a.store, load_one, &a);
	if (ret < 0) {
		kb_err("cannot read the store: %s", strerror(-ret));
		return 1;
	}
	/* after the partial files were truncated to their checkpoints */
	if (a.new_boot && kb_store_boot_record(a.store) == 0)
		kb_info("a new boot: partial files resume from their checkpoints");
	kb_info("%d jobs in the store", ret);
	kb_store_batch(a.store, true);
	a.loop = kb_loop_new(512);
	if (!a.loop) {
		kb_err("io_uring: %m");
		return 1;
	}
	a.engine = kb_engine_new(a.loop, &cfg, &agent_ops, &a);
	if (!a.engine) {
		kb_err("cannot start the engine");
		return 1;
	}
	a.ncmd = kb_ncmd_new(a.loop, KB_NCMD_TIMEOUT_S);
	ret = kb_channel_open(dev, &a.ch);
	if (ret < 0) {
		kb_err("%s: %s", dev, strerror(-ret));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a.sig_op.cb = on_signal;
	if (a.sigfd >= 0)
		kb_loop_poll(a.loop, &a.sig_op, a.sigfd, POLLIN);
	ret = kb_channel_attach(a.ch, a.loop, on_work, &a);
	if (ret < 0) {
		kb_err("cannot attach to %s: %s", dev, strerror(-ret));
		return 1;
	}
	kb_info("attached");
	/*
	 * Restore needs the agent's file, so it comes after the attach; the
	 * RUN items of restored jobs are read once the loop runs.
	 */
	if (kb_store_get_instance(a.store, seen) < 0 ||
	    memcmp(seen, kb_channel_instance(a.ch), 16)) {
		/* A new module instance: the store is the truth. */
		kb_info("new module instance: restored %d jobs", restore_all(&a));
		kb_store_set_instance(a.store, kb_channel_instance(a.ch));
	} else {
		sync_with_module(&a);
	}
	kb_sd_notify("READY=1\nSTATUS=attached, jobs restored");	/* systemd Type=notify */
	kb_loop_set_flush(a.loop, agent_flush, &a);
	ret = kb_loop_run(a.loop, &a.stop, 0);
	kb_engine_free(a.engine);
	agent_sync(&a);
	kb_loop_set_flush(a.loop, NULL, NULL);
	kb_ncmd_free(a.ncmd);
	kb_channel_close(a.ch);
	kb_store_close(a.store);
	while (a.known)
		known_drop(&a, a.known->job->id);
	kb_jobindex_free(&a.known_ix);
	kb_loop_free(a.loop);
	free(a.done_q);
	free(a.ack_q);
	return ret < 0 ? 1 : 0;
}
