// SPDX-License-Identifier: GPL-2.0
/*
 * Cancel-Session in the background: see upload_cancel.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bits_proto.h"
#include "http.h"
#include "httpreq.h"
#include "log.h"
#include "upload_cancel.h"

unsigned int kb_upload_cancel_tries = 3;

struct ucancel {
	struct kb_cancels *cs;
	struct ucancel *next;
	CURL *easy;
	struct curl_slist *hdrs;
	struct kb_job *job;		/* a reference: credentials, headers, proxy */
	struct kb_httpreq req;
	char *url, *sid;
	long status;
	unsigned int tries;
	unsigned int proxy;		/* the entry of the job's proxy list (fail-over) */
	struct kb_timer timer;
};

struct kb_cancels {
	struct kb_loop *loop;
	struct kb_curlio *io;
	const struct kb_engine_config *cfg;
	struct ucancel *list;
};

static void cancel_send(struct ucancel *c);
static void cancel_done(struct ucancel *c, CURLcode rc);

static void cancel_req_done(void *arg, CURLcode rc)
{
	cancel_done(arg, rc);
}

static void cancel_free(struct ucancel *c)
{
	struct ucancel **pp;

	for (pp = &c->cs->list; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	kb_timer_cancel(c->cs->loop, &c->timer);
	kb_curlio_remove(c->cs->io, c->easy);
	curl_slist_free_all(c->hdrs);
	free(c->url);
	free(c->sid);
	kb_job_put(c->job);
	free(c);
}

static void cancel_timer(struct kb_timer *t)
{
	cancel_send((struct ucancel *)((char *)t - offsetof(struct ucancel, timer)));
}

static size_t cancel_header(char *p, size_t sz, size_t n, void *arg)
{
	struct ucancel *c = arg;
	size_t len = sz * n;

	if (!kb_http_status_line(p, len, &c->status) && kb_http_headers_end(p, len))
		return kb_httpreq_stop_at_headers(&c->req, c->status) ? 0 : len;
	return len;
}

static void cancel_send(struct ucancel *c)
{
	CURL *e = curl_easy_init();

	c->tries++;
	curl_slist_free_all(c->hdrs);
	c->hdrs = NULL;
	c->status = 0;
	if (e) {
		kb_httpreq_init(&c->req, c->cs->cfg, c->job, c->url, c);
		c->req.proxy = c->proxy;
		c->req.header = cancel_header;
		c->req.done = cancel_req_done;
	}
	if (!e || kb_httpreq_setup(e, &c->req, &c->hdrs) < 0 ||
	    kb_httpreq_add_line(&c->hdrs, "Expect:") < 0 ||
	    kb_httpreq_add_line(&c->hdrs, "BITS-Packet-Type: Cancel-Session") < 0 ||
	    kb_httpreq_add_line(&c->hdrs, "BITS-Session-Id: %s", c->sid) < 0 ||
	    kb_httpreq_add_line(&c->hdrs, "Content-Type:") < 0) {
		if (e)
			curl_easy_cleanup(e);
		cancel_free(c);
		return;
	}
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "BITS_POST");
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	c->easy = e;
	if (kb_curlio_add(c->cs->io, e) < 0) {
		c->easy = NULL;
		curl_easy_cleanup(e);
		cancel_free(c);
	}
}

static void cancel_done(struct ucancel *c, CURLcode rc)
{
	long status = 0;

	rc = kb_httpreq_result(&c->req, c->easy, rc, &status);
	if (kb_httpreq_failover(&c->req, c->easy, rc)) {
		/* the next proxy of the list at once; not one of its tries */
		kb_curlio_remove(c->cs->io, c->easy);
		c->easy = NULL;
		c->proxy = c->req.proxy + 1;
		c->tries--;
		cancel_send(c);
		return;
	}
	kb_curlio_remove(c->cs->io, c->easy);
	c->easy = NULL;
	/* done: answered 2xx, or a 4xx (the server does not know the session) */
	if ((rc == CURLE_OK && status >= 200 && status < 500) || c->tries >= kb_upload_cancel_tries) {
		kb_dbg("upload: Cancel-Session: curl %d, HTTP %ld after %u tries", rc, status, c->tries);
		cancel_free(c);
		return;
	}
	kb_timer_arm_in(c->cs->loop, &c->timer, 1000000000ull);
}

int kb_cancel_session(struct kb_cancels *cs, struct kb_job *job)
{
	struct ucancel *c;

	if (!cs)
		return -ENOTCONN;
	if (job->type == KBITS_JOB_DOWNLOAD || (job->job_flags & KBITS_JOB_F_HTTP_PUT) || !job->up.session_id || job->nr_files != 1 ||
	    !job->files[0].url || job->up.phase == KB_UP_DONE)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cs = cs;
	c->timer.cb = cancel_timer;
	c->url = kb_bits_request_url(job->files[0].url, job->up.host_id);
	c->sid = strdup(job->up.session_id);
	c->job = kb_job_get(job);
	c->next = cs->list;
	cs->list = c;
	if (!c->url || !c->sid) {
		cancel_free(c);
		return -ENOMEM;
	}
	cancel_send(c);
	return 0;
}

unsigned int kb_cancels_pending(const struct kb_cancels *cs)
{
	unsigned int n = 0;

	for (struct ucancel *c = cs ? cs->list : NULL; c; c = c->next)
		n++;
	return n;
}

struct kb_cancels *kb_cancels_new(struct kb_loop *loop, struct kb_curlio *io, const struct kb_engine_config *cfg)
{
	struct kb_cancels *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->loop = loop;
	cs->io = io;
	cs->cfg = cfg;
	return cs;
}

void kb_cancels_free(struct kb_cancels *cs)
{
	int budget = 100000;

	if (!cs)
		return;
	while (cs->list && budget-- > 0)
		cancel_free(cs->list);
	free(cs);
}
