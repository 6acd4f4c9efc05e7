// SPDX-License-Identifier: GPL-2.0
/*
 * Per-UID accounts: jobs and files now, bytes and limit refusals ever.
 * Keyed by the uid in the initial user namespace; kept until unload so
 * that the byte counts survive a user's last job. Runs under kbits_lock.
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

void kbits_account_refused(kuid_t uid)
{
	struct kbits_account *acct = kbits_account_get(uid);

	if (acct)
		acct->refusals++;
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
