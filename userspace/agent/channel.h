/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent channel: kbitsd's own open file of /dev/kbits. Attach, read
 * work items (struct kbits_work) when the loop says the file is readable,
 * learn jobs with the client getters, report with the agent ioctls.
 * This is the only file that issues ioctls.
 */
#ifndef KBITSD_CHANNEL_H
#define KBITSD_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kbits.h>

#include "error.h"
#include "job.h"
#include "loop.h"

struct kb_channel;
typedef void (*kb_work_cb)(void *arg, const struct kbits_work *w);

int kb_channel_open(const char *dev, struct kb_channel **out);
void kb_channel_close(struct kb_channel *ch);
const uint8_t *kb_channel_instance(const struct kb_channel *ch);
/* Attaches and starts polling the file on the loop. */
int kb_channel_attach(struct kb_channel *ch, struct kb_loop *loop, kb_work_cb cb, void *arg);

int kb_channel_fetch_job(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out);
/* The same, and the job's change_seq (KBITS_IOC_AGENT_STORED) as it was read. */
int kb_channel_fetch_job_seq(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out,
			     uint64_t *change_seq);
/* After a store commit: the jobs stored up to their change_seq, in batches. */
int kb_channel_stored(struct kb_channel *ch, const struct kbits_stored_job *jobs, size_t n);
int kb_channel_report_state(struct kb_channel *ch, const struct kb_job *job, uint32_t state);
int kb_channel_report_progress(struct kb_channel *ch, const struct kb_job *job, uint32_t idx,
			       uint64_t bytes);
/* sha256: the finished file's digest (KBITS_REPORT_DIGEST), NULL: none
 * (uploads); verified: it matched the client's expectation. */
int kb_channel_report_file_done(struct kb_channel *ch, const uint8_t id[16], uint32_t idx,
				uint64_t total, uint64_t done, const uint8_t *sha256, bool verified);
/* UPLOAD_REPLY: KBITS_REPORT_REPLY (bytes of the reply saved). */
int kb_channel_report_reply(struct kb_channel *ch, const struct kb_job *job, uint64_t total,
			    uint64_t done);
int kb_channel_report_temp_name(struct kb_channel *ch, const struct kb_job *job, uint32_t idx);
/* The file's URL, replaced by the final one (redirect policy ALLOW_REPORT). */
int kb_channel_report_url(struct kb_channel *ch, const struct kb_job *job, uint32_t idx);
/* The file's response headers, KBITS_IOC_JOB_SET_FILE_STRING on the agent's file. */
int kb_channel_set_headers(struct kb_channel *ch, const struct kb_job *job, uint32_t idx);
int kb_channel_report_error(struct kb_channel *ch, const struct kb_job *job,
			    const struct kb_error *err);
int kb_channel_outcome(struct kb_channel *ch, const uint8_t id[16], uint32_t work,
		       uint32_t result, uint32_t files_done, int error);
int kb_channel_enum(struct kb_channel *ch, struct kbits_job_enum *en);
int kb_channel_restore(struct kb_channel *ch, const struct kb_job *job);

#endif
