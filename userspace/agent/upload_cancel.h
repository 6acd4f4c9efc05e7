/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cancel-Session of BITS upload sessions, in the background: a request
 * on a copy of the job (its credentials, headers and proxy apply), up to
 * kb_upload_cancel_tries attempts, 1 s apart. It needs the transport
 * only (the loop and curlio.c), not the engine or the upload's state.
 */
#ifndef KBITSD_UPLOAD_CANCEL_H
#define KBITSD_UPLOAD_CANCEL_H

#include "curlio.h"
#include "job.h"
#include "loop.h"
#include "transfer.h"

struct kb_cancels;

extern unsigned int kb_upload_cancel_tries;	/* attempts (3; the tests change it) */

struct kb_cancels *kb_cancels_new(struct kb_loop *loop, struct kb_curlio *io,
				  const struct kb_engine_config *cfg);
/* Drops the requests still on their way. */
void kb_cancels_free(struct kb_cancels *cs);
/* Cancel-Session for the job's open session, if it has one (not a PUT,
 * not closed): 0 when sent or nothing to cancel, -errno otherwise. The
 * request holds a reference to job (its credentials, headers, proxy). */
int kb_cancel_session(struct kb_cancels *cs, struct kb_job *job);
unsigned int kb_cancels_pending(const struct kb_cancels *cs);

#endif
