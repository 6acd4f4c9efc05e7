// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Names of the ABI's numbers, for people and for --json: the BITS constant
 * names in lowercase (KBITS_STATE_TRANSIENT_ERROR is "transient_error").
 */
#include <ctype.h>

#include "internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const states[] = {
	[KBITS_STATE_QUEUED] = "queued",
	[KBITS_STATE_CONNECTING] = "connecting",
	[KBITS_STATE_TRANSFERRING] = "transferring",
	[KBITS_STATE_SUSPENDED] = "suspended",
	[KBITS_STATE_ERROR] = "error",
	[KBITS_STATE_TRANSIENT_ERROR] = "transient_error",
	[KBITS_STATE_TRANSFERRED] = "transferred",
	[KBITS_STATE_ACKNOWLEDGED] = "acknowledged",
	[KBITS_STATE_CANCELLED] = "cancelled",
};

static const char *const types[] = {
	[KBITS_JOB_DOWNLOAD] = "download",
	[KBITS_JOB_UPLOAD] = "upload",
	[KBITS_JOB_UPLOAD_REPLY] = "upload_reply",
};

static const char *const priorities[] = {
	[KBITS_PRIORITY_FOREGROUND] = "foreground",
	[KBITS_PRIORITY_HIGH] = "high",
	[KBITS_PRIORITY_NORMAL] = "normal",
	[KBITS_PRIORITY_LOW] = "low",
};

static const char *const proxy_usages[] = {
	[KBITS_PROXY_PRECONFIG] = "preconfig",
	[KBITS_PROXY_NO_PROXY] = "no_proxy",
	[KBITS_PROXY_OVERRIDE] = "override",
	[KBITS_PROXY_AUTODETECT] = "autodetect",
};

/* by redirect policy >> 8 */
static const char *const redirect_policies[] = {
	[KBITS_SECURITY_REDIRECT_ALLOW_SILENT >> 8] = "allow",
	[KBITS_SECURITY_REDIRECT_ALLOW_REPORT >> 8] = "report",
	[KBITS_SECURITY_REDIRECT_DISALLOW >> 8] = "disallow",
};

static const char *const contexts[] = {
	[KBITS_ERROR_CONTEXT_NONE] = "none",
	[KBITS_ERROR_CONTEXT_UNKNOWN] = "unknown",
	[KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER] = "general_queue_manager",
	[KBITS_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION] = "queue_manager_notification",
	[KBITS_ERROR_CONTEXT_LOCAL_FILE] = "local_file",
	[KBITS_ERROR_CONTEXT_REMOTE_FILE] = "remote_file",
	[KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT] = "general_transport",
	[KBITS_ERROR_CONTEXT_REMOTE_APPLICATION] = "remote_application",
};

static const char *const events[] = {
	[KBITS_EVENT_UNSPEC] = "unspec",
	[KBITS_EVENT_CREATED] = "created",
	[KBITS_EVENT_MODIFIED] = "modified",
	[KBITS_EVENT_STATE] = "state",
	[KBITS_EVENT_PROGRESS] = "progress",
	[KBITS_EVENT_FILE_TRANSFERRED] = "file_transferred",
	[KBITS_EVENT_ERROR] = "error",
	[KBITS_EVENT_ACKNOWLEDGED] = "acknowledged",
	[KBITS_EVENT_CANCELLED] = "cancelled",
	[KBITS_EVENT_OWNERSHIP] = "ownership",
};

static const char *name_of(const char *const *tab, size_t n, uint32_t v)
{
	return v < n && tab[v] ? tab[v] : "unknown";
}

/* Case-insensitive, '-' equal to '_': "Transient-Error" is a state. */
static int same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		int x = *a == '-' ? '_' : tolower((unsigned char)*a);
		int y = *b == '-' ? '_' : tolower((unsigned char)*b);

		if (x != y)
			return 0;
	}
	return *a == *b;
}

static int parse(const char *const *tab, size_t n, const char *s, uint32_t *v)
{
	if (!s || !v)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (tab[i] && same_name(s, tab[i])) {
			*v = (uint32_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

#define NAME_AND_PARSE(what, tab)						\
	const char *kbits_##what##_name(uint32_t v)				\
	{									\
		return name_of(tab, ARRAY_SIZE(tab), v);			\
	}									\
	int kbits_##what##_parse(const char *s, uint32_t *v)			\
	{									\
		return parse(tab, ARRAY_SIZE(tab), s, v);			\
	}

NAME_AND_PARSE(state, states)
NAME_AND_PARSE(type, types)
NAME_AND_PARSE(priority, priorities)
NAME_AND_PARSE(proxy_usage, proxy_usages)

const char *kbits_redirect_policy_name(uint32_t security_flags)
{
	return name_of(redirect_policies, ARRAY_SIZE(redirect_policies),
		       (security_flags & KBITS_SECURITY_REDIRECT_MASK) >> 8);
}

int kbits_redirect_policy_parse(const char *s, uint32_t *policy)
{
	uint32_t v;
	int err = parse(redirect_policies, ARRAY_SIZE(redirect_policies), s, &v);

	if (!err)
		*policy = v << 8;
	return err;
}

const char *kbits_error_context_name(uint32_t context)
{
	return name_of(contexts, ARRAY_SIZE(contexts), context);
}

const char *kbits_event_name(uint32_t event)
{
	if (event == KBITS_EVENT_LIB_RESYNC)
		return "resync";
	return name_of(events, ARRAY_SIZE(events), event);
}

int kbits_state_is_final(uint32_t state)
{
	return state == KBITS_STATE_ACKNOWLEDGED || state == KBITS_STATE_CANCELLED;
}
