/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbits.ko internals shared between the files of the module.
 */
#ifndef _KBITS_H
#define _KBITS_H

#include <linux/types.h>
#include <linux/kbits.h>

/* Chosen at load: tells the agent whether the registry survived. */
extern u8 kbits_instance_id[16];

void kbits_fill_version(struct kbits_version *v);

int kbits_chardev_init(void);
void kbits_chardev_exit(void);

int kbits_netlink_init(void);
void kbits_netlink_exit(void);

#endif /* _KBITS_H */
