/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one list of a job's properties, for every layer that copies a job
 * field by field: the module (kbits_job_fill_info, the agent's RESTORE),
 * kbitsd's channel (GET_INFO into struct kb_job, struct kb_job into
 * RESTORE) and its store (the jobs table). A layer defines the macros it
 * needs, then includes this file where the expansion goes:
 *
 *	#define KBITS_PROP(f)	{ info->f = job->f; }
 *	#include <kbits_props.h>
 *
 * The file defines the macros a layer leaves undefined as empty, and
 * undefines all three at its end, so it has no include guard. A new
 * property is one line here plus its field in each struct; the layers
 * follow by themselves. tests/host/props_test.c fails when a field of
 * struct kbits_job_info or struct kbits_agent_restore is in no list, or a
 * listed field differs in size between the structs.
 *
 * Not uapi: nothing here changes a struct's layout and it is not installed.
 */

/*
 * KBITS_IDENTITY(field): who owns the job and where it is. kbitsd copies
 * them as they are; the module translates them (user namespaces, a
 * restored job's state) and so handles them by hand.
 *
 * KBITS_PROP(field): copied as they are by every layer, the module
 * included. Same name and size in struct kbits_job_info, struct
 * kbits_agent_restore, the module's struct kbits_job and kbitsd's struct
 * kb_job.
 *
 * KBITS_STRING(index, name): the string properties by KBITS_STR_* index;
 * the name is the store's column.
 *
 * The order is the store's column order: append only.
 */
#ifndef KBITS_IDENTITY
#define KBITS_IDENTITY(field)
#endif
#ifndef KBITS_PROP
#define KBITS_PROP(field)
#endif
#ifndef KBITS_STRING
#define KBITS_STRING(index, name)
#endif

KBITS_IDENTITY(owner_uid)
KBITS_IDENTITY(owner_gid)
KBITS_IDENTITY(type)
KBITS_IDENTITY(state)

KBITS_PROP(priority)
KBITS_PROP(min_retry_delay)
KBITS_PROP(no_progress_timeout)
KBITS_PROP(notify_flags)
KBITS_PROP(proxy_usage)
KBITS_PROP(job_flags)
KBITS_PROP(max_download_time)
KBITS_PROP(max_download_size)
KBITS_PROP(creation_time)
KBITS_PROP(modification_time)
KBITS_PROP(transfer_completion_time)
KBITS_PROP(error_count)
KBITS_PROP(error_context)
KBITS_PROP(error_code)
KBITS_PROP(error_file)
KBITS_PROP(security_flags)
KBITS_PROP(server_auth_schemes)
KBITS_PROP(proxy_auth_schemes)
KBITS_PROP(min_notify_interval_ms)
KBITS_PROP(max_bandwidth)

KBITS_STRING(KBITS_STR_DISPLAY_NAME, display_name)
KBITS_STRING(KBITS_STR_DESCRIPTION, description)
KBITS_STRING(KBITS_STR_NOTIFY_CMDLINE, notify_cmdline)
KBITS_STRING(KBITS_STR_PROXY_LIST, proxy_list)
KBITS_STRING(KBITS_STR_PROXY_BYPASS, proxy_bypass)
KBITS_STRING(KBITS_STR_CREDENTIALS, credentials)
KBITS_STRING(KBITS_STR_HTTP_HEADERS, http_headers)
KBITS_STRING(KBITS_STR_REPLY_FILE, reply_file)
KBITS_STRING(KBITS_STR_ERROR_DESCRIPTION, error_description)
KBITS_STRING(KBITS_STR_PROXY_CREDENTIALS, proxy_credentials)
KBITS_STRING(KBITS_STR_CLIENT_CERT, client_cert)
KBITS_STRING(KBITS_STR_CLIENT_KEY, client_key)
KBITS_STRING(KBITS_STR_CA_BUNDLE, ca_bundle)
KBITS_STRING(KBITS_STR_PINNED_PUBKEY, pinned_pubkey)

#undef KBITS_IDENTITY
#undef KBITS_PROP
#undef KBITS_STRING
