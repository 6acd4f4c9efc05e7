/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upload and upload-reply jobs: the client side of Microsoft's BITS Upload
 * Protocol [MC-BUP] (BITS_POST with BITS-Packet-Type Ping, Create-Session,
 * Fragment, Close-Session; Cancel-Session is upload_cancel.c's), and plain
 * HTTP PUT for jobs with KBITS_JOB_F_HTTP_PUT: the session state machine
 * of upload_session.c. See Documentation/uploads.md.
 *
 * The engine owns one struct kb_uploads: upload jobs run on the engine's
 * loop and curl transport (curlio.c); the engine hands upload jobs here
 * and hears back through struct kb_engine_ops (transfer.h) only.
 * One request per job is outstanding at a time, as the protocol requires.
 */
#ifndef KBITSD_UPLOAD_H
#define KBITSD_UPLOAD_H

#include <stdint.h>

#include "curlio.h"
#include "job.h"
#include "loop.h"
#include "transfer.h"

struct kb_uploads;

/* Tunable (the tests change it). */
extern uint64_t kb_upload_fragment_size;	/* bytes per Fragment (1 MiB) */

/* *ops is read at every call (the engine swaps it at free). */
struct kb_uploads *kb_uploads_new(struct kb_loop *loop, struct kb_curlio *io,
				  const struct kb_engine_config *cfg,
				  const struct kb_engine_ops *const *ops, void *ctx);
/* Stops every upload at once (no stopped events) and frees. */
void kb_uploads_free(struct kb_uploads *u);
/* Takes a reference (job.h); a change drops the old description at once. */
int kb_uploads_run(struct kb_uploads *u, struct kb_job *job);
int kb_uploads_stop(struct kb_uploads *u, const uint8_t id[16]);
const struct kb_job *kb_uploads_job(struct kb_uploads *u, const uint8_t id[16]);
unsigned int kb_uploads_count(struct kb_uploads *u);
/* Cancel-Session of the job's open session (upload_cancel.h). */
int kb_uploads_cancel_session(struct kb_uploads *u, struct kb_job *job);
unsigned int kb_uploads_cancels_pending(struct kb_uploads *u);

#endif
