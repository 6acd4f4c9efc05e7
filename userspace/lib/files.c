// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Files of a job: AddFile, AddFileSet (one all-or-nothing ioctl) and
 * GetFile by index.
 */
#include <stdlib.h>

#include "internal.h"

int kbits_job_add_files(struct kbits *k, const struct kbits_guid *id,
			const struct kbits_file *files, size_t count)
{
	struct kbits_job_add_files a;
	struct kbits_file_spec *specs;
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
	}
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.count = (__u32)count;
	memcpy(a.job_id, id->b, sizeof(a.job_id));
	a.files = kbits_ptr(specs);
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
