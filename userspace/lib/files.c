// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files of a job: AddFile, AddFileSet (one all-or-nothing ioctl) and
 * GetFile by index.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int kbits_job_add_files(struct kbits *k, const struct kbits_guid *id,
			const struct kbits_file *files, size_t count)
{
	return kbits_job_add_files_checked(k, id, files, NULL, count);
}

int kbits_job_add_files_checked(struct kbits *k, const struct kbits_guid *id,
				const struct kbits_file *files,
				const struct kbits_file_check *checks, size_t count)
{
	struct kbits_job_add_files a;
	struct kbits_file_spec *specs;
	bool checked = false;
	int err;

	/*
	 * One ioctl keeps AddFileSet atomic; splitting a larger set over
	 * several would not be, so it is refused instead.
	 */
	if (!id || !files || count == 0 || count > KBITS_ADD_FILES_MAX)
		return -EINVAL;
	specs = calloc(count, sizeof(*specs));
	if (!specs)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		size_t ul, pl;

		if (!files[i].url || !files[i].path) {
			free(specs);
			return -EINVAL;
		}
		ul = strlen(files[i].url);
		pl = strlen(files[i].path);
		if (ul > KBITS_URL_MAX || pl > KBITS_PATH_MAX) {
			free(specs);
			return -ENAMETOOLONG;
		}
		specs[i].url = kbits_ptr(files[i].url);
		specs[i].path = kbits_ptr(files[i].path);
		specs[i].url_len = (__u32)ul;
		specs[i].path_len = (__u32)pl;
		specs[i].ranges = kbits_ptr(files[i].ranges);
		specs[i].nr_ranges = files[i].ranges ? files[i].nr_ranges : 0;
		if (checks && (checks[i].flags & ~(uint32_t)KBITS_FILE_SPEC_FLAGS || checks[i].pad)) {
			free(specs);
			return -EINVAL;
		}
		if (checks && checks[i].flags) {
			checked = true;
			specs[i].flags = checks[i].flags;
			if (checks[i].flags & KBITS_FILE_EXPECT_SIZE)
				specs[i].expected_size = checks[i].expected_size;
			if (checks[i].flags & KBITS_FILE_EXPECT_SHA256)
				memcpy(specs[i].expected_sha256, checks[i].expected_sha256,
				       KBITS_SHA256_LEN);
		}
	}
	if (checked) {
		struct kbits_version v;

		err = kbits_version(k, &v);
		if (!err && !(v.features & KBITS_FEATURE_SHA256))
			err = -EOPNOTSUPP;
		if (err) {
			free(specs);
			return err;
		}
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.count = (__u32)count;
	memcpy(a.job_id, id->b, sizeof(a.job_id));
	a.files = kbits_ptr(specs);
	/*
	 * The stride of the array: a module older than the checks takes the
	 * longer spec too, its tail being zero (checks are refused above).
	 */
	a.spec_size = sizeof(*specs);
	err = kbits_ioctl(k, KBITS_IOC_JOB_ADD_FILES, &a);
	free(specs);
	return err;
}

int kbits_job_add_file(struct kbits *k, const struct kbits_guid *id, const char *url,
		       const char *path)
{
	struct kbits_file f = { .url = url, .path = path };

	return kbits_job_add_files(k, id, &f, 1);
}

int kbits_job_add_file_sha256(struct kbits *k, const struct kbits_guid *id, const char *url,
			      const char *path, const uint8_t *sha256, uint64_t size)
{
	struct kbits_file f = { .url = url, .path = path };
	struct kbits_file_check c = { 0 };

	if (sha256) {
		c.flags |= KBITS_FILE_EXPECT_SHA256;
		memcpy(c.expected_sha256, sha256, KBITS_SHA256_LEN);
	}
	if (size != KBITS_UNKNOWN) {
		c.flags |= KBITS_FILE_EXPECT_SIZE;
		c.expected_size = size;
	}
	return kbits_job_add_files_checked(k, id, &f, &c, 1);
}

int kbits_job_get_file_digest(struct kbits *k, const struct kbits_guid *id, uint32_t index,
			      struct kbits_file_digest *out)
{
	struct kbits_file_info fi;
	struct kbits_version v;
	int err;

	if (!id || !out)
		return -EINVAL;
	err = kbits_version(k, &v);
	if (err)
		return err;
	if (!(v.features & KBITS_FEATURE_SHA256))
		return -EOPNOTSUPP;
	/* No buffers: only the fixed fields are wanted (lengths come back, -ERANGE ignored). */
	memset(&fi, 0, sizeof(fi));
	fi.size = sizeof(fi);
	fi.index = index;
	memcpy(fi.job_id, id->b, sizeof(fi.job_id));
	err = kbits_ioctl(k, KBITS_IOC_JOB_GET_FILE, &fi);
	if (err && err != -ERANGE)
		return err;
	memset(out, 0, sizeof(*out));
	out->flags = fi.file_flags & (KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_EXPECT_SIZE |
				      KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED);
	out->expected_size = fi.expected_size;
	memcpy(out->expected_sha256, fi.expected_sha256, KBITS_SHA256_LEN);
	memcpy(out->sha256, fi.sha256, KBITS_SHA256_LEN);
	return 0;
}

void kbits_file_props_free(struct kbits_file_props *p)
{
	if (!p)
		return;
	free(p->url);
	free(p->path);
	free(p->temp_name);
	p->url = p->path = p->temp_name = NULL;
}

/* Buffers of the ABI's maximum sizes, so one ioctl normally suffices. */
int kbits_job_get_file(struct kbits *k, const struct kbits_guid *id, uint32_t index,
		       struct kbits_file_props *out)
{
	uint32_t caps[3] = { KBITS_URL_MAX, KBITS_PATH_MAX, KBITS_PATH_MAX };
	struct kbits_file_info fi;
	char *buf[3] = { NULL, NULL, NULL };
	int err = 0;

	if (!id || !out)
		return -EINVAL;
	for (int tries = 0; tries < 2; tries++) {
		for (int i = 0; i < 3; i++) {
			free(buf[i]);
			buf[i] = malloc((size_t)caps[i] + 1);
			if (!buf[i]) {
				err = -ENOMEM;
				goto out_free;
			}
		}
		memset(&fi, 0, sizeof(fi));
		fi.size = sizeof(fi);
		fi.index = index;
		memcpy(fi.job_id, id->b, sizeof(fi.job_id));
		fi.url = kbits_ptr(buf[0]);
		fi.path = kbits_ptr(buf[1]);
		fi.temp_name = kbits_ptr(buf[2]);
		fi.url_len = caps[0];
		fi.path_len = caps[1];
		fi.temp_name_len = caps[2];
		err = kbits_ioctl(k, KBITS_IOC_JOB_GET_FILE, &fi);
		if (err != -ERANGE)
			break;
		/* A temporary name longer than PATH_MAX? Take what is needed. */
		caps[0] = fi.url_len > caps[0] ? fi.url_len : caps[0];
		caps[1] = fi.path_len > caps[1] ? fi.path_len : caps[1];
		caps[2] = fi.temp_name_len > caps[2] ? fi.temp_name_len : caps[2];
	}
	if (err)
		goto out_free;
	if (fi.url_len > caps[0] || fi.path_len > caps[1] || fi.temp_name_len > caps[2]) {
		err = -EIO;
		goto out_free;
	}
	buf[0][fi.url_len] = '\0';
	buf[1][fi.path_len] = '\0';
	buf[2][fi.temp_name_len] = '\0';
	out->url = buf[0];
	out->path = buf[1];
	out->temp_name = buf[2];
	out->flags = fi.file_flags;
	out->nr_ranges = fi.nr_ranges;
	out->bytes_total = fi.bytes_total;
	out->bytes_transferred = fi.bytes_transferred;
	return 0;

out_free:
	for (int i = 0; i < 3; i++)
		free(buf[i]);
	return err;
}

/* The module's file string ioctls, and for mirrors KBITS_FEATURE_MIRRORS too. */
static int file_strings_supported_for(struct kbits *k, uint32_t prop)
{
	uint64_t need = KBITS_FEATURE_FILE_STRINGS;
	struct kbits_version v;
	int err = kbits_version(k, &v);

	if (err)
		return err;
	if (prop == KBITS_FILE_STR_MIRRORS)
		need |= KBITS_FEATURE_MIRRORS;
	return (v.features & need) == need ? 0 : -EOPNOTSUPP;
}

static int file_strings_supported(struct kbits *k)
{
	return file_strings_supported_for(k, KBITS_FILE_STR_URL);
}

int kbits_job_get_file_string(struct kbits *k, const struct kbits_guid *id, uint32_t index,
			      uint32_t prop, char **value)
{
	struct kbits_file_string fs;
	uint32_t cap = 1024;
	int err;

	if (!id || !value || prop > KBITS_FILE_STR_MAX)
		return -EINVAL;
	err = file_strings_supported_for(k, prop);
	if (err)
		return err;
	/* getxattr() style: a too small buffer gets -ERANGE and the length. */
	for (int tries = 0; tries < 4; tries++) {
		char *buf = malloc((size_t)cap + 1);

		if (!buf)
			return -ENOMEM;
		memset(&fs, 0, sizeof(fs));
		fs.size = sizeof(fs);
		fs.prop = prop;
		memcpy(fs.job_id, id->b, sizeof(fs.job_id));
		fs.index = index;
		fs.value = kbits_ptr(buf);
		fs.value_len = cap;
		err = kbits_ioctl(k, KBITS_IOC_JOB_GET_FILE_STRING, &fs);
		if (err == -ERANGE && fs.value_len > cap) {
			free(buf);
			cap = fs.value_len;
			continue;
		}
		if (!err && fs.value_len > cap)	/* a kernel bug must not overrun us */
			err = -EIO;
		if (err) {
			free(buf);
			return err;
		}
		buf[fs.value_len] = '\0';
		*value = buf;
		return 0;
	}
	return -EAGAIN;
}

int kbits_job_set_remote_name(struct kbits *k, const struct kbits_guid *id, uint32_t index,
			      const char *url)
{
	struct kbits_file_string fs;
	size_t len;
	int err;

	if (!id || !url)
		return -EINVAL;
	len = strlen(url);
	if (len > KBITS_URL_MAX)
		return -EINVAL;
	err = file_strings_supported(k);
	if (err)
		return err;
	memset(&fs, 0, sizeof(fs));
	fs.size = sizeof(fs);
	fs.prop = KBITS_FILE_STR_URL;
	memcpy(fs.job_id, id->b, sizeof(fs.job_id));
	fs.index = index;
	fs.value = kbits_ptr(url);
	fs.value_len = (uint32_t)len;
	return kbits_ioctl(k, KBITS_IOC_JOB_SET_FILE_STRING, &fs);
}

int kbits_job_set_file_mirrors(struct kbits *k, const struct kbits_guid *id, uint32_t index,
			       const char *mirrors)
{
	struct kbits_file_string fs;
	size_t len;
	int err;

	if (!id || !mirrors)
		return -EINVAL;
	len = strlen(mirrors);
	if (len > KBITS_MIRRORS_LEN_MAX)
		return -EINVAL;
	err = file_strings_supported_for(k, KBITS_FILE_STR_MIRRORS);
	if (err)
		return err;
	memset(&fs, 0, sizeof(fs));
	fs.size = sizeof(fs);
	fs.prop = KBITS_FILE_STR_MIRRORS;
	memcpy(fs.job_id, id->b, sizeof(fs.job_id));
	fs.index = index;
	fs.value = kbits_ptr(mirrors);
	fs.value_len = (uint32_t)len;
	return kbits_ioctl(k, KBITS_IOC_JOB_SET_FILE_STRING, &fs);
}

int kbits_job_replace_remote_prefix(struct kbits *k, const struct kbits_guid *id,
				    const char *old_prefix, const char *new_prefix, uint32_t *count)
{
	struct kbits_job_replace_prefix rp;
	size_t ol, nl;
	int err;

	if (!id || !old_prefix || !new_prefix)
		return -EINVAL;
	ol = strlen(old_prefix);
	nl = strlen(new_prefix);
	if (!ol || !nl || ol > KBITS_URL_MAX || nl > KBITS_URL_MAX)
		return -EINVAL;
	err = file_strings_supported(k);
	if (err)
		return err;
	memset(&rp, 0, sizeof(rp));
	rp.size = sizeof(rp);
	memcpy(rp.job_id, id->b, sizeof(rp.job_id));
	rp.old_prefix = kbits_ptr(old_prefix);
	rp.old_len = (uint32_t)ol;
	rp.new_prefix = kbits_ptr(new_prefix);
	rp.new_len = (uint32_t)nl;
	err = kbits_ioctl(k, KBITS_IOC_JOB_REPLACE_REMOTE_PREFIX, &rp);
	if (!err && count)
		*count = rp.count;
	return err;
}
