// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "channel.h"
#include "log.h"

struct kb_channel {
	int fd;
	struct kb_loop *loop;
	struct kb_op poll_op;
	kb_work_cb cb;
	void *arg;
	uint64_t last_seq;
	struct kbits_version version;
	/* GET_FILE's buffers at their maximum; a job keeps exact copies (a
	 * queued job held them whole: 6 KiB of 9 KiB per job at 10,000 jobs) */
	char url[KBITS_URL_MAX + 1];
	char path[KBITS_PATH_MAX + 1];
};

static int xioctl(int fd, unsigned long req, void *arg)
{
	int tries = 0, ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret < 0 && errno == EINTR && ++tries < 100);
	return ret < 0 ? -errno : ret;
}

int kb_channel_open(const char *dev, struct kb_channel **out)
{
	struct kb_channel *ch = calloc(1, sizeof(*ch));
	int ret;

	if (!ch)
		return -ENOMEM;
	ch->fd = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (ch->fd < 0) {
		ret = -errno;
		free(ch);
		return ret;
	}
	ret = xioctl(ch->fd, KBITS_IOC_VERSION, &ch->version);
	if (ret == 0 && (ch->version.abi_version != KBITS_ABI_VERSION ||
			 !(ch->version.features & KBITS_FEATURE_AGENT)))
		ret = -EPROTONOSUPPORT;
	if (ret < 0) {
		kb_channel_close(ch);
		return ret;
	}
	*out = ch;
	return 0;
}

void kb_channel_close(struct kb_channel *ch)
{
	if (!ch)
		return;
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

const uint8_t *kb_channel_instance(const struct kb_channel *ch)
{
	return ch->version.instance_id;
}

static void channel_readable(struct kb_op *op, int res)
{
	struct kb_channel *ch = (struct kb_channel *)((char *)op - offsetof(struct kb_channel, poll_op));
	struct kbits_work w[32];

	(void)res;
	/* Bounded: at most 64 reads of 32 items per wakeup. */
	for (int round = 0; round < 64; round++) {
		ssize_t n = read(ch->fd, w, sizeof(w));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(w[0]); i++) {
			if (ch->last_seq && w[i].seq != ch->last_seq + 1)
				kb_err("work item %llu after %llu: items lost",
				       (unsigned long long)w[i].seq, (unsigned long long)ch->last_seq);
			ch->last_seq = w[i].seq;
			ch->cb(ch->arg, &w[i]);
		}
	}
	kb_loop_poll(ch->loop, &ch->poll_op, ch->fd, POLLIN);
}

int kb_channel_attach(struct kb_channel *ch, struct kb_loop *loop, kb_work_cb cb, void *arg)
{
	int ret = xioctl(ch->fd, KBITS_IOC_AGENT_ATTACH, NULL);

	if (ret < 0)
		return ret;
	ch->loop = loop;
	ch->cb = cb;
	ch->arg = arg;
	ch->poll_op.cb = channel_readable;
	kb_loop_poll(loop, &ch->poll_op, ch->fd, POLLIN);
	return 0;
}

static int get_string(struct kb_channel *ch, const uint8_t id[16], uint32_t prop, char **out)
{
	uint32_t cap = 256;

	*out = NULL;
	for (int tries = 0; tries < 4; tries++) {
		struct kbits_job_string s = { .prop = prop, .len = cap };
		char *buf = malloc(cap + 1);
		int ret;

		if (!buf)
			return -ENOMEM;
		memcpy(s.job_id, id, 16);
		s.value = (uintptr_t)buf;
		ret = xioctl(ch->fd, KBITS_IOC_JOB_GET_STRING, &s);
		if (ret == -ERANGE && s.len > cap && s.len <= KBITS_HTTP_HEADERS_MAX) {
			free(buf);
			cap = s.len;
			continue;
		}
		if (ret < 0 || !s.len || s.len > cap) {
			free(buf);
			return ret == -ENODATA ? 0 : ret;
		}
		buf[s.len] = '\0';
		/* the job keeps it: no spare capacity per queued job */
		*out = realloc(buf, s.len + 1) ?: buf;
		return 0;
	}
	return -ERANGE;
}

static int get_file(struct kb_channel *ch, const uint8_t id[16], uint32_t idx, struct kb_file *f)
{
	struct kbits_file_info fi = { .size = sizeof(fi), .index = idx };
	char tmp[KB_TEMP_NAME_MAX + 1];
	int ret;

	memcpy(fi.job_id, id, 16);
	fi.url = (uintptr_t)ch->url;
	fi.url_len = KBITS_URL_MAX;
	fi.path = (uintptr_t)ch->path;
	fi.path_len = KBITS_PATH_MAX;
	fi.temp_name = (uintptr_t)tmp;
	fi.temp_name_len = KB_TEMP_NAME_MAX;
	ret = xioctl(ch->fd, KBITS_IOC_JOB_GET_FILE, &fi);
	if (ret < 0)
		return ret;
	if (fi.url_len > KBITS_URL_MAX || fi.path_len > KBITS_PATH_MAX ||
	    fi.temp_name_len > KB_TEMP_NAME_MAX)
		return -EOVERFLOW;
	f->url = strndup(ch->url, fi.url_len);
	f->path = strndup(ch->path, fi.path_len);
	if (!f->url || !f->path)
		return -ENOMEM;
	tmp[fi.temp_name_len] = '\0';
	if (fi.temp_name_len && kb_strset(&f->temp_name, tmp) < 0)
		return -ENOMEM;
	f->bytes_total = fi.bytes_total;
	f->bytes_transferred = fi.bytes_transferred;
	f->flags = fi.file_flags;
	f->expected_size = fi.expected_size;
	memcpy(f->expected_sha256, fi.expected_sha256, sizeof(f->expected_sha256));
	memcpy(f->sha256, fi.sha256, sizeof(f->sha256));
	return 0;
}

/* KBITS_FILE_STR_MIRRORS of one file: NULL when it has none. */
static int get_mirrors(struct kb_channel *ch, const uint8_t id[16], uint32_t idx, char **out)
{
	struct kbits_file_string fs = { .size = sizeof(fs), .index = idx,
					.prop = KBITS_FILE_STR_MIRRORS };
	char *buf = malloc(KBITS_MIRRORS_LEN_MAX + 1);
	int ret;

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	memcpy(fs.job_id, id, 16);
	fs.value = (uintptr_t)buf;
	fs.value_len = KBITS_MIRRORS_LEN_MAX;
	ret = xioctl(ch->fd, KBITS_IOC_JOB_GET_FILE_STRING, &fs);
	if (ret < 0 || !fs.value_len || fs.value_len > KBITS_MIRRORS_LEN_MAX) {
		free(buf);
		return ret < 0 ? ret : fs.value_len ? -EOVERFLOW : 0;
	}
	buf[fs.value_len] = '\0';
	*out = buf;
	return 0;
}

int kb_channel_fetch_job(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out)
{
	return kb_channel_fetch_job_seq(ch, id, out, NULL);
}

/*
 * GET_INFO comes first: the change_seq it reads is at most the one the
 * strings and files fetched after it describe, so acknowledging it after
 * the store commit never claims a change the store does not hold.
 */
int kb_channel_fetch_job_seq(struct kb_channel *ch, const uint8_t id[16], struct kb_job **out,
			     uint64_t *change_seq)
{
	struct kbits_job_info ji = { .size = sizeof(ji) };
	struct kb_job *job;
	int ret;

	memcpy(ji.job_id, id, 16);
	ret = xioctl(ch->fd, KBITS_IOC_JOB_GET_INFO, &ji);
	if (ret < 0)
		return ret;
	if (ji.files_total > 64 * KBITS_ADD_FILES_MAX)
		return -EOVERFLOW;
	job = kb_job_new(ji.files_total);
	if (!job)
		return -ENOMEM;
	memcpy(job->id, id, 16);
#define KBITS_IDENTITY(f)	job->f = ji.f;
#define KBITS_PROP(f)		job->f = ji.f;
#include <kbits_props.h>
	for (uint32_t p = 0; p <= KBITS_STR_MAX && !ret; p++) {
		if (p == KBITS_STR_CREDENTIALS && !ji.credentials_set)
			continue;
		if (p == KBITS_STR_PROXY_CREDENTIALS && !ji.proxy_credentials_set)
			continue;
		/* the module refuses the reply file of other job types (-EINVAL) */
		if (p == KBITS_STR_REPLY_FILE && ji.type != KBITS_JOB_UPLOAD_REPLY)
			continue;
		/* an older module has no TLS strings (-EINVAL) */
		if (p >= KBITS_STR_CLIENT_CERT && p <= KBITS_STR_PINNED_PUBKEY &&
		    !(ch->version.features & KBITS_FEATURE_TLS))
			continue;
		ret = get_string(ch, id, p, &job->strings[p]);
	}
	for (uint32_t i = 0; i < job->nr_files && !ret; i++) {
		ret = get_file(ch, id, i, &job->files[i]);
		/* mirrors are for downloads only; an older module has none */
		if (!ret && ji.type == KBITS_JOB_DOWNLOAD &&
		    (ch->version.features & KBITS_FEATURE_MIRRORS))
			ret = get_mirrors(ch, id, i, &job->files[i].mirrors);
	}
	if (ret < 0) {
		kb_job_put(job);
		return ret;
	}
	*out = job;
	if (change_seq)
		*change_seq = ji.change_seq;
	return 0;
}

int kb_channel_stored(struct kb_channel *ch, const struct kbits_stored_job *jobs, size_t n)
{
	int ret = 0, r;

	if (!(ch->version.features & KBITS_FEATURE_DURABLE))
		return 0;	/* a module that does not track durability */
	while (n) {
		uint32_t count = n > KBITS_STORED_MAX ? KBITS_STORED_MAX : (uint32_t)n;
		struct kbits_agent_stored s = {
			.size = sizeof(s), .count = count, .jobs = (uintptr_t)jobs,
			.job_size = sizeof(*jobs),
		};

		r = xioctl(ch->fd, KBITS_IOC_AGENT_STORED, &s);
		if (r < 0 && !ret)
			ret = r;
		jobs += count;
		n -= count;
	}
	return ret;
}

static int report_id(struct kb_channel *ch, struct kbits_agent_report *r, const uint8_t id[16])
{
	r->size = sizeof(*r);
	memcpy(r->job_id, id, 16);
	return xioctl(ch->fd, KBITS_IOC_AGENT_REPORT, r);
}

static int report(struct kb_channel *ch, struct kbits_agent_report *r, const struct kb_job *job)
{
	return report_id(ch, r, job->id);
}

int kb_channel_report_state(struct kb_channel *ch, const struct kb_job *job, uint32_t state)
{
	struct kbits_agent_report r = { .what = KBITS_REPORT_STATE, .state = state };

	return report(ch, &r, job);
}

int kb_channel_report_progress(struct kb_channel *ch, const struct kb_job *job, uint32_t idx,
			       uint64_t bytes)
{
	struct kbits_agent_report r = { .what = KBITS_REPORT_PROGRESS, .file_index = idx };

	r.file_bytes_total = job->files[idx].bytes_total;
	r.file_bytes_transferred = bytes;
	return report(ch, &r, job);
}

int kb_channel_report_file_done(struct kb_channel *ch, const uint8_t id[16], uint32_t idx,
				uint64_t total, uint64_t done, const uint8_t *sha256, bool verified)
{
	struct kbits_agent_report r = { .what = KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE,
					.file_index = idx };

	r.file_bytes_total = total;
	r.file_bytes_transferred = done;
	/* In the same report: the file is never complete without its digest. */
	if (sha256 && (ch->version.features & KBITS_FEATURE_SHA256)) {
		r.what |= KBITS_REPORT_DIGEST;
		memcpy(r.sha256, sha256, sizeof(r.sha256));
		r.digest_flags = verified ? KBITS_FILE_VERIFIED : 0;
	}
	return report_id(ch, &r, id);
}

int kb_channel_report_reply(struct kb_channel *ch, const struct kb_job *job, uint64_t total,
			    uint64_t done)
{
	struct kbits_agent_report r = { .what = KBITS_REPORT_REPLY };

	r.reply_bytes_total = total;
	r.reply_bytes_transferred = done;
	return report(ch, &r, job);
}

int kb_channel_report_temp_name(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	const char *t = job->files[idx].temp_name;
	struct kbits_agent_report r = { .what = KBITS_REPORT_TEMP_NAME, .file_index = idx };

	if (!t)
		return 0;
	r.temp_name = (uintptr_t)t;
	r.temp_name_len = (uint32_t)strlen(t);
	return report(ch, &r, job);
}

int kb_channel_report_url(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	const char *u = job->files[idx].url;
	struct kbits_agent_report r = { .what = KBITS_REPORT_URL, .file_index = idx };

	if (!u || !(ch->version.features & KBITS_FEATURE_SECURITY_FLAGS))
		return 0;
	r.url = (uintptr_t)u;
	r.url_len = (uint32_t)strlen(u);
	return report(ch, &r, job);
}

int kb_channel_set_headers(struct kb_channel *ch, const struct kb_job *job, uint32_t idx)
{
	const char *h = job->files[idx].resp_headers;
	struct kbits_file_string fs = { .size = sizeof(fs), .index = idx,
					.prop = KBITS_FILE_STR_HTTP_RESPONSE_HEADERS };

	if (!(ch->version.features & KBITS_FEATURE_FILE_STRINGS))
		return 0;
	memcpy(fs.job_id, job->id, 16);
	fs.value = (uintptr_t)h;
	fs.value_len = h ? (uint32_t)strlen(h) : 0;
	return xioctl(ch->fd, KBITS_IOC_JOB_SET_FILE_STRING, &fs);
}

int kb_channel_report_error(struct kb_channel *ch, const struct kb_job *job,
			    const struct kb_error *err)
{
	struct kbits_agent_report r = { .what = KBITS_REPORT_ERROR };
	size_t n = strnlen(err->desc, sizeof(err->desc));

	r.file_index = err->file;
	r.error_context = err->context;
	r.error_code = err->code;
	r.error_desc = (uintptr_t)err->desc;
	r.error_desc_len = (uint32_t)(n > KBITS_ERROR_DESC_MAX ? KBITS_ERROR_DESC_MAX : n);
	return report(ch, &r, job);
}

int kb_channel_outcome(struct kb_channel *ch, const uint8_t id[16], uint32_t work,
		       uint32_t result, uint32_t files_done, int error)
{
	struct kbits_agent_outcome o = { .work = work, .result = result, .files_done = files_done,
					 .error = error };

	memcpy(o.job_id, id, 16);
	return xioctl(ch->fd, KBITS_IOC_AGENT_OUTCOME, &o);
}

int kb_channel_restore(struct kb_channel *ch, const struct kb_job *job)
{
	struct kbits_agent_restore r = { .size = sizeof(r) };
	struct kbits_restore_file *rf = calloc(job->nr_files + 1, sizeof(*rf));
	int ret;

	if (!rf)
		return -ENOMEM;
	memcpy(r.job_id, job->id, 16);
#define KBITS_IDENTITY(f)	r.f = job->f;
#define KBITS_PROP(f)		r.f = job->f;
#include <kbits_props.h>
	/* strings[] has the first KBITS_RESTORE_STRINGS, ext_strings[] the rest */
	for (int p = 0; p <= KBITS_STR_MAX; p++) {
		int x = p - KBITS_RESTORE_STRINGS;
		__u64 *ptr = x < 0 ? &r.strings[p] : &r.ext_strings[x];
		__u32 *len = x < 0 ? &r.string_lens[p] : &r.ext_string_lens[x];

		if (!job->strings[p])
			continue;
		*ptr = (uintptr_t)job->strings[p];
		*len = (uint32_t)strlen(job->strings[p]);
	}
	/* An older module takes the layout it knows (and cannot hold the rest). */
	if (!(ch->version.features & KBITS_FEATURE_BANDWIDTH))
		r.size = KBITS_AGENT_RESTORE_SIZE_VER3;
	if (!(ch->version.features & KBITS_FEATURE_NOTIFY_INTERVAL))
		r.size = KBITS_AGENT_RESTORE_SIZE_VER2;
	if (!(ch->version.features & KBITS_FEATURE_AUTH_TARGETS))
		r.size = KBITS_AGENT_RESTORE_SIZE_VER1;
	if (!(ch->version.features & KBITS_FEATURE_SECURITY_FLAGS))
		r.size = KBITS_AGENT_RESTORE_SIZE_VER0;
	for (uint32_t i = 0; i < job->nr_files; i++) {
		const struct kb_file *f = &job->files[i];

		rf[i].url = (uintptr_t)f->url;
		rf[i].url_len = f->url ? (uint32_t)strlen(f->url) : 0;
		rf[i].path = (uintptr_t)f->path;
		rf[i].path_len = f->path ? (uint32_t)strlen(f->path) : 0;
		rf[i].temp_name = (uintptr_t)f->temp_name;
		rf[i].temp_name_len = f->temp_name ? (uint32_t)strlen(f->temp_name) : 0;
		rf[i].bytes_total = f->bytes_total;
		rf[i].bytes_transferred = f->bytes_transferred;
		rf[i].file_flags = f->flags;
		rf[i].expected_size = f->expected_size;
		memcpy(rf[i].expected_sha256, f->expected_sha256, sizeof(rf[i].expected_sha256));
		memcpy(rf[i].sha256, f->sha256, sizeof(rf[i].sha256));
		rf[i].response_headers = (uintptr_t)f->resp_headers;
		rf[i].response_headers_len = f->resp_headers ? (uint32_t)strlen(f->resp_headers) : 0;
		rf[i].mirrors = (uintptr_t)f->mirrors;
		rf[i].mirrors_len = f->mirrors ? (uint32_t)strlen(f->mirrors) : 0;
	}
	r.nr_files = job->nr_files;
	r.files = (uintptr_t)rf;
	r.file_size = sizeof(*rf);
	/* An older module takes the larger entries when their tail is zero. */
	if (!(ch->version.features & KBITS_FEATURE_FILE_STRINGS)) {
		for (uint32_t i = 0; i < job->nr_files; i++)
			rf[i].response_headers = rf[i].response_headers_len = 0;
	}
	if (!(ch->version.features & KBITS_FEATURE_MIRRORS)) {
		for (uint32_t i = 0; i < job->nr_files; i++)
			rf[i].mirrors = rf[i].mirrors_len = 0;
	}
	ret = xioctl(ch->fd, KBITS_IOC_AGENT_RESTORE, &r);
	free(rf);
	return ret;
}

int kb_channel_enum(struct kb_channel *ch, struct kbits_job_enum *en)
{
	return xioctl(ch->fd, KBITS_IOC_JOB_ENUM, en);
}
