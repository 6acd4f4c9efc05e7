/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The transfer engine: libcurl's multi interface driven by the io_uring
 * loop (sockets polled with IORING_OP_POLL_ADD, curl's timer on a loop
 * timer, body bytes written at their offsets with IORING_OP_WRITE).
 *
 * The engine knows nothing of /dev/kbits or SQLite. It is given jobs
 * (struct kb_job, shared: it takes a reference, see job.h) and tells what happens through struct
 * kb_engine_ops; kbitsd wires those to the agent channel and the store,
 * the tests to assertions.
 */
#ifndef KBITSD_ENGINE_H
#define KBITSD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "job.h"
#include "loop.h"
#include "transfer.h"

struct kb_engine;

void kb_engine_config_default(struct kb_engine_config *c);
struct kb_engine *kb_engine_new(struct kb_loop *loop, const struct kb_engine_config *c,
				const struct kb_engine_ops *ops, void *ctx);
/* Stops every job and waits (bounded) for its I/O; then frees. */
void kb_engine_free(struct kb_engine *e);

/*
 * Start (or restart after a change) a job: the engine takes a reference
 * (job.h). A change is a new description of the job: the engine swaps it
 * in once the old one's transfers drained, carrying what they did over
 * (kb_job_carry). The caller's reference stays the caller's.
 */
int kb_engine_run(struct kb_engine *e, struct kb_job *job);
/* Stop transferring; progress so far is kept (and saved); ops->stopped
 * follows once no I/O is left. Returns -ENOENT for an unknown job. */
int kb_engine_stop(struct kb_engine *e, const uint8_t id[16]);
/* The job as the engine runs it (borrowed), or NULL. */
const struct kb_job *kb_engine_job(struct kb_engine *e, const uint8_t id[16]);
/* Transfers on the network; files finishing their last writes and fsync
 * after the body are not counted (they hold no connection). */
unsigned int kb_engine_active(struct kb_engine *e);
unsigned int kb_engine_jobs(struct kb_engine *e);	/* jobs known */

void kb_engine_get_stats(struct kb_engine *e, struct kb_engine_stats *st);
/* The job's own bandwidth limit (B/s, 0: the configured per-job default).
 * The ABI has no such property yet: kbitsd sets the default only. */
int kb_engine_set_job_bandwidth(struct kb_engine *e, const uint8_t id[16], uint64_t bps);

/*
 * Cancel of an upload job: Cancel-Session for its open session in the
 * background (kb_upload_cancel_tries attempts, 1 s apart), holding a
 * reference to the job until done.
 * 0 when sent or nothing to cancel, -errno otherwise (e may be NULL).
 */
int kb_engine_cancel_session(struct kb_engine *e, struct kb_job *job);
/* Cancel-Session requests still on their way. */
unsigned int kb_engine_cancels_pending(struct kb_engine *e);

#endif
