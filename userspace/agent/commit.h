/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Complete and Cancel of a job's files, for every job type, as its owner,
 * without the network: downloads rename every completed file into place
 * and remove unfinished temporaries; uploads have only the reply file of
 * an UPLOAD_REPLY job to put into place.
 */
#ifndef KBITSD_COMMIT_H
#define KBITSD_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "job.h"

/* Complete: renames every completed file; unfinished temporaries are
 * removed. Returns KBITS_COMPLETE_*, files_done and the first -errno. */
uint32_t kb_job_complete_files(const struct kb_job *job, uint32_t *files_done, int *error);
/* Cancel: removes every temporary. Returns the first -errno or 0. */
int kb_job_cancel_files(const struct kb_job *job);

/* The reply file of an UPLOAD_REPLY job: KBITS_STR_REPLY_FILE, or
 * "<uploaded file>.reply". */
int kb_upload_reply_path(const struct kb_job *job, char *out, size_t len);

#endif
