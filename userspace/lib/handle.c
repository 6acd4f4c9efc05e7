// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The /dev/kbits handle and the ABI version.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int kbits_open_path(const char *path, struct kbits **out)
{
	struct kbits *k;
	int fd;

	if (!path || !out)
		return -EINVAL;
	/* O_CLOEXEC: a notify command or child must not inherit the device. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	k = malloc(sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->fd = fd;
	*out = k;
	return 0;
}

int kbits_open(struct kbits **out)
{
	return kbits_open_path("/dev/" KBITS_DEVICE_NAME, out);
}

void kbits_close(struct kbits *k)
{
	if (!k)
		return;
	close(k->fd);
	free(k);
}

int kbits_fd(const struct kbits *k)
{
	return k ? k->fd : -EBADF;
}

int kbits_version(struct kbits *k, struct kbits_version *out)
{
	struct kbits_version v;
	int err;

	if (!out)
		return -EINVAL;
	memset(&v, 0, sizeof(v));
	err = kbits_ioctl(k, KBITS_IOC_VERSION, &v);
	if (err)
		return err;
	*out = v;
	return 0;
}
