// SPDX-License-Identifier: GPL-2.0
/*
 * kbits.ko: module init and exit. The parts start in dependency order and
 * stop in reverse.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>
#include <linux/random.h>
#include <linux/string.h>
#include <net/genetlink.h>

#include "kbits.h"

u8 kbits_instance_id[16];
atomic_t kbits_live_objects = ATOMIC_INIT(0);

static int kbits_param_get_live(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&kbits_live_objects));
}

static const struct kernel_param_ops kbits_live_ops = {
	.get = kbits_param_get_live,
};

/* Root only: how much the module holds tells of other users' activity. */
module_param_cb(live_objects, &kbits_live_ops, NULL, 0400);
MODULE_PARM_DESC(live_objects, "Objects the module holds now (read-only, for tests)");

void kbits_fill_version(struct kbits_version *v)
{
	memset(v, 0, sizeof(*v));
	v->abi_version = KBITS_ABI_VERSION;
	v->features = KBITS_FEATURE_ALL;
	memcpy(v->instance_id, kbits_instance_id, sizeof(v->instance_id));
}

static int __init kbits_init(void)
{
	int ret;

	get_random_bytes(kbits_instance_id, sizeof(kbits_instance_id));

	ret = kbits_job_caches_init();
	if (ret)
		return ret;
	ret = kbits_agent_init();
	if (ret)
		goto out_caches;
	ret = kbits_netlink_init();
	if (ret)
		goto out_agent;
	ret = kbits_chardev_init();
	if (ret)
		goto out_netlink;

	pr_info("loaded, ABI version %u\n", KBITS_ABI_VERSION);
	return 0;

out_netlink:
	kbits_netlink_exit();
out_agent:
	kbits_agent_exit();
out_caches:
	kbits_job_caches_exit();
	return ret;
}

/* No file of /dev/kbits is open here: each one pins the module. */
static void __exit kbits_exit(void)
{
	kbits_chardev_exit();
	kbits_netlink_exit();
	kbits_registry_exit();
	kbits_accounts_exit();
	kbits_agent_exit();
	kbits_job_caches_exit();
	WARN_ON(atomic_read(&kbits_live_objects));
	pr_info("unloaded, %d objects live\n", atomic_read(&kbits_live_objects));
}

module_init(kbits_init);
module_exit(kbits_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kbits: Background Intelligent Transfer Service job registry");
MODULE_AUTHOR("The kbits developers");
MODULE_ALIAS_GENL_FAMILY(KBITS_GENL_NAME);
