// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kbits": job and account queries (which apply
 * the job permissions) and the "events" multicast group. Events carry ids,
 * owner, type, priority, state, progress and error code; never names,
 * URLs or paths.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>

#include "kbits.h"

static struct genl_family kbits_genl_family;

static const struct nla_policy kbits_genl_policy[KBITS_A_MAX + 1] = {
	[KBITS_A_JOB_ID] = NLA_POLICY_EXACT_LEN(16),
	[KBITS_A_UID] = { .type = NLA_U32 },
};

static bool kbits_nl_admin(const struct sk_buff *skb)
{
	return netlink_capable(skb, CAP_SYS_ADMIN);
}

static int kbits_nl_put_job(struct sk_buff *msg, const struct kbits_job *job,
			    struct user_namespace *ns)
{
	u64 total, done;
	u32 files_done;

	kbits_job_recount(job, &total, &done, &files_done);
	if (nla_put(msg, KBITS_A_JOB_ID, sizeof(job->id), job->id) ||
	    nla_put_u32(msg, KBITS_A_OWNER_UID, from_kuid_munged(ns, job->owner)) ||
	    nla_put_u32(msg, KBITS_A_TYPE, job->type) ||
	    nla_put_u32(msg, KBITS_A_PRIORITY, job->priority) ||
	    nla_put_u32(msg, KBITS_A_STATE, job->state) ||
	    nla_put_u64_64bit(msg, KBITS_A_BYTES_TOTAL, total, KBITS_A_PAD) ||
	    nla_put_u64_64bit(msg, KBITS_A_BYTES_TRANSFERRED, done, KBITS_A_PAD) ||
	    nla_put_u32(msg, KBITS_A_FILES_TOTAL, job->nr_files) ||
	    nla_put_u32(msg, KBITS_A_FILES_TRANSFERRED, files_done) ||
	    nla_put_u32(msg, KBITS_A_ERROR_COUNT, job->error_count) ||
	    nla_put_s32(msg, KBITS_A_ERROR_CODE, job->error_code) ||
	    nla_put_u32(msg, KBITS_A_ERROR_CONTEXT, job->error_context))
		return -EMSGSIZE;
	return 0;
}

static int kbits_nl_get_version(struct sk_buff *skb, struct genl_info *info)
{
	struct kbits_version v;
	struct sk_buff *msg;
	void *hdr;

	kbits_fill_version(&v);
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kbits_genl_family, 0,
				KBITS_CMD_GET_VERSION);
	if (!hdr)
		goto out_free_msg;
	if (nla_put_u32(msg, KBITS_A_ABI_VERSION, v.abi_version) ||
	    nla_put_u64_64bit(msg, KBITS_A_FEATURES, v.features, KBITS_A_PAD) ||
	    nla_put(msg, KBITS_A_INSTANCE_ID, sizeof(v.instance_id),
		    v.instance_id))
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

static int kbits_nl_get_job(struct sk_buff *skb, struct genl_info *info)
{
	struct kbits_job *job;
	struct sk_buff *msg;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KBITS_A_JOB_ID))
		return -EINVAL;
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kbits_genl_family, 0, KBITS_CMD_GET_JOB);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto out_free_msg;
	}
	mutex_lock(&kbits_lock);
	job = kbits_lookup_visible(nla_data(info->attrs[KBITS_A_JOB_ID]),
				   kbits_nl_admin(skb));
	ret = job ? kbits_nl_put_job(msg, job, current_user_ns()) : -ENOENT;
	mutex_unlock(&kbits_lock);
	if (ret)
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: the registry cursor of the next job. */
static int kbits_nl_dump_jobs(struct sk_buff *skb, struct netlink_callback *cb)
{
	bool admin = kbits_nl_admin(cb->skb);
	unsigned long cursor = cb->args[0], before;
	struct kbits_job *job;
	void *hdr;

	if (cursor == ULONG_MAX)
		return 0;
	mutex_lock(&kbits_lock);
	cb->seq = kbits_registry_gen;
	for (;;) {
		before = cursor;
		job = kbits_next_visible(&cursor, admin);
		if (!job)
			break;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &kbits_genl_family, NLM_F_MULTI, KBITS_CMD_GET_JOB);
		if (!hdr) {
			cursor = before;
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		if (kbits_nl_put_job(skb, job, current_user_ns())) {
			genlmsg_cancel(skb, hdr);
			cursor = before;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&kbits_lock);
	cb->args[0] = cursor;
	return skb->len;
}

static int kbits_nl_put_account(struct sk_buff *msg, const struct kbits_account *acct)
{
	kuid_t uid = make_kuid(&init_user_ns, acct->uid);

	if (nla_put_u32(msg, KBITS_A_UID, from_kuid_munged(current_user_ns(), uid)) ||
	    nla_put_u32(msg, KBITS_A_ACCT_JOBS, acct->jobs) ||
	    nla_put_u32(msg, KBITS_A_ACCT_FILES, acct->files) ||
	    nla_put_u64_64bit(msg, KBITS_A_ACCT_BYTES_DOWN, acct->bytes_down, KBITS_A_PAD) ||
	    nla_put_u64_64bit(msg, KBITS_A_ACCT_BYTES_UP, acct->bytes_up, KBITS_A_PAD) ||
	    nla_put_u64_64bit(msg, KBITS_A_ACCT_REFUSALS, acct->refusals, KBITS_A_PAD))
		return -EMSGSIZE;
	return 0;
}

/* The caller's own account, or with KBITS_A_UID (administrators) anyone's. */
static int kbits_nl_get_account(struct sk_buff *skb, struct genl_info *info)
{
	u32 own = from_kuid(&init_user_ns, current_euid());
	struct kbits_account zero = { 0 }, *acct;
	struct sk_buff *msg;
	kuid_t kuid;
	u32 uid = own;
	void *hdr;
	int ret;

	if (info->attrs[KBITS_A_UID]) {
		kuid = make_kuid(current_user_ns(), nla_get_u32(info->attrs[KBITS_A_UID]));
		if (!uid_valid(kuid))
			return -EINVAL;
		uid = from_kuid(&init_user_ns, kuid);
		if (uid != own && !kbits_nl_admin(skb))
			return -ENOENT;
	}
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kbits_genl_family, 0, KBITS_CMD_GET_ACCOUNT);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto out_free_msg;
	}
	mutex_lock(&kbits_lock);
	acct = kbits_account_find(uid);
	if (!acct) {
		zero.uid = uid;
		acct = &zero;
	}
	ret = kbits_nl_put_account(msg, acct);
	mutex_unlock(&kbits_lock);
	if (ret)
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: the next uid to look at; users see their own account only. */
static int kbits_nl_dump_accounts(struct sk_buff *skb, struct netlink_callback *cb)
{
	u32 own = from_kuid(&init_user_ns, current_euid());
	bool admin = kbits_nl_admin(cb->skb);
	unsigned long cursor = cb->args[0], before;
	struct kbits_account *acct;
	void *hdr;

	mutex_lock(&kbits_lock);
	for (;;) {
		before = cursor;
		acct = kbits_account_next(&cursor);
		if (!acct)
			break;
		if (!admin && acct->uid != own)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &kbits_genl_family, NLM_F_MULTI, KBITS_CMD_GET_ACCOUNT);
		if (!hdr) {
			cursor = before;
			break;
		}
		if (kbits_nl_put_account(skb, acct)) {
			genlmsg_cancel(skb, hdr);
			cursor = before;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&kbits_lock);
	cb->args[0] = cursor;
	return skb->len;
}

/* BITS's notify flags decide the events that are its callbacks. */
static bool kbits_event_wanted(const struct kbits_job *job, u32 event)
{
	u32 flags = job->notify_flags;

	if (flags & KBITS_NOTIFY_DISABLE)
		flags = 0;
	switch (event) {
	case KBITS_EVENT_MODIFIED:
		return flags & KBITS_NOTIFY_JOB_MODIFICATION;
	case KBITS_EVENT_ERROR:
		return flags & KBITS_NOTIFY_JOB_ERROR;
	case KBITS_EVENT_FILE_TRANSFERRED:
		return flags & KBITS_NOTIFY_FILE_TRANSFERRED;
	default:
		return true;
	}
}

static void kbits_event_send(struct kbits_job *job, u32 event, u32 file_index)
{
	struct sk_buff *msg;
	void *hdr;

	lockdep_assert_held(&kbits_lock);
	if (!kbits_event_wanted(job, event) ||
	    !genl_has_listeners(&kbits_genl_family, &init_net, 0))
		return;
	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kbits_genl_family, 0, KBITS_CMD_EVENT);
	if (!hdr)
		goto out_free_msg;
	if (nla_put_u32(msg, KBITS_A_EVENT, event) ||
	    kbits_nl_put_job(msg, job, &init_user_ns) ||
	    (file_index != U32_MAX && nla_put_u32(msg, KBITS_A_FILE_INDEX, file_index)))
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&kbits_genl_family, msg, 0, 0, GFP_KERNEL);
	return;

out_free_msg:
	nlmsg_free(msg);
}

void kbits_event(struct kbits_job *job, u32 event)
{
	kbits_event_send(job, event, U32_MAX);
}

void kbits_event_file(struct kbits_job *job, u32 index)
{
	kbits_event_send(job, KBITS_EVENT_FILE_TRANSFERRED, index);
}

/* At most two progress events per second and job. */
void kbits_event_progress(struct kbits_job *job)
{
	if (time_before(jiffies, job->next_progress_event))
		return;
	job->next_progress_event = jiffies + HZ / 2;
	kbits_event(job, KBITS_EVENT_PROGRESS);
}

static const struct genl_small_ops kbits_genl_ops[] = {
	{
		.cmd = KBITS_CMD_GET_VERSION,
		.doit = kbits_nl_get_version,
	},
	{
		.cmd = KBITS_CMD_GET_JOB,
		.doit = kbits_nl_get_job,
		.dumpit = kbits_nl_dump_jobs,
	},
	{
		.cmd = KBITS_CMD_GET_ACCOUNT,
		.doit = kbits_nl_get_account,
		.dumpit = kbits_nl_dump_accounts,
	},
};

static const struct genl_multicast_group kbits_genl_mcgrps[] = {
	{ .name = KBITS_GENL_MCGRP_EVENTS },
};

static struct genl_family kbits_genl_family __ro_after_init = {
	.name = KBITS_GENL_NAME,
	.version = KBITS_GENL_VERSION,
	.maxattr = KBITS_A_MAX,
	.policy = kbits_genl_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.small_ops = kbits_genl_ops,
	.n_small_ops = ARRAY_SIZE(kbits_genl_ops),
	.resv_start_op = KBITS_CMD_MAX + 1,
	.mcgrps = kbits_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kbits_genl_mcgrps),
};

int kbits_netlink_init(void)
{
	return genl_register_family(&kbits_genl_family);
}

void kbits_netlink_exit(void)
{
	genl_unregister_family(&kbits_genl_family);
}
