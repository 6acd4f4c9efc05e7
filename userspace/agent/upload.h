/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Upload and upload-reply jobs: the client side of Microsoft's BITS Upload
 * Protocol [MC-BUP] (BITS_POST with BITS-Packet-Type Ping, Create-Session,
 * Fragment, Close-Session, Cancel-Session), and plain HTTP PUT for jobs
 * with KBITS_JOB_F_HTTP_PUT. See Documentation/uploads.md.
 *
 * The engine owns one struct kb_uploads: upload jobs run on the engine's
 * loop and curl multi handle; kb_engine_run/stop/job hand upload jobs here.
 * One request per job is outstanding at a time, as the protocol requires.
 */
#ifndef KBITSD_UPLOAD_H
#define KBITSD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>

#include "engine.h"
#include "job.h"
#include "loop.h"

/* struct kb_upload_state.phase */
#define KB_UP_NONE	0	/* no session yet */
#define KB_UP_SENDING	1	/* a session is open: fragments */
#define KB_UP_REPLY	2	/* every byte acknowledged: fetching the reply */
#define KB_UP_CLOSING	3	/* reply saved (or none wanted): Close-Session */
#define KB_UP_DONE	4	/* closed: TRANSFERRED */

#define KB_BITS_PROTOCOL	"{7df0354d-249b-430f-820d-3d2a9bef4931}"
#define KB_BG_E_SESSION_NOT_FOUND	0x80200031u	/* BITS-Error-Code */

struct kb_uploads;

/* Tunables (the tests change them). */
extern uint64_t kb_upload_fragment_size;	/* bytes per Fragment (1 MiB) */
extern unsigned int kb_upload_cancel_tries;	/* Cancel-Session attempts (3) */

/* For engine.c: *ops is read at every call (the engine swaps it at free). */
struct kb_uploads *kb_uploads_new(struct kb_loop *loop, CURLM *multi,
				  const struct kb_engine_config *cfg,
				  const struct kb_engine_ops *const *ops, void *ctx);
/* Stops every upload at once (no stopped events) and frees. */
void kb_uploads_free(struct kb_uploads *u);
/* A finished easy handle: true when it was an upload's (and is handled). */
bool kb_uploads_msg(struct kb_uploads *u, CURL *easy, CURLcode rc);
int kb_uploads_run(struct kb_uploads *u, const struct kb_job *job);
int kb_uploads_stop(struct kb_uploads *u, const uint8_t id[16]);
const struct kb_job *kb_uploads_job(struct kb_uploads *u, const uint8_t id[16]);
unsigned int kb_uploads_count(struct kb_uploads *u);

/* Defined in engine.c. */
struct kb_uploads *kb_engine_uploads(struct kb_engine *e);

/*
 * Cancel: sends Cancel-Session for the job's open session in the
 * background (kb_upload_cancel_tries attempts, 1 s apart), on a copy.
 * 0 when sent or nothing to cancel, -errno otherwise (e may be NULL).
 */
int kb_upload_cancel_session(struct kb_engine *e, const struct kb_job *job);
/* Requests still on their way (Cancel-Session). */
unsigned int kb_upload_cancels_pending(struct kb_engine *e);

/* The reply file of an UPLOAD_REPLY job: KBITS_STR_REPLY_FILE, or
 * "<uploaded file>.reply". */
int kb_upload_reply_path(const struct kb_job *job, char *out, size_t len);

/* Complete and Cancel of upload jobs (kb_job_complete_files and
 * kb_job_cancel_files call these): no network. */
uint32_t kb_upload_complete_files(const struct kb_job *job, uint32_t *files_done, int *error);
int kb_upload_cancel_files(const struct kb_job *job);

#endif
