// SPDX-License-Identifier: GPL-2.0
/*
 * The job object: its lifetime, its properties and its state machine.
 * Everything here runs with kbits_lock held unless it says otherwise.
 *
 * What a user's call makes the kernel hold (jobs, files, strings, ranges,
 * file arrays) is charged to the caller's memory cgroup: kmem caches with
 * SLAB_ACCOUNT, everything else GFP_KERNEL_ACCOUNT.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>

#include "kbits.h"

static struct kmem_cache *kbits_job_cache;
static struct kmem_cache *kbits_file_cache;

int kbits_job_caches_init(void)
{
	kbits_job_cache = KMEM_CACHE(kbits_job, SLAB_ACCOUNT);
	kbits_file_cache = KMEM_CACHE(kbits_file, SLAB_ACCOUNT);
	if (!kbits_job_cache || !kbits_file_cache) {
		kbits_job_caches_exit();
		return -ENOMEM;
	}
	return 0;
}

void kbits_job_caches_exit(void)
{
	kmem_cache_destroy(kbits_file_cache);
	kmem_cache_destroy(kbits_job_cache);
	kbits_file_cache = NULL;
	kbits_job_cache = NULL;
}

struct kbits_job *kbits_job_alloc(u32 type, kuid_t owner, kgid_t gid)
{
	struct kbits_job *job;

	job = kmem_cache_zalloc(kbits_job_cache, GFP_KERNEL);
	if (!job)
		return NULL;
	kbits_obj_new();
	kref_init(&job->ref);
	INIT_HLIST_NODE(&job->by_id);
	generate_random_uuid(job->id);
	job->owner = owner;
	job->owner_gid = gid;
	job->type = type;
	job->state = KBITS_STATE_SUSPENDED;
	job->priority = KBITS_PRIORITY_NORMAL;
	job->min_retry_delay = KBITS_DEFAULT_MIN_RETRY_DELAY;
	job->no_progress_timeout = KBITS_DEFAULT_NO_PROGRESS_TIMEOUT;
	job->max_download_time = KBITS_DEFAULT_MAX_DOWNLOAD_TIME;
	job->notify_flags = KBITS_NOTIFY_JOB_TRANSFERRED | KBITS_NOTIFY_JOB_ERROR;
	job->proxy_usage = KBITS_PROXY_PRECONFIG;
	job->error_file = U32_MAX;
	job->creation_time = ktime_get_real_ns();
	job->modification_time = job->creation_time;
	/* Its creation is the first change the agent must store. */
	job->change_seq = 1;
	return job;
}

void kbits_file_free(struct kbits_file *f)
{
	if (!f)
		return;
	kfree(f->url);
	kfree(f->path);
	kfree(f->temp_name);
	kfree(f->headers);
	kfree(f->mirrors);
	kvfree(f->ranges);
	kmem_cache_free(kbits_file_cache, f);
	kbits_obj_gone();
}

static void kbits_job_release(struct kref *ref)
{
	struct kbits_job *job = container_of(ref, struct kbits_job, ref);
	unsigned int i;

	for (i = 0; i < job->nr_files; i++)
		kbits_file_free(job->files[i]);
	kvfree(job->files);
	for (i = 0; i <= KBITS_STR_MAX; i++)
		kfree_sensitive(job->strings[i]);
	kmem_cache_free(kbits_job_cache, job);
	kbits_obj_gone();
}

struct kbits_waiter *kbits_waiter_new(void)
{
	struct kbits_waiter *w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);

	if (!w)
		return NULL;
	kbits_obj_new();
	kref_init(&w->ref);
	init_completion(&w->done);
	return w;
}

static void kbits_waiter_release(struct kref *ref)
{
	kfree(container_of(ref, struct kbits_waiter, ref));
	kbits_obj_gone();
}

void kbits_waiter_put(struct kbits_waiter *w)
{
	kref_put(&w->ref, kbits_waiter_release);
}

/*
 * Answers the Complete that waits on the job, if one does: with the agent's
 * outcome (o), or with err alone. The job lets go of the waiter here, so a
 * later Complete gets a waiter of its own.
 */
void kbits_complete_answer(struct kbits_job *job, int err,
			   const struct kbits_agent_outcome *o)
{
	struct kbits_waiter *w = job->complete_waiter;

	lockdep_assert_held(&kbits_lock);
	if (!w)
		return;
	job->complete_waiter = NULL;
	w->answered = true;
	w->err = err;
	memcpy(w->out.job_id, job->id, sizeof(w->out.job_id));
	if (o) {
		w->out.result = o->result;
		w->out.files_done = o->files_done;
		w->out.error = o->error;
	}
	complete(&w->done);
	kbits_waiter_put(w);
}

void kbits_job_get(struct kbits_job *job)
{
	kref_get(&job->ref);
}

void kbits_job_put(struct kbits_job *job)
{
	kref_put(&job->ref, kbits_job_release);
}

bool kbits_state_final(u32 state)
{
	return state == KBITS_STATE_ACKNOWLEDGED || state == KBITS_STATE_CANCELLED;
}

bool kbits_state_runnable(u32 state)
{
	return state == KBITS_STATE_QUEUED || state == KBITS_STATE_CONNECTING ||
	       state == KBITS_STATE_TRANSFERRING ||
	       state == KBITS_STATE_TRANSIENT_ERROR;
}

void kbits_job_touch(struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	job->modification_time = ktime_get_real_ns();
}

/*
 * A change the agent must store: the job is not durable until the agent
 * has committed it and said so (KBITS_IOC_AGENT_STORED). The caller
 * queues the work item that makes the agent fetch the job.
 */
void kbits_job_changed(struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	job->change_seq++;
	WRITE_ONCE(job->durable, false);
}

#define KBITS_S(x)	BIT(KBITS_STATE_##x)
/* While the agent holds a job it moves among these, and may end it. */
#define KBITS_S_ACTIVE	(KBITS_S(QUEUED) | KBITS_S(CONNECTING) | KBITS_S(TRANSFERRING) | \
			 KBITS_S(TRANSIENT_ERROR) | KBITS_S(ERROR) | KBITS_S(TRANSFERRED))
/* Suspend, Cancel and a Complete's outcome, from any state not final. */
#define KBITS_S_CALLER	(KBITS_S(SUSPENDED) | KBITS_S(CANCELLED) | KBITS_S(ERROR) | \
			 KBITS_S(ACKNOWLEDGED))

/*
 * BITS's job state machine: the states that may follow each state. A
 * suspended or failed job runs again only through QUEUED (Resume); a
 * transferred job only ends (Complete, Cancel) or is suspended; the final
 * states have no successor.
 */
static const u16 kbits_next_states[] = {
	[KBITS_STATE_QUEUED]		= KBITS_S_ACTIVE | KBITS_S_CALLER,
	[KBITS_STATE_CONNECTING]	= KBITS_S_ACTIVE | KBITS_S_CALLER,
	[KBITS_STATE_TRANSFERRING]	= KBITS_S_ACTIVE | KBITS_S_CALLER,
	[KBITS_STATE_TRANSIENT_ERROR]	= KBITS_S_ACTIVE | KBITS_S_CALLER,
	[KBITS_STATE_SUSPENDED]		= KBITS_S(QUEUED) | KBITS_S_CALLER,
	[KBITS_STATE_ERROR]		= KBITS_S(QUEUED) | KBITS_S_CALLER,
	[KBITS_STATE_TRANSFERRED]	= KBITS_S_CALLER,
	[KBITS_STATE_ACKNOWLEDGED]	= 0,
	[KBITS_STATE_CANCELLED]		= 0,
};

/* May a job in state @from move to @to? Staying where it is always may. */
bool kbits_state_may_change(u32 from, u32 to)
{
	if (from >= ARRAY_SIZE(kbits_next_states) || to >= ARRAY_SIZE(kbits_next_states))
		return false;
	return from == to || (kbits_next_states[from] & BIT(to));
}

/*
 * Every state change goes through here, so that it is legal and monitors
 * hear of it. Callers check what a user or the agent asked for with
 * kbits_state_may_change() first: a refusal here is a bug in the module.
 */
void kbits_job_set_state(struct kbits_job *job, u32 state)
{
	lockdep_assert_held(&kbits_lock);
	if (job->state == state)
		return;
	if (WARN_ONCE(!kbits_state_may_change(job->state, state),
		      "kbits: job state %u cannot follow %u\n", state, job->state))
		return;
	job->state = state;
	if (state == KBITS_STATE_TRANSFERRED)
		job->transfer_completion_time = ktime_get_real_ns();
	kbits_job_touch(job);
	/* Dumps that raced with a state change are marked inconsistent. */
	kbits_registry_changed();
	kbits_event(job, KBITS_EVENT_STATE);
}

void kbits_job_recount(const struct kbits_job *job, u64 *total, u64 *done, u32 *files_done)
{
	u64 t = 0, d = 0;
	u32 n = 0, i;

	for (i = 0; i < job->nr_files; i++) {
		const struct kbits_file *f = job->files[i];

		if (t != KBITS_UNKNOWN)
			t = f->bytes_total == KBITS_UNKNOWN ? KBITS_UNKNOWN : t + f->bytes_total;
		d += f->bytes_transferred;
		if (f->flags & KBITS_FILE_COMPLETED)
			n++;
	}
	*total = t;
	*done = d;
	*files_done = n;
}

/*
 * Where each property of include/kbits_props.h sits in the job, in
 * GET_INFO's answer and in the agent's RESTORE, in the list's order. Copied
 * by offset, so that a new property is one line in that list.
 */
#define KBITS_PROP(f)	offsetof(struct kbits_job, f),
static const u16 kbits_prop_in_job[] = {
#include <kbits_props.h>
};

#define KBITS_PROP(f)	offsetof(struct kbits_job_info, f),
static const u16 kbits_prop_in_info[] = {
#include <kbits_props.h>
};

#define KBITS_PROP(f)	offsetof(struct kbits_agent_restore, f),
static const u16 kbits_prop_in_restore[] = {
#include <kbits_props.h>
};

/*
 * Each property's size: the same in the uapi structs, which
 * tests/host/props_test.c checks against this struct kbits_job.
 */
#define KBITS_PROP(f)	sizeof_field(struct kbits_job, f),
static const u8 kbits_prop_size[] = {
#include <kbits_props.h>
};

/* The properties of a job the agent restores, as kbitsd stored them. */
void kbits_job_restore_props(struct kbits_job *job, const struct kbits_agent_restore *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(kbits_prop_size); i++)
		memcpy((u8 *)job + kbits_prop_in_job[i],
		       (const u8 *)r + kbits_prop_in_restore[i], kbits_prop_size[i]);
}

void kbits_job_fill_info(const struct kbits_job *job, struct kbits_job_info *info,
			 struct user_namespace *ns)
{
	size_t i;

	lockdep_assert_held(&kbits_lock);
	memcpy(info->job_id, job->id, sizeof(info->job_id));
	info->type = job->type;
	info->state = job->state;
	info->owner_uid = from_kuid_munged(ns, job->owner);
	kbits_job_recount(job, &info->bytes_total,
			  &info->bytes_transferred, &info->files_transferred);
	info->files_total = job->nr_files;
	for (i = 0; i < ARRAY_SIZE(kbits_prop_size); i++)
		memcpy((u8 *)info + kbits_prop_in_info[i],
		       (const u8 *)job + kbits_prop_in_job[i], kbits_prop_size[i]);
	info->credentials_set = job->strings[KBITS_STR_CREDENTIALS] ? 1 : 0;
	info->proxy_credentials_set = job->strings[KBITS_STR_PROXY_CREDENTIALS] ? 1 : 0;
	info->pad5 = 0;
	info->pad6 = 0;
	info->reply_bytes_total = job->reply_bytes_total;
	info->reply_bytes_transferred = job->reply_bytes_transferred;
	info->owner_gid = from_kgid_munged(ns, job->owner_gid);
	info->pad3 = 0;
	info->pad4 = 0;
	info->status = job->durable ? KBITS_JOB_STATUS_DURABLE : 0;
	info->change_seq = job->change_seq;
	info->stored_seq = job->stored_seq;
}

/*
 * Takes ownership of value (kmalloc'd, or NULL for an empty string). Under
 * kbits_lock, or on a job nobody else can see yet (create, restore).
 */
int kbits_job_set_string(struct kbits_job *job, u32 prop, char *value, u32 len)
{
	if (prop > KBITS_STR_MAX) {
		kfree_sensitive(value);
		return -EINVAL;
	}
	if (!len) {
		kfree_sensitive(value);
		value = NULL;
	}
	kfree_sensitive(job->strings[prop]);
	job->strings[prop] = value;
	job->string_lens[prop] = len;
	return 0;
}

/*
 * Copy a string of len bytes from userspace into a new NUL-terminated
 * buffer. Embedded NULs are refused; so are relative paths.
 */
char *kbits_strndup_user(u64 uptr, u32 len, u32 max, bool path)
{
	char *s;

	if (len > max)
		return ERR_PTR(-EINVAL);
	s = kmalloc(len + 1, GFP_KERNEL_ACCOUNT);
	if (!s)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(s, u64_to_user_ptr(uptr), len)) {
		kfree(s);
		return ERR_PTR(-EFAULT);
	}
	s[len] = '\0';
	if (memchr(s, '\0', len) || (path && (len == 0 || s[0] != '/'))) {
		kfree(s);
		return ERR_PTR(-EINVAL);
	}
	return s;
}

/* Known bits only, and a redirect policy BITS defines (not 0x300..0x700). */
bool kbits_security_flags_valid(u32 flags)
{
	return !(flags & ~KBITS_SECURITY_ALL) &&
	       (flags & KBITS_SECURITY_REDIRECT_MASK) <= KBITS_SECURITY_REDIRECT_DISALLOW;
}

/* http:// or https:// followed by a host; no control characters. */
int kbits_check_url(const char *url, u32 len)
{
	u32 i, rest;

	if (len > 7 && !strncasecmp(url, "http://", 7))
		rest = 7;
	else if (len > 8 && !strncasecmp(url, "https://", 8))
		rest = 8;
	else
		return -EINVAL;
	if (url[rest] == '/')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return -EINVAL;
	return 0;
}

/*
 * A KBITS_FILE_STR_MIRRORS value: at most KBITS_MIRRORS_MAX URLs, each one
 * kbits_check_url() takes, separated by single "\n" (an empty line, a
 * leading or trailing "\n" is -EINVAL). The empty value (no mirrors) is
 * the caller's case. kbits_check_url() refuses "\n" inside a URL, so the
 * split is unambiguous.
 */
int kbits_check_mirrors(const char *s, u32 len)
{
	const char *end = s + len, *nl;
	u32 n = 0, ulen;
	int ret;

	while (s <= end) {
		nl = memchr(s, '\n', end - s);
		ulen = (nl ? nl : end) - s;
		if (++n > KBITS_MIRRORS_MAX || ulen > KBITS_URL_MAX)
			return -EINVAL;
		ret = kbits_check_url(s, ulen);
		if (ret)
			return ret;
		if (!nl)
			break;
		s = nl + 1;
	}
	return 0;
}

/* Appends count files; the job takes them over only if it returns 0. */
int kbits_job_add_files(struct kbits_job *job, struct kbits_file **files, u32 count)
{
	struct kbits_file **grown;
	u32 n = job->nr_files + count, cap;

	lockdep_assert_held(&kbits_lock);
	if (n > KBITS_HARD_MAX_FILES)
		return -EMLINK;
	if (n > job->files_cap) {
		/* Grow geometrically: many small AddFile calls stay linear. */
		cap = max3(n, 2 * job->files_cap, 8U);
		cap = min_t(u32, cap, KBITS_HARD_MAX_FILES);
		grown = kvmalloc_array(cap, sizeof(*grown), GFP_KERNEL_ACCOUNT);
		if (!grown)
			return -ENOMEM;
		if (job->nr_files)
			memcpy(grown, job->files, job->nr_files * sizeof(*grown));
		kvfree(job->files);
		job->files = grown;
		job->files_cap = cap;
	}
	memcpy(job->files + job->nr_files, files, count * sizeof(*files));
	job->nr_files = n;
	return 0;
}

/* Builds a file from its userspace description: URL, absolute path, ranges. */
struct kbits_file *kbits_file_from_user(u64 url, u32 url_len, u64 path, u32 path_len,
					u64 ranges, u32 nr_ranges, u32 max_ranges)
{
	struct kbits_file *f;
	u32 i;
	int ret;

	if (nr_ranges > max_ranges)
		return ERR_PTR(-E2BIG);
	f = kmem_cache_zalloc(kbits_file_cache, GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	kbits_obj_new();
	f->bytes_total = KBITS_UNKNOWN;
	f->url = kbits_strndup_user(url, url_len, KBITS_URL_MAX, false);
	if (IS_ERR(f->url)) {
		ret = PTR_ERR(f->url);
		f->url = NULL;
		goto out_free;
	}
	f->url_len = url_len;
	ret = kbits_check_url(f->url, url_len);
	if (ret)
		goto out_free;
	f->path = kbits_strndup_user(path, path_len, KBITS_PATH_MAX, true);
	if (IS_ERR(f->path)) {
		ret = PTR_ERR(f->path);
		f->path = NULL;
		goto out_free;
	}
	f->path_len = path_len;
	if (nr_ranges) {
		/* Not vmemdup_user(): its GFP_USER is not charged to the caller. */
		ret = -ENOMEM;
		f->ranges = kvmalloc_array(nr_ranges, sizeof(*f->ranges), GFP_KERNEL_ACCOUNT);
		if (!f->ranges)
			goto out_free;
		ret = -EFAULT;
		if (copy_from_user(f->ranges, u64_to_user_ptr(ranges),
				   array_size(nr_ranges, sizeof(*f->ranges))))
			goto out_free;
		f->nr_ranges = nr_ranges;
		ret = -EINVAL;
		for (i = 0; i < nr_ranges; i++) {
			const struct kbits_file_range *r = &f->ranges[i];

			if (!r->length)
				goto out_free;
			if (r->length != KBITS_UNKNOWN && r->offset + r->length < r->offset)
				goto out_free;
		}
	}
	return f;

out_free:
	kbits_file_free(f);
	return ERR_PTR(ret);
}
