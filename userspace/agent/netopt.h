/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-transfer network options that are policy rather than mechanics:
 * the job's proxy settings in libcurl's terms, and libcurl's verbose log
 * with credentials, custom headers and URL queries taken out.
 */
#ifndef KBITSD_NETOPT_H
#define KBITSD_NETOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>

#include "job.h"

/*
 * Proxy usage of a job:
 *   PRECONFIG, AUTODETECT: libcurl's environment variables of kbitsd
 *     (http_proxy, https_proxy, all_proxy, no_proxy; HTTP_PROXY in upper
 *     case is ignored by libcurl on purpose);
 *   NO_PROXY: CURLOPT_PROXY "" (the environment is ignored);
 *   OVERRIDE: entry idx (from 0) of the proxy list (entries separated by
 *     blanks, ';' or ','; none when the list is shorter), the bypass list
 *     as CURLOPT_NOPROXY (same separators; BITS's "<local>" becomes
 *     localhost,127.0.0.1,::1); the environment is ignored. Which entry
 *     is the caller's (httpreq.h: fail-over).
 * Returns 0 or -ENOMEM.
 */
int kb_netopt_proxy(CURL *c, const struct kb_job *job, unsigned int idx);

/* Entries of the job's proxy list when it is used (OVERRIDE), else 0. */
unsigned int kb_netopt_proxy_count(const struct kb_job *job);

/* Does a request to url go through an entry of the job's proxy list
 * (OVERRIDE, a list, url's host not in the bypass list)? */
bool kb_netopt_proxied(const struct kb_job *job, const char *url);

/* The proxy a request to url goes through as the job sets it, entry idx
 * of an OVERRIDE list (for messages: no user information), "a proxy" when
 * it cannot be told. */
void kb_netopt_proxy_name(const struct kb_job *job, unsigned int idx, const char *url, char *out, size_t len);

/* Converts a BITS bypass list to libcurl's comma-separated form. */
void kb_netopt_bypass(const char *bits, char *out, size_t len);

/* CURLOPT_DEBUGFUNCTION for CURLOPT_VERBOSE: prints curl's text lines
 * (user information in URLs masked) and header names; values only of
 * headers known to be harmless; never bodies. */
int kb_netopt_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg);

#endif
