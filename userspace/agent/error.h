/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Classification of what went wrong into BITS's error object: context
 * (KBITS_ERROR_CONTEXT_*), code (-errno or an HTTP status), the file it
 * concerns, a readable description, and whether a retry may help.
 */
#ifndef KBITSD_ERROR_H
#define KBITSD_ERROR_H

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>

struct kb_error {
	uint32_t context;
	int32_t code;
	uint32_t file;			/* index, or ~0 */
	bool transient;
	uint32_t retry_after;		/* s the server asked for, 0: none */
	char desc[512];
};

void kb_error_http(struct kb_error *e, long status, const char *url);
/*
 * A redirect from url to location (NULL: not known) the job's security
 * flags refuse, with why: fatal, REMOTE_FILE, -EPROTONOSUPPORT (callers
 * with an HTTP status put it in e->code).
 */
void kb_error_redirect(struct kb_error *e, const char *url, const char *location, const char *why);
/* A proxy refused the request (407: it wants credentials it did not get
 * or take); proxy as kb_url_safe prints it; offered: the job has proxy
 * credentials (so they were refused). */
void kb_error_proxy(struct kb_error *e, long status, const char *proxy, bool offered);
/* url without user information, query or fragment, for messages. */
void kb_url_safe(const char *url, char *out, size_t len);
void kb_error_curl(struct kb_error *e, CURLcode rc, const char *detail, const char *url);
void kb_error_local(struct kb_error *e, int neg_errno, const char *what, const char *path);
bool kb_http_status_transient(long status);

#endif
