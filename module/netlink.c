// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "kbits": queries and the "events" group.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <net/genetlink.h>

#include "kbits.h"

static struct genl_family kbits_genl_family;

static const struct nla_policy kbits_genl_policy[KBITS_A_MAX + 1] = {
	[KBITS_A_ABI_VERSION] = { .type = NLA_REJECT },
	[KBITS_A_FEATURES] = { .type = NLA_REJECT },
	[KBITS_A_INSTANCE_ID] = { .type = NLA_REJECT },
};

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

static const struct genl_small_ops kbits_genl_ops[] = {
	{
		.cmd = KBITS_CMD_GET_VERSION,
		.doit = kbits_nl_get_version,
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
