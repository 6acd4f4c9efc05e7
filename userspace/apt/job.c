// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One kbits job per file apt asks for. A job left suspended by an earlier,
 * interrupted run (same owner, URL and destination) is taken up again, so
 * a download resumes instead of starting over. At most conf.max_jobs are
 * in flight per method process (8 by default): apt runs one process per
 * host, so an upgrade of any size stays far below kbits's 60 jobs a user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "method.h"

static int job_is_ours(struct method *m, const struct kbits_guid *id)
{
	struct item *it;

	for (it = m->active; it; it = it->next)
		if (it->has_job && kbits_guid_equal(&it->id, id))
			return 1;
	return 0;
}

/* A live one-file download job of the caller for it->url into it->filename. */
static int find_job(struct method *m, struct item *it, struct kbits_job_info *info)
{
	struct kbits_file_props fp;
	struct kbits_guid *ids;
	size_t n, i;
	int ret, found = 0;

	ret = kbits_job_list(m->k, 0, &ids, &n);
	if (ret)
		return ret;
	for (i = 0; i < n && !found; i++) {
		if (job_is_ours(m, &ids[i]) || kbits_job_get_info(m->k, &ids[i], info) ||
		    info->type != KBITS_JOB_DOWNLOAD || info->files_total != 1 ||
		    kbits_state_is_final(info->state))
			continue;
		memset(&fp, 0, sizeof(fp));
		if (kbits_job_get_file(m->k, &ids[i], 0, &fp))
			continue;
		if (!strcmp(fp.url, it->url) && !strcmp(fp.path, it->filename)) {
			it->id = ids[i];
			found = 1;
		}
		kbits_file_props_free(&fp);
	}
	free(ids);
	return found;
}

/* Everything this run's configuration says, on a new or a found job. */
static int configure(struct method *m, struct item *it, char *err, size_t errlen)
{
	const char *list;
	uint32_t usage = apt_conf_proxy(&m->conf, it->url, it->proxy, &list);
	char hdr[160] = "";
	int ret;

	if (it->ims)
		snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s\r\n", it->ims);
	if ((ret = kbits_job_set_priority(m->k, &it->id, m->conf.priority)) ||
	    (ret = kbits_job_set_no_progress_timeout(m->k, &it->id, m->conf.timeout)) ||
	    (ret = kbits_job_set_max_download_size(m->k, &it->id, it->max_size)) ||
	    (ret = kbits_job_set_http_headers(m->k, &it->id, hdr)) ||
	    (ret = kbits_job_set_proxy(m->k, &it->id, usage, list, NULL)) ||
	    (ret = kbits_job_set_security_flags(m->k, &it->id, m->conf.no_redirect ?
						KBITS_SECURITY_REDIRECT_DISALLOW : 0))) {
		snprintf(err, errlen, "cannot set the job's properties: %s", kbits_strerror(ret));
		return ret;
	}
	return 0;
}

static int create_job(struct method *m, struct item *it, char *err, size_t errlen)
{
	const char *base = strrchr(it->filename, '/');
	char name[KBITS_DISPLAY_NAME_MAX + 1];
	int ret;

	snprintf(name, sizeof(name), "apt: %s", base ? base + 1 : it->filename);
	ret = kbits_job_create(m->k, KBITS_JOB_DOWNLOAD, name, &it->id);
	if (ret) {
		snprintf(err, errlen, "cannot create a kbits job: %s", kbits_strerror(ret));
		return ret;
	}
	ret = kbits_job_set_description(m->k, &it->id, it->uri);
	if (ret)
		snprintf(err, errlen, "cannot describe the job: %s", kbits_strerror(ret));
	else
		ret = configure(m, it, err, errlen);
	if (ret)
		goto out_cancel;
	ret = kbits_job_add_file(m->k, &it->id, it->url, it->filename);
	if (ret) {
		snprintf(err, errlen, "kbits refused %s -> %s: %s", it->url, it->filename,
			 kbits_strerror(ret));
		goto out_cancel;
	}
	return 0;

out_cancel:
	kbits_job_cancel(m->k, &it->id);
	return ret;
}

int job_start(struct method *m, struct item *it, char *err, size_t errlen)
{
	struct kbits_job_info info;
	int ret, found;

	found = ret = find_job(m, it, &info);
	if (ret < 0) {
		snprintf(err, errlen, "cannot list the kbits jobs: %s", kbits_strerror(ret));
		return ret;
	}
	if (found) {
		it->resume_point = info.bytes_transferred;
		ret = configure(m, it, err, errlen);
		if (ret)
			return ret;
		if (m->conf.debug)
			fprintf(stderr, "kbits: %s: taking up job in state %s at %llu bytes\n",
				it->url, kbits_state_name(info.state),
				(unsigned long long)info.bytes_transferred);
	} else {
		ret = create_job(m, it, err, errlen);
		if (ret)
			return ret;
		info.state = KBITS_STATE_SUSPENDED;
	}
	if (info.state != KBITS_STATE_TRANSFERRED) {
		ret = kbits_job_resume(m->k, &it->id);
		if (ret && ret != -EBUSY) {
			snprintf(err, errlen, "cannot resume the kbits job: %s", kbits_strerror(ret));
			/* a job of ours from an earlier run stays for the next one */
			if (!found)
				kbits_job_cancel(m->k, &it->id);
			return ret;
		}
	}
	/*
	 * Until kbitsd has stored the job it lives in the kernel only: an
	 * interrupted apt run could not take it up after a reboot. Wait for
	 * that before apt is told the download started.
	 */
	ret = kbits_job_wait_durable(m->k, &it->id, m->conf.timeout * 1000u);
	if (ret) {
		snprintf(err, errlen, "the kbits job is not durable: %s%s", kbits_strerror(ret),
			 ret == -ENOTCONN ? " (is kbitsd running?)" : "");
		return ret;
	}
	it->has_job = 1;
	it->last_state = ~0u;
	it->last_change = now_mono();
	return 0;
}

/* The job transferred: Complete renames the file to apt's Filename. */
static void finish_transferred(struct method *m, struct item *it, const struct kbits_job_info *info)
{
	struct kbits_outcome out = { 0 };
	struct timespec ts[2];
	int ret;

	ret = kbits_job_complete(m->k, &it->id, &out);
	if (ret != KBITS_COMPLETE_ALL) {
		send_failure(m, it, NULL, ret == -ENOTCONN || ret == -EBUSY,
			     "kbits could not move the file to %s: %s", it->filename,
			     ret < 0 ? kbits_strerror(ret) :
			     out.error ? kbits_strerror(out.error) : "the job is incomplete");
		if (ret >= 0)
			kbits_job_cancel(m->k, &it->id);
		return;
	}
	/*
	 * kbits does not tell its clients the server's Last-Modified. The job's
	 * creation precedes the request, so this time is never later than the
	 * state of the file we got: a server that answers an If-Modified-Since
	 * of it with 304 has not changed the file since.
	 */
	it->created = (int64_t)(info->creation_time / 1000000000ull);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)it->created;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, it->filename, ts, 0) < 0 && m->conf.debug)
		fprintf(stderr, "kbits: cannot set the time of %s: %m\n", it->filename);
	if (!it->started)
		send_start(m, it, info->bytes_total);
	send_done(m, it, 0);
}

static void finish_error(struct method *m, struct item *it)
{
	struct kbits_job_error e = { 0 };
	char reason[32] = "";
	int transient = 0, ret;

	ret = kbits_job_get_error(m->k, &it->id, &e);
	if (ret) {
		send_failure(m, it, NULL, 1, "the kbits job failed (%s)", kbits_strerror(ret));
		goto out_cancel;
	}
	if (it->ims && e.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && e.code == 304) {
		/* the copy apt has is current: nothing was written */
		kbits_job_cancel(m->k, &it->id);
		send_done(m, it, 1);
		kbits_job_error_free(&e);
		return;
	}
	if (e.context == KBITS_ERROR_CONTEXT_REMOTE_FILE && e.code >= 100 && e.code < 1000) {
		snprintf(reason, sizeof(reason), "HttpError%d", e.code);
		transient = e.code >= 500 || e.code == 408 || e.code == 429;
	} else if (e.code == -EFBIG) {
		snprintf(reason, sizeof(reason), "MaximumSizeExceeded");
	} else if (e.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT) {
		transient = 1;
	}
	send_failure(m, it, reason[0] ? reason : NULL, transient, "%s",
		     e.description && *e.description ? e.description : kbits_strerror(e.code));
	kbits_job_error_free(&e);
out_cancel:
	/* Cancel: kbitsd deletes the temporary file */
	kbits_job_cancel(m->k, &it->id);
}

/*
 * A QUEUED job of a running kbitsd waits for a transfer slot (a LOW job
 * behind higher ones, more jobs than slots): the wait is the priority the
 * user asked for, not a stall. Only without an agent (-ENOTCONN) does a
 * queued job make no progress at all.
 */
static int queued_behind_others(struct method *m, struct item *it,
				const struct kbits_job_info *info)
{
	int ret;

	if (info->state != KBITS_STATE_QUEUED)
		return 0;
	ret = kbits_job_wait_durable(m->k, &it->id, 0);
	return ret != -ENOTCONN && ret != -ENOTTY;
}

enum job_poll job_poll(struct method *m, struct item *it)
{
	struct kbits_job_info info;
	double now = now_mono();
	int ret;

	ret = kbits_job_get_info(m->k, &it->id, &info);
	if (ret) {
		send_failure(m, it, NULL, 1, "the kbits job is gone (%s): was it cancelled?",
			     kbits_strerror(ret));
		return JOB_FINISHED;
	}
	if (info.state != it->last_state || info.bytes_transferred != it->last_bytes ||
	    queued_behind_others(m, it, &info)) {
		it->last_change = now;
		it->last_bytes = info.bytes_transferred;
	}
	switch (info.state) {
	case KBITS_STATE_TRANSFERRED:
		finish_transferred(m, it, &info);
		return JOB_FINISHED;
	case KBITS_STATE_ERROR:
		finish_error(m, it);
		return JOB_FINISHED;
	case KBITS_STATE_ACKNOWLEDGED:
	case KBITS_STATE_CANCELLED:
		send_failure(m, it, NULL, 0, "the kbits job was %s by someone else",
			     kbits_state_name(info.state));
		return JOB_FINISHED;
	case KBITS_STATE_TRANSIENT_ERROR:
		if (info.error_count != it->last_errors) {
			struct kbits_job_error e = { 0 };

			it->last_errors = info.error_count;
			if (!kbits_job_get_error(m->k, &it->id, &e))
				send_status(m, it, "kbits retries after: %s", e.description);
			kbits_job_error_free(&e);
		}
		break;
	case KBITS_STATE_TRANSFERRING:
		if (!it->started && info.bytes_total != KBITS_UNKNOWN)
			send_start(m, it, info.bytes_total);
		break;
	default:
		if (info.state != it->last_state)
			send_status(m, it, "kbits job %s", kbits_state_name(info.state));
		break;
	}
	it->last_state = info.state;
	/*
	 * The agent turns a transient error into a failure after conf.timeout
	 * without progress; this catches what it cannot see, such as no agent
	 * at all. The job is kept, suspended, for the next run.
	 */
	if (now - it->last_change > m->conf.timeout + 10) {
		kbits_job_suspend(m->k, &it->id);
		send_failure(m, it, NULL, 1, "no progress for %u s (job %s; is kbitsd running?)",
			     m->conf.timeout + 10, kbits_state_name(info.state));
		return JOB_FINISHED;
	}
	return JOB_BUSY;
}

void job_leave(struct method *m, struct item *it)
{
	uint32_t state;

	if (!it->has_job)
		return;
	/* a transferred job needs only Complete: the next run does it */
	if (!kbits_job_get_state(m->k, &it->id, &state) && state != KBITS_STATE_TRANSFERRED)
		kbits_job_suspend(m->k, &it->id);
}
