// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kbits: the misc device, its ioctl dispatch and the client job
 * operations. User memory is copied in once, validated, and only then is
 * kbits_lock taken; nothing touches user memory with the lock held.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kbits.h"

#define KBITS_COMPLETE_TIMEOUT	(60 * HZ)
/* Extensible-struct ioctls are matched without their encoded size. */
#define KBITS_IOC_BASE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

int kbits_copy_struct_in(void *dst, size_t ksize, size_t min_size,
			 const void __user *src)
{
	u32 usize;
	int ret;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(dst, ksize, src, usize);
	if (ret)
		return ret;
	/* The size read first rules: the copy may have raced with a writer. */
	*(u32 *)dst = usize;
	return 0;
}

int kbits_copy_struct_out(void __user *dst, const void *src, size_t ksize)
{
	u32 usize = *(const u32 *)src;

	if (copy_to_user(dst, src, min_t(size_t, usize, ksize)))
		return -EFAULT;
	return 0;
}

/* The agent's file acts as an administrator's, whoever uses it. */
static bool kbits_caller_admin(const struct file *file)
{
	return kbits_is_admin() || kbits_file_is_agent(file);
}

/*
 * File index of a job the caller may see, with kbits_lock held; the job in
 * *jobp. -ENOENT for no such job, -ENXIO past its last file.
 */
static struct kbits_file *kbits_lookup_file(const struct file *file, const u8 id[16],
					    u32 index, struct kbits_job **jobp)
{
	struct kbits_job *job;

	lockdep_assert_held(&kbits_lock);
	job = kbits_lookup_visible(id, kbits_caller_admin(file));
	if (!job)
		return ERR_PTR(-ENOENT);
	if (index >= job->nr_files)
		return ERR_PTR(-ENXIO);
	*jobp = job;
	return job->files[index];
}

static long kbits_ioctl_version(void __user *argp)
{
	struct kbits_version v;

	kbits_fill_version(&v);
	if (copy_to_user(argp, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long kbits_ioctl_create(struct file *file, void __user *argp)
{
	struct kbits_job_create __user *uc = argp;
	struct kbits_job_create c;
	struct kbits_job *job;
	char *name;
	int ret;

	ret = kbits_copy_struct_in(&c, sizeof(c), sizeof(c), argp);
	if (ret)
		return ret;
	if (c.flags || c.type > KBITS_JOB_UPLOAD_REPLY)
		return -EINVAL;
	name = kbits_strndup_user(c.display_name, c.display_name_len,
				  KBITS_DISPLAY_NAME_MAX, false);
	if (IS_ERR(name))
		return PTR_ERR(name);
	job = kbits_job_alloc(c.type, current_euid(), current_egid());
	if (!job) {
		kfree(name);
		return -ENOMEM;
	}
	kbits_job_set_string(job, KBITS_STR_DISPLAY_NAME, name, c.display_name_len);
	/* The caller learns the id before the job exists, never after a fault. */
	if (copy_to_user(uc->job_id, job->id, sizeof(job->id))) {
		ret = -EFAULT;
		goto out_put;
	}

	mutex_lock(&kbits_lock);
	ret = kbits_register(job, kbits_is_admin());
	if (!ret) {
		kbits_event(job, KBITS_EVENT_CREATED);
		kbits_agent_queue(job, KBITS_WORK_CHANGED);
	}
	mutex_unlock(&kbits_lock);
out_put:
	kbits_job_put(job);
	return ret;
}

static long kbits_ioctl_enum(struct file *file, void __user *argp)
{
	struct kbits_job_enum e;
	unsigned long cursor;
	struct kbits_job *job;
	bool all, admin;
	u8 *ids;
	u32 n = 0;
	int ret;

	ret = kbits_copy_struct_in(&e, sizeof(e), sizeof(e), argp);
	if (ret)
		return ret;
	if ((e.flags & ~KBITS_ENUM_FLAGS_ALL) || e.pad || !e.count ||
	    e.count > KBITS_ENUM_MAX)
		return -EINVAL;
	admin = kbits_caller_admin(file);
	all = e.flags & KBITS_ENUM_ALL_USERS;
	if (all && !admin)
		return -EPERM;
	ids = kvmalloc_array(e.count, 16, GFP_KERNEL);
	if (!ids)
		return -ENOMEM;

	cursor = e.cursor;
	mutex_lock(&kbits_lock);
	while (n < e.count && cursor != ULONG_MAX) {
		job = kbits_next_visible(&cursor, all);
		if (!job)
			break;
		memcpy(ids + 16 * n++, job->id, 16);
	}
	mutex_unlock(&kbits_lock);

	e.cursor = cursor;
	e.count = n;
	ret = -EFAULT;
	if (copy_to_user(u64_to_user_ptr(e.ids), ids, 16 * n))
		goto out_free;
	ret = kbits_copy_struct_out(argp, &e, sizeof(e));
out_free:
	kvfree(ids);
	return ret;
}

static long kbits_ioctl_get_info(struct file *file, void __user *argp)
{
	struct kbits_job_info info;
	struct kbits_job *job;
	bool admin;
	int ret;

	ret = kbits_copy_struct_in(&info, sizeof(info), KBITS_JOB_INFO_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;
	admin = kbits_caller_admin(file);

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(info.job_id, admin);
	if (job)
		kbits_job_fill_info(job, &info, current_user_ns());
	mutex_unlock(&kbits_lock);
	if (!job)
		return -ENOENT;
	return kbits_copy_struct_out(argp, &info, sizeof(info));
}

static int kbits_check_set(const struct kbits_job_set *s, u32 type)
{
	u32 mask = s->mask;

	if (!mask || (mask & ~KBITS_SET_ALL))
		return -EINVAL;
	if (s->size < KBITS_JOB_SET_SIZE_VER1 &&
	    (mask & (KBITS_SET_MAX_DOWNLOAD_TIME | KBITS_SET_MAX_DOWNLOAD_SIZE |
		     KBITS_SET_JOB_FLAGS)))
		return -EINVAL;
	if (s->size < KBITS_JOB_SET_SIZE_VER2 && (mask & KBITS_SET_SECURITY_FLAGS))
		return -EINVAL;
	if (s->size < KBITS_JOB_SET_SIZE_VER3 &&
	    (mask & (KBITS_SET_SERVER_AUTH_SCHEMES | KBITS_SET_PROXY_AUTH_SCHEMES)))
		return -EINVAL;
	if (s->size < KBITS_JOB_SET_SIZE_VER4 && (mask & KBITS_SET_MIN_NOTIFY_INTERVAL))
		return -EINVAL;
	if (s->size < KBITS_JOB_SET_SIZE_VER5 && (mask & KBITS_SET_MAX_BANDWIDTH))
		return -EINVAL;
	if (s->pad || s->pad2)
		return -EINVAL;
	if ((mask & KBITS_SET_MIN_NOTIFY_INTERVAL) &&
	    s->min_notify_interval_ms > KBITS_MAX_NOTIFY_INTERVAL_MS)
		return -EINVAL;
	if ((mask & KBITS_SET_MAX_BANDWIDTH) && s->max_bandwidth > KBITS_MAX_BANDWIDTH)
		return -EINVAL;
	if ((mask & KBITS_SET_SERVER_AUTH_SCHEMES) &&
	    (s->server_auth_schemes & ~KBITS_AUTH_SCHEME_ALL))
		return -EINVAL;
	if ((mask & KBITS_SET_PROXY_AUTH_SCHEMES) &&
	    (s->proxy_auth_schemes & ~KBITS_AUTH_SCHEME_ALL))
		return -EINVAL;
	if ((mask & KBITS_SET_SECURITY_FLAGS) && !kbits_security_flags_valid(s->security_flags))
		return -EINVAL;
	if ((mask & KBITS_SET_PRIORITY) && s->priority > KBITS_PRIORITY_LOW)
		return -EINVAL;
	if ((mask & KBITS_SET_NOTIFY_FLAGS) && (s->notify_flags & ~KBITS_NOTIFY_ALL))
		return -EINVAL;
	if ((mask & KBITS_SET_PROXY_USAGE) && s->proxy_usage > KBITS_PROXY_AUTODETECT)
		return -EINVAL;
	if (mask & KBITS_SET_JOB_FLAGS) {
		if (s->job_flags & ~KBITS_JOB_F_ALL)
			return -EINVAL;
		if ((s->job_flags & KBITS_JOB_F_HTTP_PUT) && type != KBITS_JOB_UPLOAD)
			return -EINVAL;
	}
	return 0;
}

static long kbits_ioctl_set(struct file *file, void __user *argp)
{
	struct kbits_job_set s;
	struct kbits_job *job;
	bool admin;
	int ret;

	ret = kbits_copy_struct_in(&s, sizeof(s), KBITS_JOB_SET_SIZE_VER0, argp);
	if (ret)
		return ret;
	admin = kbits_caller_admin(file);

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(s.job_id, admin);
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = kbits_check_set(&s, job->type);
	if (ret)
		goto out_unlock;
	if (s.mask & KBITS_SET_PRIORITY)
		job->priority = s.priority;
	if (s.mask & KBITS_SET_MIN_RETRY_DELAY)
		job->min_retry_delay = s.min_retry_delay;
	if (s.mask & KBITS_SET_NO_PROGRESS_TIMEOUT)
		job->no_progress_timeout = s.no_progress_timeout;
	if (s.mask & KBITS_SET_NOTIFY_FLAGS)
		job->notify_flags = s.notify_flags;
	if (s.mask & KBITS_SET_PROXY_USAGE)
		job->proxy_usage = s.proxy_usage;
	if (s.mask & KBITS_SET_MAX_DOWNLOAD_TIME)
		job->max_download_time = s.max_download_time;
	if (s.mask & KBITS_SET_MAX_DOWNLOAD_SIZE)
		job->max_download_size = s.max_download_size;
	if (s.mask & KBITS_SET_JOB_FLAGS)
		job->job_flags = s.job_flags;
	if (s.mask & KBITS_SET_SECURITY_FLAGS)
		job->security_flags = s.security_flags;
	if (s.mask & KBITS_SET_SERVER_AUTH_SCHEMES)
		job->server_auth_schemes = s.server_auth_schemes;
	if (s.mask & KBITS_SET_PROXY_AUTH_SCHEMES)
		job->proxy_auth_schemes = s.proxy_auth_schemes;
	if (s.mask & KBITS_SET_MIN_NOTIFY_INTERVAL) {
		job->min_notify_interval_ms = s.min_notify_interval_ms;
		/* a shorter interval applies from now, not after the longer one */
		job->next_progress_event = jiffies;
	}
	if (s.mask & KBITS_SET_MAX_BANDWIDTH)
		job->max_bandwidth = s.max_bandwidth;
	kbits_job_touch(job);
	kbits_job_changed(job);
	kbits_event(job, KBITS_EVENT_MODIFIED);
	kbits_agent_queue(job, KBITS_WORK_CHANGED);
out_unlock:
	mutex_unlock(&kbits_lock);
	return ret;
}

static const u32 kbits_string_max[KBITS_STR_MAX + 1] = {
	[KBITS_STR_DISPLAY_NAME] = KBITS_DISPLAY_NAME_MAX,
	[KBITS_STR_DESCRIPTION] = KBITS_DESCRIPTION_MAX,
	[KBITS_STR_NOTIFY_CMDLINE] = KBITS_NOTIFY_CMDLINE_MAX,
	[KBITS_STR_PROXY_LIST] = KBITS_PROXY_LIST_MAX,
	[KBITS_STR_PROXY_BYPASS] = KBITS_PROXY_LIST_MAX,
	[KBITS_STR_CREDENTIALS] = KBITS_CREDENTIALS_MAX,
	[KBITS_STR_HTTP_HEADERS] = KBITS_HTTP_HEADERS_MAX,
	[KBITS_STR_REPLY_FILE] = KBITS_PATH_MAX,
	[KBITS_STR_ERROR_DESCRIPTION] = KBITS_ERROR_DESC_MAX,
	[KBITS_STR_PROXY_CREDENTIALS] = KBITS_CREDENTIALS_MAX,
	[KBITS_STR_CLIENT_CERT] = KBITS_PATH_MAX,
	[KBITS_STR_CLIENT_KEY] = KBITS_PATH_MAX,
	[KBITS_STR_CA_BUNDLE] = KBITS_PATH_MAX,
	[KBITS_STR_PINNED_PUBKEY] = KBITS_PATH_MAX,
};

/* Secrets only the agent reads, never a client. */
static bool kbits_string_secret(u32 prop)
{
	return prop == KBITS_STR_CREDENTIALS || prop == KBITS_STR_PROXY_CREDENTIALS;
}

u32 kbits_string_limit(u32 prop)
{
	return prop <= KBITS_STR_MAX ? kbits_string_max[prop] : 0;
}

/* Strings that name a file: absolute when set (empty removes them). */
bool kbits_string_is_path(u32 prop)
{
	return prop == KBITS_STR_REPLY_FILE || prop == KBITS_STR_CLIENT_CERT ||
	       prop == KBITS_STR_CLIENT_KEY || prop == KBITS_STR_CA_BUNDLE;
}

/*
 * "sha256//" and 44 base64 characters (32 bytes, one '=' of padding),
 * repeated with ';' between. libcurl would take a malformed pin as a
 * mismatch at the first connection; a client hears -EINVAL at once.
 */
static bool kbits_pin_hash_valid(const char *s, size_t len)
{
	static const char prefix[] = "sha256//";
	const size_t plen = sizeof(prefix) - 1;
	size_t i;

	if (len != plen + 44 || memcmp(s, prefix, plen))
		return false;
	for (i = plen; i < len - 1; i++)
		if (!isalnum(s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	return s[len - 1] == '=';
}

/* KBITS_STR_PINNED_PUBKEY: empty, an absolute path or sha256// hashes. */
bool kbits_pin_valid(const char *s, u32 len)
{
	const char *end = s + len, *semi;

	if (!len || s[0] == '/')
		return true;
	for (;;) {
		semi = memchr(s, ';', end - s);
		if (!kbits_pin_hash_valid(s, (semi ? semi : end) - s))
			return false;
		if (!semi)
			return true;
		s = semi + 1;
	}
}

static long kbits_ioctl_get_string(struct file *file, void __user *argp)
{
	struct kbits_job_string __user *us = argp;
	struct kbits_job_string s;
	struct kbits_job *job;
	char *value = NULL;
	bool agent;
	u32 len = 0;
	int ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.pad || s.prop > KBITS_STR_MAX)
		return -EINVAL;
	agent = kbits_file_is_agent(file);
	if (kbits_string_secret(s.prop) && !agent)
		return -EACCES;
	/* A second line of defence: a leaked agent file alone reads no secret. */
	if (kbits_string_secret(s.prop) && !kbits_is_admin())
		return -EPERM;

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(s.job_id, agent || kbits_is_admin());
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = -EINVAL;
	if (s.prop == KBITS_STR_REPLY_FILE && job->type != KBITS_JOB_UPLOAD_REPLY)
		goto out_unlock;
	ret = 0;
	len = job->string_lens[s.prop];
	if (len) {
		value = kmemdup(job->strings[s.prop], len, GFP_KERNEL);
		if (!value)
			ret = -ENOMEM;
	}
out_unlock:
	mutex_unlock(&kbits_lock);
	if (ret)
		return ret;

	if (len > s.len)
		ret = -ERANGE;
	else if (len && copy_to_user(u64_to_user_ptr(s.value), value, len))
		ret = -EFAULT;
	if (ret != -EFAULT && put_user(len, &us->len))
		ret = -EFAULT;
	kfree_sensitive(value);
	return ret;
}

static long kbits_ioctl_set_string(struct file *file, void __user *argp)
{
	struct kbits_job_string s;
	struct kbits_job *job;
	char *value;
	int ret;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.flags || s.pad || s.prop > KBITS_STR_MAX)
		return -EINVAL;
	if (s.prop == KBITS_STR_ERROR_DESCRIPTION)
		return -EACCES;
	value = kbits_strndup_user(s.value, s.len, kbits_string_max[s.prop],
				   kbits_string_is_path(s.prop) && s.len);
	if (IS_ERR(value))
		return PTR_ERR(value);
	if (s.prop == KBITS_STR_PINNED_PUBKEY && !kbits_pin_valid(value, s.len)) {
		kfree(value);
		return -EINVAL;
	}

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(s.job_id, kbits_caller_admin(file));
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = -EINVAL;
	if (s.prop == KBITS_STR_REPLY_FILE && job->type != KBITS_JOB_UPLOAD_REPLY)
		goto out_unlock;
	kbits_job_set_string(job, s.prop, value, s.len);
	value = NULL;
	kbits_job_touch(job);
	kbits_job_changed(job);
	kbits_event(job, KBITS_EVENT_MODIFIED);
	kbits_agent_queue(job, KBITS_WORK_CHANGED);
	ret = 0;
out_unlock:
	mutex_unlock(&kbits_lock);
	kfree_sensitive(value);
	return ret;
}

static void kbits_free_files(struct kbits_file **files, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		kbits_file_free(files[i]);
	kvfree(files);
}

static long kbits_ioctl_add_files(struct file *file, void __user *argp)
{
	struct kbits_job_add_files a;
	struct kbits_file **files;
	struct kbits_job *job;
	bool admin;
	u32 i, max_ranges;
	int ret;

	ret = kbits_copy_struct_in(&a, sizeof(a), sizeof(a), argp);
	if (ret)
		return ret;
	if (a.flags || !a.count || a.count > KBITS_ADD_FILES_MAX ||
	    a.spec_size < KBITS_FILE_SPEC_SIZE_VER0 || a.spec_size > PAGE_SIZE)
		return -EINVAL;
	admin = kbits_caller_admin(file);
	max_ranges = admin ? KBITS_HARD_MAX_RANGES : READ_ONCE(kbits_max_ranges_per_file);

	files = kvcalloc(a.count, sizeof(*files), GFP_KERNEL);
	if (!files)
		return -ENOMEM;
	for (i = 0; i < a.count; i++) {
		struct kbits_file_spec spec;
		struct kbits_file *f;

		ret = copy_struct_from_user(&spec, sizeof(spec),
					    u64_to_user_ptr(a.files + (u64)i * a.spec_size),
					    a.spec_size);
		if (ret)
			goto out_free;
		/* An expectation needs the VER1 fields that carry it. */
		ret = -EINVAL;
		if ((spec.flags & ~KBITS_FILE_SPEC_FLAGS) ||
		    (spec.flags && a.spec_size < KBITS_FILE_SPEC_SIZE_VER1))
			goto out_free;
		f = kbits_file_from_user(spec.url, spec.url_len, spec.path, spec.path_len,
					 spec.ranges, spec.nr_ranges, max_ranges);
		if (IS_ERR(f)) {
			ret = PTR_ERR(f);
			if (ret == -E2BIG) {
				mutex_lock(&kbits_lock);
				kbits_account_refused(current_euid());
				mutex_unlock(&kbits_lock);
			}
			goto out_free;
		}
		files[i] = f;
		f->flags = spec.flags;
		if (spec.flags & KBITS_FILE_EXPECT_SIZE)
			f->expected_size = spec.expected_size;
		if (spec.flags & KBITS_FILE_EXPECT_SHA256)
			memcpy(f->expected_sha256, spec.expected_sha256,
			       sizeof(f->expected_sha256));
	}

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(a.job_id, admin);
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = -EBUSY;
	if (job->state == KBITS_STATE_TRANSFERRED || job->complete_waiter)
		goto out_unlock;
	ret = -EMLINK;
	if (job->type != KBITS_JOB_DOWNLOAD && job->nr_files + a.count > 1)
		goto out_unlock;
	if (!admin && job->nr_files + a.count > kbits_max_files_per_job) {
		kbits_account_refused(current_euid());
		goto out_unlock;
	}
	ret = kbits_job_add_files(job, files, a.count);
	if (ret)
		goto out_unlock;
	kbits_account_add_files(job, a.count);
	kbits_job_touch(job);
	kbits_job_changed(job);
	kbits_event(job, KBITS_EVENT_MODIFIED);
	kbits_agent_queue(job, KBITS_WORK_CHANGED);
	mutex_unlock(&kbits_lock);
	kvfree(files);
	return 0;

out_unlock:
	mutex_unlock(&kbits_lock);
out_free:
	kbits_free_files(files, a.count);
	return ret;
}

/* Copies a kernel string out to a (buffer, capacity) pair; -ERANGE if short. */
static int kbits_string_out(u64 ubuf, u32 *ulen, const char *s, u32 len)
{
	u32 cap = *ulen;

	*ulen = len;
	if (len > cap)
		return -ERANGE;
	if (len && copy_to_user(u64_to_user_ptr(ubuf), s, len))
		return -EFAULT;
	return 0;
}

static long kbits_ioctl_get_file(struct file *file, void __user *argp)
{
	struct kbits_file_info fi;
	struct kbits_file *f;
	struct kbits_job *job;
	char *url = NULL, *path = NULL, *temp = NULL;
	struct kbits_file_range *ranges = NULL;
	u32 url_len = 0, path_len = 0, temp_len = 0, nr_ranges = 0, cap;
	int ret, r;

	ret = kbits_copy_struct_in(&fi, sizeof(fi), KBITS_FILE_INFO_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (fi.pad)
		return -EINVAL;
	cap = fi.nr_ranges;

	mutex_lock(&kbits_lock);
	f = kbits_lookup_file(file, fi.job_id, fi.index, &job);
	ret = PTR_ERR_OR_ZERO(f);
	if (ret)
		goto out_unlock;
	ret = -ENOMEM;
	url = kmemdup(f->url, f->url_len + 1, GFP_KERNEL);
	path = kmemdup(f->path, f->path_len + 1, GFP_KERNEL);
	if (f->temp_name)
		temp = kmemdup(f->temp_name, f->temp_name_len + 1, GFP_KERNEL);
	if (fi.ranges && f->nr_ranges && cap >= f->nr_ranges) {
		ranges = kvmalloc_array(f->nr_ranges, sizeof(*ranges), GFP_KERNEL);
		if (!ranges)
			goto out_unlock;
		memcpy(ranges, f->ranges, array_size(f->nr_ranges, sizeof(*ranges)));
	}
	if (!url || !path || (f->temp_name && !temp))
		goto out_unlock;
	url_len = f->url_len;
	path_len = f->path_len;
	temp_len = f->temp_name_len;
	/* A caller built before the digest fields sees only the flags it knows. */
	fi.file_flags = f->flags;
	if (fi.size < KBITS_FILE_INFO_SIZE_VER1)
		fi.file_flags &= KBITS_FILE_COMPLETED;
	fi.expected_size = f->expected_size;
	memcpy(fi.expected_sha256, f->expected_sha256, sizeof(fi.expected_sha256));
	memcpy(fi.sha256, f->sha256, sizeof(fi.sha256));
	fi.bytes_total = f->bytes_total;
	fi.bytes_transferred = f->bytes_transferred;
	nr_ranges = f->nr_ranges;
	ret = 0;
out_unlock:
	mutex_unlock(&kbits_lock);
	if (!ret) {
		r = kbits_string_out(fi.url, &fi.url_len, url, url_len);
		ret = r;
		r = kbits_string_out(fi.path, &fi.path_len, path, path_len);
		ret = ret ?: r;
		r = kbits_string_out(fi.temp_name, &fi.temp_name_len, temp, temp_len);
		ret = ret ?: r;
		/* Without a ranges buffer the caller only learns their number. */
		fi.nr_ranges = nr_ranges;
		if (!fi.ranges)
			r = 0;
		else if (nr_ranges > cap)
			r = -ERANGE;
		else if (nr_ranges && copy_to_user(u64_to_user_ptr(fi.ranges), ranges,
						   array_size(nr_ranges, sizeof(*ranges))))
			r = -EFAULT;
		else
			r = 0;
		ret = ret ?: r;
		if (ret != -EFAULT && kbits_copy_struct_out(argp, &fi, sizeof(fi)))
			ret = -EFAULT;
	}
	kfree(url);
	kfree(path);
	kfree(temp);
	kvfree(ranges);
	return ret;
}

/* The string and its length of a file string property, under kbits_lock. */
static const char *kbits_file_str(const struct kbits_file *f, u32 prop, u32 *len)
{
	if (prop == KBITS_FILE_STR_URL) {
		*len = f->url_len;
		return f->url;
	}
	if (prop == KBITS_FILE_STR_MIRRORS) {
		*len = f->mirrors_len;
		return f->mirrors;
	}
	*len = f->headers_len;
	return f->headers;
}

static long kbits_ioctl_get_file_string(struct file *file, void __user *argp)
{
	struct kbits_file_string fs;
	struct kbits_file *f;
	struct kbits_job *job;
	const char *src;
	char *value = NULL;
	u32 len = 0;
	int ret;

	ret = kbits_copy_struct_in(&fs, sizeof(fs), KBITS_FILE_STRING_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (fs.flags || fs.pad || fs.prop > KBITS_FILE_STR_MAX)
		return -EINVAL;

	mutex_lock(&kbits_lock);
	f = kbits_lookup_file(file, fs.job_id, fs.index, &job);
	ret = PTR_ERR_OR_ZERO(f);
	if (ret)
		goto out_unlock;
	src = kbits_file_str(f, fs.prop, &len);
	/* Copied under the lock, copied out after it: no user access under it. */
	if (len) {
		value = kmemdup(src, len, GFP_KERNEL);
		if (!value)
			ret = -ENOMEM;
	}
out_unlock:
	mutex_unlock(&kbits_lock);
	if (!ret) {
		ret = kbits_string_out(fs.value, &fs.value_len, value, len);
		if (ret != -EFAULT && kbits_copy_struct_out(argp, &fs, sizeof(fs)))
			ret = -EFAULT;
	}
	kfree(value);
	return ret;
}

/*
 * SetRemoteName and ReplaceRemotePrefix: download jobs only (BITS's
 * E_NOTIMPL), and only while no transfer can be using the old URL.
 */
static int kbits_may_rename(const struct kbits_job *job)
{
	if (job->type != KBITS_JOB_DOWNLOAD)
		return -EOPNOTSUPP;
	if (job->complete_waiter)
		return -EBUSY;
	switch (job->state) {
	case KBITS_STATE_QUEUED:
	case KBITS_STATE_SUSPENDED:
	case KBITS_STATE_ERROR:
	case KBITS_STATE_TRANSIENT_ERROR:
		return 0;
	}
	return -EBUSY;
}

/* A URL changed: a change the agent stores, and a reason to look again. */
static void kbits_job_renamed(struct kbits_job *job)
{
	kbits_job_touch(job);
	kbits_job_changed(job);
	kbits_event(job, KBITS_EVENT_MODIFIED);
	kbits_agent_queue(job, KBITS_WORK_CHANGED);
}

static long kbits_ioctl_set_file_string(struct file *file, void __user *argp)
{
	struct kbits_file_string fs;
	struct kbits_file *f;
	struct kbits_job *job;
	char *value;
	u32 max;
	int ret;

	ret = kbits_copy_struct_in(&fs, sizeof(fs), KBITS_FILE_STRING_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (fs.flags || fs.pad || fs.prop > KBITS_FILE_STR_MAX)
		return -EINVAL;
	/* What the server said comes from the agent only. */
	if (fs.prop == KBITS_FILE_STR_HTTP_RESPONSE_HEADERS && !kbits_file_is_agent(file))
		return -EACCES;
	if (fs.prop == KBITS_FILE_STR_URL)
		max = KBITS_URL_MAX;
	else if (fs.prop == KBITS_FILE_STR_MIRRORS)
		max = KBITS_MIRRORS_LEN_MAX;
	else
		max = KBITS_RESPONSE_HEADERS_MAX;
	value = kbits_strndup_user(fs.value, fs.value_len, max, false);
	if (IS_ERR(value))
		return PTR_ERR(value);
	if (fs.prop == KBITS_FILE_STR_URL) {
		ret = kbits_check_url(value, fs.value_len);
		if (ret)
			goto out_free;
	}
	/* Checked before the lock; empty clears. */
	if (fs.prop == KBITS_FILE_STR_MIRRORS && fs.value_len) {
		ret = kbits_check_mirrors(value, fs.value_len);
		if (ret)
			goto out_free;
	}

	mutex_lock(&kbits_lock);
	f = kbits_lookup_file(file, fs.job_id, fs.index, &job);
	ret = PTR_ERR_OR_ZERO(f);
	if (ret)
		goto out_unlock;
	if (fs.prop == KBITS_FILE_STR_HTTP_RESPONSE_HEADERS) {
		/* The agent stores them itself: no change for it to store again. */
		if (!fs.value_len) {
			kfree(value);
			value = NULL;
		}
		swap(f->headers, value);
		f->headers_len = fs.value_len;
		ret = 0;
		goto out_unlock;
	}
	ret = kbits_may_rename(job);
	if (ret)
		goto out_unlock;
	if (fs.prop == KBITS_FILE_STR_MIRRORS) {
		if (!fs.value_len) {
			kfree(value);
			value = NULL;
		}
		swap(f->mirrors, value);
		f->mirrors_len = fs.value_len;
	} else {
		swap(f->url, value);
		f->url_len = fs.value_len;
	}
	kbits_job_renamed(job);
out_unlock:
	mutex_unlock(&kbits_lock);
out_free:
	kfree(value);
	return ret;
}

static long kbits_ioctl_replace_prefix(struct file *file, void __user *argp)
{
	struct kbits_job_replace_prefix rp;
	char *old = NULL, *new = NULL, **urls = NULL;
	struct kbits_file *f;
	struct kbits_job *job;
	u32 i, n = 0, len;
	int ret;

	ret = kbits_copy_struct_in(&rp, sizeof(rp), KBITS_REPLACE_PREFIX_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (rp.flags || rp.pad || rp.count || !rp.old_len || !rp.new_len)
		return -EINVAL;
	old = kbits_strndup_user(rp.old_prefix, rp.old_len, KBITS_URL_MAX, false);
	if (IS_ERR(old))
		return PTR_ERR(old);
	new = kbits_strndup_user(rp.new_prefix, rp.new_len, KBITS_URL_MAX, false);
	if (IS_ERR(new)) {
		ret = PTR_ERR(new);
		new = NULL;
		goto out_free;
	}

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(rp.job_id, kbits_caller_admin(file));
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = kbits_may_rename(job);
	if (ret || !job->nr_files)
		goto out_unlock;
	ret = -ENOMEM;
	urls = kvcalloc(job->nr_files, sizeof(*urls), GFP_KERNEL);
	if (!urls)
		goto out_unlock;
	/* Every new URL is built and checked before any file changes. */
	for (i = 0; i < job->nr_files; i++) {
		f = job->files[i];
		if (f->url_len < rp.old_len || memcmp(f->url, old, rp.old_len))
			continue;
		len = f->url_len - rp.old_len + rp.new_len;
		ret = -EINVAL;
		if (len > KBITS_URL_MAX)
			goto out_unlock;
		ret = -ENOMEM;
		urls[i] = kmalloc(len + 1, GFP_KERNEL_ACCOUNT);
		if (!urls[i])
			goto out_unlock;
		memcpy(urls[i], new, rp.new_len);
		memcpy(urls[i] + rp.new_len, f->url + rp.old_len, f->url_len - rp.old_len + 1);
		ret = kbits_check_url(urls[i], len);
		if (ret)
			goto out_unlock;
	}
	for (i = 0; i < job->nr_files; i++) {
		if (!urls[i])
			continue;
		f = job->files[i];
		f->url_len = f->url_len - rp.old_len + rp.new_len;
		swap(f->url, urls[i]);
		n++;
	}
	if (n)
		kbits_job_renamed(job);
	ret = 0;
out_unlock:
	if (urls) {
		for (i = 0; i < job->nr_files; i++)
			kfree(urls[i]);
		kvfree(urls);
	}
	mutex_unlock(&kbits_lock);
	if (!ret) {
		rp.count = n;
		ret = kbits_copy_struct_out(argp, &rp, sizeof(rp));
	}
out_free:
	kfree(old);
	kfree(new);
	return ret;
}

/* Resume, Suspend, Cancel and TakeOwnership share their argument. */
static long kbits_ioctl_job_action(struct file *file, unsigned int cmd, void __user *argp)
{
	struct kbits_job_ref r;
	struct kbits_job *job;
	bool admin;
	int ret = 0;

	if (copy_from_user(&r, argp, sizeof(r)))
		return -EFAULT;
	if (r.flags || r.pad)
		return -EINVAL;
	admin = kbits_caller_admin(file);

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(r.job_id, admin);
	if (!job) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (job->complete_waiter && cmd != KBITS_IOC_JOB_TAKE_OWNERSHIP) {
		ret = -EBUSY;
		goto out_unlock;
	}

	switch (cmd) {
	case KBITS_IOC_JOB_RESUME:
		if (job->state == KBITS_STATE_TRANSFERRED) {
			ret = -EBUSY;
			break;
		}
		if (!job->nr_files) {
			ret = -ENODATA;
			break;
		}
		/* From TRANSIENT_ERROR too: BITS retries at once on a Resume. */
		if (job->state == KBITS_STATE_SUSPENDED || job->state == KBITS_STATE_ERROR ||
		    job->state == KBITS_STATE_TRANSIENT_ERROR) {
			kbits_job_set_state(job, KBITS_STATE_QUEUED);
			/* The RUN item makes the agent fetch and store it. */
			kbits_job_changed(job);
			kbits_agent_run(job);
		}
		break;
	case KBITS_IOC_JOB_SUSPEND:
		if (job->state == KBITS_STATE_SUSPENDED)
			break;
		kbits_job_set_state(job, KBITS_STATE_SUSPENDED);
		kbits_agent_stop(job);
		/* STOP only stops the transfer: the store learns the state from CHANGED. */
		kbits_job_changed(job);
		kbits_agent_queue(job, KBITS_WORK_CHANGED);
		break;
	case KBITS_IOC_JOB_CANCEL:
		/* First, so that a refused cancel (-EAGAIN) changes nothing. */
		ret = kbits_agent_queue_cancel(job, admin);
		if (ret)
			break;
		kbits_job_set_state(job, KBITS_STATE_CANCELLED);
		kbits_event(job, KBITS_EVENT_CANCELLED);
		job->agent_holds = false;
		kbits_unregister(job);
		break;
	case KBITS_IOC_JOB_TAKE_OWNERSHIP:
		if (uid_eq(job->owner, current_euid()))
			break;
		ret = kbits_account_transfer(job, current_euid());
		if (ret)
			break;
		job->owner_gid = current_egid();
		kbits_job_touch(job);
		kbits_job_changed(job);
		kbits_event(job, KBITS_EVENT_OWNERSHIP);
		kbits_agent_queue(job, KBITS_WORK_CHANGED);
		break;
	}
out_unlock:
	mutex_unlock(&kbits_lock);
	return ret;
}

static long kbits_ioctl_complete(struct file *file, void __user *argp)
{
	struct kbits_job_complete c;
	struct kbits_waiter *w;
	struct kbits_job *job;
	long left;
	int ret;

	if (copy_from_user(&c, argp, sizeof(c)))
		return -EFAULT;
	if (c.flags || c.result || c.files_done || c.error)
		return -EINVAL;
	w = kbits_waiter_new();
	if (!w)
		return -ENOMEM;

	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(c.job_id, kbits_caller_admin(file));
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = -ENOTCONN;
	if (!kbits_agent_attached())
		goto out_unlock;
	ret = -EBUSY;
	if (job->complete_waiter)
		goto out_unlock;
	kref_get(&w->ref);
	job->complete_waiter = w;
	/*
	 * After an interrupted Complete the agent may still owe the outcome of
	 * its COMPLETE item: this call waits for that one rather than queue
	 * another, so interrupted calls cannot pile items up.
	 */
	if (!job->complete_queued) {
		/* An item lost for want of memory would leave this call waiting for nothing. */
		ret = kbits_agent_queue(job, KBITS_WORK_COMPLETE);
		if (ret) {
			job->complete_waiter = NULL;
			kbits_waiter_put(w);	/* the job's reference */
			goto out_unlock;
		}
		job->complete_queued = true;
		job->agent_holds = false;
	}
	kbits_job_get(job);
	mutex_unlock(&kbits_lock);

	left = wait_for_completion_interruptible_timeout(&w->done, KBITS_COMPLETE_TIMEOUT);
	mutex_lock(&kbits_lock);
	/* Answered under the lock: final here, whatever left says. */
	if (w->answered) {
		ret = w->err;
		c.result = w->out.result;
		c.files_done = w->out.files_done;
		c.error = w->out.error;
	} else {
		/* The agent may still answer; its outcome then applies unseen. */
		job->complete_waiter = NULL;
		kbits_waiter_put(w);	/* the job's reference */
		ret = left ? -EINTR : -ETIMEDOUT;
	}
	mutex_unlock(&kbits_lock);
	kbits_job_put(job);
	kbits_waiter_put(w);
	if (!ret && copy_to_user(argp, &c, sizeof(c)))
		ret = -EFAULT;
	return ret;

out_unlock:
	mutex_unlock(&kbits_lock);
	kbits_waiter_put(w);
	return ret;
}

/* What ends a wait for durability; re-checked under kbits_lock. */
static bool kbits_durable_wait_over(const struct kbits_job *job, u32 gen)
{
	return READ_ONCE(job->durable) || !READ_ONCE(job->registered) ||
	       kbits_agent_generation() != gen;
}

static long kbits_ioctl_wait_durable(struct file *file, void __user *argp)
{
	struct kbits_job_wait_durable w;
	struct kbits_job *job;
	long left;
	u32 gen;
	int ret;

	ret = kbits_copy_struct_in(&w, sizeof(w), sizeof(w), argp);
	if (ret)
		return ret;
	if (w.flags || w.pad)
		return -EINVAL;

	/* Permission is judged here, once: the job is held from now on. */
	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(w.job_id, kbits_caller_admin(file));
	if (!job) {
		mutex_unlock(&kbits_lock);
		return -ENOENT;
	}
	if (job->durable) {
		mutex_unlock(&kbits_lock);
		return 0;
	}
	if (!kbits_agent_attached()) {
		mutex_unlock(&kbits_lock);
		return -ENOTCONN;
	}
	gen = kbits_agent_generation();
	kbits_job_get(job);
	mutex_unlock(&kbits_lock);

	left = msecs_to_jiffies(w.timeout_ms);
	for (;;) {
		left = wait_event_interruptible_timeout(kbits_durable_wq,
							kbits_durable_wait_over(job, gen),
							left);
		mutex_lock(&kbits_lock);
		if (!job->registered)
			ret = -ENOENT;
		else if (job->durable)
			ret = 0;
		else if (kbits_agent_generation() != gen)
			ret = -ENOTCONN;
		else if (left < 0)
			ret = -EINTR;
		else if (!left)
			ret = -ETIMEDOUT;
		else
			ret = 1;	/* woken for another job's sake */
		mutex_unlock(&kbits_lock);
		if (ret <= 0)
			break;
	}
	kbits_job_put(job);
	return ret;
}

static long kbits_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KBITS_IOC_VERSION:
		return kbits_ioctl_version(argp);
	case KBITS_IOC_JOB_GET_STRING:
		return kbits_ioctl_get_string(file, argp);
	case KBITS_IOC_JOB_SET_STRING:
		return kbits_ioctl_set_string(file, argp);
	case KBITS_IOC_JOB_RESUME:
	case KBITS_IOC_JOB_SUSPEND:
	case KBITS_IOC_JOB_CANCEL:
	case KBITS_IOC_JOB_TAKE_OWNERSHIP:
		return kbits_ioctl_job_action(file, cmd, argp);
	case KBITS_IOC_JOB_COMPLETE:
		return kbits_ioctl_complete(file, argp);
	case KBITS_IOC_AGENT_ATTACH:
	case KBITS_IOC_AGENT_OUTCOME:
		return kbits_agent_ioctl(file, cmd, argp);
	}

	switch (KBITS_IOC_BASE(cmd)) {
	case KBITS_IOC_BASE(KBITS_IOC_JOB_CREATE):
		return kbits_ioctl_create(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_ENUM):
		return kbits_ioctl_enum(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_GET_INFO):
		return kbits_ioctl_get_info(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_SET):
		return kbits_ioctl_set(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_ADD_FILES):
		return kbits_ioctl_add_files(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_GET_FILE):
		return kbits_ioctl_get_file(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_AGENT_REPORT):
		return kbits_agent_ioctl(file, KBITS_IOC_AGENT_REPORT, argp);
	case KBITS_IOC_BASE(KBITS_IOC_AGENT_RESTORE):
		return kbits_agent_ioctl(file, KBITS_IOC_AGENT_RESTORE, argp);
	case KBITS_IOC_BASE(KBITS_IOC_AGENT_STORED):
		return kbits_agent_ioctl(file, KBITS_IOC_AGENT_STORED, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_WAIT_DURABLE):
		return kbits_ioctl_wait_durable(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_GET_FILE_STRING):
		return kbits_ioctl_get_file_string(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_SET_FILE_STRING):
		return kbits_ioctl_set_file_string(file, argp);
	case KBITS_IOC_BASE(KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX):
		return kbits_ioctl_replace_prefix(file, argp);
	}
	return -ENOTTY;
}

static ssize_t kbits_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	return kbits_agent_read(file, buf, count);
}

/* misc_open() points private_data at the miscdevice; ours marks the agent. */
static int kbits_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return 0;
}

static int kbits_release(struct inode *inode, struct file *file)
{
	kbits_agent_release(file);
	return 0;
}

static const struct file_operations kbits_fops = {
	.owner = THIS_MODULE,
	.open = kbits_open,
	.unlocked_ioctl = kbits_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = kbits_read,
	.poll = kbits_agent_poll,
	.release = kbits_release,
	.llseek = noop_llseek,
};

/* Access control is per job, so everybody may open the device. */
static struct miscdevice kbits_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBITS_DEVICE_NAME,
	.fops = &kbits_fops,
	.mode = 0666,
};

int kbits_chardev_init(void)
{
	return misc_register(&kbits_misc);
}

void kbits_chardev_exit(void)
{
	misc_deregister(&kbits_misc);
}
