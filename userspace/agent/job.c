// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

struct kb_job *kb_job_new(uint32_t nr_files)
{
	struct kb_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	if (nr_files) {
		job->files = calloc(nr_files, sizeof(*job->files));
		if (!job->files) {
			free(job);
			return NULL;
		}
	}
	job->refs = 1;
	job->nr_files = nr_files;
	for (uint32_t i = 0; i < nr_files; i++)
		job->files[i].bytes_total = KBITS_UNKNOWN;
	job->min_retry_delay = KBITS_DEFAULT_MIN_RETRY_DELAY;
	job->no_progress_timeout = KBITS_DEFAULT_NO_PROGRESS_TIMEOUT;
	job->max_download_time = KBITS_DEFAULT_MAX_DOWNLOAD_TIME;
	job->priority = KBITS_PRIORITY_NORMAL;
	job->state = KBITS_STATE_SUSPENDED;
	job->error_file = ~0u;
	return job;
}

int kb_strset(char **dst, const char *src)
{
	char *c = NULL;

	if (src) {
		c = strdup(src);
		if (!c)
			return -ENOMEM;
	}
	free(*dst);
	*dst = c;
	return 0;
}

static void file_clear(struct kb_file *f)
{
	free(f->url);
	free(f->path);
	free(f->temp_name);
	free(f->final_url);
	free(f->etag);
	free(f->last_modified);
	free(f->resp_headers);
	free(f->mirrors);
}

void kb_upload_state_clear(struct kb_upload_state *u)
{
	free(u->session_id);
	free(u->host_id);
	free(u->reply_url);
	free(u->reply_temp);
	memset(u, 0, sizeof(*u));
}

int kb_upload_state_copy(struct kb_upload_state *dst, const struct kb_upload_state *src)
{
	struct kb_upload_state n = *src;
	int err = 0;

	if (dst == src)
		return 0;
	n.session_id = n.host_id = n.reply_url = n.reply_temp = NULL;
	err |= kb_strset(&n.session_id, src->session_id);
	err |= kb_strset(&n.host_id, src->host_id);
	err |= kb_strset(&n.reply_url, src->reply_url);
	err |= kb_strset(&n.reply_temp, src->reply_temp);
	if (err) {
		kb_upload_state_clear(&n);
		return -ENOMEM;
	}
	kb_upload_state_clear(dst);
	*dst = n;
	return 0;
}

struct kb_job *kb_job_get(struct kb_job *job)
{
	job->refs++;
	return job;
}

void kb_job_put(struct kb_job *job)
{
	if (!job || --job->refs)
		return;
	kb_upload_state_clear(&job->up);
	for (uint32_t i = 0; i < job->nr_files; i++)
		file_clear(&job->files[i]);
	for (int i = 0; i <= KBITS_STR_MAX; i++)
		free(job->strings[i]);
	free(job->files);
	free(job);
}

struct kb_job *kb_job_dup(const struct kb_job *src)
{
	struct kb_job *job = kb_job_new(src->nr_files);
	int err = 0;

	if (!job)
		return NULL;
	{
		struct kb_file *files = job->files;
		uint32_t n = job->nr_files;

		*job = *src;
		job->files = files;
		job->nr_files = n;
		job->refs = 1;
		memset(&job->up, 0, sizeof(job->up));
		err |= kb_upload_state_copy(&job->up, &src->up);
	}
	for (int i = 0; i <= KBITS_STR_MAX; i++) {
		job->strings[i] = NULL;
		err |= kb_strset(&job->strings[i], src->strings[i]);
	}
	for (uint32_t i = 0; i < src->nr_files; i++) {
		const struct kb_file *s = &src->files[i];
		struct kb_file *d = &job->files[i];

		*d = *s;
		d->url = d->path = d->temp_name = d->final_url = d->etag = d->last_modified = NULL;
		d->resp_headers = d->mirrors = NULL;
		err |= kb_strset(&d->resp_headers, s->resp_headers);
		err |= kb_strset(&d->mirrors, s->mirrors);
		err |= kb_strset(&d->url, s->url);
		err |= kb_strset(&d->path, s->path);
		err |= kb_strset(&d->temp_name, s->temp_name);
		err |= kb_strset(&d->final_url, s->final_url);
		err |= kb_strset(&d->etag, s->etag);
		err |= kb_strset(&d->last_modified, s->last_modified);
	}
	if (err) {
		kb_job_put(job);
		return NULL;
	}
	return job;
}

static bool same_file(const struct kb_file *n, const struct kb_file *o)
{
	return n->url && o->url && n->path && o->path && !strcmp(n->url, o->url) &&
	       !strcmp(n->path, o->path);
}

/* An upload's session goes with its file, and only to an upload of the same kind. */
static bool same_session(const struct kb_job *nj, const struct kb_job *old)
{
	return nj->type != KBITS_JOB_DOWNLOAD && nj->type == old->type && nj->nr_files == 1 &&
	       old->nr_files == 1 && same_file(&nj->files[0], &old->files[0]) &&
	       (nj->job_flags & KBITS_JOB_F_HTTP_PUT) == (old->job_flags & KBITS_JOB_F_HTTP_PUT);
}

bool kb_job_carry(struct kb_job *nj, const struct kb_job *old)
{
	if (nj == old)
		return true;
	/* the time it transferred; a Resume after ERROR restarts the clock
	 * (as the engine does, kb_sched_reset) */
	if (!(old->state == KBITS_STATE_ERROR && nj->state != KBITS_STATE_ERROR))
		nj->active_ns = old->active_ns;
	for (uint32_t i = 0; i < nj->nr_files && i < old->nr_files; i++) {
		struct kb_file *n = &nj->files[i];
		const struct kb_file *o = &old->files[i];

		/*
		 * A new URL for the same file (SetRemoteName, ReplaceRemotePrefix)
		 * keeps the bytes and their validators: the resume's If-Range
		 * sends them to the new server, which continues them only if
		 * they still match (206), else sends the whole file (200) and
		 * the file restarts (download.c, begin_body).
		 */
		if (!n->url || !o->url || !n->path || !o->path || strcmp(n->path, o->path))
			continue;
		/* the agent names temporary files; the module only repeats them */
		if (o->temp_name)
			kb_strset(&n->temp_name, o->temp_name);
		kb_strset(&n->final_url, same_file(n, o) ? o->final_url : NULL);
		kb_strset(&n->resp_headers, o->resp_headers);
		kb_strset(&n->etag, o->etag);
		kb_strset(&n->last_modified, o->last_modified);
		n->ranges_ok = o->ranges_ok;
		/* what is on disk for sure: the module may have heard of more */
		n->bytes_transferred = o->bytes_transferred;
		if (o->bytes_total != KBITS_UNKNOWN)
			n->bytes_total = o->bytes_total;
		n->flags = (n->flags & KBITS_FILE_SPEC_FLAGS) | (o->flags & ~KBITS_FILE_SPEC_FLAGS);
		memcpy(n->sha256, o->sha256, sizeof(n->sha256));
		n->untold |= o->untold;
		n->unsynced = o->unsynced;
	}
	if (!same_session(nj, old))
		return false;
	kb_upload_state_copy(&nj->up, &old->up);
	return true;
}

unsigned int kb_file_sources(const struct kb_file *f)
{
	unsigned int n = 1;

	if (f->mirrors && f->mirrors[0]) {
		n++;
		for (const char *p = f->mirrors; (p = strchr(p, '\n')); p++)
			n++;
	}
	return n;
}

char *kb_file_source(const struct kb_file *f, unsigned int k)
{
	const char *p = f->mirrors, *nl;

	if (!k)
		return f->url ? strdup(f->url) : NULL;
	if (!p || !p[0])
		return NULL;
	while (--k) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	nl = strchr(p, '\n');
	return strndup(p, nl ? (size_t)(nl - p) : strlen(p));
}

void kb_guid_str(const uint8_t id[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9],
		 id[10], id[11], id[12], id[13], id[14], id[15]);
}
int kb_log_level;
