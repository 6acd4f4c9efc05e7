/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scheduler's policy: which jobs may run how many transfers, who
 * yields to whom, how fast each transfer may go, when a job has used up
 * its maximum download time, and how background transfers yield to other
 * traffic. The engine (engine.c's schedule()) owns the mechanics (starting
 * and aborting transfers, its job list) and asks these functions. An
 * upload job is one of its jobs with one transfer (upload.h's
 * kb_upload_grant): what follows holds for it too, except TCP-LP and the
 * receive side.
 *
 * - Order: the engine keeps its jobs sorted by priority (FOREGROUND,
 *   HIGH, NORMAL, LOW), then by queue position. Grants are handed out in
 *   that order: each runnable job may run min(files left, files_per_job)
 *   transfers while the global max_transfers lasts. A job that holds more
 *   than its grant (a higher priority arrived) gives the rest back at once.
 * - Slices: a job that has run for slice_ns while a runnable job of the
 *   same priority got no grant moves to the back of its priority; its
 *   transfers are aborted (bytes synced so far are kept: the next turn
 *   resumes with Range).
 * - Bandwidth: a token bucket per transfer (kb_bucket). Each job's cap
 *   (its own, else the configured per-job default) is split across its
 *   transfers; the global cap is shared max-min fairly ("water filling")
 *   among all transfers. Recomputed at every scheduling pass.
 * - Maximum download time: active time (any transfer of the job running)
 *   is accounted at every pass; past the job's maximum the job fails with
 *   ERROR (GENERAL_QUEUE_MANAGER, -ETIME). A timer wakes the scheduler at
 *   the next slice end or expiry.
 * - Background priorities (HIGH, NORMAL, LOW) set TCP_CONGESTION "lp" on
 *   their sockets when the kernel offers it (checked once), which makes
 *   what kbits sends yield. A download's bytes are sent by the server, so
 *   background downloads also yield on the receive side: every tick the
 *   smoothed RTT the kernel measures for received data (tcpi_rcv_rtt, from
 *   TCP timestamps) is compared with the lowest seen; above it by more than
 *   a target the advertised window is halved (TCP_WINDOW_CLAMP), well
 *   below it grows by a segment a tick, in between it holds. This is LEDBAT's receiver-side idea: the queue another flow
 *   builds at the bottleneck makes the background flow back off.
 */
#ifndef KBITSD_SCHED_H
#define KBITSD_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "job.h"
#include "loop.h"

#define KB_SCHED_PRIORITIES	4

struct kb_sched_cfg {
	unsigned int max_transfers;	/* over all jobs */
	unsigned int files_per_job;
	uint64_t max_bandwidth;		/* B/s over all transfers, 0: none */
	uint64_t job_bandwidth;		/* B/s per job by default, 0: none */
	uint64_t slice_ns;		/* equal priorities rotate after this */
	bool rlp;			/* receive-side yielding of background downloads */
};

/* Per job, kept in the engine's job. */
struct kb_sched_ent {
	uint64_t active_ns;		/* transfer time used */
	uint64_t acct_at;		/* last accounted, 0: not transferring */
	uint64_t slice_start;		/* current turn began, 0: not running */
	uint64_t bandwidth;		/* B/s for this job, 0: the default */
	unsigned int want, grant;	/* this pass */
	uint64_t xfer_rate;		/* B/s per transfer, 0: none (this pass) */
	unsigned int live;		/* transfers counted for the rate */
	bool settled;
	struct kb_sched_ent *rate_next;
};

/* Per transfer: the receive-side controller. */
struct kb_rlp {
	int fd;				/* the socket it watches, -1: none */
	uint32_t base_rtt_us;		/* lowest smoothed RTT seen */
	uint32_t clamp;			/* current window clamp, 0: none set */
	uint32_t mss;
};

/* Per transfer: a token bucket, checked in the write callback (libcurl's
 * own CURLOPT_MAX_RECV_SPEED_LARGE is checked between reads only, which on
 * a fast link lets a whole file through). */
struct kb_bucket {
	uint64_t rate;			/* B/s, 0: unlimited */
	double tokens;			/* bytes; negative: owed */
	uint64_t last;			/* ns of the last refill */
	struct kb_timer timer;		/* resumes a paused transfer */
};

/* 0: take len bytes now; else ns to wait before asking again. */
uint64_t kb_bucket_take(struct kb_bucket *b, size_t len, uint64_t now);
void kb_bucket_set(struct kb_bucket *b, uint64_t rate, uint64_t now);

/* One scheduling pass. */
struct kb_sched_pass {
	const struct kb_sched_cfg *cfg;
	uint64_t now;
	unsigned int left;		/* transfers still to grant */
	bool waiting[KB_SCHED_PRIORITIES];	/* a runnable job got nothing */
	uint64_t next;			/* the next deadline, 0: none */
	struct kb_sched_ent *rate_list;
	unsigned int rate_n;
};

/* Engine-wide state. */
struct kb_sched {
	struct kb_sched_cfg cfg;
	struct kb_timer timer;		/* the next slice end or expiry */
	struct kb_timer tick;		/* receive-side yielding */
	uint64_t lp_sockets;		/* sockets given "lp" */
	uint64_t rlp_cuts;		/* window halvings */
};

/* TCP-LP: true when the kernel offers it (probed once: the list in
 * /proc/sys/net/ipv4/tcp_available_congestion_control, else a test socket,
 * which as root loads tcp_lp). */
bool kb_sched_lp_available(void);
/* On a new socket of a transfer of this priority. Never fails. */
void kb_sched_sockopt(struct kb_sched *s, int fd, uint32_t priority);

/* Accounting, at the start of a pass, for every job. */
void kb_sched_account(struct kb_sched_ent *ent, unsigned int nactive, uint64_t now);
/* True (and err filled) when the job has used its maximum download time
 * (max_s seconds, 0: none). */
bool kb_sched_expired(const struct kb_sched_ent *ent, uint64_t max_s, struct kb_error *err);
/* The clock restarts (Resume after ERROR). */
void kb_sched_reset(struct kb_sched_ent *ent);

void kb_sched_pass_begin(struct kb_sched *s, struct kb_sched_pass *p, uint64_t now);
/* In the engine's order, for every job: how many transfers it may run. */
void kb_sched_grant(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority,
		    bool runnable, unsigned int files_left);
/* After the grants: must this running job yield its turn (move to the
 * back of its priority)? Resets its slice. */
bool kb_sched_should_rotate(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority);
/* After starting and aborting: records the running state, deadlines and
 * the job's share of the bandwidth (live transfers). */
void kb_sched_note(struct kb_sched_pass *p, struct kb_sched_ent *ent, uint32_t priority,
		   unsigned int live, uint64_t max_s);
/* Solves the rates: every ent noted gets xfer_rate. */
void kb_sched_rates(struct kb_sched_pass *p);
/* Arms s->timer for the next deadline of the pass (or cancels it). */
void kb_sched_pass_end(struct kb_sched *s, struct kb_sched_pass *p, struct kb_loop *loop);

/* Receive-side yielding: call every KB_RLP_TICK_NS for each live
 * background transfer with its current socket. */
#define KB_RLP_TICK_NS		20000000ull
void kb_rlp_tick(struct kb_sched *s, struct kb_rlp *r, int fd);
void kb_rlp_init(struct kb_rlp *r);

#endif
