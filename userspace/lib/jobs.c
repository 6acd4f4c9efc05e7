// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Jobs: CreateJob, GetJob and its numeric getters, EnumJobs.
 */
#include <stdlib.h>

#include "internal.h"

int kbits_job_create(struct kbits *k, uint32_t type, const char *display_name,
		     struct kbits_guid *id)
{
	struct kbits_job_create c;
	int err;

	if (!display_name || !id)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.type = type;
	c.display_name = kbits_ptr(display_name);
	/* The kernel bounds it too; refusing here avoids truncating size_t. */
	if (strlen(display_name) > KBITS_DISPLAY_NAME_MAX)
		return -ENAMETOOLONG;
	c.display_name_len = (__u32)strlen(display_name);
	err = kbits_ioctl(k, KBITS_IOC_JOB_CREATE, &c);
	if (err)
		return err;
	memcpy(id->b, c.job_id, sizeof(id->b));
	return 0;
}

int kbits__info(struct kbits *k, const struct kbits_guid *id, struct kbits_job_info *info)
{
	if (!id || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	memcpy(info->job_id, id->b, sizeof(info->job_id));
	return kbits_ioctl(k, KBITS_IOC_JOB_GET_INFO, info);
}

int kbits_job_get_info_sized(struct kbits *k, const struct kbits_guid *id,
			     struct kbits_job_info *info, size_t size)
{
	struct kbits_job_info full;
	int err;

	/* The caller's struct may be older (shorter) than the library's. */
	if (!info || size < offsetof(struct kbits_job_info, type))
		return -EINVAL;
	err = kbits__info(k, id, &full);
	if (err)
		return err;
	if (size > sizeof(full)) {
		memset((char *)info + sizeof(full), 0, size - sizeof(full));
		size = sizeof(full);
	}
	memcpy(info, &full, size);
	info->size = (__u32)size;
	return 0;
}

int kbits_job_get_progress(struct kbits *k, const struct kbits_guid *id,
			   struct kbits_progress *out)
{
	struct kbits_job_info i;
	int err = kbits__info(k, id, &i);

	if (err)
		return err;
	out->bytes_total = i.bytes_total;
	out->bytes_transferred = i.bytes_transferred;
	out->files_total = i.files_total;
	out->files_transferred = i.files_transferred;
	return 0;
}

int kbits_job_get_times(struct kbits *k, const struct kbits_guid *id, struct kbits_times *out)
{
	struct kbits_job_info i;
	int err = kbits__info(k, id, &i);

	if (err)
		return err;
	out->creation = i.creation_time;
	out->modification = i.modification_time;
	out->transfer_completion = i.transfer_completion_time;
	return 0;
}

#define INFO_GETTER(name, field, type)						\
	int kbits_job_get_##name(struct kbits *k, const struct kbits_guid *id,	\
				 type *v)					\
	{									\
		struct kbits_job_info i;					\
		int err = kbits__info(k, id, &i);				\
										\
		if (!err)							\
			*v = i.field;						\
		return err;							\
	}

INFO_GETTER(state, state, uint32_t)
INFO_GETTER(type, type, uint32_t)
INFO_GETTER(owner, owner_uid, uint32_t)

/* ---- EnumJobs ---- */

/* A batch of GUIDs per ioctl: enough for the default 300-job queue. */
#define ITER_BATCH 256

struct kbits_job_iter {
	struct kbits *k;
	uint32_t flags;
	__u64 cursor;
	uint32_t pos, filled;
	int done;
	struct kbits_guid ids[ITER_BATCH];
};

int kbits_job_iter_open(struct kbits *k, uint32_t flags, struct kbits_job_iter **out)
{
	struct kbits_job_iter *it;

	if (!k || !out || (flags & ~KBITS_ENUM_FLAGS_ALL))
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->k = k;
	it->flags = flags;
	*out = it;
	return 0;
}

static int iter_fill(struct kbits_job_iter *it)
{
	struct kbits_job_enum e;
	int err;

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.flags = it->flags;
	e.cursor = it->cursor;
	e.ids = kbits_ptr(it->ids);
	e.count = ITER_BATCH;
	err = kbits_ioctl(it->k, KBITS_IOC_JOB_ENUM, &e);
	if (err)
		return err;
	if (e.count > ITER_BATCH)	/* a kernel bug must not overrun us */
		return -EIO;
	it->cursor = e.cursor;
	it->pos = 0;
	it->filled = e.count;
	it->done = e.count == 0;
	return 0;
}

int kbits_job_iter_next(struct kbits_job_iter *it, struct kbits_guid *id)
{
	if (!it || !id)
		return -EINVAL;
	if (it->pos == it->filled && !it->done) {
		int err = iter_fill(it);

		if (err)
			return err;
	}
	if (it->pos == it->filled)
		return 0;
	*id = it->ids[it->pos++];
	return 1;
}

void kbits_job_iter_close(struct kbits_job_iter *it)
{
	free(it);
}

int kbits_job_list(struct kbits *k, uint32_t flags, struct kbits_guid **ids, size_t *count)
{
	struct kbits_job_iter *it;
	struct kbits_guid *v = NULL, id;
	size_t n = 0, cap = 0;
	int ret;

	if (!ids || !count)
		return -EINVAL;
	ret = kbits_job_iter_open(k, flags, &it);
	if (ret)
		return ret;
	while ((ret = kbits_job_iter_next(it, &id)) > 0) {
		if (n == cap) {
			struct kbits_guid *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = id;
	}
	kbits_job_iter_close(it);
	if (ret < 0) {
		free(v);
		return ret;
	}
	*ids = v;
	*count = n;
	return 0;
}
