/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kbits+http / kbits+https acquire method: state shared by the main
 * loop (method.c) and the job handling (job.c).
 */
#ifndef APT_METHOD_H
#define APT_METHOD_H

#include <stdint.h>

#include <kbits.h>

#include "conf.h"
#include "proto.h"

/* One 600 URI Acquire: a file apt wants, and the kbits job that fetches it. */
struct item {
	struct item *next;
	char *uri;		/* as apt sent it: replies name it so */
	char *url;		/* the http(s) URL kbits fetches */
	char *filename;		/* where apt wants the file */
	char *ims;		/* apt's Last-Modified, sent as If-Modified-Since */
	char *proxy;		/* the message's Proxy field */
	uint64_t max_size;	/* 0: no limit */
	int has_job;
	struct kbits_guid id;
	int started;		/* 200 URI Start sent */
	uint64_t resume_point;	/* bytes the job had when this run found it */
	uint64_t last_bytes;
	uint32_t last_state;
	uint32_t last_errors;	/* error_count at the last 102 Status */
	double last_change;	/* monotonic s of the last progress */
	int64_t created;	/* the job's creation, s since the epoch */
};

struct method {
	struct kbits *k;
	struct apt_conf conf;
	struct item *waiting;	/* not yet a job: more than conf.max_jobs */
	struct item *active;
	uint32_t nr_active;
	struct apt_out out;
	int out_fd;
	int out_broken;		/* apt is gone: nothing more to say */
};

/* Replies (method.c). */
void send_status(struct method *m, const struct item *it, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void send_start(struct method *m, struct item *it, uint64_t size);
/* sets Last-Modified and the hashes of the file at it->filename */
void send_done(struct method *m, struct item *it, int ims_hit);
void send_failure(struct method *m, const struct item *it, const char *reason, int transient,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
double now_mono(void);

/* Jobs (job.c). */
enum job_poll { JOB_BUSY, JOB_FINISHED };

/*
 * job_start - find the caller's suspended job for the same URL and file,
 * or create one; configure and resume it. 0; -EDQUOT/-EUSERS at kbits's
 * limits (try again when a job of ours ended); other -errno with a sentence.
 */
int job_start(struct method *m, struct item *it, char *err, size_t errlen);
/* job_poll - look at the job: replies to apt once it ended (JOB_FINISHED). */
enum job_poll job_poll(struct method *m, struct item *it);
/* job_leave - apt is going away: suspend the job so a later run resumes it. */
void job_leave(struct method *m, struct item *it);

#endif
