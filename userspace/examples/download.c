// SPDX-License-Identifier: MIT
/*
 * download: fetch one file with kbits, the way an application would.
 *
 *   download URL PATH
 *
 * Creates a download job, adds the file, subscribes to the netlink events
 * (before Resume, so none is missed), resumes the job and waits: each event
 * of our job says its state and progress. TRANSFERRED: Complete moves the
 * file into place. ERROR: the error is printed and the job cancelled.
 * Transient errors are waited through (kbitsd retries). Events of other
 * jobs are ignored; lost events (a resync) are made up for by asking the
 * job's state. Needs kbits.ko and kbitsd.
 *
 * Build against the installed library:
 *   cc -o download download.c $(pkg-config --cflags --libs libkbits)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kbits.h>

#define TIMEOUT_S 300	/* give up (and cancel) after this long */

static int fail(const char *what, int err)
{
	fprintf(stderr, "download: %s: %s\n", what, kbits_strerror(err));
	return 1;
}

/* The job's state and progress, asked directly (after lost events). */
static int query_state(struct kbits *k, const struct kbits_guid *id, uint32_t *state)
{
	return kbits_job_get_state(k, id, state);
}

static int finish(struct kbits *k, const struct kbits_guid *id)
{
	struct kbits_outcome o;
	int ret = kbits_job_complete(k, id, &o);

	if (ret < 0)
		return fail("complete", ret);
	if (o.result != KBITS_COMPLETE_ALL) {
		fprintf(stderr, "download: complete: %u files in place: %s\n", o.files_done,
			kbits_strerror(o.error));
		return 1;
	}
	printf("complete: the file is in place\n");
	return 0;
}

static int report_error(struct kbits *k, const struct kbits_guid *id)
{
	struct kbits_job_error e;

	if (kbits_job_get_error(k, id, &e) == 0) {
		fprintf(stderr, "download: failed: %s, code %d: %s\n",
			kbits_error_context_name(e.context), e.code, e.description);
		kbits_job_error_free(&e);
	}
	kbits_job_cancel(k, id);
	return 1;
}

int main(int argc, char **argv)
{
	char g[KBITS_GUID_STRLEN + 1];
	struct kbits_events *evs = NULL;
	struct kbits *k = NULL;
	struct kbits_guid id;
	uint32_t last_state = ~0u;
	time_t deadline;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: download URL PATH (PATH absolute)\n");
		return 2;
	}
	ret = kbits_open(&k);
	if (ret)
		return fail("/dev/kbits", ret);
	ret = kbits_events_open(&evs);
	if (ret) {
		kbits_close(k);
		return fail("netlink events", ret);
	}
	ret = kbits_job_create(k, KBITS_JOB_DOWNLOAD, "example download", &id);
	if (ret) {
		ret = fail("create", ret);
		goto out;
	}
	printf("job %s\n", kbits_guid_format(&id, g));
	ret = kbits_job_add_file(k, &id, argv[1], argv[2]);
	if (!ret)
		ret = kbits_job_resume(k, &id);
	if (ret) {
		fail("add file and resume", ret);
		kbits_job_cancel(k, &id);
		ret = 1;
		goto out;
	}

	deadline = time(NULL) + TIMEOUT_S;
	for (;;) {
		struct pollfd pfd = { .fd = kbits_events_fd(evs), .events = POLLIN };
		struct kbits_event_msg ev;
		uint32_t state = last_state;
		int n;

		if (time(NULL) > deadline) {
			fprintf(stderr, "download: no result after %d s: cancelled\n", TIMEOUT_S);
			kbits_job_cancel(k, &id);
			ret = 1;
			goto out;
		}
		n = poll(&pfd, 1, 1000);
		if (n < 0 && errno != EINTR) {
			ret = fail("poll", -errno);
			goto out;
		}
		while ((n = kbits_events_read(evs, &ev)) > 0) {
			if (ev.event == KBITS_EVENT_LIB_RESYNC) {
				if (query_state(k, &id, &state) == 0)
					continue;
				break;
			}
			if (!kbits_guid_equal(&ev.job.id, &id))
				continue;
			state = ev.job.state;
			if (ev.event == KBITS_EVENT_PROGRESS || state != last_state) {
				char total[24] = "?";	/* unknown until every size is */

				if (ev.job.bytes_total != KBITS_UNKNOWN)
					snprintf(total, sizeof(total), "%llu",
						 (unsigned long long)ev.job.bytes_total);
				printf("%-12s %-14s %llu/%s bytes\n", kbits_event_name(ev.event),
				       kbits_state_name(state),
				       (unsigned long long)ev.job.bytes_transferred, total);
				fflush(stdout);
			}
			last_state = state;
			if (state == KBITS_STATE_TRANSFERRED || state == KBITS_STATE_ERROR)
				break;
		}
		if (n < 0) {
			ret = fail("reading events", n);
			goto out;
		}
		if (state == KBITS_STATE_TRANSFERRED) {
			ret = finish(k, &id);
			goto out;
		}
		if (state == KBITS_STATE_ERROR) {
			ret = report_error(k, &id);
			goto out;
		}
	}
out:
	kbits_events_close(evs);
	kbits_close(k);
	return ret;
}
