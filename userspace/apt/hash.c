// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hashes of a downloaded file. apt compares them with the Expected-* it
 * sent (and says "Hash Sum mismatch" itself), so they must come from the
 * bytes on disk after kbits renamed the file into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hash.h"

const char *const apt_hash_names[APT_NR_HASHES] = { "MD5Sum", "SHA1", "SHA256", "SHA512" };

int apt_hash_file(const char *path, struct apt_hashes *h)
{
	const EVP_MD *mds[APT_NR_HASHES] = { EVP_md5(), EVP_sha1(), EVP_sha256(), EVP_sha512() };
	EVP_MD_CTX *ctx[APT_NR_HASHES] = { 0 };
	static unsigned char buf[1 << 17];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, j;
	int fd, i, ret = 0;
	ssize_t n;

	h->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < APT_NR_HASHES; i++) {
		ctx[i] = EVP_MD_CTX_new();
		if (!ctx[i] || !EVP_DigestInit_ex(ctx[i], mds[i], NULL)) {
			ret = -EIO;
			goto out;
		}
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (!n)
			break;
		h->size += (uint64_t)n;
		for (i = 0; i < APT_NR_HASHES; i++)
			if (!EVP_DigestUpdate(ctx[i], buf, (size_t)n)) {
				ret = -EIO;
				goto out;
			}
	}
	for (i = 0; i < APT_NR_HASHES; i++) {
		if (!EVP_DigestFinal_ex(ctx[i], md, &mdlen)) {
			ret = -EIO;
			goto out;
		}
		for (j = 0; j < mdlen; j++)
			snprintf(&h->hex[i][2 * j], 3, "%02x", md[j]);
		h->hex[i][2 * mdlen] = '\0';
	}
out:
	for (i = 0; i < APT_NR_HASHES; i++)
		EVP_MD_CTX_free(ctx[i]);
	close(fd);
	return ret;
}
