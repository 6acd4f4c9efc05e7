// SPDX-License-Identifier: GPL-2.0
/*
 * The job registry: lookup by GUID, enumeration by cursor, who may see
 * what, and the limits (runtime-writable module parameters).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/xarray.h>

#include "kbits.h"

/* Guards the registry, every job, the accounts and the agent channel. */
DEFINE_MUTEX(kbits_lock);

/* 2^14 buckets keep chains short up to ~100,000 jobs. */
static DEFINE_HASHTABLE(kbits_jobs_by_id, 14);
/* Enumeration order and cursor: the index a job got at registration. */
static DEFINE_XARRAY_ALLOC1(kbits_jobs);
static u32 kbits_nr_jobs;
static u32 kbits_next_index;

/*
 * Changed by every change: marks netlink dumps that raced with one. Never 0,
 * which netlink reads as "no check"; every single change gives a new value.
 */
u32 kbits_registry_gen = 1;

void kbits_registry_changed(void)
{
	lockdep_assert_held(&kbits_lock);
	if (!++kbits_registry_gen)
		kbits_registry_gen = 1;
}

unsigned int kbits_max_jobs_total = 300;
unsigned int kbits_max_jobs_per_user = 60;
unsigned int kbits_max_files_per_job = 200;
unsigned int kbits_max_ranges_per_file = 500;

static int kbits_param_set_limit(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 1000000);
}

static const struct kernel_param_ops kbits_limit_ops = {
	.set = kbits_param_set_limit,
	.get = param_get_uint,
};

module_param_cb(max_jobs_total, &kbits_limit_ops, &kbits_max_jobs_total, 0644);
MODULE_PARM_DESC(max_jobs_total, "Jobs in the registry, all users (default 300; 1..1000000)");
module_param_cb(max_jobs_per_user, &kbits_limit_ops, &kbits_max_jobs_per_user, 0644);
MODULE_PARM_DESC(max_jobs_per_user, "Jobs per user (default 60; 1..1000000)");
module_param_cb(max_files_per_job, &kbits_limit_ops, &kbits_max_files_per_job, 0644);
MODULE_PARM_DESC(max_files_per_job, "Files per job (default 200; 1..1000000)");
module_param_cb(max_ranges_per_file, &kbits_limit_ops, &kbits_max_ranges_per_file, 0644);
MODULE_PARM_DESC(max_ranges_per_file, "Ranges per file (default 500; 1..1000000)");

/* Administrators: CAP_SYS_ADMIN in the initial user namespace. */
bool kbits_is_admin(void)
{
	return capable(CAP_SYS_ADMIN);
}

bool kbits_may_see(const struct kbits_job *job, bool admin)
{
	return admin || uid_eq(job->owner, current_euid());
}

static u32 kbits_id_hash(const u8 id[16])
{
	u32 h;

	memcpy(&h, id, sizeof(h));
	return h;
}

struct kbits_job *kbits_lookup(const u8 id[16])
{
	struct kbits_job *job;

	lockdep_assert_held(&kbits_lock);
	hash_for_each_possible(kbits_jobs_by_id, job, by_id, kbits_id_hash(id))
		if (!memcmp(job->id, id, 16))
			return job;
	return NULL;
}

/* Another user's job does not exist for the caller. */
struct kbits_job *kbits_lookup_visible(const u8 id[16], bool admin)
{
	struct kbits_job *job = kbits_lookup(id);

	return job && kbits_may_see(job, admin) ? job : NULL;
}

/*
 * The next job @uid (or an administrator) may see at or after *cursor;
 * moves the cursor past it. For callers that judged the requester earlier
 * than now, in another context (netlink dumps).
 */
struct kbits_job *kbits_next_visible_to(unsigned long *cursor, kuid_t uid, bool admin)
{
	struct kbits_job *job;
	unsigned long index;

	lockdep_assert_held(&kbits_lock);
	xa_for_each_start(&kbits_jobs, index, job, *cursor) {
		if (admin || uid_eq(job->owner, uid)) {
			*cursor = index + 1;
			return job;
		}
	}
	*cursor = ULONG_MAX;
	return NULL;
}

/* The next job the caller may see at or after *cursor; moves the cursor past it. */
struct kbits_job *kbits_next_visible(unsigned long *cursor, bool admin)
{
	return kbits_next_visible_to(cursor, current_euid(), admin);
}

/* Enters a new job, enforcing the limits for non-administrators. */
int kbits_register(struct kbits_job *job, bool admin)
{
	struct xa_limit limit = XA_LIMIT(1, U32_MAX);
	int ret;

	lockdep_assert_held(&kbits_lock);
	if (kbits_lookup(job->id))
		return -EEXIST;
	if (!admin && kbits_nr_jobs >= kbits_max_jobs_total) {
		kbits_account_refused(job->owner);
		return -EUSERS;
	}
	ret = kbits_account_may_add_job(job->owner, admin);
	if (ret)
		return ret;
	ret = xa_alloc_cyclic(&kbits_jobs, &job->index, job, limit,
			      &kbits_next_index, GFP_KERNEL_ACCOUNT);
	if (ret < 0)
		return ret;
	hash_add(kbits_jobs_by_id, &job->by_id, kbits_id_hash(job->id));
	kbits_job_get(job);
	job->registered = true;
	kbits_nr_jobs++;
	kbits_account_add_job(job);
	kbits_registry_changed();
	return 0;
}

/* A final job leaves the registry; the registry's reference goes with it. */
void kbits_unregister(struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	if (!job->registered)
		return;
	job->registered = false;
	kbits_agent_forget(job);
	hash_del(&job->by_id);
	xa_erase(&kbits_jobs, job->index);
	kbits_nr_jobs--;
	kbits_account_remove_job(job);
	kbits_registry_changed();
	/* A client waiting for the job's durability learns that it is gone. */
	wake_up_all(&kbits_durable_wq);
	kbits_job_put(job);
}

void kbits_registry_exit(void)
{
	struct kbits_job *job;
	unsigned long index;

	mutex_lock(&kbits_lock);
	xa_for_each(&kbits_jobs, index, job)
		kbits_unregister(job);
	mutex_unlock(&kbits_lock);
	xa_destroy(&kbits_jobs);
}
