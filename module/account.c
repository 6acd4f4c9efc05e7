// SPDX-License-Identifier: GPL-2.0
/*
 * Per-UID accounts: jobs and files now, bytes and limit refusals ever.
 * Keyed by the uid in the initial user namespace; kept until unload so
 * that the byte counts survive a user's last job. Runs under kbits_lock.
 *
 * Only the helpers here change a counter. Their invariant: an account's
 * jobs and files are those of the registered jobs its uid owns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/xarray.h>

#include "kbits.h"

static DEFINE_XARRAY(kbits_accounts);

struct kbits_account *kbits_account_find(u32 uid)
{
	return xa_load(&kbits_accounts, uid);
}

/* The account of uid, created on first use. */
struct kbits_account *kbits_account_get(kuid_t kuid)
{
	u32 uid = from_kuid(&init_user_ns, kuid);
	struct kbits_account *acct;

	lockdep_assert_held(&kbits_lock);
	acct = xa_load(&kbits_accounts, uid);
	if (acct)
		return acct;
	acct = kzalloc(sizeof(*acct), GFP_KERNEL_ACCOUNT);
	if (!acct)
		return NULL;
	acct->uid = uid;
	if (xa_err(xa_store(&kbits_accounts, uid, acct, GFP_KERNEL_ACCOUNT))) {
		kfree(acct);
		return NULL;
	}
	kbits_obj_new();
	return acct;
}

struct kbits_account *kbits_account_next(unsigned long *cursor)
{
	struct kbits_account *acct;

	lockdep_assert_held(&kbits_lock);
	if (*cursor == ULONG_MAX)
		return NULL;
	acct = xa_find(&kbits_accounts, cursor, ULONG_MAX, XA_PRESENT);
	if (acct)
		(*cursor)++;
	else
		*cursor = ULONG_MAX;
	return acct;
}

static struct kbits_account *kbits_account_of(const struct kbits_job *job)
{
	lockdep_assert_held(&kbits_lock);
	return kbits_account_find(from_kuid(&init_user_ns, job->owner));
}

void kbits_account_refused(kuid_t uid)
{
	struct kbits_account *acct = kbits_account_get(uid);

	if (acct)
		acct->refusals++;
}

/* -EDQUOT (a refusal) when a non-administrator's owner is at max_jobs_per_user. */
int kbits_account_may_add_job(kuid_t owner, bool admin)
{
	struct kbits_account *acct = kbits_account_get(owner);

	if (!acct)
		return -ENOMEM;
	if (!admin && acct->jobs >= READ_ONCE(kbits_max_jobs_per_user)) {
		acct->refusals++;
		return -EDQUOT;
	}
	return 0;
}

/* The job entered the registry (its account exists: may_add_job made it). */
void kbits_account_add_job(const struct kbits_job *job)
{
	struct kbits_account *acct = kbits_account_of(job);

	if (WARN_ON_ONCE(!acct))
		return;
	acct->jobs++;
	acct->files += job->nr_files;
}

void kbits_account_remove_job(const struct kbits_job *job)
{
	struct kbits_account *acct = kbits_account_of(job);

	if (WARN_ON_ONCE(!acct || !acct->jobs || acct->files < job->nr_files))
		return;
	acct->jobs--;
	acct->files -= job->nr_files;
}

/* count files were added to a registered job. */
void kbits_account_add_files(const struct kbits_job *job, u32 count)
{
	struct kbits_account *acct = kbits_account_of(job);

	if (!WARN_ON_ONCE(!acct))
		acct->files += count;
}

/* A registered job changes owner: its jobs and files follow it. */
int kbits_account_transfer(struct kbits_job *job, kuid_t to)
{
	struct kbits_account *dst = kbits_account_get(to);

	if (!dst)
		return -ENOMEM;
	kbits_account_remove_job(job);
	job->owner = to;
	dst->jobs++;
	dst->files += job->nr_files;
	return 0;
}

/* The agent reported progress from old to now bytes: count the increase. */
void kbits_account_bytes(const struct kbits_job *job, u64 old, u64 now, bool up)
{
	struct kbits_account *acct = kbits_account_of(job);

	if (!acct || now <= old)
		return;
	if (up)
		acct->bytes_up += now - old;
	else
		acct->bytes_down += now - old;
}

/*
 * A CANCEL item for a job of uid that left the registry, until the agent
 * reads it: a user may leave at most max_jobs_per_user of them unread, so
 * that create + cancel in a loop cannot grow the agent's queue. The caller
 * gets -EAGAIN beyond (counted as a refusal); administrators are exempt.
 */
struct kbits_account *kbits_account_hold_tombstone(kuid_t uid, bool admin)
{
	struct kbits_account *acct = kbits_account_get(uid);

	if (!acct)
		return ERR_PTR(-ENOMEM);
	if (!admin && acct->tombstones >= READ_ONCE(kbits_max_jobs_per_user)) {
		acct->refusals++;
		return ERR_PTR(-EAGAIN);
	}
	acct->tombstones++;
	return acct;
}

void kbits_account_drop_tombstone(struct kbits_account *acct)
{
	lockdep_assert_held(&kbits_lock);
	if (!WARN_ON_ONCE(!acct->tombstones))
		acct->tombstones--;
}

void kbits_accounts_exit(void)
{
	struct kbits_account *acct;
	unsigned long uid;

	xa_for_each(&kbits_accounts, uid, acct) {
		kfree(acct);
		kbits_obj_gone();
	}
	xa_destroy(&kbits_accounts);
}
