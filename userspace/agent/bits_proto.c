// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the BITS Upload Protocol: see bits_proto.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "bits_proto.h"

int kb_bits_parse_hex(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s[0])
		return -1;
	errno = 0;
	v = strtoul(s, &end, 16);	/* "0x80070005" or "80070005" */
	if (errno || *end || v > 0xffffffffUL)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* The URL of BITS requests: the job's, with the host replaced by the
 * server's BITS-Host-Id ("name" or "name:port") while it is honoured. */
char *kb_bits_request_url(const char *url, const char *host_id)
{
	CURLU *h;
	char *out = NULL, *res = NULL, *host = NULL;
	const char *colon;

	if (!host_id || !host_id[0])
		return strdup(url);
	h = curl_url();
	if (!h)
		return NULL;
	colon = strrchr(host_id, ':');
	if (colon && host_id[0] != '[' && strchr(host_id, ':') == colon)
		host = strndup(host_id, (size_t)(colon - host_id));
	else
		host = strdup(host_id), colon = NULL;
	if (host && !curl_url_set(h, CURLUPART_URL, url, 0) &&
	    !curl_url_set(h, CURLUPART_HOST, host, 0) &&
	    (!colon || !curl_url_set(h, CURLUPART_PORT, colon + 1, 0)) &&
	    !curl_url_get(h, CURLUPART_URL, &out, 0))
		res = strdup(out);
	curl_free(out);
	free(host);
	curl_url_cleanup(h);
	return res;
}

/* A BITS-Reply-URL, relative or absolute, against the URL it came from. */
char *kb_bits_resolve_url(const char *base, const char *rel)
{
	CURLU *h = curl_url();
	char *out = NULL, *res = NULL;

	if (!h)
		return NULL;
	if (!curl_url_set(h, CURLUPART_URL, base, 0) && !curl_url_set(h, CURLUPART_URL, rel, 0) &&
	    !curl_url_get(h, CURLUPART_URL, &out, 0))
		res = strdup(out);
	curl_free(out);
	curl_url_cleanup(h);
	return res;
}
