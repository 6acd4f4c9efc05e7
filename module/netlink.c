// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kbits": job and account queries (which apply
 * the job permissions) and the events. Events carry ids, owner, type,
 * priority, state, progress and error code; never names, URLs or paths.
 *
 * Who hears an event: another user's job does not exist for a caller, in
 * events too. Administrators (CAP_SYS_ADMIN in the initial user namespace)
 * may join the multicast group "events", which hears every job's; the
 * kernel refuses the group to anyone else (GENL_MCAST_CAP_SYS_ADMIN).
 * Everybody may subscribe a socket with KBITS_CMD_SUBSCRIBE: the events of
 * the jobs the subscriber may see (an administrator's: all) are unicast to
 * it, without blocking (a full socket loses them and its reader gets
 * ENOBUFS, as for a group). Subscriber, user namespace and administrator
 * status are judged once, when it subscribes, in its own context; closing
 * the socket ends the subscription (NETLINK_URELEASE).
 *
 * Dumps, likewise, judge their requester once, in .start: later batches
 * are built in whichever process reads the socket.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/sock.h>

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
	    nla_put_u32(msg, KBITS_A_ERROR_CONTEXT, job->error_context) ||
	    nla_put_u32(msg, KBITS_A_DURABLE, job->durable))
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

/*
 * What a dump knows of its requester, decided in .start in the requester's
 * context and kept in cb->ctx: later batches run in whichever process reads
 * the socket, whose credentials must not count.
 */
struct kbits_nl_dump_ctx {
	unsigned long cursor;		/* the next job's index, or uid */
	struct user_namespace *ns;	/* held: uids in the replies */
	kuid_t euid;
	bool admin;
};

static int kbits_nl_dump_start(struct netlink_callback *cb)
{
	struct kbits_nl_dump_ctx *ctx = (void *)cb->ctx;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));
	memset(ctx, 0, sizeof(*ctx));
	ctx->euid = current_euid();
	ctx->admin = kbits_nl_admin(cb->skb);
	ctx->ns = get_user_ns(current_user_ns());
	return 0;
}

static int kbits_nl_dump_done(struct netlink_callback *cb)
{
	struct kbits_nl_dump_ctx *ctx = (void *)cb->ctx;

	put_user_ns(ctx->ns);
	return 0;
}

static int kbits_nl_dump_jobs(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kbits_nl_dump_ctx *ctx = (void *)cb->ctx;
	unsigned long cursor = ctx->cursor, before;
	struct kbits_job *job;
	void *hdr;

	if (cursor == ULONG_MAX)
		return 0;
	mutex_lock(&kbits_lock);
	cb->seq = kbits_registry_gen;
	for (;;) {
		before = cursor;
		job = kbits_next_visible_to(&cursor, ctx->euid, ctx->admin);
		if (!job)
			break;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &kbits_genl_family, NLM_F_MULTI, KBITS_CMD_GET_JOB);
		if (!hdr) {
			cursor = before;
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		if (kbits_nl_put_job(skb, job, ctx->ns)) {
			genlmsg_cancel(skb, hdr);
			cursor = before;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&kbits_lock);
	ctx->cursor = cursor;
	return skb->len;
}

static int kbits_nl_put_account(struct sk_buff *msg, const struct kbits_account *acct,
				struct user_namespace *ns)
{
	kuid_t uid = make_kuid(&init_user_ns, acct->uid);

	if (nla_put_u32(msg, KBITS_A_UID, from_kuid_munged(ns, uid)) ||
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
	ret = kbits_nl_put_account(msg, acct, current_user_ns());
	mutex_unlock(&kbits_lock);
	if (ret)
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

out_free_msg:
	nlmsg_free(msg);
	return ret;
}

/* Users see their own account only; the cursor is the next uid to look at. */
static int kbits_nl_dump_accounts(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct kbits_nl_dump_ctx *ctx = (void *)cb->ctx;
	u32 own = from_kuid(&init_user_ns, ctx->euid);
	unsigned long cursor = ctx->cursor, before;
	struct kbits_account *acct;
	void *hdr;

	mutex_lock(&kbits_lock);
	for (;;) {
		before = cursor;
		acct = kbits_account_next(&cursor);
		if (!acct)
			break;
		if (!ctx->admin && acct->uid != own)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				  &kbits_genl_family, NLM_F_MULTI, KBITS_CMD_GET_ACCOUNT);
		if (!hdr) {
			cursor = before;
			break;
		}
		if (kbits_nl_put_account(skb, acct, ctx->ns)) {
			genlmsg_cancel(skb, hdr);
			cursor = before;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&kbits_lock);
	ctx->cursor = cursor;
	return skb->len;
}

/*
 * A subscription: the socket, and who subscribed it, judged then. Found by
 * port id (kbits_monitors, for its release) and by uid (to deliver).
 */
struct kbits_monitor {
	struct hlist_node by_uid;	/* kbits_monitors_by_uid, or */
	struct list_head admin_node;	/* kbits_admin_monitors */
	struct sock *sk;		/* held: tells a released socket */
	struct user_namespace *ns;	/* held: uids in its events */
	kuid_t uid;
	u32 portid;
	bool admin;
};

/* Guards the subscriptions; taken inside kbits_lock when an event is sent. */
static DEFINE_MUTEX(kbits_monitors_lock);
static DEFINE_XARRAY(kbits_monitors);
static DEFINE_HASHTABLE(kbits_monitors_by_uid, 6);
static LIST_HEAD(kbits_admin_monitors);

static unsigned int kbits_monitors_of(kuid_t uid)
{
	struct kbits_monitor *mon;
	unsigned int n = 0;

	hash_for_each_possible(kbits_monitors_by_uid, mon, by_uid, __kuid_val(uid))
		if (uid_eq(mon->uid, uid))
			n++;
	return n;
}

static void kbits_monitor_free(struct kbits_monitor *mon)
{
	lockdep_assert_held(&kbits_monitors_lock);
	xa_erase(&kbits_monitors, mon->portid);
	if (mon->admin)
		list_del(&mon->admin_node);
	else
		hash_del(&mon->by_uid);
	sock_put(mon->sk);
	put_user_ns(mon->ns);
	kfree(mon);
	kbits_obj_gone();
}

/*
 * KBITS_CMD_SUBSCRIBE: the sending socket hears, from now on, the events
 * of the jobs its sender may see now.
 */
static int kbits_nl_subscribe(struct sk_buff *skb, struct genl_info *info)
{
	struct sock *sk = NETLINK_CB(skb).sk;
	struct kbits_monitor *mon, *old;
	int ret;

	/* Port id 0 is the kernel's own socket: events must not loop back. */
	if (!info->snd_portid)
		return -EINVAL;
	mon = kzalloc(sizeof(*mon), GFP_KERNEL_ACCOUNT);
	if (!mon)
		return -ENOMEM;
	mon->portid = info->snd_portid;
	mon->uid = current_euid();
	mon->admin = kbits_nl_admin(skb);

	mutex_lock(&kbits_monitors_lock);
	old = xa_load(&kbits_monitors, mon->portid);
	if (old && old->sk == sk) {
		ret = -EALREADY;
		goto out_unlock;
	}
	/*
	 * Another socket had the port id: it is closed (two live sockets do
	 * not share one) and its release has not reached us yet.
	 */
	if (old)
		kbits_monitor_free(old);
	if (!mon->admin && kbits_monitors_of(mon->uid) >= KBITS_MONITORS_PER_USER) {
		ret = -EMFILE;
		goto out_unlock;
	}
	ret = xa_err(xa_store(&kbits_monitors, mon->portid, mon, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto out_unlock;
	sock_hold(sk);
	mon->sk = sk;
	mon->ns = get_user_ns(current_user_ns());
	if (mon->admin)
		list_add_tail(&mon->admin_node, &kbits_admin_monitors);
	else
		hash_add(kbits_monitors_by_uid, &mon->by_uid, __kuid_val(mon->uid));
	kbits_obj_new();
	mutex_unlock(&kbits_monitors_lock);
	return 0;

out_unlock:
	mutex_unlock(&kbits_monitors_lock);
	kfree(mon);
	return ret;
}

/* A closed socket's subscription ends. */
static int kbits_nl_notify(struct notifier_block *nb, unsigned long state, void *data)
{
	struct netlink_notify *n = data;
	struct kbits_monitor *mon;

	if (state != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !net_eq(n->net, &init_net))
		return NOTIFY_DONE;
	/* Most generic netlink sockets never subscribed: no lock for them. */
	if (!xa_load(&kbits_monitors, n->portid))
		return NOTIFY_DONE;
	mutex_lock(&kbits_monitors_lock);
	mon = xa_load(&kbits_monitors, n->portid);
	/* A new socket may have taken the port id and subscribed already. */
	if (mon && sock_flag(mon->sk, SOCK_DEAD))
		kbits_monitor_free(mon);
	mutex_unlock(&kbits_monitors_lock);
	return NOTIFY_DONE;
}

static struct notifier_block kbits_nl_notifier = {
	.notifier_call = kbits_nl_notify,
};

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

/* One event message, the owner's uid as @ns sees it. */
static struct sk_buff *kbits_event_msg(struct kbits_job *job, u32 event, u32 file_index,
				       struct user_namespace *ns)
{
	struct sk_buff *msg;
	void *hdr;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return NULL;
	hdr = genlmsg_put(msg, 0, 0, &kbits_genl_family, 0, KBITS_CMD_EVENT);
	if (!hdr)
		goto out_free_msg;
	if (nla_put_u32(msg, KBITS_A_EVENT, event) ||
	    kbits_nl_put_job(msg, job, ns) ||
	    (file_index != U32_MAX && nla_put_u32(msg, KBITS_A_FILE_INDEX, file_index)))
		goto out_free_msg;
	genlmsg_end(msg, hdr);
	return msg;

out_free_msg:
	nlmsg_free(msg);
	return NULL;
}

/*
 * Unicast without blocking: a subscriber that does not read loses events
 * (its socket counts the drop and its reader gets ENOBUFS), it never holds
 * up the sender.
 */
static void kbits_monitor_send(struct kbits_monitor *mon, struct kbits_job *job,
			       u32 event, u32 file_index)
{
	struct sk_buff *msg;

	/*
	 * Closed, its release not seen yet: the port id may already be
	 * another socket's.
	 */
	if (sock_flag(mon->sk, SOCK_DEAD))
		return;
	msg = kbits_event_msg(job, event, file_index, mon->ns);
	if (msg)
		genlmsg_unicast(&init_net, msg, mon->portid);
}

static void kbits_event_send(struct kbits_job *job, u32 event, u32 file_index)
{
	struct kbits_monitor *mon;
	struct sk_buff *msg;

	lockdep_assert_held(&kbits_lock);
	if (!kbits_event_wanted(job, event))
		return;
	if (KBITS_EVENTS_GROUP_USABLE &&
	    genl_has_listeners(&kbits_genl_family, &init_net, 0)) {
		msg = kbits_event_msg(job, event, file_index, &init_user_ns);
		if (msg)
			genlmsg_multicast(&kbits_genl_family, msg, 0, 0, GFP_KERNEL);
	}
	mutex_lock(&kbits_monitors_lock);
	list_for_each_entry(mon, &kbits_admin_monitors, admin_node)
		kbits_monitor_send(mon, job, event, file_index);
	hash_for_each_possible(kbits_monitors_by_uid, mon, by_uid, __kuid_val(job->owner))
		if (uid_eq(mon->uid, job->owner))
			kbits_monitor_send(mon, job, event, file_index);
	mutex_unlock(&kbits_monitors_lock);
}

void kbits_event(struct kbits_job *job, u32 event)
{
	kbits_event_send(job, event, U32_MAX);
}

void kbits_event_file(struct kbits_job *job, u32 index)
{
	kbits_event_send(job, KBITS_EVENT_FILE_TRANSFERRED, index);
}

/*
 * At most one progress event per the job's minimum notification interval
 * (BITS_JOB_PROPERTY_MINIMUM_NOTIFICATION_INTERVAL_MS), two per second by
 * default and at most: the agent reports no more often.
 */
void kbits_event_progress(struct kbits_job *job)
{
	u32 ms = max_t(u32, job->min_notify_interval_ms, KBITS_DEFAULT_NOTIFY_INTERVAL_MS);

	if (time_before(jiffies, job->next_progress_event))
		return;
	job->next_progress_event = jiffies + msecs_to_jiffies(ms);
	kbits_event(job, KBITS_EVENT_PROGRESS);
}

static const struct genl_ops kbits_genl_ops[] = {
	{
		.cmd = KBITS_CMD_GET_VERSION,
		.doit = kbits_nl_get_version,
	},
	{
		.cmd = KBITS_CMD_GET_JOB,
		.doit = kbits_nl_get_job,
		.start = kbits_nl_dump_start,
		.dumpit = kbits_nl_dump_jobs,
		.done = kbits_nl_dump_done,
	},
	{
		.cmd = KBITS_CMD_GET_ACCOUNT,
		.doit = kbits_nl_get_account,
		.start = kbits_nl_dump_start,
		.dumpit = kbits_nl_dump_accounts,
		.done = kbits_nl_dump_done,
	},
	{
		.cmd = KBITS_CMD_SUBSCRIBE,
		.doit = kbits_nl_subscribe,
	},
};

static const struct genl_multicast_group kbits_genl_mcgrps[] = {
	KBITS_GENL_MCGRP_ADMIN(KBITS_GENL_MCGRP_EVENTS),
};

static struct genl_family kbits_genl_family __ro_after_init = {
	.name = KBITS_GENL_NAME,
	.version = KBITS_GENL_VERSION,
	.maxattr = KBITS_A_MAX,
	.policy = kbits_genl_policy,
	.netnsok = false,
	.module = THIS_MODULE,
	.ops = kbits_genl_ops,
	.n_ops = ARRAY_SIZE(kbits_genl_ops),
	.resv_start_op = KBITS_CMD_MAX + 1,
	.mcgrps = kbits_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kbits_genl_mcgrps),
};

int kbits_netlink_init(void)
{
	int ret;

	ret = netlink_register_notifier(&kbits_nl_notifier);
	if (ret)
		return ret;
	ret = genl_register_family(&kbits_genl_family);
	if (ret)
		netlink_unregister_notifier(&kbits_nl_notifier);
	return ret;
}

/* After the family is gone no one subscribes; after the notifier, no one leaves. */
void kbits_netlink_exit(void)
{
	struct kbits_monitor *mon;
	unsigned long portid;

	genl_unregister_family(&kbits_genl_family);
	netlink_unregister_notifier(&kbits_nl_notifier);
	mutex_lock(&kbits_monitors_lock);
	xa_for_each(&kbits_monitors, portid, mon)
		kbits_monitor_free(mon);
	mutex_unlock(&kbits_monitors_lock);
	xa_destroy(&kbits_monitors);
}
