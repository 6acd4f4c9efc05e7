/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hashes apt checks, computed from the file on disk (OpenSSL's EVP). */
#ifndef APT_HASH_H
#define APT_HASH_H

#include <stdint.h>

enum { APT_MD5, APT_SHA1, APT_SHA256, APT_SHA512, APT_NR_HASHES };

struct apt_hashes {
	uint64_t size;
	char hex[APT_NR_HASHES][129];	/* lowercase hex, NUL-terminated */
};

/* apt's names: "MD5Sum", "SHA1", "SHA256", "SHA512" (field "<name>-Hash"). */
extern const char *const apt_hash_names[APT_NR_HASHES];

/*
 * apt_hash_file - size and every hash of path, read once. -errno of
 * open/read, -EIO when OpenSSL fails.
 */
int apt_hash_file(const char *path, struct apt_hashes *h);

#endif
