// SPDX-License-Identifier: GPL-2.0
/*
 * The agent channel: kbitsd attaches on its own open file of /dev/kbits,
 * reads work items from it in order, and answers with ioctls on it. When
 * that file closes, every job the agent held goes back to QUEUED and is
 * handed again on the next attach.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "kbits.h"

/*
 * An unread work item. Items of a registered job hold a reference to it and
 * take the job's owner when they are read, not when they were queued: an
 * item updated in place must not name an earlier owner. A CANCEL item (a
 * tombstone: its job is gone) holds nothing of the job but its id and owner,
 * and is charged to the owner's account until it is read.
 */
struct kbits_work_item {
	struct list_head node;
	struct kbits_job *job;
	struct kbits_account *tomb_acct;
	struct kbits_work work;
};

struct kbits_agent {
	struct file *file;
	struct list_head items;		/* under kbits_lock */
	unsigned int nr_items;
	struct mutex read_mutex;	/* one reader at a time */
	u64 seq;			/* of the last item read */
	u64 lost;			/* items lost since then (out of memory) */
	wait_queue_head_t wait;
};

/* The attached agent, or NULL; under kbits_lock. */
static struct kbits_agent *kbits_agent;
static struct kmem_cache *kbits_work_cache;
/*
 * Bumped (under kbits_lock) on every attach and detach: a client waiting
 * for durability learns that the agent it counted on went away, even if
 * another attached since.
 */
static u32 kbits_agent_gen;
DECLARE_WAIT_QUEUE_HEAD(kbits_durable_wq);

int kbits_agent_init(void)
{
	kbits_work_cache = KMEM_CACHE(kbits_work_item, SLAB_ACCOUNT);
	return kbits_work_cache ? 0 : -ENOMEM;
}

void kbits_agent_exit(void)
{
	kmem_cache_destroy(kbits_work_cache);
}

bool kbits_agent_attached(void)
{
	lockdep_assert_held(&kbits_lock);
	return kbits_agent;
}

u32 kbits_agent_generation(void)
{
	return READ_ONCE(kbits_agent_gen);
}

/* file->private_data is only ever set on the agent's file. */
bool kbits_file_is_agent(const struct file *file)
{
	return READ_ONCE(file->private_data);
}

/* Forgets the job's claim on an item that is leaving the queue. */
static void kbits_work_detach(struct kbits_work_item *item)
{
	struct kbits_job *job = item->job;

	if (!job)
		return;
	if (job->pending_state == item)
		job->pending_state = NULL;
	if (job->pending_changed == item)
		job->pending_changed = NULL;
	if (job->pending_complete == item)
		job->pending_complete = NULL;
	item->job = NULL;
	kbits_job_put(job);
}

static void kbits_work_free(struct kbits_work_item *item)
{
	kbits_work_detach(item);
	if (item->tomb_acct)
		kbits_account_drop_tombstone(item->tomb_acct);
	kmem_cache_free(kbits_work_cache, item);
	kbits_obj_gone();
}

static struct kbits_work_item *kbits_work_new(struct kbits_job *job, u32 type)
{
	struct kbits_work_item *item;

	item = kmem_cache_zalloc(kbits_work_cache, GFP_KERNEL);
	if (!item)
		return NULL;
	kbits_obj_new();
	item->work.type = type;
	item->work.owner_uid = from_kuid(&init_user_ns, job->owner);
	item->work.owner_gid = from_kgid(&init_user_ns, job->owner_gid);
	memcpy(item->work.job_id, job->id, sizeof(item->work.job_id));
	return item;
}

static void kbits_work_add(struct kbits_agent *agent, struct kbits_work_item *item)
{
	list_add_tail(&item->node, &agent->items);
	agent->nr_items++;
	wake_up_interruptible(&agent->wait);
}

/* Drops an unread item of the job, if there is one. */
static void kbits_work_drop(struct kbits_agent *agent, struct kbits_work_item *item)
{
	if (!item)
		return;
	list_del(&item->node);
	agent->nr_items--;
	kbits_work_free(item);
}

/* RUN, STOP, CHANGED or COMPLETE for a registered job. */
int kbits_agent_queue(struct kbits_job *job, u32 type)
{
	struct kbits_agent *agent = kbits_agent;
	struct kbits_work_item *item, **pending;

	lockdep_assert_held(&kbits_lock);
	if (!agent)
		return 0;
	if (type == KBITS_WORK_RUN || type == KBITS_WORK_STOP)
		pending = &job->pending_state;
	else if (type == KBITS_WORK_CHANGED)
		pending = &job->pending_changed;
	else if (!WARN_ON_ONCE(type != KBITS_WORK_COMPLETE))
		pending = &job->pending_complete;
	else
		return -EINVAL;
	if (*pending) {
		/* The agent has not read the older item yet: the newer one wins. */
		(*pending)->work.type = type;
		return 0;
	}

	item = kbits_work_new(job, type);
	if (!item) {
		/*
		 * The agent sees the gap in the sequence numbers. A caller
		 * that waits for the agent's answer (Complete) must not wait
		 * for this item: it gets the error.
		 */
		pr_warn_ratelimited("work item lost: out of memory\n");
		agent->lost++;
		return -ENOMEM;
	}
	kbits_job_get(job);
	item->job = job;
	*pending = item;
	kbits_work_add(agent, item);
	return 0;
}

/*
 * The job is about to leave the registry by a Cancel: queue its CANCEL item
 * (the tombstone), charged to the owner. -EAGAIN when a non-administrator's
 * owner has max_jobs_per_user unread tombstones: the cancel is refused and
 * nothing changes, so nothing is lost; it works again once the agent reads.
 */
int kbits_agent_queue_cancel(struct kbits_job *job, bool admin)
{
	struct kbits_agent *agent = kbits_agent;
	struct kbits_work_item *item;
	struct kbits_account *acct;

	lockdep_assert_held(&kbits_lock);
	if (!agent)
		return 0;	/* the agent finds the job gone when it syncs */
	acct = kbits_account_hold_tombstone(job->owner, admin);
	if (IS_ERR(acct))
		return PTR_ERR(acct);
	item = kbits_work_new(job, KBITS_WORK_CANCEL);
	if (!item) {
		kbits_account_drop_tombstone(acct);
		return -ENOMEM;
	}
	item->tomb_acct = acct;
	kbits_work_add(agent, item);
	return 0;
}

/* A job leaving the registry takes its unread items with it. */
void kbits_agent_forget(struct kbits_job *job)
{
	struct kbits_agent *agent = kbits_agent;

	lockdep_assert_held(&kbits_lock);
	if (!agent)
		return;
	kbits_work_drop(agent, job->pending_state);
	kbits_work_drop(agent, job->pending_changed);
	kbits_work_drop(agent, job->pending_complete);
}

/* Hands a runnable job to the agent, when there is one. */
void kbits_agent_run(struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	if (!kbits_agent)
		return;
	job->agent_holds = true;
	kbits_agent_queue(job, KBITS_WORK_RUN);
}

void kbits_agent_stop(struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	if (!job->agent_holds)
		return;
	job->agent_holds = false;
	kbits_agent_queue(job, KBITS_WORK_STOP);
}

static int kbits_agent_attach(struct file *file)
{
	struct kbits_agent *agent;
	unsigned long cursor = 0;
	struct kbits_job *job;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	agent = kzalloc(sizeof(*agent), GFP_KERNEL);
	if (!agent)
		return -ENOMEM;
	INIT_LIST_HEAD(&agent->items);
	mutex_init(&agent->read_mutex);
	init_waitqueue_head(&agent->wait);
	agent->file = file;

	mutex_lock(&kbits_lock);
	if (kbits_agent) {
		mutex_unlock(&kbits_lock);
		kfree(agent);
		return -EBUSY;
	}
	kbits_agent = agent;
	WRITE_ONCE(kbits_agent_gen, kbits_agent_gen + 1);
	kbits_obj_new();
	WRITE_ONCE(file->private_data, agent);
	while ((job = kbits_next_visible(&cursor, true))) {
		if (kbits_state_runnable(job->state)) {
			kbits_job_set_state(job, KBITS_STATE_QUEUED);
			kbits_agent_run(job);
		}
		/* Changes made while no agent was there: store them now. */
		if (!job->durable)
			kbits_agent_queue(job, KBITS_WORK_CHANGED);
	}
	mutex_unlock(&kbits_lock);
	pr_info("agent attached (pid %d)\n", task_tgid_vnr(current));
	return 0;
}

void kbits_agent_release(struct file *file)
{
	struct kbits_agent *agent = file->private_data;
	struct kbits_work_item *item, *tmp;
	unsigned long cursor = 0;
	struct kbits_job *job;

	if (!agent)
		return;
	mutex_lock(&kbits_lock);
	while ((job = kbits_next_visible(&cursor, true))) {
		job->agent_holds = false;
		job->complete_queued = false;
		if (kbits_state_runnable(job->state))
			kbits_job_set_state(job, KBITS_STATE_QUEUED);
		kbits_complete_answer(job, -ENOTCONN, NULL);
	}
	list_for_each_entry_safe(item, tmp, &agent->items, node)
		kbits_work_free(item);
	kbits_agent = NULL;
	WRITE_ONCE(kbits_agent_gen, kbits_agent_gen + 1);
	mutex_unlock(&kbits_lock);
	/* Nobody will store the jobs now: their waiters get -ENOTCONN. */
	wake_up_all(&kbits_durable_wq);
	pr_info("agent detached\n");
	kfree(agent);
	kbits_obj_gone();
}

/*
 * Items are numbered as they are read, 1, 2, 3, ... per attach, so that
 * items dropped or merged before the agent saw them leave no gap; a gap
 * means items lost for want of memory (agent->lost). One reader at a time
 * (read_mutex) keeps the numbers in order.
 */
ssize_t kbits_agent_read(struct file *file, char __user *buf, size_t count)
{
	struct kbits_agent *agent = file->private_data;
	struct kbits_work_item *item, *tmp;
	LIST_HEAD(batch);
	size_t want, done = 0;
	u64 seq = 0, lost = 0;
	ssize_t ret;

	if (!agent)
		return -EPERM;
	if (count < sizeof(struct kbits_work))
		return -EINVAL;
	want = count / sizeof(struct kbits_work);
	if (mutex_lock_interruptible(&agent->read_mutex))
		return -ERESTARTSYS;

	for (;;) {
		mutex_lock(&kbits_lock);
		lost = agent->lost;
		seq = agent->seq + lost;
		list_for_each_entry_safe(item, tmp, &agent->items, node) {
			if (!want)
				break;
			list_move_tail(&item->node, &batch);
			item->work.seq = ++seq;
			/* The owner now, not when the item was queued or updated. */
			if (item->job) {
				item->work.owner_uid = from_kuid(&init_user_ns, item->job->owner);
				item->work.owner_gid = from_kgid(&init_user_ns,
								 item->job->owner_gid);
			}
			/* From here on a newer change needs an item of its own. */
			kbits_work_detach(item);
			agent->nr_items--;
			want--;
		}
		mutex_unlock(&kbits_lock);
		if (!list_empty(&batch))
			break;
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out_unlock;
		ret = wait_event_interruptible(agent->wait, READ_ONCE(agent->nr_items));
		if (ret)
			goto out_unlock;
	}

	list_for_each_entry(item, &batch, node) {
		if (copy_to_user(buf + done, &item->work, sizeof(item->work)))
			break;
		done += sizeof(item->work);
	}

	mutex_lock(&kbits_lock);
	want = done / sizeof(struct kbits_work);
	if (want) {
		agent->seq += lost + want;
		agent->lost -= lost;
	}
	list_for_each_entry_safe(item, tmp, &batch, node) {
		if (!want--)
			break;
		list_del(&item->node);
		kbits_work_free(item);
	}
	/* What could not be delivered goes back to the head, in order. */
	list_for_each_entry(item, &batch, node)
		agent->nr_items++;
	list_splice(&batch, &agent->items);
	mutex_unlock(&kbits_lock);
	ret = done ? done : -EFAULT;
out_unlock:
	mutex_unlock(&agent->read_mutex);
	return ret;
}

__poll_t kbits_agent_poll(struct file *file, struct poll_table_struct *wait)
{
	struct kbits_agent *agent = file->private_data;

	if (!agent)
		return EPOLLERR;
	poll_wait(file, &agent->wait, wait);
	return READ_ONCE(agent->nr_items) ? EPOLLIN | EPOLLRDNORM : 0;
}

static int kbits_agent_report(void __user *argp)
{
	struct kbits_agent_report r;
	struct kbits_file *f = NULL;
	char *desc = NULL, *temp = NULL, *url = NULL;
	struct kbits_job *job;
	int ret;

	ret = kbits_copy_struct_in(&r, sizeof(r), KBITS_AGENT_REPORT_SIZE_VER0, argp);
	if (ret)
		return ret;
	if (!r.what || (r.what & ~KBITS_REPORT_ALL) || r.pad)
		return -EINVAL;
	if ((r.what & KBITS_REPORT_DIGEST) &&
	    (r.size < KBITS_AGENT_REPORT_SIZE_VER1 || (r.digest_flags & ~KBITS_FILE_VERIFIED)))
		return -EINVAL;
	if ((r.what & KBITS_REPORT_URL) && (r.size < KBITS_AGENT_REPORT_SIZE_VER2 || r.pad2))
		return -EINVAL;
	if (r.what & KBITS_REPORT_STATE) {
		switch (r.state) {
		case KBITS_STATE_QUEUED:
		case KBITS_STATE_CONNECTING:
		case KBITS_STATE_TRANSFERRING:
		case KBITS_STATE_TRANSIENT_ERROR:
		case KBITS_STATE_ERROR:
		case KBITS_STATE_TRANSFERRED:
			break;
		default:
			return -EINVAL;
		}
	}
	if ((r.what & KBITS_REPORT_PROGRESS) && r.file_bytes_total != KBITS_UNKNOWN &&
	    r.file_bytes_transferred > r.file_bytes_total)
		return -EINVAL;
	if ((r.what & KBITS_REPORT_REPLY) && r.reply_bytes_total != KBITS_UNKNOWN &&
	    r.reply_bytes_transferred > r.reply_bytes_total)
		return -EINVAL;
	if (r.what & KBITS_REPORT_ERROR) {
		if (r.error_context > KBITS_ERROR_CONTEXT_REMOTE_APPLICATION)
			return -EINVAL;
		desc = kbits_strndup_user(r.error_desc, r.error_desc_len,
					  KBITS_ERROR_DESC_MAX, false);
		if (IS_ERR(desc))
			return PTR_ERR(desc);
	}
	if (r.what & KBITS_REPORT_TEMP_NAME) {
		temp = kbits_strndup_user(r.temp_name, r.temp_name_len, KBITS_PATH_MAX, false);
		if (IS_ERR(temp)) {
			ret = PTR_ERR(temp);
			temp = NULL;
			goto out_free;
		}
	}
	if (r.what & KBITS_REPORT_URL) {
		url = kbits_strndup_user(r.url, r.url_len, KBITS_URL_MAX, false);
		if (IS_ERR(url)) {
			ret = PTR_ERR(url);
			url = NULL;
			goto out_free;
		}
		ret = kbits_check_url(url, r.url_len);
		if (ret)
			goto out_free;
	}

	mutex_lock(&kbits_lock);
	job = kbits_lookup(r.job_id);
	ret = -ENOENT;
	if (!job)
		goto out_unlock;
	ret = -ENXIO;
	if (r.what & (KBITS_REPORT_PROGRESS | KBITS_REPORT_FILE_DONE | KBITS_REPORT_TEMP_NAME |
		      KBITS_REPORT_DIGEST | KBITS_REPORT_URL)) {
		if (r.file_index >= job->nr_files)
			goto out_unlock;
		f = job->files[r.file_index];
	}
	ret = 0;
	if (r.what & KBITS_REPORT_TEMP_NAME) {
		kfree(f->temp_name);
		f->temp_name = temp;
		f->temp_name_len = r.temp_name_len;
		temp = NULL;
	}
	/* The redirect policy ALLOW_REPORT: the file's URL becomes the final one. */
	if (r.what & KBITS_REPORT_URL) {
		kfree(f->url);
		f->url = url;
		f->url_len = r.url_len;
		url = NULL;
	}
	if (r.what & KBITS_REPORT_PROGRESS) {
		kbits_account_bytes(job, f->bytes_transferred, r.file_bytes_transferred,
				    job->type != KBITS_JOB_DOWNLOAD);
		f->bytes_total = r.file_bytes_total;
		f->bytes_transferred = r.file_bytes_transferred;
		job->modification_time = ktime_get_real_ns();
	}
	if (r.what & KBITS_REPORT_REPLY) {
		kbits_account_bytes(job, job->reply_bytes_transferred,
				    r.reply_bytes_transferred, false);
		job->reply_bytes_total = r.reply_bytes_total;
		job->reply_bytes_transferred = r.reply_bytes_transferred;
	}
	if (r.what & (KBITS_REPORT_PROGRESS | KBITS_REPORT_REPLY))
		kbits_event_progress(job);
	/* Before FILE_DONE: whoever hears FILE_TRANSFERRED can read the digest. */
	if (r.what & KBITS_REPORT_DIGEST) {
		memcpy(f->sha256, r.sha256, sizeof(f->sha256));
		f->flags &= ~KBITS_FILE_VERIFIED;
		f->flags |= KBITS_FILE_SHA256 | r.digest_flags;
	}
	if (r.what & KBITS_REPORT_FILE_DONE && !(f->flags & KBITS_FILE_COMPLETED)) {
		f->flags |= KBITS_FILE_COMPLETED;
		kbits_event_file(job, r.file_index);
	}
	if (r.what & KBITS_REPORT_ERROR) {
		job->error_count++;
		job->error_context = r.error_context;
		job->error_code = r.error_code;
		job->error_file = r.file_index < job->nr_files ? r.file_index : U32_MAX;
		kbits_job_set_string(job, KBITS_STR_ERROR_DESCRIPTION, desc, r.error_desc_len);
		desc = NULL;
		kbits_job_touch(job);
	}
	if (r.what & KBITS_REPORT_STATE) {
		if (!job->agent_holds) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		if (!kbits_state_may_change(job->state, r.state)) {
			ret = -EINVAL;
			goto out_unlock;
		}
		if (r.state == KBITS_STATE_ERROR || r.state == KBITS_STATE_TRANSFERRED)
			job->agent_holds = false;
		kbits_job_set_state(job, r.state);
		if (r.state == KBITS_STATE_ERROR)
			kbits_event(job, KBITS_EVENT_ERROR);
	}
out_unlock:
	mutex_unlock(&kbits_lock);
out_free:
	kfree(desc);
	kfree(temp);
	kfree(url);
	return ret;
}

static int kbits_agent_outcome(void __user *argp)
{
	struct kbits_agent_outcome o;
	struct kbits_job *job;
	int ret = 0;

	if (copy_from_user(&o, argp, sizeof(o)))
		return -EFAULT;
	if (o.work != KBITS_WORK_COMPLETE || o.result > KBITS_COMPLETE_FAILED ||
	    o.error > 0)
		return -EINVAL;

	mutex_lock(&kbits_lock);
	job = kbits_lookup(o.job_id);
	if (!job) {
		ret = -ENOENT;
		goto out_unlock;
	}
	/* Only a COMPLETE work item may end a job this way. */
	if (!job->complete_queued) {
		ret = -EPROTO;
		goto out_unlock;
	}
	job->complete_queued = false;
	kbits_complete_answer(job, 0, &o);
	if (o.result == KBITS_COMPLETE_FAILED) {
		kbits_job_set_state(job, KBITS_STATE_ERROR);
	} else {
		kbits_job_set_state(job, KBITS_STATE_ACKNOWLEDGED);
		kbits_event(job, KBITS_EVENT_ACKNOWLEDGED);
		kbits_unregister(job);
	}
out_unlock:
	mutex_unlock(&kbits_lock);
	return ret;
}

/*
 * KBITS_STR_* below KBITS_RESTORE_STRINGS travel in strings[], the later
 * ones in ext_strings[] (the first layout had room for nine).
 */
static int kbits_restore_strings(struct kbits_job *job, const struct kbits_agent_restore *r)
{
	u64 ptr;
	u32 i, len;
	char *s;

	for (i = 0; i < KBITS_RESTORE_STRINGS + KBITS_RESTORE_EXT_STRINGS; i++) {
		if (i < KBITS_RESTORE_STRINGS) {
			ptr = r->strings[i];
			len = r->string_lens[i];
		} else {
			ptr = r->ext_strings[i - KBITS_RESTORE_STRINGS];
			len = r->ext_string_lens[i - KBITS_RESTORE_STRINGS];
		}
		if (i > KBITS_STR_MAX && (ptr || len))
			return -EINVAL;
		if (!len)
			continue;
		s = kbits_strndup_user(ptr, len, kbits_string_limit(i),
				       kbits_string_is_path(i));
		if (IS_ERR(s))
			return PTR_ERR(s);
		if (i == KBITS_STR_PINNED_PUBKEY && !kbits_pin_valid(s, len)) {
			kfree(s);
			return -EINVAL;
		}
		kbits_job_set_string(job, i, s, len);
	}
	return 0;
}

static int kbits_restore_files(struct kbits_job *job, const struct kbits_agent_restore *r)
{
	struct kbits_restore_file rf;
	struct kbits_file *f;
	u32 i;
	int ret;

	if (!r->nr_files)
		return 0;
	job->files = kvcalloc(r->nr_files, sizeof(*job->files), GFP_KERNEL_ACCOUNT);
	if (!job->files)
		return -ENOMEM;
	job->files_cap = r->nr_files;
	for (i = 0; i < r->nr_files; i++) {
		ret = copy_struct_from_user(&rf, sizeof(rf),
					    u64_to_user_ptr(r->files + (u64)i * r->file_size),
					    r->file_size);
		if (ret)
			return ret;
		if ((rf.file_flags & ~KBITS_FILE_FLAGS_ALL) || rf.pad || rf.pad2 || rf.pad3 ||
		    (r->file_size < KBITS_RESTORE_FILE_SIZE_VER1 &&
		     (rf.file_flags & ~KBITS_FILE_COMPLETED)) ||
		    (rf.bytes_total != KBITS_UNKNOWN && rf.bytes_transferred > rf.bytes_total))
			return -EINVAL;
		f = kbits_file_from_user(rf.url, rf.url_len, rf.path, rf.path_len,
					 rf.ranges, rf.nr_ranges, KBITS_HARD_MAX_RANGES);
		if (IS_ERR(f))
			return PTR_ERR(f);
		job->files[job->nr_files++] = f;
		if (rf.temp_name_len) {
			f->temp_name = kbits_strndup_user(rf.temp_name, rf.temp_name_len,
							  KBITS_PATH_MAX, false);
			if (IS_ERR(f->temp_name)) {
				ret = PTR_ERR(f->temp_name);
				f->temp_name = NULL;
				return ret;
			}
			f->temp_name_len = rf.temp_name_len;
		}
		/* copy_struct_from_user() zeroed these for an older layout. */
		if (rf.response_headers_len) {
			f->headers = kbits_strndup_user(rf.response_headers,
							rf.response_headers_len,
							KBITS_RESPONSE_HEADERS_MAX, false);
			if (IS_ERR(f->headers)) {
				ret = PTR_ERR(f->headers);
				f->headers = NULL;
				return ret;
			}
			f->headers_len = rf.response_headers_len;
		}
		if (rf.mirrors_len) {
			/* Mirrors are for downloads (KBITS_FILE_STR_MIRRORS). */
			if (job->type != KBITS_JOB_DOWNLOAD)
				return -EINVAL;
			f->mirrors = kbits_strndup_user(rf.mirrors, rf.mirrors_len,
							KBITS_MIRRORS_LEN_MAX, false);
			if (IS_ERR(f->mirrors)) {
				ret = PTR_ERR(f->mirrors);
				f->mirrors = NULL;
				return ret;
			}
			f->mirrors_len = rf.mirrors_len;
			ret = kbits_check_mirrors(f->mirrors, f->mirrors_len);
			if (ret)
				return ret;
		}
		f->bytes_total = rf.bytes_total;
		f->bytes_transferred = rf.bytes_transferred;
		f->flags = rf.file_flags;
		f->expected_size = rf.expected_size;
		memcpy(f->expected_sha256, rf.expected_sha256, sizeof(f->expected_sha256));
		memcpy(f->sha256, rf.sha256, sizeof(f->sha256));
	}
	return 0;
}

static int kbits_agent_restore(void __user *argp)
{
	struct kbits_agent_restore r;
	struct kbits_job *job;
	kuid_t uid;
	kgid_t gid;
	int ret;

	/* A second line of defence: a leaked agent file alone cannot do this. */
	if (!kbits_is_admin())
		return -EPERM;
	ret = kbits_copy_struct_in(&r, sizeof(r), KBITS_AGENT_RESTORE_SIZE_VER0, argp);
	if (ret)
		return ret;
	uid = make_kuid(&init_user_ns, r.owner_uid);
	gid = make_kgid(&init_user_ns, r.owner_gid);
	if (r.flags || r.pad || !uid_valid(uid) || !gid_valid(gid) ||
	    r.type > KBITS_JOB_UPLOAD_REPLY || r.state > KBITS_STATE_TRANSFERRED ||
	    r.priority > KBITS_PRIORITY_LOW || (r.notify_flags & ~KBITS_NOTIFY_ALL) ||
	    r.proxy_usage > KBITS_PROXY_AUTODETECT || (r.job_flags & ~KBITS_JOB_F_ALL) ||
	    !kbits_security_flags_valid(r.security_flags) || r.pad2 ||
	    r.error_context > KBITS_ERROR_CONTEXT_REMOTE_APPLICATION ||
	    (r.server_auth_schemes & ~KBITS_AUTH_SCHEME_ALL) ||
	    (r.proxy_auth_schemes & ~KBITS_AUTH_SCHEME_ALL) ||
	    r.min_notify_interval_ms > KBITS_MAX_NOTIFY_INTERVAL_MS || r.pad3 ||
	    r.max_bandwidth > KBITS_MAX_BANDWIDTH ||
	    r.nr_files > KBITS_HARD_MAX_FILES ||
	    (r.type != KBITS_JOB_DOWNLOAD && r.nr_files > 1) ||
	    (r.nr_files && (r.file_size < KBITS_RESTORE_FILE_SIZE_VER0 ||
			    r.file_size > PAGE_SIZE)))
		return -EINVAL;

	job = kbits_job_alloc(r.type, uid, gid);
	if (!job)
		return -ENOMEM;
	memcpy(job->id, r.job_id, sizeof(job->id));
	/* It comes from the store: stored as it is. */
	job->stored_seq = job->change_seq;
	job->durable = true;
	kbits_job_restore_props(job, &r);
	/* A job that was moving when the registry went away waits its turn again. */
	job->state = kbits_state_runnable(r.state) ? KBITS_STATE_QUEUED : r.state;
	ret = kbits_restore_strings(job, &r);
	if (ret)
		goto out_put;
	ret = kbits_restore_files(job, &r);
	if (ret)
		goto out_put;

	mutex_lock(&kbits_lock);
	ret = kbits_register(job, true);
	if (!ret) {
		kbits_event(job, KBITS_EVENT_CREATED);
		if (job->state == KBITS_STATE_QUEUED)
			kbits_agent_run(job);
	}
	mutex_unlock(&kbits_lock);
out_put:
	kbits_job_put(job);
	return ret;
}

/*
 * The agent committed its store: each job is stored as it was at its
 * change_seq. A job reaching its current change_seq becomes durable. The
 * entries are copied in and checked before kbits_lock is taken; a
 * change_seq the job never had fails the whole batch, applied nothing.
 */
static int kbits_agent_stored(void __user *argp)
{
	struct kbits_stored_job *ents;
	struct kbits_agent_stored s;
	struct kbits_job *job;
	bool woke = false;
	u32 i;
	int ret;

	ret = kbits_copy_struct_in(&s, sizeof(s), sizeof(s), argp);
	if (ret)
		return ret;
	if (s.flags || !s.count || s.count > KBITS_STORED_MAX ||
	    s.job_size < sizeof(*ents) || s.job_size > PAGE_SIZE)
		return -EINVAL;
	ents = kvmalloc_array(s.count, sizeof(*ents), GFP_KERNEL_ACCOUNT);
	if (!ents)
		return -ENOMEM;
	for (i = 0; i < s.count; i++) {
		ret = copy_struct_from_user(&ents[i], sizeof(*ents),
					    u64_to_user_ptr(s.jobs + (u64)i * s.job_size),
					    s.job_size);
		if (ret)
			goto out_free;
		if (!ents[i].change_seq) {
			ret = -EINVAL;
			goto out_free;
		}
	}

	mutex_lock(&kbits_lock);
	for (i = 0; i < s.count; i++) {
		job = kbits_lookup(ents[i].job_id);
		if (job && ents[i].change_seq > job->change_seq) {
			ret = -EINVAL;
			goto out_unlock;
		}
	}
	for (i = 0; i < s.count; i++) {
		job = kbits_lookup(ents[i].job_id);
		/* Gone meanwhile, or an older commit than one already told. */
		if (!job || ents[i].change_seq <= job->stored_seq)
			continue;
		job->stored_seq = ents[i].change_seq;
		if (job->stored_seq == job->change_seq) {
			WRITE_ONCE(job->durable, true);
			kbits_event(job, KBITS_EVENT_DURABLE);
			woke = true;
		}
	}
out_unlock:
	mutex_unlock(&kbits_lock);
	if (woke)
		wake_up_all(&kbits_durable_wq);
out_free:
	kvfree(ents);
	return ret;
}

long kbits_agent_ioctl(struct file *file, unsigned int cmd, void __user *argp)
{
	if (cmd == KBITS_IOC_AGENT_ATTACH)
		return kbits_agent_attach(file);
	if (!kbits_file_is_agent(file))
		return -EPERM;
	switch (cmd) {
	case KBITS_IOC_AGENT_REPORT:
		return kbits_agent_report(argp);
	case KBITS_IOC_AGENT_OUTCOME:
		return kbits_agent_outcome(argp);
	case KBITS_IOC_AGENT_RESTORE:
		return kbits_agent_restore(argp);
	case KBITS_IOC_AGENT_STORED:
		return kbits_agent_stored(argp);
	}
	return -ENOTTY;
}
