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
	acct = kzalloc(sizeof(*acct), GFP_KERNEL);
	if (!acct)
		return NULL;
	acct->uid = uid;
	if (xa_err(xa_store(&kbits_accounts, uid, acct, GFP_KERNEL))) {
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
