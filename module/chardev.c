// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kbits: the misc device and its ioctl dispatch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/uaccess.h>

#include "kbits.h"

static long kbits_ioctl_version(void __user *argp)
{
	struct kbits_version v;

	kbits_fill_version(&v);
	if (copy_to_user(argp, &v, sizeof(v)))
		return -EFAULT;
	return 0;
}

static long kbits_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case KBITS_IOC_VERSION:
		return kbits_ioctl_version(argp);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations kbits_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kbits_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* Access control is per job, so everybody may open the device. */
static struct miscdevice kbits_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = KBITS_DEVICE_NAME,
	.fops = &kbits_fops,
	.mode = 0666,
};

int kbits_chardev_init(void)
{
	return misc_register(&kbits_misc);
}

void kbits_chardev_exit(void)
{
	misc_deregister(&kbits_misc);
}
