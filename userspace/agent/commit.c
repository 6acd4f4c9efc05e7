// SPDX-License-Identifier: GPL-2.0
/*
 * Complete and Cancel of a job's files, for every job type: see commit.h.
 * No network: Cancel-Session of an upload is the engine's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commit.h"
#include "owner.h"
#include "tempfile.h"

int kb_upload_reply_path(const struct kb_job *job, char *out, size_t len)
{
	const char *r = job->strings[KBITS_STR_REPLY_FILE];
	int n;

	if (r && r[0])
		n = snprintf(out, len, "%s", r);
	else if (job->nr_files && job->files[0].path)
		n = snprintf(out, len, "%s.reply", job->files[0].path);
	else
		return -EINVAL;
	if (n < 0 || (size_t)n >= len || out[0] != '/')
		return -ENAMETOOLONG;
	return 0;
}

static bool same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa && sb && sa - a == sb - b && !memcmp(a, b, (size_t)(sa - a));
}

/* ---- downloads: every file ------------------------------------------------ */

static uint32_t download_complete(const struct kb_job *job, uint32_t *files_done, int *error)
{
	const char *unsynced = NULL;	/* the last file renamed, its directory not synced */
	struct kb_owner o;
	uint32_t done = 0;
	int first = 0;

	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	/*
	 * One directory fsync per run of files in the same directory, not one
	 * per rename: before Complete returns, every rename is durable.
	 */
	for (uint32_t i = 0; i < job->nr_files; i++) {
		const struct kb_file *f = &job->files[i];
		int ret;

		if (f->flags & KBITS_FILE_COMPLETED) {
			ret = kb_file_rename(&o, f, false);
			/* Complete again after a crash inside an earlier one */
			if (ret == -ENOENT && kb_file_in_place(&o, f, job->creation_time) == 1)
				ret = 0;
			if (!ret && unsynced && !same_dir(unsynced, f->path))
				kb_dir_sync_of(&o, unsynced);
			if (!ret)
				unsynced = f->path;
		} else {
			ret = kb_file_discard(&o, f) ?: -ENODATA;
		}
		if (!ret)
			done++;
		else if (!first)
			first = ret;
	}
	if (unsynced)
		kb_dir_sync_of(&o, unsynced);
	*files_done = done;
	*error = first;
	if (done == job->nr_files)
		return KBITS_COMPLETE_ALL;
	return done ? KBITS_COMPLETE_PARTIAL : KBITS_COMPLETE_FAILED;
}

static int download_cancel(const struct kb_job *job)
{
	struct kb_owner o;
	int first = 0;

	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	for (uint32_t i = 0; i < job->nr_files; i++) {
		int ret = kb_file_discard(&o, &job->files[i]);

		if (ret && !first)
			first = ret;
	}
	return first;
}

/* ---- uploads: the reply file of an UPLOAD_REPLY --------------------------- */

static int upload_cancel(const struct kb_job *job);

static uint32_t upload_complete(const struct kb_job *job, uint32_t *files_done, int *error)
{
	struct kb_owner o;
	char path[KBITS_PATH_MAX + 16];
	int ret;

	*files_done = 0;
	*error = 0;
	if (job->nr_files != 1 || !(job->files[0].flags & KBITS_FILE_COMPLETED) ||
	    job->up.phase != KB_UP_DONE) {
		*error = -ENODATA;
		upload_cancel(job);
		return KBITS_COMPLETE_FAILED;
	}
	if (job->type == KBITS_JOB_UPLOAD_REPLY) {
		struct kb_file f = { .path = path, .temp_name = job->up.reply_temp };

		ret = kb_upload_reply_path(job, path, sizeof(path));
		if (!ret)
			ret = job->up.reply_temp ? 0 : -ENODATA;
		if (!ret) {
			kb_owner_init(&o, job->owner_uid, job->owner_gid);
			ret = kb_file_commit(&o, &f);
		}
		if (ret) {
			*error = ret;
			return KBITS_COMPLETE_FAILED;
		}
	}
	*files_done = 1;
	return KBITS_COMPLETE_ALL;
}

static int upload_cancel(const struct kb_job *job)
{
	struct kb_owner o;
	char path[KBITS_PATH_MAX + 16];
	struct kb_file f = { .path = path, .temp_name = job->up.reply_temp };

	if (!job->up.reply_temp || kb_upload_reply_path(job, path, sizeof(path)) < 0)
		return 0;
	kb_owner_init(&o, job->owner_uid, job->owner_gid);
	return kb_file_discard(&o, &f);
}

/* What Complete and Cancel do, by job type. */
static const struct {
	uint32_t (*complete)(const struct kb_job *job, uint32_t *files_done, int *error);
	int (*cancel)(const struct kb_job *job);
} by_type[] = {
	[KBITS_JOB_DOWNLOAD] = { download_complete, download_cancel },
	[KBITS_JOB_UPLOAD] = { upload_complete, upload_cancel },
	[KBITS_JOB_UPLOAD_REPLY] = { upload_complete, upload_cancel },
};

uint32_t kb_job_complete_files(const struct kb_job *job, uint32_t *files_done, int *error)
{
	if (job->type >= sizeof(by_type) / sizeof(by_type[0])) {
		*files_done = 0;
		*error = -EINVAL;
		return KBITS_COMPLETE_FAILED;
	}
	return by_type[job->type].complete(job, files_done, error);
}

int kb_job_cancel_files(const struct kb_job *job)
{
	if (job->type >= sizeof(by_type) / sizeof(by_type[0]))
		return -EINVAL;
	return by_type[job->type].cancel(job);
}
