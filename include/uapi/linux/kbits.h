/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kbits: the Background Intelligent Transfer Service for Linux.
 *
 * This header is the whole ABI between kbits.ko and userspace: the ioctls
 * of /dev/kbits and the generic netlink family "kbits".
 *
 * Rules every definition here follows:
 *  - fixed-width types only; pointers travel as __u64; explicit padding
 *    and reserved fields, which must be zero on input (-EINVAL otherwise);
 *  - structs that will grow start with their own size and are read with
 *    copy_struct_from_user(): a shorter (older) struct works, unknown
 *    non-zero tail bytes get -E2BIG;
 *  - unknown ioctls get -ENOTTY, unknown flag bits -EINVAL.
 *
 * ioctls
 * ======
 *
 * KBITS_IOC_VERSION (struct kbits_version, read)
 *   The ABI version (KBITS_ABI_VERSION), the features this module offers
 *   (KBITS_FEATURE_*) and the module instance id: 16 random bytes chosen
 *   at load, so a reload or reboot is visible to whoever kept state.
 *
 * Generic netlink family "kbits", version KBITS_GENL_VERSION
 * ===========================================================
 *
 * Multicast group "events" (KBITS_GENL_MCGRP_EVENTS).
 *
 * KBITS_CMD_GET_VERSION (doit)
 *   Reply: KBITS_A_ABI_VERSION (u32), KBITS_A_FEATURES (u64),
 *   KBITS_A_INSTANCE_ID (16 bytes).
 */
#ifndef _UAPI_LINUX_KBITS_H
#define _UAPI_LINUX_KBITS_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/const.h>

#define KBITS_ABI_VERSION	1
#define KBITS_DEVICE_NAME	"kbits"

#define KBITS_GENL_NAME		"kbits"
#define KBITS_GENL_VERSION	1
#define KBITS_GENL_MCGRP_EVENTS	"events"

/* Features, reported by KBITS_IOC_VERSION and KBITS_CMD_GET_VERSION. */
#define KBITS_FEATURE_NETLINK		_BITULL(0)	/* family "kbits" */
#define KBITS_FEATURE_ALL		(KBITS_FEATURE_NETLINK)

struct kbits_version {
	__u32 abi_version;
	__u32 pad;
	__u64 features;
	__u8 instance_id[16];
	__u64 reserved[4];
};

#define KBITS_IOC_MAGIC		0xB8

#define KBITS_IOC_VERSION	_IOR(KBITS_IOC_MAGIC, 0x00, struct kbits_version)

enum kbits_genl_cmd {
	KBITS_CMD_UNSPEC,
	KBITS_CMD_GET_VERSION,
	__KBITS_CMD_MAX,
};

#define KBITS_CMD_MAX (__KBITS_CMD_MAX - 1)

enum kbits_genl_attr {
	KBITS_A_UNSPEC,
	KBITS_A_ABI_VERSION,		/* u32 */
	KBITS_A_FEATURES,		/* u64 */
	KBITS_A_INSTANCE_ID,		/* binary, 16 bytes */
	KBITS_A_PAD,
	__KBITS_A_LAST,
};

#define KBITS_A_MAX (__KBITS_A_LAST - 1)

#endif /* _UAPI_LINUX_KBITS_H */
