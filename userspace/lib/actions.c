// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Actions on a job: Resume, Suspend, Cancel, TakeOwnership, Complete, the
 * wait for its durability, and its error object (GetError).
 */
#include <stdlib.h>

#include "internal.h"

int kbits__job_ref(struct kbits *k, unsigned long cmd, const struct kbits_guid *id)
{
	struct kbits_job_ref r;

	if (!id)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	memcpy(r.job_id, id->b, sizeof(r.job_id));
	return kbits_ioctl(k, cmd, &r);
}

int kbits_job_resume(struct kbits *k, const struct kbits_guid *id)
{
	return kbits__job_ref(k, KBITS_IOC_JOB_RESUME, id);
}

int kbits_job_suspend(struct kbits *k, const struct kbits_guid *id)
{
	return kbits__job_ref(k, KBITS_IOC_JOB_SUSPEND, id);
}

int kbits_job_cancel(struct kbits *k, const struct kbits_guid *id)
{
	return kbits__job_ref(k, KBITS_IOC_JOB_CANCEL, id);
}

int kbits_job_take_ownership(struct kbits *k, const struct kbits_guid *id)
{
	return kbits__job_ref(k, KBITS_IOC_JOB_TAKE_OWNERSHIP, id);
}

int kbits_job_complete(struct kbits *k, const struct kbits_guid *id, struct kbits_outcome *out)
{
	struct kbits_job_complete c;
	int err;

	if (!id)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.job_id, id->b, sizeof(c.job_id));
	err = kbits_ioctl(k, KBITS_IOC_JOB_COMPLETE, &c);
	if (err)
		return err;
	if (out) {
		out->result = c.result;
		out->files_done = c.files_done;
		out->error = c.error;
	}
	return (int)c.result;
}

int kbits_job_wait_durable(struct kbits *k, const struct kbits_guid *id, uint32_t timeout_ms)
{
	struct kbits_job_wait_durable w;

	if (!id)
		return -EINVAL;
	memset(&w, 0, sizeof(w));
	w.size = sizeof(w);
	memcpy(w.job_id, id->b, sizeof(w.job_id));
	w.timeout_ms = timeout_ms;
	return kbits_ioctl(k, KBITS_IOC_JOB_WAIT_DURABLE, &w);
}

int kbits_job_get_error(struct kbits *k, const struct kbits_guid *id, struct kbits_job_error *out)
{
	struct kbits_job_info i;
	char *desc = NULL;
	int err;

	if (!out)
		return -EINVAL;
	err = kbits__info(k, id, &i);
	if (err)
		return err;
	if (i.error_context != KBITS_ERROR_CONTEXT_NONE) {
		err = kbits_job_get_string(k, id, KBITS_STR_ERROR_DESCRIPTION, &desc);
		if (err)
			return err;
	} else {
		desc = strdup("");
		if (!desc)
			return -ENOMEM;
	}
	out->context = i.error_context;
	out->code = i.error_code;
	out->file = i.error_file;
	out->count = i.error_count;
	out->description = desc;
	return 0;
}

void kbits_job_error_free(struct kbits_job_error *e)
{
	if (!e)
		return;
	free(e->description);
	e->description = NULL;
}
