// SPDX-License-Identifier: GPL-2.0
/*
 * The uapi header is self-contained, compiles warning-free with -Wpadded
 * (no hidden holes in any struct) and has the same layout on every ABI.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/kbits.h>

static int n, failed;

static void check(int ok, const char *what)
{
	n++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n, what);
	if (!ok)
		failed = 1;
}

int main(void)
{
	printf("TAP version 13\n");
	check(sizeof(struct kbits_version) == 64, "struct kbits_version is 64 bytes");
	check(offsetof(struct kbits_version, features) == 8,
	      "kbits_version.features is 8-byte aligned at offset 8");
	check(_IOC_SIZE(KBITS_IOC_VERSION) == sizeof(struct kbits_version),
	      "KBITS_IOC_VERSION encodes its struct size");
	check(_IOC_TYPE(KBITS_IOC_VERSION) == KBITS_IOC_MAGIC, "ioctl magic is KBITS_IOC_MAGIC");
	check((KBITS_FEATURE_ALL & KBITS_FEATURE_NETLINK) != 0, "KBITS_FEATURE_ALL covers every feature");
	printf("1..%d\n", n);
	return failed;
}
