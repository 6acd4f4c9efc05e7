/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libkbits internals shared by the library's files; never installed.
 */
#ifndef KBITS_INTERNAL_H
#define KBITS_INTERNAL_H

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kbits.h"

struct kbits {
	int fd;
};

/* Pointers travel through the ABI as __u64. */
static inline __u64 kbits_ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

/* ioctl(2) with the library's convention: 0 or -errno. */
static inline int kbits_ioctl(struct kbits *k, unsigned long cmd, void *arg)
{
	if (!k)
		return -EBADF;
	return ioctl(k->fd, cmd, arg) < 0 ? -errno : 0;
}

/* A job_ref ioctl (Resume, Suspend, Cancel, TakeOwnership). */
int kbits__job_ref(struct kbits *k, unsigned long cmd, const struct kbits_guid *id);

/* GetJob into a full-size struct (the library's own view). */
int kbits__info(struct kbits *k, const struct kbits_guid *id, struct kbits_job_info *info);

#endif /* KBITS_INTERNAL_H */
