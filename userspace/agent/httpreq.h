/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One easy-handle setup for every request kbitsd sends: downloads, BITS
 * upload packets, plain PUTs, GETs of upload replies and Cancel-Session.
 * Whatever concerns the job's policy is set here and nowhere else:
 * credentials, custom headers, proxy (through netopt.c, bypass list
 * converted), TLS, protocols, timeouts, and curl's verbose log only
 * through the redacting debug callback. An upload body is read through
 * the caller's read callback and rewound when libcurl answers a 401 or
 * 407 challenge (it sends the request again, with credentials).
 *
 * The caller keeps its struct kb_httpreq alive as long as the easy handle:
 * it is the handle's CURLOPT_PRIVATE, and curl's socket callback gets it.
 */
#ifndef KBITSD_HTTPREQ_H
#define KBITSD_HTTPREQ_H

#include <stdbool.h>
#include <curl/curl.h>

#include "error.h"
#include "job.h"
#include "transfer.h"

struct kb_httpreq {
	/* set by the caller before kb_httpreq_setup */
	const struct kb_job *job;	/* credentials, headers, proxy */
	const char *url;
	const char *ca_file;		/* NULL: the system's */
	long connect_timeout;		/* s, 0: 30 */
	long low_speed_time;		/* s without a byte: stalled; 0: 60 */
	int verbose;			/* > 2: curl's log, redacted */
	/* The entry of the job's proxy list (OVERRIDE) to go through, from 0:
	 * the caller's per-attempt state (see kb_httpreq_failover). */
	unsigned int proxy;
	void *arg;			/* of every callback below */
	curl_write_callback header;	/* required */
	curl_write_callback body;	/* NULL: bodies are dropped */
	/* An upload body (the caller sets its method and size): read(arg)
	 * gives its bytes, rewind(arg, offset) goes back to offset (0 or
	 * -errno); NULL: none. */
	curl_read_callback read;
	int (*rewind)(void *arg, curl_off_t offset);
	/* A new connection's socket (after the errbuf is cleared); NULL: none. */
	void (*socket)(void *arg, curl_socket_t fd);
	/* curl is done with the request (curlio.c calls it; never from
	 * inside curl): rc as curl has it, see kb_httpreq_result. */
	void (*done)(void *arg, CURLcode rc);
	/* The request follows redirects (downloads, an upload's reply), at
	 * most max_redirects, as the job's security flags allow. */
	bool follow;
	long max_redirects;
	/* kept by kb_httpreq_* */
	bool refuse_redirects;		/* follow, but the policy is DISALLOW */
	char errbuf[CURL_ERROR_SIZE];
	unsigned int challenges;	/* KB_CHALLENGE_*: answers seen */
	bool stopped;			/* the answer ended at its headers */
	long stopped_status;
	/* kb_httpreq_setup could not read a TLS file of the job (context
	 * LOCAL_FILE, fatal); desc[0] == '\0': no such failure. */
	struct kb_error tls_err;
};

/* Bytes a TLS file of a job (certificate, key, CA bundle, pin) may have. */
#define KB_TLS_FILE_MAX		(4u << 20)

#define KB_CHALLENGE_SERVER	0x1	/* a 401 */
#define KB_CHALLENGE_PROXY	0x2	/* a 407 */

/*
 * The libcurl CURLAUTH_* mask of a KBITS_AUTH_SCHEME_* mask (0: any,
 * CURLAUTH_ANY, as before the schemes existed).
 */
unsigned long kb_httpreq_auth(uint32_t schemes);

/* Fills the request's fields from the configuration (zeroing the rest). */
void kb_httpreq_init(struct kb_httpreq *r, const struct kb_engine_config *cfg, const struct kb_job *job,
		     const char *url, void *arg);

/*
 * Sets every option of the request on c: URL, callbacks, job policy,
 * HTTP header lines of the job appended to *hdrs (the caller adds its own
 * and sets CURLOPT_HTTPHEADER). 0, -ENOMEM, or the -errno of a TLS file
 * of the job that could not be read with r->tls_err filled.
 *
 * TLS (KBITS_FEATURE_TLS): the client certificate, key and CA bundle are
 * read here as the job's owner (kb_creds_enter: never as root on the
 * owner's behalf) and handed to libcurl as blobs it copies; a CA bundle
 * replaces the system's CAs and kbitsd's --ca-file. A pin that names a
 * file is read the same way and turned into its sha256// form (libcurl
 * would otherwise open the path itself, as root).
 */
int kb_httpreq_setup(CURL *c, struct kb_httpreq *r, struct curl_slist **hdrs);

/*
 * For a header callback at the blank line ending a response's headers:
 * true when the answer is an error whose body nobody needs (the status
 * and headers say it all; the server may send no length, and waiting for
 * a body until the connection closes hangs). The callback then returns 0;
 * kb_httpreq_result turns curl's write error back into the status.
 * An authentication challenge is let through once per target (server
 * 401, proxy 407): libcurl answers it.
 */
bool kb_httpreq_stop_at_headers(struct kb_httpreq *r, long status);

/* The outcome after curl is done: the transport error (CURLE_OK when an
 * answer came) and the response status. */
CURLcode kb_httpreq_result(struct kb_httpreq *r, CURL *c, CURLcode rc, long *status);

/*
 * Proxy fail-over. True when the request failed (rc) because its proxy
 * could not be used and the job's proxy list has an entry after r->proxy:
 * the caller then sends the request again, at once and without an error
 * of the job, through entry r->proxy + 1 (the skipped proxy is logged
 * here). "Could not be used": the request went through an entry of the
 * list (kb_netopt_proxied), no HTTP answer came, nor did a CONNECT tunnel
 * stand, and the proxy's name did not resolve, its connection was refused
 * or timed out, it closed the connection before answering, its handshake
 * failed, or it refused the CONNECT with a status other than 407. A 407
 * is about credentials, not reachability: no fail-over (fatal, see
 * kb_httpreq_error). Errors of a standing tunnel and answers a proxy
 * relays (a 502 ...) are the server's.
 */
bool kb_httpreq_failover(const struct kb_httpreq *r, CURL *c, CURLcode rc);

/*
 * An error of the request as BITS tells it: a transport failure (rc), or
 * an HTTP status the caller did not handle; a proxy's refusal (407) names
 * the proxy, not the server; a failure of the proxy (as kb_httpreq_failover
 * tells it) names the proxy and how many entries of the list were tried
 * ("proxy http://p:3128 (2 of 2 tried): ..."); Retry-After is kept.
 */
void kb_httpreq_error(const struct kb_httpreq *r, CURL *c, CURLcode rc, long status, struct kb_error *err);

/*
 * The protocols a redirect from url may go to (CURLOPT_REDIR_PROTOCOLS_STR):
 * never from https to http unless the job's security flags allow it.
 */
const char *kb_httpreq_redir_protocols(const char *url, uint32_t security_flags);

/* Appends a printf-formatted line to a header list: 0 or -ENOMEM. */
int kb_httpreq_add_line(struct curl_slist **l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
