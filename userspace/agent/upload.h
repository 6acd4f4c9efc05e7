/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upload and upload-reply jobs: the client side of Microsoft's BITS Upload
 * Protocol [MC-BUP] (BITS_POST with BITS-Packet-Type Ping, Create-Session,
 * Fragment, Close-Session; Cancel-Session is upload_cancel.c's), and plain
 * HTTP PUT for jobs with KBITS_JOB_F_HTTP_PUT: the session state machine
 * of upload_session.c. See Documentation/uploads.md.
 *
 * The engine owns one struct kb_uploads: upload jobs run on the engine's
 * loop and curl transport (curlio.c), under its scheduler (a slot each,
 * their rate, their time); the engine hands upload jobs here and hears
 * back through struct kb_engine_ops (transfer.h) and the scheduler's hook.
 * One request per job is outstanding at a time, as the protocol requires.
 */
#ifndef KBITSD_UPLOAD_H
#define KBITSD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "curlio.h"
#include "job.h"
#include "loop.h"
#include "transfer.h"

struct kb_uploads;
struct ujob;		/* one upload job */

/* Tunable (the tests change it). */
extern uint64_t kb_upload_fragment_size;	/* bytes per Fragment (1 MiB) */

/*
 * The engine's scheduler hears of every state an upload job takes, after
 * the job gave back its slot (kb_upload_live() false out of CONNECTING and
 * TRANSFERRING) and before ops->state reports it: it accounts the job's
 * active time there, so that the state's report carries it.
 */
typedef void kb_uploads_sched_fn(void *arg, const struct kb_job *job);

/* *ops is read at every call (the engine swaps it at free). */
struct kb_uploads *kb_uploads_new(struct kb_loop *loop, struct kb_curlio *io,
				  const struct kb_engine_config *cfg,
				  const struct kb_engine_ops *const *ops, void *ctx,
				  kb_uploads_sched_fn *sched, void *sched_arg);
/* Stops every upload at once (no stopped events) and frees. */
void kb_uploads_free(struct kb_uploads *u);
/*
 * Takes a reference (job.h); a change drops the old description at once.
 * The job waits in QUEUED, its request dropped and its session kept, for
 * a slot (kb_upload_grant); *out is its handle until kb_uploads_stop().
 */
int kb_uploads_run(struct kb_uploads *u, struct kb_job *job, struct ujob **out);
int kb_uploads_stop(struct kb_uploads *u, const uint8_t id[16]);

/*
 * The engine's scheduling pass (engine.c, sched.h): an upload job takes
 * one transfer slot, as a download job of one file does. grant true: a
 * job waiting in QUEUED starts (or resumes: a one-byte probe asks the
 * server what it holds). grant false: a job holding a slot drops its
 * request and waits in QUEUED, the server keeping its session, unless it
 * is past its last fragment (Close-Session, the reply), which it finishes
 * first. Returns kb_upload_live() after.
 */
bool kb_upload_grant(struct ujob *uj, bool grant);
/* It holds a slot: it is on the network, or between two of its requests. */
bool kb_upload_live(const struct ujob *uj);
/* B/s of its fragments or PUT body, 0: none (the pass's water filling). */
void kb_upload_set_rate(struct ujob *uj, uint64_t rate);
/* The engine fails the job (its maximum download time): as an error of its own. */
void kb_upload_fail(struct ujob *uj, const struct kb_error *err);

/* Cancel-Session of the job's open session (upload_cancel.h). */
int kb_uploads_cancel_session(struct kb_uploads *u, struct kb_job *job);
unsigned int kb_uploads_cancels_pending(struct kb_uploads *u);

#endif
