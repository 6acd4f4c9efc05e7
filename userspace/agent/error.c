// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/kbits.h>

#include "error.h"

/* URLs may carry user:password@: print scheme://host/path only. */
void kb_url_safe(const char *url, char *out, size_t len)
{
	const char *p = url ? strstr(url, "://") : NULL, *at, *end;

	if (!p) {
		snprintf(out, len, "%s", url ? url : "?");
		return;
	}
	end = p + 3 + strcspn(p + 3, "/?#");
	at = memchr(p + 3, '@', (size_t)(end - (p + 3)));
	if (at)
		snprintf(out, len, "%.*s%.200s", (int)(p + 3 - url), url, at + 1);
	else
		snprintf(out, len, "%.300s", url);
	out[strcspn(out, "?#")] = '\0';	/* queries may hold tokens */
}

bool kb_http_status_transient(long status)
{
	if (status == 408 || status == 429)
		return true;
	return status >= 500 && status != 501 && status != 505;
}

void kb_error_http(struct kb_error *e, long status, const char *url)
{
	char u[320];

	kb_url_safe(url, u, sizeof(u));
	e->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	e->code = (int32_t)status;
	e->transient = kb_http_status_transient(status);
	snprintf(e->desc, sizeof(e->desc), "HTTP status %ld from %s", status, u);
}

void kb_error_redirect(struct kb_error *e, const char *url, const char *location, const char *why)
{
	char u[200], l[200];

	kb_url_safe(url, u, sizeof(u));
	kb_url_safe(location ? location : "(no Location)", l, sizeof(l));
	e->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	e->code = -EPROTONOSUPPORT;
	e->transient = false;
	snprintf(e->desc, sizeof(e->desc), "redirect from %s to %s %s", u, l, why);
}

void kb_error_proxy(struct kb_error *e, long status, const char *proxy, bool offered)
{
	e->context = KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT;
	e->code = (int32_t)status;
	e->transient = false;	/* credentials do not mend themselves */
	snprintf(e->desc, sizeof(e->desc), "proxy %s refused the request: HTTP status %ld (%s)",
		 proxy, status,
		 offered ? "it refused the job's proxy credentials, or their schemes"
			 : "it wants credentials: set the job's proxy credentials");
}

void kb_error_curl(struct kb_error *e, CURLcode rc, const char *detail, const char *url)
{
	char u[320];
	int code;
	bool transient = true;

	kb_url_safe(url, u, sizeof(u));
	e->context = KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		code = -ECONNREFUSED;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		code = -EHOSTUNREACH;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		code = -ETIMEDOUT;
		break;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		code = -ECONNRESET;
		break;
	case CURLE_SSL_CONNECT_ERROR:
		code = -EPROTO;
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	/* the server's key is not the job's pin: no retry makes it so */
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CLIENTCERT:
		code = -EKEYREJECTED;
		transient = false;
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		code = -EPROTONOSUPPORT;
		transient = false;
		e->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
		break;
	case CURLE_TOO_MANY_REDIRECTS:
		code = -ELOOP;
		transient = false;
		e->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
		break;
	case CURLE_FILESIZE_EXCEEDED:
		code = -EFBIG;
		transient = false;
		e->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
		break;
	case CURLE_OUT_OF_MEMORY:
		code = -ENOMEM;
		e->context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER;
		break;
	default:
		code = -EIO;
		break;
	}
	e->code = code;
	e->transient = transient;
	snprintf(e->desc, sizeof(e->desc), "%s: %s%s%s", u, curl_easy_strerror(rc),
		 detail && *detail ? ": " : "", detail ? detail : "");
}

void kb_error_local(struct kb_error *e, int neg_errno, const char *what, const char *path)
{
	e->context = KBITS_ERROR_CONTEXT_LOCAL_FILE;
	e->code = neg_errno;
	/* A full disk or quota may free up; nothing else local heals itself. */
	e->transient = false;
	snprintf(e->desc, sizeof(e->desc), "%s %s: %s", what, path ? path : "?", strerror(-neg_errno));
}
