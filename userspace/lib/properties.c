// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Job properties: the string ones (GET_STRING / SET_STRING) and the numeric
 * ones (read from GetJob, written with KBITS_IOC_JOB_SET and its mask).
 */
#include <stdlib.h>

#include "internal.h"

/* Room for the longest string property; -ERANGE still handled below. */
#define STRING_GUESS 1024

int kbits_job_get_string(struct kbits *k, const struct kbits_guid *id, uint32_t prop,
			 char **value)
{
	struct kbits_job_string s;
	uint32_t cap = STRING_GUESS;

	if (!id || !value || prop > KBITS_STR_MAX)
		return -EINVAL;
	/* getxattr() style: a too small buffer gets -ERANGE and the length. */
	for (int tries = 0; tries < 4; tries++) {
		char *buf = malloc((size_t)cap + 1);
		int err;

		if (!buf)
			return -ENOMEM;
		memset(&s, 0, sizeof(s));
		memcpy(s.job_id, id->b, sizeof(s.job_id));
		s.prop = prop;
		s.len = cap;
		s.value = kbits_ptr(buf);
		err = kbits_ioctl(k, KBITS_IOC_JOB_GET_STRING, &s);
		if (err == -ERANGE && s.len > cap) {
			free(buf);
			cap = s.len;
			continue;
		}
		if (!err && s.len > cap)	/* a kernel bug must not overrun us */
			err = -EIO;
		if (err) {
			free(buf);
			return err;
		}
		buf[s.len] = '\0';
		*value = buf;
		return 0;
	}
	/* The value kept growing between calls. */
	return -EAGAIN;
}

int kbits_job_set_string(struct kbits *k, const struct kbits_guid *id, uint32_t prop,
			 const char *value)
{
	struct kbits_job_string s;
	size_t len;

	if (!id || prop > KBITS_STR_MAX)
		return -EINVAL;
	if (!value)
		value = "";
	len = strlen(value);
	if (len > UINT32_MAX)
		return -E2BIG;
	memset(&s, 0, sizeof(s));
	memcpy(s.job_id, id->b, sizeof(s.job_id));
	s.prop = prop;
	s.len = (__u32)len;
	s.value = kbits_ptr(value);
	return kbits_ioctl(k, KBITS_IOC_JOB_SET_STRING, &s);
}

#define STRING_PROP(name, prop)							\
	int kbits_job_get_##name(struct kbits *k, const struct kbits_guid *id,	\
				 char **v)					\
	{									\
		return kbits_job_get_string(k, id, prop, v);			\
	}									\
	int kbits_job_set_##name(struct kbits *k, const struct kbits_guid *id,	\
				 const char *v)					\
	{									\
		return kbits_job_set_string(k, id, prop, v);			\
	}

STRING_PROP(display_name, KBITS_STR_DISPLAY_NAME)
STRING_PROP(description, KBITS_STR_DESCRIPTION)
STRING_PROP(notify_cmdline, KBITS_STR_NOTIFY_CMDLINE)
STRING_PROP(http_headers, KBITS_STR_HTTP_HEADERS)
STRING_PROP(reply_file, KBITS_STR_REPLY_FILE)
STRING_PROP(client_cert, KBITS_STR_CLIENT_CERT)
STRING_PROP(client_key, KBITS_STR_CLIENT_KEY)
STRING_PROP(ca_bundle, KBITS_STR_CA_BUNDLE)
STRING_PROP(pinned_pubkey, KBITS_STR_PINNED_PUBKEY)

int kbits_job_set_credentials(struct kbits *k, const struct kbits_guid *id, const char *v)
{
	return kbits_job_set_string(k, id, KBITS_STR_CREDENTIALS, v);
}

int kbits_job_set_proxy_credentials(struct kbits *k, const struct kbits_guid *id, const char *v)
{
	return kbits_job_set_string(k, id, KBITS_STR_PROXY_CREDENTIALS, v);
}

/* ---- numeric: KBITS_IOC_JOB_SET ---- */

static void set_init(struct kbits_job_set *s, const struct kbits_guid *id, uint32_t mask)
{
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->mask = mask;
	memcpy(s->job_id, id->b, sizeof(s->job_id));
}

#define NUMERIC_PROP(name, field, mask, type)					\
	int kbits_job_get_##name(struct kbits *k, const struct kbits_guid *id,	\
				 type *v)					\
	{									\
		struct kbits_job_info i;					\
		int err = kbits__info(k, id, &i);				\
										\
		if (!err)							\
			*v = i.field;						\
		return err;							\
	}									\
	int kbits_job_set_##name(struct kbits *k, const struct kbits_guid *id,	\
				 type v)					\
	{									\
		struct kbits_job_set s;						\
										\
		if (!id)							\
			return -EINVAL;						\
		set_init(&s, id, mask);						\
		s.field = v;							\
		return kbits_ioctl(k, KBITS_IOC_JOB_SET, &s);			\
	}

NUMERIC_PROP(priority, priority, KBITS_SET_PRIORITY, uint32_t)
NUMERIC_PROP(min_retry_delay, min_retry_delay, KBITS_SET_MIN_RETRY_DELAY, uint32_t)
NUMERIC_PROP(no_progress_timeout, no_progress_timeout, KBITS_SET_NO_PROGRESS_TIMEOUT, uint32_t)
NUMERIC_PROP(notify_flags, notify_flags, KBITS_SET_NOTIFY_FLAGS, uint32_t)
NUMERIC_PROP(max_download_time, max_download_time, KBITS_SET_MAX_DOWNLOAD_TIME, uint64_t)
NUMERIC_PROP(max_download_size, max_download_size, KBITS_SET_MAX_DOWNLOAD_SIZE, uint64_t)
NUMERIC_PROP(flags, job_flags, KBITS_SET_JOB_FLAGS, uint32_t)
NUMERIC_PROP(security_flags, security_flags, KBITS_SET_SECURITY_FLAGS, uint32_t)
NUMERIC_PROP(server_auth_schemes, server_auth_schemes, KBITS_SET_SERVER_AUTH_SCHEMES, uint32_t)
NUMERIC_PROP(proxy_auth_schemes, proxy_auth_schemes, KBITS_SET_PROXY_AUTH_SCHEMES, uint32_t)
NUMERIC_PROP(min_notify_interval, min_notify_interval_ms, KBITS_SET_MIN_NOTIFY_INTERVAL, uint32_t)
NUMERIC_PROP(max_bandwidth, max_bandwidth, KBITS_SET_MAX_BANDWIDTH, uint64_t)

int kbits_job_set_target_credentials(struct kbits *k, const struct kbits_guid *id,
				     uint32_t target, uint32_t schemes, const char *user_password)
{
	int err;

	if (target == KBITS_AUTH_TARGET_SERVER)
		err = kbits_job_set_server_auth_schemes(k, id, schemes);
	else if (target == KBITS_AUTH_TARGET_PROXY)
		err = kbits_job_set_proxy_auth_schemes(k, id, schemes);
	else
		return -EINVAL;
	if (err)
		return err;
	return kbits_job_set_string(k, id, target == KBITS_AUTH_TARGET_SERVER ? KBITS_STR_CREDENTIALS
									     : KBITS_STR_PROXY_CREDENTIALS,
				    user_password ? user_password : "");
}

int kbits_job_remove_credentials(struct kbits *k, const struct kbits_guid *id, uint32_t target)
{
	if (target != KBITS_AUTH_TARGET_SERVER && target != KBITS_AUTH_TARGET_PROXY)
		return -EINVAL;
	return kbits_job_set_string(k, id, target == KBITS_AUTH_TARGET_SERVER ? KBITS_STR_CREDENTIALS
									     : KBITS_STR_PROXY_CREDENTIALS, "");
}

int kbits_job_get_dynamic_content(struct kbits *k, const struct kbits_guid *id, int *on)
{
	uint32_t f;
	int err = kbits_job_get_flags(k, id, &f);

	if (!err)
		*on = !!(f & KBITS_JOB_F_DYNAMIC_CONTENT);
	return err;
}

int kbits_job_set_dynamic_content(struct kbits *k, const struct kbits_guid *id, int on)
{
	uint32_t f;
	int err = kbits_job_get_flags(k, id, &f);

	if (err)
		return err;
	f = on ? f | KBITS_JOB_F_DYNAMIC_CONTENT : f & ~(uint32_t)KBITS_JOB_F_DYNAMIC_CONTENT;
	return kbits_job_set_flags(k, id, f);
}

/* ---- proxy: usage (numeric) and two lists (strings) ---- */

int kbits_job_get_proxy(struct kbits *k, const struct kbits_guid *id, uint32_t *usage,
			char **list, char **bypass)
{
	char *l = NULL, *b = NULL;
	struct kbits_job_info i;
	int err;

	err = kbits__info(k, id, &i);
	if (!err && list)
		err = kbits_job_get_string(k, id, KBITS_STR_PROXY_LIST, &l);
	if (!err && bypass)
		err = kbits_job_get_string(k, id, KBITS_STR_PROXY_BYPASS, &b);
	if (err) {
		free(l);
		return err;
	}
	if (usage)
		*usage = i.proxy_usage;
	if (list)
		*list = l;
	if (bypass)
		*bypass = b;
	return 0;
}

int kbits_job_set_proxy(struct kbits *k, const struct kbits_guid *id, uint32_t usage,
			const char *list, const char *bypass)
{
	struct kbits_job_set s;
	int err;

	if (!id)
		return -EINVAL;
	/* Lists first: an agent that sees OVERRIDE then sees its lists too. */
	err = kbits_job_set_string(k, id, KBITS_STR_PROXY_LIST, list);
	if (!err)
		err = kbits_job_set_string(k, id, KBITS_STR_PROXY_BYPASS, bypass);
	if (err)
		return err;
	set_init(&s, id, KBITS_SET_PROXY_USAGE);
	s.proxy_usage = usage;
	return kbits_ioctl(k, KBITS_IOC_JOB_SET, &s);
}
