// SPDX-License-Identifier: GPL-2.0
/*
 * Proxy options and a safe verbose log: see netopt.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "netopt.h"

#define SEPS	" \t\r\n;,"

void kb_netopt_bypass(const char *bits, char *out, size_t len)
{
	const char *p = bits;
	size_t o = 0;

	if (!len)
		return;
	out[0] = '\0';
	for (int guard = 0; p && *p && guard < 4096; guard++) {
		size_t n;
		const char *item;
		int w;

		p += strspn(p, SEPS);
		n = strcspn(p, SEPS);
		if (!n)
			break;
		item = p;
		p += n;
		if (n == 7 && !strncasecmp(item, "<local>", 7)) {
			item = "localhost,127.0.0.1,::1";
			n = strlen(item);
		}
		w = snprintf(out + o, len - o, "%s%.*s", o ? "," : "", (int)n, item);
		if (w < 0 || (size_t)w >= len - o) {
			out[o] = '\0';	/* too long: keep the entries that fit */
			break;
		}
		o += (size_t)w;
	}
}

/* Entry idx (from 0) of a proxy list: its start, its length in *n; NULL
 * when the list has fewer entries. */
static const char *list_entry(const char *list, unsigned int idx, size_t *n)
{
	const char *p = list;

	for (unsigned int i = 0; p && *p; i++) {
		p += strspn(p, SEPS);
		*n = strcspn(p, SEPS);
		if (!*n)
			break;
		if (i == idx)
			return p;
		p += *n;
	}
	return NULL;
}

unsigned int kb_netopt_proxy_count(const struct kb_job *job)
{
	const char *list = job->strings[KBITS_STR_PROXY_LIST];
	unsigned int i = 0;
	size_t n;

	if (job->proxy_usage != KBITS_PROXY_OVERRIDE || !list)
		return 0;
	while (list_entry(list, i, &n))
		i++;
	return i;
}

int kb_netopt_proxy(CURL *c, const struct kb_job *job, unsigned int idx)
{
	const char *list = job->strings[KBITS_STR_PROXY_LIST];
	const char *bypass = job->strings[KBITS_STR_PROXY_BYPASS];
	const char *p;
	size_t n = 0;

	switch (job->proxy_usage) {
	case KBITS_PROXY_NO_PROXY:
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		break;
	case KBITS_PROXY_OVERRIDE:
		p = list ? list_entry(list, idx, &n) : NULL;
		if (!p && list)	/* never past the list into the environment */
			p = list_entry(list, 0, &n);
		if (p) {
			char *entry = strndup(p, n);

			if (!entry)
				return -ENOMEM;
			curl_easy_setopt(c, CURLOPT_PROXY, entry);
			free(entry);
		}
		/* only the job's bypass list: never kbitsd's no_proxy (see kb_netopt_proxied) */
		if (bypass) {
			size_t len = strlen(bypass) * 4 + 64;
			char *nb = malloc(len);

			if (!nb)
				return -ENOMEM;
			kb_netopt_bypass(bypass, nb, len);
			curl_easy_setopt(c, CURLOPT_NOPROXY, nb);	/* curl copies it */
			free(nb);
		} else {
			curl_easy_setopt(c, CURLOPT_NOPROXY, "");
		}
		break;
	default:	/* PRECONFIG and AUTODETECT: the environment's */
		break;
	}
	return 0;
}

/*
 * Does libcurl's no-proxy list (kb_netopt_bypass's form) name host? As
 * libcurl 7.88 matches it: "*" is every host; a name matches itself and
 * its subdomains (a leading '.' of the entry is ignored); an IP address
 * matches only itself (libcurl's CIDR entries are not matched here: a
 * failure to such a host is then taken for its proxy's).
 */
static bool bypassed(const char *list, const char *host)
{
	size_t hl = strlen(host);
	const char *p = list;

	if (hl && host[hl - 1] == '.')
		hl--;
	for (int guard = 0; p && *p && guard < 4096; guard++) {
		size_t n;
		const char *e;

		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (!n)
			break;
		e = p;
		p += n;
		if (n == 1 && *e == '*')
			return true;
		if (*e == '.') {
			e++;
			n--;
		}
		if (!n || n > hl)
			continue;
		if (n == hl && !strncasecmp(e, host, n))
			return true;
		if (n < hl && host[hl - n - 1] == '.' && !strncasecmp(e, host + hl - n, n) &&
		    !strchr(host, ':') && strspn(host, "0123456789.") != hl)
			return true;
	}
	return false;
}

bool kb_netopt_proxied(const struct kb_job *job, const char *url)
{
	const char *bypass = job->strings[KBITS_STR_PROXY_BYPASS];
	bool through = false;
	char *host = NULL;
	CURLU *u;

	if (!kb_netopt_proxy_count(job))
		return false;
	if (!bypass)
		return true;
	u = curl_url();
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		size_t len = strlen(bypass) * 4 + 64;
		char *nb = malloc(len), *h = host;

		if (h[0] == '[') {	/* an IPv6 literal: libcurl matches it bare */
			h++;
			h[strcspn(h, "]")] = '\0';
		}
		if (nb) {
			kb_netopt_bypass(bypass, nb, len);
			through = !bypassed(nb, h);
		}
		free(nb);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return through;
}

void kb_netopt_proxy_name(const struct kb_job *job, unsigned int idx, const char *url, char *out, size_t len)
{
	const char *list = job->strings[KBITS_STR_PROXY_LIST], *env = NULL, *p;
	char entry[KBITS_URL_MAX + 1];
	size_t n = 0;

	if (job->proxy_usage == KBITS_PROXY_OVERRIDE && list) {
		p = list_entry(list, idx, &n);
		if (p) {
			snprintf(entry, sizeof(entry), "%.*s", (int)n, p);
			env = entry;
		}
	} else if (job->proxy_usage != KBITS_PROXY_NO_PROXY) {
		/* libcurl's variables, in its order */
		env = getenv(url && !strncasecmp(url, "https:", 6) ? "https_proxy" : "http_proxy");
		if (!env || !*env)
			env = getenv("all_proxy");
	}
	if (env && *env)
		kb_url_safe(env, out, len);
	else
		snprintf(out, len, "a proxy");
}

/* Masks the user information of URLs (scheme, "://", user:pw, "@"), in place. */
static void mask_userinfo(char *s)
{
	char *p = s;

	for (int guard = 0; (p = strstr(p, "://")) && guard < 64; guard++) {
		char *start = p + 3, *end = start + strcspn(start, "/ '\"\t"), *at = NULL;

		for (char *q = start; q < end; q++)
			if (*q == '@')
				at = q;
		if (at) {
			memmove(start + 3, at, strlen(at) + 1);
			memcpy(start, "***", 3);
		}
		p = start;
	}
}

static bool header_harmless(const char *line, size_t n)
{
	static const char *const ok[] = { "Host", "Range", "If-Range", "User-Agent", "Accept",
					  "Content-Length", "Content-Range", "Content-Type", "ETag",
					  "Last-Modified", "Accept-Ranges", "Location", "Retry-After",
					  "Date", "Server", "Connection", "Transfer-Encoding", "Via" };

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t l = strlen(ok[i]);

		if (n > l && line[l] == ':' && !strncasecmp(line, ok[i], l))
			return true;
	}
	return false;
}

int kb_netopt_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	const char *p = data, *end = data + size;
	char line[1024];
	char mark;

	(void)h;
	(void)arg;
	switch (type) {
	case CURLINFO_TEXT:
		mark = '*';
		break;
	case CURLINFO_HEADER_OUT:
		mark = '>';
		break;
	case CURLINFO_HEADER_IN:
		mark = '<';
		break;
	default:
		return 0;	/* bodies, TLS records: never */
	}
	for (int guard = 0; p < end && guard < 256; guard++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *colon;

		if (n && p[n - 1] == '\r')
			n--;
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		if (!n)
			continue;
		if (type == CURLINFO_TEXT) {
			mask_userinfo(line);
			/* "Server auth using Basic with user 'x'", proxy env lines */
			if (strcasestr(line, "user") || strcasestr(line, "auth"))
				snprintf(line, sizeof(line), "(a line about credentials)");
		} else if (type == CURLINFO_HEADER_OUT && strstr(line, " HTTP/") && strchr(line, ' ') &&
			   (!strchr(line, ':') || strchr(line, ' ') < strchr(line, ':'))) {
			/* the request line: no query (tokens live there), no user info */
			char *q, *v;

			mask_userinfo(line);
			q = strchr(line, '?');
			v = strstr(line, " HTTP/");
			if (q && v && q < v)
				memmove(q, v, strlen(v) + 1);
		} else if (type == CURLINFO_HEADER_IN && !strncmp(line, "HTTP/", 5)) {
			/* the status line */
		} else if ((colon = strchr(line, ':'))) {
			if (!header_harmless(line, n)) {
				line[colon - line + 1] = '\0';
				strncat(line, " [hidden]", sizeof(line) - strlen(line) - 1);
			}
		} else {
			snprintf(line, sizeof(line), "[hidden]");
		}
		fprintf(stderr, "kbitsd: curl %c %s\n", mark, line);
	}
	return 0;
}
