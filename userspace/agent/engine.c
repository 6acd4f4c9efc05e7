// SPDX-License-Identifier: GPL-2.0
/*
 * The transfer engine: see engine.h.
 *
 * A job (struct ejob) runs up to files_per_job transfers (struct xfer), one
 * per file. A transfer owns a curl easy handle, the temporary file's fd and
 * a queue of write buffers in offset order. Body bytes are copied into a
 * buffer of write_chunk bytes; a full buffer (and, at the end of every loop
 * iteration, a partial one) becomes an IORING_OP_WRITE at its offset. With
 * max_writes_inflight writes queued the write callback pauses the easy
 * handle; completions resume it. Bytes on disk are the contiguous prefix of
 * completed writes; every sync_every bytes an fsync makes them durable and
 * file_saved tells the store. When curl is done the transfer drains its
 * writes, fsyncs once more, and concludes: done, error, abort or restart.
 *
 * Nothing here is called from inside a curl callback that could re-enter
 * curl: aborts and handle removal happen from loop completions, timers and
 * the idle hook only.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "fileops.h"
#include "http.h"
#include "httpreq.h"
#include "log.h"
#include "sched.h"
#include "upload.h"

enum { XO_NONE, XO_DONE, XO_ERR, XO_ABORT, XO_RESTART };

#define MAX_RESTARTS	3
#define TAIL_FACTOR	4	/* files finishing (sync) per network slot */
#define RECV_BUFFER	(256u << 10)	/* curl's receive buffer: its largest body chunk */

struct wbuf {
	struct kb_op op;
	struct xfer *x;
	struct wbuf *next;
	uint64_t off;
	uint32_t len, done, cap;
	bool complete;
	char data[];
};

struct xfer {
	struct ejob *ej;
	struct xfer *next_in_job, *next_all, **pprev_all;
	uint32_t idx;
	CURL *easy;
	struct curl_slist *hdrs;
	struct kb_httpreq req;	/* its setup (httpreq.h) */
	int fd;
	uint64_t req_off;	/* Range start asked for, 0: whole */
	/* the response being received (reset at every status line) */
	long status;
	char etag[256], lm[128];
	uint64_t clen, cr_start, cr_total;
	bool cr_valid, accept_ranges;
	/* bytes */
	bool body;
	uint64_t next_off;	/* offset of curl's next byte */
	uint64_t on_disk;	/* contiguous bytes written */
	struct wbuf *cur, *q_head, *q_tail;
	unsigned int nq;
	bool paused;
	/* syncing */
	struct kb_op sync_op;
	bool syncing, final_sync_done;
	uint64_t syncing_off;
	/* end */
	bool curl_done;
	bool write_failed;	/* bytes after a failed write are not on disk */
	int outcome;
	struct kb_error err;
	struct kb_rlp rlp;	/* receive-side yielding (sched.c) */
	curl_socket_t sock;	/* the connection it opened, CURL_SOCKET_BAD: none */
	struct kb_bucket bucket;	/* bandwidth (sched.c) */
};

struct ejob {
	struct kb_engine *e;
	struct ejob *next;
	struct kb_job *job;
	struct kb_job *replace;		/* a changed job waiting for the drain */
	struct kb_owner owner;
	struct xfer *xfers;
	unsigned int nactive;
	bool stopping, failing;
	struct kb_error pending;
	struct kb_timer retry;
	uint64_t last_progress;
	uint8_t *file_active, *restarts;
	struct kb_sched_ent sched;	/* time, slices, bandwidth (sched.c) */
};

struct esock {
	struct kb_engine *e;
	curl_socket_t fd;
	int want;
	bool dirty;
	struct esock *dirty_next;
	struct pollop *op;
};

struct pollop {
	struct kb_op op;
	struct esock *s;	/* NULL: stale, free on completion */
	unsigned int mask;
};

struct kb_engine {
	struct kb_loop *loop;
	struct kb_engine_config cfg;
	const struct kb_engine_ops *ops;
	void *ctx;
	CURLM *multi;
	struct kb_timer curl_timer;
	struct ejob *jobs;		/* by priority, then arrival */
	struct xfer *all;
	struct esock *dirty;
	unsigned int nactive, npolls, njobs;
	struct kb_engine_stats stats;
	bool need_schedule;
	struct kb_sched sched;
	struct kb_uploads *up;		/* upload jobs (upload.c) */
};

static void check_multi(struct kb_engine *e);
static void xfer_advance(struct xfer *x);
static void job_settle(struct ejob *ej);

void kb_engine_config_default(struct kb_engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->files_per_job = 4;
	c->max_transfers = 16;
	c->write_chunk = 256 << 10;
	c->max_writes_inflight = 16;
	c->sync_every = 8ull << 20;
	c->max_redirects = 10;
	c->connect_timeout = 30;
	c->low_speed_time = 60;
	c->slice_ms = 30000;
}

static bool same_id(const uint8_t a[16], const uint8_t b[16])
{
	return !memcmp(a, b, 16);
}

static struct ejob *find_job(struct kb_engine *e, const uint8_t id[16])
{
	for (struct ejob *ej = e->jobs; ej; ej = ej->next)
		if (same_id(ej->job->id, id))
			return ej;
	return NULL;
}

static void job_set_state(struct ejob *ej, uint32_t state)
{
	if (ej->job->state == state)
		return;
	ej->job->state = state;
	if (ej->e->ops->state)
		ej->e->ops->state(ej->e->ctx, ej->job, state);
}

static void file_saved(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;

	if (e->ops->file_saved)
		e->ops->file_saved(e->ctx, x->ej->job, x->idx);
}

/* ---- sockets and timer: curl on io_uring ---------------------------------- */

static void sock_dirty(struct esock *s)
{
	if (s->dirty)
		return;
	s->dirty = true;
	s->dirty_next = s->e->dirty;
	s->e->dirty = s;
}

static void sock_undirty(struct esock *s)
{
	struct esock **pp;

	if (!s->dirty)
		return;
	for (pp = &s->e->dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == s) {
			*pp = s->dirty_next;
			break;
		}
	}
	s->dirty = false;
}

static void poll_done(struct kb_op *op, int res)
{
	struct pollop *p = (struct pollop *)op;
	struct esock *s = p->s;
	struct kb_engine *e;
	int flags = 0, running;

	if (!s) {
		free(p);
		return;
	}
	e = s->e;
	e->npolls--;
	s->op = NULL;
	free(p);
	sock_dirty(s);		/* re-arm after the action */
	if (res > 0) {
		if (res & (POLLIN | POLLHUP))
			flags |= CURL_CSELECT_IN;
		if (res & POLLOUT)
			flags |= CURL_CSELECT_OUT;
		if (res & POLLERR)
			flags |= CURL_CSELECT_ERR;
	}
	curl_multi_socket_action(e->multi, s->fd, flags, &running);
	check_multi(e);
}

static void sock_stale(struct esock *s)
{
	if (!s->op)
		return;
	s->op->s = NULL;
	s->e->npolls--;
	kb_loop_poll_remove(s->e->loop, &s->op->op);
	s->op = NULL;
}

static void arm_dirty(struct kb_engine *e)
{
	struct esock *s;
	int budget = 100000;

	while ((s = e->dirty) && budget-- > 0) {
		unsigned int mask = 0;
		struct pollop *p;

		e->dirty = s->dirty_next;
		s->dirty = false;
		if (s->want & CURL_POLL_IN)
			mask |= POLLIN;
		if (s->want & CURL_POLL_OUT)
			mask |= POLLOUT;
		if (s->op && s->op->mask == mask)
			continue;
		sock_stale(s);
		if (!mask)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			abort();	/* 32 bytes: nothing sensible to do */
		p->op.cb = poll_done;
		p->s = s;
		p->mask = mask;
		s->op = p;
		e->npolls++;
		e->stats.polls++;
		kb_loop_poll(e->loop, &p->op, s->fd, mask);
	}
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct kb_engine *e = arg;
	struct esock *s = sockp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_stale(s);
			sock_undirty(s);
			curl_multi_assign(e->multi, fd, NULL);
			free(s);
		}
		return 0;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->e = e;
		s->fd = fd;
		curl_multi_assign(e->multi, fd, s);
	}
	s->want = what;
	sock_dirty(s);
	return 0;
}

static void curl_timer_fired(struct kb_timer *t)
{
	struct kb_engine *e = (struct kb_engine *)((char *)t - offsetof(struct kb_engine, curl_timer));
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi(e);
}

static int on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct kb_engine *e = arg;

	(void)multi;
	if (timeout_ms < 0)
		kb_timer_cancel(e->loop, &e->curl_timer);
	else
		kb_timer_arm_in(e->loop, &e->curl_timer, (uint64_t)timeout_ms * 1000000ull);
	return 0;
}

/* ---- writes -------------------------------------------------------------- */

static void buf_submit(struct xfer *x, struct wbuf *b)
{
	x->ej->e->stats.writes++;
	kb_loop_write(x->ej->e->loop, &b->op, x->fd, b->data + b->done, b->len - b->done,
		      b->off + b->done);
}

static void xfer_fail(struct xfer *x, int outcome, const struct kb_error *err)
{
	if (x->outcome != XO_NONE && x->outcome != XO_DONE)
		return;
	x->outcome = outcome;
	if (err)
		x->err = *err;
}

static void xfer_stop_curl(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;

	if (x->curl_done)
		return;
	x->curl_done = true;
	curl_multi_remove_handle(e->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

/*
 * The bytes a crash can cost are bounded by sync_every: an fsync starts
 * once half of it is unsynced, and the body callback pauses curl rather
 * than hold more than sync_every bytes beyond the synced mark.
 */
static void maybe_sync(struct xfer *x)
{
	struct kb_file *f = &x->ej->job->files[x->idx];

	if (x->syncing || x->on_disk < f->bytes_transferred + x->ej->e->cfg.sync_every / 2)
		return;
	x->syncing = true;
	x->syncing_off = x->on_disk;
	x->ej->e->stats.syncs++;
	kb_loop_fsync(x->ej->e->loop, &x->sync_op, x->fd, true);
}

/* Too far ahead of the synced mark to take len more bytes now? */
static bool beyond_sync_bound(const struct xfer *x, size_t len)
{
	uint64_t every = x->ej->e->cfg.sync_every;
	uint64_t synced = x->ej->job->files[x->idx].bytes_transferred;

	return len <= every / 2 && x->next_off + len > synced + every;
}

/* A transfer paused for back-pressure may take bytes again. */
static bool may_continue(const struct xfer *x)
{
	return x->paused && !x->curl_done && x->outcome == XO_NONE &&
	       x->nq <= x->ej->e->cfg.max_writes_inflight / 2 && !beyond_sync_bound(x, RECV_BUFFER);
}

static void write_done(struct kb_op *op, int res)
{
	struct wbuf *b = (struct wbuf *)op;
	struct xfer *x = b->x;
	struct ejob *ej = x->ej;
	struct kb_engine *e = ej->e;
	struct kb_error err = { 0 };

	if (res == -EINTR || res == -EAGAIN) {
		buf_submit(x, b);
		return;
	}
	if (res <= 0) {
		kb_error_local(&err, res ? res : -EIO, "cannot write", ej->job->files[x->idx].path);
		err.file = x->idx;
		xfer_fail(x, XO_ERR, &err);
		x->write_failed = true;
		b->complete = true;
	} else if ((uint32_t)res < b->len - b->done) {
		b->done += (uint32_t)res;
		buf_submit(x, b);
		return;
	} else {
		b->done = b->len;
		b->complete = true;
	}
	while ((b = x->q_head) && b->complete) {
		x->q_head = b->next;
		if (!x->q_head)
			x->q_tail = NULL;
		if (b->done == b->len && !x->write_failed)
			x->on_disk = b->off + b->len;
		x->nq--;
		free(b);
	}
	ej->last_progress = kb_now();
	if (e->ops->progress && !x->write_failed)
		e->ops->progress(e->ctx, ej->job, x->idx, x->on_disk);
	if (x->write_failed) {
		xfer_stop_curl(x);
	} else {
		maybe_sync(x);
		if (may_continue(x)) {
			x->paused = false;
			curl_easy_pause(x->easy, CURLPAUSE_CONT);
			check_multi(e);	/* may conclude x: do not touch it after */
			return;
		}
	}
	xfer_advance(x);
}

static struct wbuf *buf_new(struct xfer *x)
{
	uint32_t cap = x->ej->e->cfg.write_chunk;
	struct wbuf *b = malloc(sizeof(*b) + cap);

	if (!b)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->op.cb = write_done;
	b->x = x;
	b->cap = cap;
	b->off = x->next_off;
	return b;
}

static void buf_queue(struct xfer *x)
{
	struct wbuf *b = x->cur;

	if (!b || !b->len)
		return;
	x->cur = NULL;
	if (x->q_tail)
		x->q_tail->next = b;
	else
		x->q_head = b;
	x->q_tail = b;
	x->nq++;
	buf_submit(x, b);
}

/* ---- the response ---------------------------------------------------------- */

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = 0;		/* too long to be a validator we trust */
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * nmemb, n;
	const char *v;
	char tmp[64];

	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', len);

		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		x->etag[0] = x->lm[0] = '\0';
		x->clen = x->cr_total = KBITS_UNKNOWN;
		x->cr_start = 0;
		x->cr_valid = x->accept_ranges = false;
	} else if ((v = kb_http_header_value(p, len, "etag", &n))) {
		copy_value(x->etag, sizeof(x->etag), v, n);
	} else if ((v = kb_http_header_value(p, len, "last-modified", &n))) {
		copy_value(x->lm, sizeof(x->lm), v, n);
	} else if ((v = kb_http_header_value(p, len, "content-length", &n))) {
		copy_value(tmp, sizeof(tmp), v, n);
		if (tmp[0] >= '0' && tmp[0] <= '9')
			x->clen = strtoull(tmp, NULL, 10);
	} else if ((v = kb_http_header_value(p, len, "accept-ranges", &n))) {
		copy_value(tmp, sizeof(tmp), v, n);
		x->accept_ranges = strstr(tmp, "bytes") != NULL;
	} else if ((v = kb_http_header_value(p, len, "content-range", &n))) {
		unsigned long long s, t;
		char *end;

		copy_value(tmp, sizeof(tmp), v, n);
		if (!strncmp(tmp, "bytes ", 6) && tmp[6] >= '0' && tmp[6] <= '9') {
			s = strtoull(tmp + 6, &end, 10);
			if (*end == '-' && (end = strchr(end, '/'))) {
				x->cr_start = s;
				x->cr_valid = true;
				if (end[1] >= '0' && end[1] <= '9') {
					t = strtoull(end + 1, NULL, 10);
					x->cr_total = t;
				}
			}
		} else if (!strncmp(tmp, "bytes */", 8)) {
			x->cr_total = strtoull(tmp + 8, NULL, 10);
		}
	} else if ((len == 2 && p[0] == '\r') || (len == 1 && p[0] == '\n')) {
		return kb_httpreq_stop_at_headers(&x->req, x->status) ? 0 : len;
	}
	return len;
}

static bool strong_etag(const char *etag)
{
	return etag && etag[0] == '"';
}

/* The first body byte (or the end of an empty body) of a 2xx response. */
static int begin_body(struct xfer *x)
{
	struct ejob *ej = x->ej;
	struct kb_job *job = ej->job;
	struct kb_file *f = &job->files[x->idx];
	bool dynamic = job->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT;
	uint64_t total;

	x->body = true;
	if (x->status == 206) {
		if (!x->req_off || !x->cr_valid || x->cr_start != x->req_off ||
		    (f->etag && x->etag[0] && strcmp(f->etag, x->etag))) {
			kb_info("%s: the ranged answer does not continue our bytes: restart", f->path);
			xfer_fail(x, XO_RESTART, NULL);
			return -1;
		}
		f->ranges_ok = true;
		total = x->cr_total;
		x->next_off = x->req_off;
	} else {
		if (x->req_off) {
			kb_info("%s: the server sent the whole file (changed, or no ranges): restart from 0",
				f->path);
			if (ftruncate(x->fd, 0) < 0) {
				struct kb_error err = { 0 };

				kb_error_local(&err, -errno, "cannot truncate", f->path);
				err.file = x->idx;
				xfer_fail(x, XO_ERR, &err);
				return -1;
			}
		}
		x->next_off = x->on_disk = 0;
		f->ranges_ok = x->accept_ranges;
		total = dynamic ? KBITS_UNKNOWN : x->clen;
		f->bytes_transferred = 0;
	}
	kb_strset(&f->etag, x->etag[0] ? x->etag : NULL);
	kb_strset(&f->last_modified, x->lm[0] ? x->lm : NULL);
	f->bytes_total = total;
	if (job->max_download_size && total != KBITS_UNKNOWN && total > job->max_download_size) {
		struct kb_error err = { 0 };

		err.context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
		err.code = -EFBIG;
		err.file = x->idx;
		snprintf(err.desc, sizeof(err.desc), "%s: %llu bytes exceed the job's maximum download size %llu",
			 f->path, (unsigned long long)total, (unsigned long long)job->max_download_size);
		xfer_fail(x, XO_ERR, &err);
		return -1;
	}
	file_saved(x);
	job_set_state(ej, KBITS_STATE_TRANSFERRING);
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct kb_engine *e = x->ej->e;
	struct kb_job *job = x->ej->job;
	size_t len = sz * nmemb, left = len;

	if (x->outcome != XO_NONE)
		return 0;
	if (x->status < 200 || x->status >= 300)
		return len;		/* an error page: the status says it all */
	if (!x->body && begin_body(x) < 0)
		return 0;
	if (x->bucket.rate) {
		uint64_t wait = kb_bucket_take(&x->bucket, len, kb_now());

		if (wait) {
			kb_timer_arm_in(e->loop, &x->bucket.timer, wait);
			return CURL_WRITEFUNC_PAUSE;
		}
	}
	if (x->nq >= e->cfg.max_writes_inflight || beyond_sync_bound(x, len)) {
		x->paused = true;
		e->stats.pauses++;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (job->max_download_size && x->next_off + len > job->max_download_size) {
		struct kb_error err = { .context = KBITS_ERROR_CONTEXT_REMOTE_FILE, .code = -EFBIG };

		err.file = x->idx;
		snprintf(err.desc, sizeof(err.desc), "%s: more than the job's maximum download size",
			 job->files[x->idx].path);
		xfer_fail(x, XO_ERR, &err);
		return 0;
	}
	while (left) {
		struct wbuf *b = x->cur;
		size_t n;

		if (!b) {
			b = x->cur = buf_new(x);
			if (!b) {
				struct kb_error err = { .context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER,
							.code = -ENOMEM, .transient = true };

				snprintf(err.desc, sizeof(err.desc), "out of memory for write buffers");
				xfer_fail(x, XO_ERR, &err);
				return 0;
			}
		}
		n = b->cap - b->len;
		if (n > left)
			n = left;
		memcpy(b->data + b->len, p, n);
		b->len += (uint32_t)n;
		p += n;
		left -= n;
		x->next_off += n;
		if (b->len == b->cap)
			buf_queue(x);
	}
	return len;
}

/* A new connection: TCP-LP for background priorities where the kernel has it. */
static void on_new_socket(void *arg, curl_socket_t fd)
{
	struct xfer *x = arg;

	x->sock = fd;
	kb_sched_sockopt(&x->ej->e->sched, fd, x->ej->job->priority);
}

/* ---- one transfer ------------------------------------------------------- */

static void xfer_free(struct xfer *x)
{
	struct ejob *ej = x->ej;
	struct xfer **pp;

	for (pp = &ej->xfers; *pp; pp = &(*pp)->next_in_job) {
		if (*pp == x) {
			*pp = x->next_in_job;
			break;
		}
	}
	if (x->next_all)
		x->next_all->pprev_all = x->pprev_all;
	*x->pprev_all = x->next_all;
	free(x->cur);
	kb_timer_cancel(ej->e->loop, &x->bucket.timer);
	if (x->fd >= 0)
		close(x->fd);
	curl_slist_free_all(x->hdrs);
	ej->file_active[x->idx] = 0;
	ej->nactive--;
	ej->e->nactive--;
	free(x);
}

static void job_fail(struct ejob *ej, const struct kb_error *err);

static void xfer_conclude(struct xfer *x)
{
	struct ejob *ej = x->ej;
	struct kb_engine *e = ej->e;
	struct kb_file *f = &ej->job->files[x->idx];
	struct kb_error err = x->err;
	uint32_t idx = x->idx;
	int outcome = x->outcome;

	switch (outcome) {
	case XO_DONE:
		if (f->bytes_total == KBITS_UNKNOWN)
			f->bytes_total = x->on_disk;
		f->bytes_transferred = x->on_disk;
		f->flags |= KBITS_FILE_COMPLETED;
		if (fchmod(x->fd, 0644) < 0)
			kb_dbg("fchmod: %m");
		ej->restarts[idx] = 0;
		break;
	case XO_RESTART:
		f->bytes_transferred = 0;
		kb_strset(&f->etag, NULL);
		kb_strset(&f->last_modified, NULL);
		f->ranges_ok = false;
		if (++ej->restarts[idx] > MAX_RESTARTS) {
			memset(&err, 0, sizeof(err));
			err.context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
			err.code = -ESTALE;
			err.transient = true;
			snprintf(err.desc, sizeof(err.desc),
				 "%s: the remote file changed during every one of %d attempts", f->path,
				 MAX_RESTARTS);
			outcome = XO_ERR;
			ej->restarts[idx] = 0;
		}
		break;
	default:	/* XO_ERR, XO_ABORT: keep what is synced */
		break;
	}
	file_saved(x);
	xfer_free(x);
	if (outcome == XO_DONE && e->ops->file_done)
		e->ops->file_done(e->ctx, ej->job, idx);
	if (outcome == XO_ERR) {
		err.file = idx;
		job_fail(ej, &err);
	}
	job_settle(ej);
}

static void sync_done(struct kb_op *op, int res)
{
	struct xfer *x = (struct xfer *)((char *)op - offsetof(struct xfer, sync_op));
	struct kb_file *f = &x->ej->job->files[x->idx];

	x->syncing = false;
	if (res < 0) {
		struct kb_error err = { 0 };

		kb_error_local(&err, res, "cannot sync", f->path);
		xfer_fail(x, XO_ERR, &err);
		xfer_stop_curl(x);
	} else if (x->outcome != XO_RESTART && x->syncing_off > f->bytes_transferred) {
		f->bytes_transferred = x->syncing_off;
		if (!x->curl_done)
			file_saved(x);
		if (!x->curl_done) {
			maybe_sync(x);
			if (may_continue(x)) {
				x->paused = false;
				curl_easy_pause(x->easy, CURLPAUSE_CONT);
				check_multi(x->ej->e);	/* may conclude x: do not touch it after */
				return;
			}
		}
	}
	xfer_advance(x);
}

/* After curl is done: drain writes, sync, conclude. */
static void xfer_advance(struct xfer *x)
{
	if (!x->curl_done)
		return;
	/* bytes received before a transport error are good: keep them */
	if (x->outcome != XO_RESTART && !x->write_failed)
		buf_queue(x);
	else if (x->cur) {
		free(x->cur);
		x->cur = NULL;
	}
	if (x->nq || x->syncing)
		return;
	if (!x->final_sync_done && x->outcome != XO_RESTART && x->on_disk > 0) {
		x->final_sync_done = true;
		x->syncing = true;
		x->syncing_off = x->on_disk;
		x->ej->e->stats.syncs++;
		kb_loop_fsync(x->ej->e->loop, &x->sync_op, x->fd, true);
		return;
	}
	xfer_conclude(x);
}

static void xfer_curl_done(struct xfer *x, CURLcode rc)
{
	struct kb_job *job = x->ej->job;
	struct kb_file *f = &job->files[x->idx];
	struct kb_error err = { 0 };
	char *url = NULL;
	long status = 0;

	rc = kb_httpreq_result(&x->req, x->easy, rc, &status);
	if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url &&
	    (!f->final_url || strcmp(f->final_url, url)))
		kb_strset(&f->final_url, url);
	if (x->outcome == XO_NONE) {
		if (rc != CURLE_OK) {
			kb_httpreq_error(&x->req, x->easy, rc, 0, &err);
			xfer_fail(x, XO_ERR, &err);
		} else if (status >= 200 && status < 300) {
			if (x->body || begin_body(x) == 0) {
				bool dynamic = job->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT;

				if (!dynamic && f->bytes_total != KBITS_UNKNOWN && x->next_off != f->bytes_total) {
					kb_error_curl(&err, CURLE_PARTIAL_FILE, "body shorter than announced", f->url);
					xfer_fail(x, XO_ERR, &err);
				} else {
					x->outcome = XO_DONE;
				}
			}
		} else if (status == 416 && x->req_off && x->cr_total == x->req_off) {
			/* If-Range matched and we hold every byte already. */
			f->bytes_total = x->req_off;
			x->outcome = XO_DONE;
		} else if (status == 416) {
			xfer_fail(x, XO_RESTART, NULL);
		} else {
			kb_httpreq_error(&x->req, x->easy, CURLE_OK, status, &err);
			xfer_fail(x, XO_ERR, &err);
		}
	}
	x->curl_done = true;
	curl_multi_remove_handle(x->ej->e->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	/* its network slot is free while its last writes and fsync finish */
	x->ej->e->need_schedule = true;
	xfer_advance(x);
}

static void check_multi(struct kb_engine *e)
{
	CURLMsg *msg;
	int left, budget = 100000;

	while ((msg = curl_multi_info_read(e->multi, &left)) && budget-- > 0) {
		struct xfer *x = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (kb_uploads_msg(e->up, msg->easy_handle, msg->data.result))
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x)
			xfer_curl_done(x, msg->data.result);
	}
	arm_dirty(e);
}

static void xfer_abort(struct xfer *x)
{
	if (x->outcome == XO_NONE)	/* a finished file stays finished */
		x->outcome = XO_ABORT;
	xfer_stop_curl(x);
	xfer_advance(x);
}

static int xfer_setup_curl(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;
	struct kb_job *job = x->ej->job;
	struct kb_file *f = &job->files[x->idx];
	CURL *c = x->easy;
	struct kb_httpreq *r = &x->req;
	char range[48];

	r->job = job;
	r->url = f->url;
	r->ca_file = e->cfg.ca_file;
	r->connect_timeout = e->cfg.connect_timeout;
	r->low_speed_time = e->cfg.low_speed_time;
	r->verbose = e->cfg.verbose;
	r->arg = x;
	r->header = on_header;
	r->body = on_body;
	r->socket = on_new_socket;
	if (kb_httpreq_setup(c, r, &x->hdrs) < 0)
		return -ENOMEM;
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)e->cfg.max_redirects);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	/* Waiting to multiplex only makes sense where ALPN can offer h2: over
	 * http:// a second file of a host would wait for the first to end. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, strncasecmp(f->url, "https:", 6) ? 0L : 1L);
	if (job->max_download_size)
		curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->max_download_size);
	if (x->req_off) {
		const char *v = strong_etag(f->etag) ? f->etag : f->last_modified;
		char *h;

		snprintf(range, sizeof(range), "%llu-", (unsigned long long)x->req_off);
		curl_easy_setopt(c, CURLOPT_RANGE, range);
		if (asprintf(&h, "If-Range: %s", v) < 0)
			return -ENOMEM;
		x->hdrs = curl_slist_append(x->hdrs, h);
		free(h);
		if (!x->hdrs)
			return -ENOMEM;
	}
	if (x->hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	return 0;
}

/* Opens the temporary file as the owner and decides where to resume. */
static int xfer_open(struct xfer *x, struct kb_error *err)
{
	struct ejob *ej = x->ej;
	struct kb_job *job = ej->job;
	struct kb_file *f = &job->files[x->idx];
	struct kb_creds_saved saved;
	const char *base;
	bool fresh = false;
	struct stat st;
	uint64_t off;
	int dirfd, fd, ret;

	ret = kb_creds_enter(&ej->owner, &saved);
	if (ret < 0) {
		kb_error_local(err, ret, "cannot take the owner's credentials for", f->path);
		return ret;
	}
	dirfd = kb_dir_open(f->path, &base);
	if (dirfd < 0) {
		kb_creds_leave(&saved);
		kb_error_local(err, dirfd, "cannot open the directory of", f->path);
		return dirfd;
	}
	fd = kb_temp_open(dirfd, base, &f->temp_name, &fresh);
	close(dirfd);
	kb_creds_leave(&saved);
	if (fd < 0) {
		kb_error_local(err, fd, "cannot create a temporary file for", f->path);
		return fd;
	}
	x->fd = fd;
	if (fresh) {
		f->bytes_transferred = 0;
		kb_strset(&f->etag, NULL);
		kb_strset(&f->last_modified, NULL);
		f->ranges_ok = false;
		file_saved(x);
	}
	off = f->bytes_transferred;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < off)
		off = 0;
	if ((job->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT) || !f->ranges_ok ||
	    !(strong_etag(f->etag) || f->last_modified))
		off = 0;
	if (ftruncate(fd, (off_t)off) < 0) {
		kb_error_local(err, -errno, "cannot truncate the temporary file of", f->path);
		return -errno;
	}
	x->req_off = x->next_off = x->on_disk = off;
	kb_dbg("%s: start at %llu of %llu (ranges %d, etag %s)", f->path, (unsigned long long)off,
	       (unsigned long long)f->bytes_transferred, f->ranges_ok, f->etag ? "yes" : "no");
	return 0;
}

/* The bandwidth limit paused a transfer: its time has come. */
static void bucket_fired(struct kb_timer *t)
{
	struct xfer *x = (struct xfer *)((char *)t - offsetof(struct xfer, bucket.timer));

	if (!x->easy || x->curl_done)
		return;
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
	check_multi(x->ej->e);
}

static int xfer_start(struct ejob *ej, uint32_t idx)
{
	struct kb_engine *e = ej->e;
	struct kb_error err = { 0 };
	struct xfer *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return -ENOMEM;
	x->ej = ej;
	x->idx = idx;
	x->fd = -1;
	kb_rlp_init(&x->rlp);
	x->sock = CURL_SOCKET_BAD;
	x->bucket.timer.cb = bucket_fired;
	x->sync_op.cb = sync_done;
	x->clen = x->cr_total = KBITS_UNKNOWN;
	e->stats.transfers++;
	x->next_in_job = ej->xfers;
	ej->xfers = x;
	x->next_all = e->all;
	if (e->all)
		e->all->pprev_all = &x->next_all;
	x->pprev_all = &e->all;
	e->all = x;
	ej->file_active[idx] = 1;
	ej->nactive++;
	e->nactive++;
	x->curl_done = true;	/* until the handle is in the multi */

	ret = xfer_open(x, &err);
	if (ret == 0) {
		x->easy = curl_easy_init();
		if (!x->easy || xfer_setup_curl(x) < 0 || curl_multi_add_handle(e->multi, x->easy)) {
			if (x->easy)
				curl_easy_cleanup(x->easy);
			x->easy = NULL;
			memset(&err, 0, sizeof(err));
			err.context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER;
			err.code = -ENOMEM;
			err.transient = true;
			snprintf(err.desc, sizeof(err.desc), "cannot set up a transfer");
			ret = -ENOMEM;
		} else {
			x->curl_done = false;
		}
	}
	if (ret < 0) {
		err.file = idx;
		xfer_fail(x, XO_ERR, &err);
		xfer_advance(x);
		return ret;
	}
	job_set_state(ej, ej->job->state == KBITS_STATE_TRANSFERRING ?
		      KBITS_STATE_TRANSFERRING : KBITS_STATE_CONNECTING);
	return 0;
}

/* ---- jobs ----------------------------------------------------------------- */

static bool job_runnable(const struct ejob *ej)
{
	uint32_t s = ej->job->state;

	return !ej->stopping && !ej->failing && !ej->replace &&
	       (s == KBITS_STATE_QUEUED || s == KBITS_STATE_CONNECTING || s == KBITS_STATE_TRANSFERRING);
}

static void job_fail(struct ejob *ej, const struct kb_error *err);
static void job_unlink(struct ejob *ej);
static void job_link(struct kb_engine *e, struct ejob *ej);

static unsigned int files_left(const struct ejob *ej)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < ej->job->nr_files; i++)
		n += !(ej->job->files[i].flags & KBITS_FILE_COMPLETED);
	return n;
}

static unsigned int xfers_live(const struct ejob *ej)
{
	unsigned int n = 0;

	for (const struct xfer *x = ej->xfers; x; x = x->next_in_job)
		n += x->outcome == XO_NONE && !x->curl_done;
	return n;
}

static void grant_all(struct kb_engine *e, struct kb_sched_pass *p, uint64_t now)
{
	kb_sched_pass_begin(&e->sched, p, now);
	for (struct ejob *ej = e->jobs; ej; ej = ej->next)
		kb_sched_grant(p, &ej->sched, ej->job->priority, job_runnable(ej), files_left(ej));
}

/* The policy is sched.c's (see sched.h); here are its mechanics. */
static void schedule(struct kb_engine *e)
{
	struct ejob *ej, *next;
	struct kb_sched_pass pass;
	uint64_t now = kb_now();
	unsigned int n, moved = 0, e_live;

	e->need_schedule = false;
	/* time used; the maximum download time */
	for (ej = e->jobs; ej; ej = next) {
		struct kb_error err;

		next = ej->next;
		kb_sched_account(&ej->sched, ej->nactive, now);
		if (job_runnable(ej) && ej->nactive &&
		    kb_sched_expired(&ej->sched, ej->job->max_download_time, &err))
			job_fail(ej, &err);
	}
	/* grants in order; a job whose slice is over while one of its
	 * priority waits goes to the back of its priority, once per pass */
	grant_all(e, &pass, now);
	n = e->njobs;
	for (ej = e->jobs; ej && n--; ej = next) {
		next = ej->next;
		if (kb_sched_should_rotate(&pass, &ej->sched, ej->job->priority)) {
			job_unlink(ej);
			job_link(e, ej);
			moved++;
		}
	}
	if (moved)
		grant_all(e, &pass, now);
	/*
	 * The limits count transfers on the network. A file whose body is in
	 * holds its place only in the wider TAIL_FACTOR bound while its last
	 * writes and its fsync finish: durability does not idle the network.
	 */
	e_live = kb_engine_active(e);
	for (ej = e->jobs; ej; ej = next) {
		struct kb_job *job = ej->job;
		unsigned int live;
		uint32_t done = 0;

		next = ej->next;
		if (!job_runnable(ej))
			continue;
		/* beyond the grant (a higher priority came, the turn is over):
		 * abort; the synced bytes stay and the next turn resumes */
		live = xfers_live(ej);
		for (struct xfer *x = ej->xfers, *xn; x && live > ej->sched.grant; x = xn) {
			xn = x->next_in_job;
			if (x->outcome == XO_NONE && !x->curl_done) {
				xfer_abort(x);
				live--;
			}
		}
		for (uint32_t i = 0; i < job->nr_files; i++) {
			if (job->files[i].flags & KBITS_FILE_COMPLETED) {
				done++;
				continue;
			}
			if (ej->file_active[i])
				continue;
			live = xfers_live(ej);
			if (live >= ej->sched.grant || live >= e->cfg.files_per_job ||
			    e_live >= e->cfg.max_transfers ||
			    ej->nactive >= TAIL_FACTOR * e->cfg.files_per_job ||
			    e->nactive >= TAIL_FACTOR * e->cfg.max_transfers)
				break;
			if (xfer_start(ej, i) < 0 || !job_runnable(ej))
				break;
			e_live++;
		}
		if (done == job->nr_files && !ej->nactive) {
			job->transfer_completion_time = 0;	/* the module stamps it */
			job_set_state(ej, KBITS_STATE_TRANSFERRED);
		} else if (!ej->nactive && (job->state == KBITS_STATE_CONNECTING ||
					    job->state == KBITS_STATE_TRANSFERRING)) {
			job_set_state(ej, KBITS_STATE_QUEUED);	/* waits for its turn */
		}
	}
	/* running state, deadlines, bandwidth */
	for (ej = e->jobs; ej; ej = ej->next)
		kb_sched_note(&pass, &ej->sched, ej->job->priority, xfers_live(ej),
			      ej->job->max_download_time);
	kb_sched_rates(&pass);
	for (struct xfer *x = e->all; x; x = x->next_all)
		if (x->easy && !x->curl_done)
			kb_bucket_set(&x->bucket, x->ej->sched.xfer_rate, now);
	kb_sched_pass_end(&e->sched, &pass, e->loop);
	if (e->sched.cfg.rlp && e->nactive && !e->sched.tick.deadline)
		kb_timer_arm_in(e->loop, &e->sched.tick, KB_RLP_TICK_NS);
}

static void sched_timer_fired(struct kb_timer *t)
{
	struct kb_engine *e = (struct kb_engine *)((char *)t - offsetof(struct kb_engine, sched.timer));

	e->need_schedule = true;
}

/* Receive-side yielding of background downloads (sched.h). */
static void sched_tick_fired(struct kb_timer *t)
{
	struct kb_engine *e = (struct kb_engine *)((char *)t - offsetof(struct kb_engine, sched.tick));
	bool any = false;

	for (struct xfer *x = e->all; x; x = x->next_all) {
		if (!x->easy || x->curl_done || x->ej->job->priority == KBITS_PRIORITY_FOREGROUND)
			continue;
		curl_socket_t sock = CURL_SOCKET_BAD;

		any = true;
		/*
		 * Asked each tick: a reused connection never passes through the
		 * sockopt callback, and uploads share the multi handle, so the
		 * socket callback cannot tell whose socket it sees. libcurl
		 * 7.88 names the active socket only once a transfer of the
		 * handle has ended: until then, the one the sockopt callback saw.
		 */
		if (curl_easy_getinfo(x->easy, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK ||
		    sock == CURL_SOCKET_BAD)
			sock = x->sock;
		if (sock != CURL_SOCKET_BAD)
			kb_rlp_tick(&e->sched, &x->rlp, sock);
	}
	if (any)
		kb_timer_arm_in(e->loop, &e->sched.tick, KB_RLP_TICK_NS);
}

static void retry_fired(struct kb_timer *t)
{
	struct ejob *ej = (struct ejob *)((char *)t - offsetof(struct ejob, retry));

	if (ej->job->state == KBITS_STATE_TRANSIENT_ERROR) {
		job_set_state(ej, KBITS_STATE_QUEUED);
		ej->e->need_schedule = true;
	}
}

static void job_finish_error(struct ejob *ej)
{
	struct kb_engine *e = ej->e;
	struct kb_job *job = ej->job;
	struct kb_error err = ej->pending;
	uint64_t idle = kb_now() - ej->last_progress;
	bool fatal;

	ej->failing = false;
	fatal = !err.transient || !job->no_progress_timeout ||
		idle >= (uint64_t)job->no_progress_timeout * 1000000000ull;
	if (!fatal && !err.desc[0])
		snprintf(err.desc, sizeof(err.desc), "transient error");
	job->error_count++;
	job->error_context = err.context;
	job->error_code = err.code;
	job->error_file = err.file;
	kb_strset(&job->strings[KBITS_STR_ERROR_DESCRIPTION], err.desc);
	kb_info("job error (%s): %s", fatal ? "fatal" : "transient", err.desc);
	if (e->ops->error)
		e->ops->error(e->ctx, job, &err);
	job_set_state(ej, fatal ? KBITS_STATE_ERROR : KBITS_STATE_TRANSIENT_ERROR);
	if (!fatal) {
		uint64_t delay = job->min_retry_delay;

		if (err.retry_after > delay)
			delay = err.retry_after;
		kb_timer_arm_in(e->loop, &ej->retry, delay * 1000000000ull);
	}
}

static void job_fail(struct ejob *ej, const struct kb_error *err)
{
	struct xfer *x, *next;

	if (ej->failing || ej->stopping)
		return;
	ej->failing = true;
	ej->pending = *err;
	for (x = ej->xfers; x; x = next) {
		next = x->next_in_job;
		xfer_abort(x);
	}
}

static void job_unlink(struct ejob *ej)
{
	struct ejob **pp;

	for (pp = &ej->e->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == ej) {
			*pp = ej->next;
			break;
		}
	}
	ej->e->njobs--;
}

static void job_link(struct kb_engine *e, struct ejob *ej)
{
	struct ejob **pp;

	for (pp = &e->jobs; *pp && (*pp)->job->priority <= ej->job->priority; pp = &(*pp)->next)
		;
	ej->next = *pp;
	*pp = ej;
	e->njobs++;
}

static void job_free(struct ejob *ej)
{
	kb_timer_cancel(ej->e->loop, &ej->retry);
	kb_job_free(ej->job);
	kb_job_free(ej->replace);
	free(ej->file_active);
	free(ej->restarts);
	free(ej);
}

/* Keeps what only the engine knows (validators, temporary names, synced
 * bytes) across a change of the job's description. */
static void job_merge(struct kb_job *nj, const struct kb_job *old)
{
	for (uint32_t i = 0; i < nj->nr_files && i < old->nr_files; i++) {
		struct kb_file *n = &nj->files[i];
		const struct kb_file *o = &old->files[i];

		if (!n->url || !o->url || strcmp(n->url, o->url) || strcmp(n->path, o->path))
			continue;
		if (!n->temp_name)
			kb_strset(&n->temp_name, o->temp_name);
		if (!n->etag && !n->last_modified) {
			kb_strset(&n->etag, o->etag);
			kb_strset(&n->last_modified, o->last_modified);
			n->ranges_ok = o->ranges_ok;
		}
		if (o->bytes_transferred > n->bytes_transferred || (o->flags & KBITS_FILE_COMPLETED)) {
			n->bytes_transferred = o->bytes_transferred;
			n->bytes_total = o->bytes_total;
			n->flags |= o->flags & KBITS_FILE_COMPLETED;
		}
	}
}

static struct ejob *job_new(struct kb_engine *e, const struct kb_job *job)
{
	struct ejob *ej = calloc(1, sizeof(*ej));

	if (!ej)
		return NULL;
	ej->e = e;
	ej->job = kb_job_dup(job);
	ej->file_active = calloc(job->nr_files + 1, 1);
	ej->restarts = calloc(job->nr_files + 1, 1);
	if (!ej->job || !ej->file_active || !ej->restarts) {
		job_free(ej);
		return NULL;
	}
	ej->retry.cb = retry_fired;
	kb_owner_init(&ej->owner, job->owner_uid, job->owner_gid);
	ej->last_progress = kb_now();
	return ej;
}

static void job_settle(struct ejob *ej)
{
	struct kb_engine *e = ej->e;

	if (ej->nactive)
		return;
	if (ej->stopping) {
		uint8_t id[16];

		memcpy(id, ej->job->id, 16);
		job_unlink(ej);
		job_free(ej);
		if (e->ops->stopped)
			e->ops->stopped(e->ctx, id);
		return;
	}
	if (ej->failing)
		job_finish_error(ej);
	if (ej->replace) {
		struct kb_job *nj = ej->replace;
		uint8_t *fa = calloc(nj->nr_files + 1, 1), *rs = calloc(nj->nr_files + 1, 1);

		if (fa && rs) {
			job_merge(nj, ej->job);
			ej->replace = NULL;
			kb_job_free(ej->job);
			ej->job = nj;
			free(ej->file_active);
			free(ej->restarts);
			ej->file_active = fa;
			ej->restarts = rs;
			job_unlink(ej);
			job_link(e, ej);
			kb_owner_init(&ej->owner, nj->owner_uid, nj->owner_gid);
			nj->state = KBITS_STATE_QUEUED;
		} else {
			free(fa);
			free(rs);
		}
	}
	e->need_schedule = true;
}

int kb_engine_run(struct kb_engine *e, const struct kb_job *job)
{
	struct ejob *ej = find_job(e, job->id);

	if (job->type != KBITS_JOB_DOWNLOAD)
		return kb_uploads_run(e->up, job);
	if (ej) {
		struct kb_job *nj = kb_job_dup(job);
		struct xfer *x, *next;

		if (!nj)
			return -ENOMEM;
		kb_job_free(ej->replace);
		ej->replace = nj;
		ej->stopping = false;
		if (ej->job->state == KBITS_STATE_ERROR)
			kb_sched_reset(&ej->sched);	/* a Resume restarts the clock */
		kb_timer_cancel(e->loop, &ej->retry);
		for (x = ej->xfers; x; x = next) {
			next = x->next_in_job;
			xfer_abort(x);
		}
		if (!ej->nactive)
			job_settle(ej);
		ej->last_progress = kb_now();
		return 0;
	}
	ej = job_new(e, job);
	if (!ej)
		return -ENOMEM;
	ej->job->state = KBITS_STATE_QUEUED;
	job_link(e, ej);
	e->need_schedule = true;
	return 0;
}

int kb_engine_stop(struct kb_engine *e, const uint8_t id[16])
{
	struct ejob *ej = find_job(e, id);
	struct xfer *x, *next;

	if (!ej)
		return kb_uploads_stop(e->up, id);
	if (ej->stopping)
		return 0;
	ej->stopping = true;
	kb_timer_cancel(e->loop, &ej->retry);
	for (x = ej->xfers; x; x = next) {
		next = x->next_in_job;
		xfer_abort(x);
	}
	if (!ej->nactive && find_job(e, id) == ej)
		job_settle(ej);
	return 0;
}

const struct kb_job *kb_engine_job(struct kb_engine *e, const uint8_t id[16])
{
	struct ejob *ej = find_job(e, id);

	return ej ? ej->job : kb_uploads_job(e->up, id);
}

struct kb_uploads *kb_engine_uploads(struct kb_engine *e)
{
	return e->up;
}

unsigned int kb_engine_active(struct kb_engine *e)
{
	unsigned int n = 0;

	for (struct xfer *x = e->all; x; x = x->next_all)
		n += x->outcome == XO_NONE && !x->curl_done;
	return n;
}

unsigned int kb_engine_jobs(struct kb_engine *e)
{
	return e->njobs + kb_uploads_count(e->up);
}

void kb_engine_get_stats(struct kb_engine *e, struct kb_engine_stats *st)
{
	*st = e->stats;
	st->lp_sockets = e->sched.lp_sockets;
	st->rlp_cuts = e->sched.rlp_cuts;
}

int kb_engine_set_job_bandwidth(struct kb_engine *e, const uint8_t id[16], uint64_t bps)
{
	struct ejob *ej = find_job(e, id);

	if (!ej)
		return -ENOENT;
	ej->sched.bandwidth = bps;
	e->need_schedule = true;
	return 0;
}

/* ---- the engine ------------------------------------------------------------- */

static void engine_idle(void *arg)
{
	struct kb_engine *e = arg;

	/* Partial buffers go to disk once per loop iteration. */
	for (struct xfer *x = e->all; x; x = x->next_all)
		if (!x->curl_done && x->cur && x->cur->len && x->outcome == XO_NONE)
			buf_queue(x);
	if (e->need_schedule)
		schedule(e);
	arm_dirty(e);
}

struct kb_engine *kb_engine_new(struct kb_loop *loop, const struct kb_engine_config *c,
				const struct kb_engine_ops *ops, void *ctx)
{
	static bool curl_ready;
	struct kb_engine *e;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return NULL;
		curl_ready = true;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->loop = loop;
	if (c)
		e->cfg = *c;
	else
		kb_engine_config_default(&e->cfg);
	if (!e->cfg.files_per_job)
		e->cfg.files_per_job = 1;
	if (!e->cfg.max_writes_inflight)
		e->cfg.max_writes_inflight = 2;
	if (e->cfg.write_chunk < 4096)
		e->cfg.write_chunk = 4096;
	e->ops = ops;
	e->ctx = ctx;
	e->curl_timer.cb = curl_timer_fired;
	e->sched.timer.cb = sched_timer_fired;
	e->sched.tick.cb = sched_tick_fired;
	e->sched.cfg = (struct kb_sched_cfg){
		.max_transfers = e->cfg.max_transfers, .files_per_job = e->cfg.files_per_job,
		.max_bandwidth = e->cfg.max_bandwidth, .job_bandwidth = e->cfg.job_bandwidth,
		.slice_ns = (uint64_t)e->cfg.slice_ms * 1000000ull, .rlp = !e->cfg.no_rlp,
	};
	e->multi = curl_multi_init();
	if (!e->multi) {
		free(e);
		return NULL;
	}
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->cfg.max_transfers * 2);
	e->up = kb_uploads_new(loop, e->multi, &e->cfg, &e->ops, ctx);
	if (!e->up) {
		curl_multi_cleanup(e->multi);
		free(e);
		return NULL;
	}
	kb_loop_set_idle(loop, engine_idle, e);
	return e;
}

void kb_engine_free(struct kb_engine *e)
{
	uint64_t deadline = kb_now() + 5000000000ull;

	if (!e)
		return;
	e->ops = &(const struct kb_engine_ops){ 0 };
	for (struct ejob *ej = e->jobs, *next; ej; ej = next) {
		next = ej->next;
		kb_engine_stop(e, ej->job->id);
	}
	while (e->jobs && kb_now() < deadline)
		kb_loop_run_once(e->loop, 100000000ull);
	kb_uploads_free(e->up);
	e->up = NULL;
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	kb_timer_cancel(e->loop, &e->curl_timer);
	kb_timer_cancel(e->loop, &e->sched.timer);
	kb_timer_cancel(e->loop, &e->sched.tick);
	arm_dirty(e);
	/* stale polls complete with -ECANCELED: let them, bounded */
	for (int i = 0; i < 20; i++)
		kb_loop_run_once(e->loop, 10000000ull);
	kb_loop_set_idle(e->loop, NULL, NULL);
	free(e);
}
