// SPDX-License-Identifier: GPL-2.0
/*
 * Downloads: one file of a job over HTTP(S), in the order a byte travels.
 *
 *   start    kb_xfer_start: the temporary file opens as the owner, the
 *            request is set up (httpreq.c) with a Range when bytes are
 *            already there, and given to curl (curlio.c)
 *   headers  on_header: status, validators, length; begin_body decides at
 *            the first body byte whether the answer continues our bytes
 *   body     on_body: bytes are copied into a write buffer that ends at a
 *            4 KiB-aligned file offset; a full buffer (and, at the end of
 *            every loop iteration, the aligned part of a partial one:
 *            kb_xfer_flush) ...
 *   memory   write buffers are chunks of the engine's pool (wbufpool.h),
 *            sized to what the transfer received in its last loop
 *            iteration (16 KiB for a slow one, up to write_chunk for a fast
 *            one: buf_new), and back in the pool once written
 *   queue    ... becomes an IORING_OP_WRITE at its offset; with
 *            max_writes_inflight writes queued the easy handle is paused,
 *            and so is every transfer while the engine's queued buffers
 *            exceed write_buffer_max (a disk slower than the network: 100
 *            transfers queued 416 MB on the host before this bound)
 *   written  write_done: bytes on disk are the contiguous prefix of
 *            completed writes; completions resume curl. Every write starts
 *            at a 4 KiB-aligned offset of a sparse file, so after a
 *            process crash the contiguous prefix is what SEEK_HOLE finds
 *            (xfer_open): a write that never happened is a hole.
 *   ckpt     a checkpoint: at most every checkpoint_bytes or
 *            checkpoint_interval_ms an fdatasync runs in the background
 *            (curl is never paused for it); once it completed, its offset
 *            becomes bytes_transferred and ops->checkpoint tells the store
 *   done     xfer_curl_done: curl has the whole answer (or an error)
 *   conclude xfer_advance drains the writes, fdatasyncs once more, and
 *            xfer_conclude settles the outcome: done, error, abort or restart
 *   digest   every file's SHA-256 is computed as its bytes go to disk
 *            (hash_feed, in on_body: the order they are written), after
 *            the part already on disk at a resume was hashed once
 *            (hash_prefix); xfer_conclude finishes it, checks the client's
 *            expected digest and size, and fails the file on a mismatch
 *            (verify_file) before it is complete
 *
 * What a crash costs (Documentation/kbitsd.md, Durability): a process
 * crash, at most the writes in flight (KB_CRASH_BOUND, engine.c sizes
 * them); a machine crash, what came after the last checkpoint.
 *
 * The job around the transfers is engine.c's (engine_int.h). Nothing here
 * is called from inside a curl callback that could re-enter curl: aborts
 * and handle removal happen from loop completions, timers and the idle
 * hook only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "curlio.h"
#include "engine_int.h"
#include "http.h"
#include "httpreq.h"
#include "log.h"
#include "owner.h"
#include "sched.h"
#include "tempfile.h"

#define MAX_RESTARTS	3

static void bucket_fired(struct kb_timer *t);
static int xfer_open(struct xfer *x, struct kb_error *err);
static int xfer_setup_curl(struct xfer *x);
static void on_new_socket(void *arg, curl_socket_t fd);
static size_t on_header(char *p, size_t sz, size_t nmemb, void *arg);
static bool strong_etag(const char *etag);
static int begin_body(struct xfer *x);
static size_t on_body(char *p, size_t sz, size_t nmemb, void *arg);
static struct wbuf *buf_new(struct xfer *x, uint64_t off, size_t want);
static void buf_free(struct xfer *x, struct wbuf *b);
static void buf_submit(struct xfer *x, struct wbuf *b);
static void write_done(struct kb_op *op, int res);
static bool may_continue(const struct xfer *x);
static bool budget_wake(struct kb_engine *e);
static void maybe_checkpoint(struct xfer *x);
static void sync_done(struct kb_op *op, int res);
static void file_saved(struct xfer *x);
static void file_noted(struct xfer *x);
static void flush_cur(struct xfer *x, bool all);
static void xfer_curl_done(struct xfer *x, CURLcode rc);
static void xfer_req_done(void *arg, CURLcode rc);
static void xfer_advance(struct xfer *x);
static void xfer_conclude(struct xfer *x);
static void xfer_fail(struct xfer *x, int outcome, const struct kb_error *err);
static void xfer_stop_curl(struct xfer *x);
static void xfer_free(struct xfer *x);
static int hash_reset(struct xfer *x);
static int hash_prefix(struct xfer *x, uint64_t len);
static void hash_feed(struct xfer *x, uint64_t off, const void *p, size_t len);
static int verify_file(struct xfer *x, struct kb_error *err);

/* ---- start: a file's transfer begins, its temporary file opens, its request is set up --- */

int kb_xfer_start(struct ejob *ej, uint32_t idx)
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
	/* The source of this attempt: a mirror after its predecessors failed. */
	x->sources = kb_file_sources(&ej->job->files[idx]);
	x->mirror = ej->mirror[idx] < x->sources ? ej->mirror[idx] : 0;
	x->src = kb_file_source(&ej->job->files[idx], x->mirror);
	kb_rlp_init(&x->rlp);
	x->sock = CURL_SOCKET_BAD;
	x->bucket.timer.cb = bucket_fired;
	x->sync_op.cb = sync_done;
	x->ckpt_time = kb_now();
	x->clen = x->cr_total = KBITS_UNKNOWN;
	x->md = EVP_MD_CTX_new();
	x->buf_want = KB_WBUF_MIN;
	if (!e->pool)
		e->pool = kb_wbpool_new(e->cfg.write_chunk, e->loop);
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

	ret = x->md && e->pool ? xfer_open(x, &err) : -ENOMEM;
	if (!x->md || !e->pool) {
		err.context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER;
		err.code = -ENOMEM;
		err.transient = true;
		snprintf(err.desc, sizeof(err.desc), "cannot set up a transfer");
	}
	if (ret == 0) {
		x->easy = curl_easy_init();
		if (!x->easy || xfer_setup_curl(x) < 0 || kb_curlio_add(e->io, x->easy) < 0) {
			if (x->easy)
				curl_easy_cleanup(x->easy);
			x->easy = NULL;
			ret = -ENOMEM;
			if (x->req.tls_err.desc[0]) {
				/* a TLS file of the job the owner cannot read */
				err = x->req.tls_err;
				ret = err.code;
			} else {
				memset(&err, 0, sizeof(err));
				err.context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER;
				err.code = -ENOMEM;
				err.transient = true;
				snprintf(err.desc, sizeof(err.desc), "cannot set up a transfer");
			}
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
	kb_job_set_state(ej, ej->job->state == KBITS_STATE_TRANSFERRING ?
		      KBITS_STATE_TRANSFERRING : KBITS_STATE_CONNECTING);
	return 0;
}

/* The bandwidth limit paused a transfer: its time has come. */
static void bucket_fired(struct kb_timer *t)
{
	struct xfer *x = (struct xfer *)((char *)t - offsetof(struct xfer, bucket.timer));

	if (!x->easy || x->curl_done)
		return;
	curl_easy_pause(x->easy, CURLPAUSE_CONT);
	kb_curlio_check(x->ej->e->io);
}

/* Opens the temporary file as the owner and decides where to resume. */
static int xfer_open(struct xfer *x, struct kb_error *err)
{
	struct ejob *ej = x->ej;
	struct kb_job *job = ej->job;
	struct kb_file *f = &job->files[x->idx];
	struct kb_creds_saved saved;
	const char *base;
	char derived[256];
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
	x->first_start = !f->temp_name && !f->bytes_transferred;
	if (kb_temp_name_derive(job->id, x->idx, base, derived, sizeof(derived)) < 0)
		derived[0] = '\0';
	fd = kb_temp_open(dirfd, base, derived[0] ? derived : NULL, &f->temp_name, &fresh);
	close(dirfd);
	kb_creds_leave(&saved);
	if (fd < 0) {
		kb_error_local(err, fd, "cannot create a temporary file for", f->path);
		return fd;
	}
	x->fd = fd;
	if (fresh) {
		f->untold |= KB_UNTOLD_TEMP;
		f->bytes_transferred = 0;
		kb_strset(&f->etag, NULL);
		kb_strset(&f->last_modified, NULL);
		f->ranges_ok = false;
		/* a random name (the derived one was taken) must be found again */
		if (x->first_start && !strcmp(f->temp_name, derived))
			file_noted(x);
		else
			file_saved(x);
	}
	/*
	 * bytes_transferred is the last checkpoint: durable. What is beyond it
	 * on disk was written in this boot (kbitsd truncates every partial
	 * file back to its checkpoint after a reboot: kb_temp_recover), so it
	 * is good as far as it is contiguous from 0 (kb_temp_contiguous).
	 */
	off = f->bytes_transferred;
	if (fstat(fd, &st) < 0) {
		off = 0;
		st.st_size = -1;
	} else if ((uint64_t)st.st_size < off) {
		off = 0;
	} else {
		uint64_t have = kb_temp_contiguous(fd, (uint64_t)st.st_size);

		if (have > off)
			off = have;
	}
	if ((job->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT) || !f->ranges_ok ||
	    !(strong_etag(f->etag) || f->last_modified))
		off = 0;
	/*
	 * Only a file not off bytes long is truncated: ext4 flushes a file that
	 * was truncated to 0 when it is closed (auto_da_alloc), which cost
	 * every new small file a writeback in close() on the loop (12% of
	 * kbits_get's samples for 10,000 x 4 KiB).
	 */
	if ((off_t)off != st.st_size && ftruncate(fd, (off_t)off) < 0) {
		kb_error_local(err, -errno, "cannot truncate the temporary file of", f->path);
		return -errno;
	}
	x->req_off = x->next_off = x->on_disk = off;
	/* The bytes already there are hashed once, then the new ones as they come. */
	if (hash_prefix(x, off) < 0)
		x->hash_linear = false;
	if (off || f->bytes_transferred)	/* e2e tests read where a restart resumed */
		kb_info("%s: resume at %llu (checkpoint %llu; ranges %d, etag %s)%s%s", f->path,
			(unsigned long long)off, (unsigned long long)f->bytes_transferred, f->ranges_ok,
			f->etag ? "yes" : "no", x->mirror ? " from mirror " : "",
			x->mirror && x->src ? x->src : "");
	return 0;
}

static int xfer_setup_curl(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;
	struct kb_job *job = x->ej->job;
	struct kb_file *f = &job->files[x->idx];
	CURL *c = x->easy;
	struct kb_httpreq *r = &x->req;
	char range[48];

	if (!x->src)
		return -ENOMEM;
	r->job = job;
	r->url = x->src;
	r->ca_file = e->cfg.ca_file;
	r->connect_timeout = e->cfg.connect_timeout;
	r->low_speed_time = e->cfg.low_speed_time;
	r->verbose = e->cfg.verbose;
	r->proxy = x->ej->proxy;
	r->arg = x;
	r->header = on_header;
	r->body = on_body;
	r->socket = on_new_socket;
	r->done = xfer_req_done;
	r->follow = true;
	r->max_redirects = (long)e->cfg.max_redirects;
	if (kb_httpreq_setup(c, r, &x->hdrs) < 0)
		return -ENOMEM;	/* r->tls_err says when it was a TLS file */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)KB_RECV_BUFFER);
	/* Waiting to multiplex only makes sense where ALPN can offer h2: over
	 * http:// a second file of a host would wait for the first to end. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT, strncasecmp(x->src, "https:", 6) ? 0L : 1L);
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

/* A new connection: TCP-LP for background priorities where the kernel has it. */
static void on_new_socket(void *arg, curl_socket_t fd)
{
	struct xfer *x = arg;

	x->sock = fd;
	kb_sched_sockopt(&x->ej->e->sched, fd, x->ej->job->priority);
}

/* ---- headers: the response's status and validators --------------------------- */

/* A header line for KBITS_FILE_STR_HTTP_RESPONSE_HEADERS: whole lines that fit. */
static void hdr_keep(struct xfer *x, const char *p, size_t len)
{
	size_t cap;
	char *n;

	if (x->hdr_len + len > KBITS_RESPONSE_HEADERS_MAX)
		return;
	if (x->hdr_len + len > x->hdr_cap) {
		cap = x->hdr_cap ? 2 * x->hdr_cap : 1024;
		while (cap < x->hdr_len + len)
			cap *= 2;
		if (cap > KBITS_RESPONSE_HEADERS_MAX)
			cap = KBITS_RESPONSE_HEADERS_MAX;
		n = realloc(x->hdr, cap);
		if (!n)
			return;	/* headers are informative: the transfer goes on */
		x->hdr = n;
		x->hdr_cap = cap;
	}
	memcpy(x->hdr + x->hdr_len, p, len);
	x->hdr_len += len;
}

static size_t on_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = sz * nmemb, n;
	bool status_line = kb_http_status_line(p, len, &x->status);
	const char *v;
	char tmp[64];

	/* Every response (a redirect's too) starts over: the last one stays. */
	if (status_line)
		x->hdr_len = 0;
	if (!kb_http_headers_end(p, len))
		hdr_keep(x, p, len);
	if (status_line) {
		x->etag[0] = x->lm[0] = '\0';
		x->clen = x->cr_total = KBITS_UNKNOWN;
		x->cr_start = 0;
		x->cr_valid = x->accept_ranges = false;
	} else if ((v = kb_http_header_value(p, len, "etag", &n))) {
		kb_http_copy_value(x->etag, sizeof(x->etag), v, n);
	} else if ((v = kb_http_header_value(p, len, "last-modified", &n))) {
		kb_http_copy_value(x->lm, sizeof(x->lm), v, n);
	} else if ((v = kb_http_header_value(p, len, "content-length", &n))) {
		kb_http_copy_value(tmp, sizeof(tmp), v, n);
		if (tmp[0] >= '0' && tmp[0] <= '9')
			x->clen = strtoull(tmp, NULL, 10);
	} else if ((v = kb_http_header_value(p, len, "accept-ranges", &n))) {
		kb_http_copy_value(tmp, sizeof(tmp), v, n);
		x->accept_ranges = strstr(tmp, "bytes") != NULL;
	} else if ((v = kb_http_header_value(p, len, "content-range", &n))) {
		unsigned long long s, t;
		char *end;

		kb_http_copy_value(tmp, sizeof(tmp), v, n);
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
	} else if (kb_http_headers_end(p, len)) {
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
		/*
		 * The validator the bytes came with (ETag, else Last-Modified)
		 * and the size must be this answer's too: a mirror (or a new
		 * URL) whose server ignored If-Range must not continue them.
		 */
		if (!x->req_off || !x->cr_valid || x->cr_start != x->req_off ||
		    (f->etag && x->etag[0] && strcmp(f->etag, x->etag)) ||
		    (!strong_etag(f->etag) && f->last_modified && x->lm[0] &&
		     strcmp(f->last_modified, x->lm)) ||
		    (f->bytes_total != KBITS_UNKNOWN && x->cr_total != KBITS_UNKNOWN &&
		     f->bytes_total != x->cr_total)) {
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
		/* A restart from 0 inside the transfer: the digest starts over. */
		if (hash_reset(x) < 0)
			x->hash_linear = false;
		f->ranges_ok = x->accept_ranges;
		total = dynamic ? KBITS_UNKNOWN : x->clen;
		f->bytes_transferred = 0;
	}
	kb_strset(&f->etag, x->etag[0] ? x->etag : NULL);
	kb_strset(&f->last_modified, x->lm[0] ? x->lm : NULL);
	/* The answer whose bytes we keep: its headers are the file's (BITS's). */
	free(f->resp_headers);
	f->resp_headers = x->hdr_len ? strndup(x->hdr, x->hdr_len) : NULL;
	f->untold |= KB_UNTOLD_HEADERS;
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
	/* A size the client expected and the server contradicts: no byte is worth getting. */
	if ((f->flags & KBITS_FILE_EXPECT_SIZE) && !dynamic && total != KBITS_UNKNOWN &&
	    total != f->expected_size) {
		struct kb_error err = { .context = KBITS_ERROR_CONTEXT_REMOTE_FILE,
					.code = KBITS_E_SIZE_MISMATCH };

		err.file = x->idx;
		snprintf(err.desc, sizeof(err.desc),
			 "%s: the server announces %llu bytes, %llu were expected", f->path,
			 (unsigned long long)total, (unsigned long long)f->expected_size);
		xfer_fail(x, XO_ERR, &err);
		return -1;
	}
	if (x->first_start && !x->req_off)
		file_noted(x);
	else
		file_saved(x);
	kb_job_set_state(ej, KBITS_STATE_TRANSFERRING);
	return 0;
}

/* ---- body: bytes from curl into write buffers -------------------------------- */

/* Bytes of write buffers the engine may queue over all its transfers. */
static uint64_t wbuf_budget(const struct kb_engine *e)
{
	return e->cfg.write_buffer_max ? e->cfg.write_buffer_max : KB_WBUF_BUDGET;
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
	if (x->nq >= e->cfg.max_writes_inflight) {
		x->paused = true;
		e->stats.pauses++;
		return CURL_WRITEFUNC_PAUSE;
	}
	/* Writes are queued, so one's completion wakes it (budget_wake). */
	if (e->wbuf_queued >= wbuf_budget(e)) {
		if (!x->budget_paused) {
			x->budget_paused = true;
			e->wbuf_waiting++;
		}
		e->stats.pauses++;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (x->budget_paused) {	/* unpaused otherwise (its bandwidth timer) */
		x->budget_paused = false;
		e->wbuf_waiting--;
	}
	if (job->max_download_size && x->next_off + len > job->max_download_size) {
		struct kb_error err = { .context = KBITS_ERROR_CONTEXT_REMOTE_FILE, .code = -EFBIG };

		err.file = x->idx;
		snprintf(err.desc, sizeof(err.desc), "%s: more than the job's maximum download size",
			 job->files[x->idx].path);
		xfer_fail(x, XO_ERR, &err);
		return 0;
	}
	/* Past every early return: these bytes are taken now, not offered again. */
	hash_feed(x, x->next_off, p, len);
	while (left) {
		struct wbuf *b = x->cur;
		size_t n;

		if (!b) {
			/* at least this callback's bytes: a small file in one write */
			b = x->cur = buf_new(x, x->next_off, left);
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
		x->ej->e->stats.body_bytes += n;
		/* reset by kb_xfer_flush; bounded where no partial buffer calls it */
		if (x->iter_bytes < (1u << 30))
			x->iter_bytes += (uint32_t)n;
		if (b->len == b->cap) {
			/* full within a loop iteration: the next one twice as large */
			if (x->buf_want < 2 * b->size)
				x->buf_want = 2 * b->size;
			flush_cur(x, false);
		}
	}
	return len;
}

/* ---- the write queue: buffers become IORING_OP_WRITEs in offset order -------- */

/*
 * A buffer for the bytes from off on, of about x->buf_want bytes (or want,
 * if more): it ends at an aligned offset. Sized to what the transfer needs, not to
 * write_chunk: 100 transfers at 20 kB/s hold 100 chunks of 16 KiB, where
 * they held 100 of 256 KiB (and their heap the most ever in flight).
 */
static struct wbuf *buf_new(struct xfer *x, uint64_t off, size_t want)
{
	struct kb_wbpool *pool = x->ej->e->pool;
	uint32_t mis = (uint32_t)(off & (KB_WRITE_ALIGN - 1));
	uint32_t size;

	if (want < x->buf_want)
		want = x->buf_want;
	if (want > KB_CRASH_BOUND)
		want = KB_CRASH_BOUND;	/* kb_wbpool_size caps it at write_chunk */
	size = kb_wbpool_size(pool, (uint32_t)want + mis);
	struct wbuf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->data = kb_wbpool_get(pool, size, kb_now());
	if (!b->data) {
		free(b);
		return NULL;
	}
	b->op.cb = write_done;
	b->x = x;
	b->size = size;
	b->cap = size - mis;	/* size >= 4 KiB > mis */
	b->off = off;
	return b;
}

static void buf_free(struct xfer *x, struct wbuf *b)
{
	if (!b)
		return;
	kb_wbpool_put(x->ej->e->pool, b->data, b->size, kb_now());
	free(b);
}

/*
 * Once per loop iteration: what is whole of the partial buffer goes to
 * disk, and the next buffer is sized to what this iteration brought.
 */
void kb_xfer_flush(struct xfer *x)
{
	if (x->cur) {
		x->buf_want = x->iter_bytes > x->cur->len ? x->iter_bytes : x->cur->len;
		x->iter_bytes = 0;
	}
	flush_cur(x, x->curl_done);
}

/*
 * Queues the buffer being filled. Unless all, only up to its last aligned
 * offset: the rest (less than 4 KiB) moves to a new buffer, so that the
 * next write starts aligned too. Only a file's last write ends unaligned.
 */
static void flush_cur(struct xfer *x, bool all)
{
	struct wbuf *b = x->cur, *nb = NULL;
	uint64_t end, cut;

	if (!b || !b->len)
		return;
	end = b->off + b->len;
	cut = end & ~(uint64_t)(KB_WRITE_ALIGN - 1);
	if (!all && cut != end) {
		if (cut <= b->off)
			return;		/* not a block yet: wait for more */
		nb = buf_new(x, cut, 0);
		if (!nb)
			return;		/* it goes when full */
		nb->len = (uint32_t)(end - cut);
		memcpy(nb->data, b->data + (cut - b->off), nb->len);
		b->len -= nb->len;
	}
	x->cur = nb;
	if (x->q_tail)
		x->q_tail->next = b;
	else
		x->q_head = b;
	x->q_tail = b;
	x->nq++;
	x->ej->e->wbuf_queued += b->size;
	buf_submit(x, b);
}

static void buf_submit(struct xfer *x, struct wbuf *b)
{
	x->ej->e->stats.writes++;
	kb_loop_write(x->ej->e->loop, &b->op, x->fd, b->data + b->done, b->len - b->done,
		      b->off + b->done);
}

/* ---- write done: bytes on disk; curl paused or resumed ----------------------- */

static void write_done(struct kb_op *op, int res)
{
	struct wbuf *b = (struct wbuf *)op;
	struct xfer *x = b->x;
	struct ejob *ej = x->ej;
	struct kb_engine *e = ej->e;
	struct kb_error err = { 0 };
	bool woke;

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
		e->wbuf_queued -= b->size;
		buf_free(x, b);
	}
	ej->last_progress = kb_now();
	if (e->ops->progress && !x->write_failed)
		e->ops->progress(e->ctx, ej->job, x->idx, x->on_disk);
	woke = budget_wake(e);
	if (x->write_failed) {
		xfer_stop_curl(x);
	} else {
		maybe_checkpoint(x);
		if (may_continue(x)) {
			x->paused = false;
			curl_easy_pause(x->easy, CURLPAUSE_CONT);
			kb_curlio_check(e->io);	/* may conclude x: do not touch it after */
			return;
		}
	}
	xfer_advance(x);	/* may free x */
	if (woke)
		kb_curlio_check(e->io);
}

/*
 * Queued buffers fell to 3/4 of write_buffer_max: the transfers paused for
 * it take bytes again (those also paused for their own writes wait for
 * them). True when one was unpaused: curl has work (kb_curlio_check).
 */
static bool budget_wake(struct kb_engine *e)
{
	bool woke = false;

	if (!e->wbuf_waiting || e->wbuf_queued > wbuf_budget(e) / 4 * 3)
		return false;
	for (struct xfer *y = e->all; y && e->wbuf_waiting; y = y->next_all) {
		if (!y->budget_paused)
			continue;
		y->budget_paused = false;
		e->wbuf_waiting--;
		if (!y->paused && !y->curl_done && y->outcome == XO_NONE) {
			curl_easy_pause(y->easy, CURLPAUSE_CONT);
			woke = true;
		}
	}
	return woke;
}

/* A transfer paused for back-pressure may take bytes again. */
static bool may_continue(const struct xfer *x)
{
	return x->paused && !x->curl_done && x->outcome == XO_NONE &&
	       x->nq <= x->ej->e->cfg.max_writes_inflight / 2;
}

/* ---- checkpoints: bytes on disk made durable in the background --------------- */

/*
 * What a machine crash can cost a file is bounded by the checkpoints: one
 * starts once checkpoint_bytes were written since the last, or
 * checkpoint_interval_ms passed with new bytes written. Nothing waits for
 * it: curl goes on, and a checkpoint still running when the next is due
 * delays only the next one.
 */
static void maybe_checkpoint(struct xfer *x)
{
	const struct kb_engine_config *c = &x->ej->e->cfg;
	struct kb_file *f = &x->ej->job->files[x->idx];
	uint64_t now;

	if (x->syncing || x->curl_done || x->on_disk <= f->bytes_transferred)
		return;
	now = kb_now();
	if (x->on_disk - f->bytes_transferred < c->checkpoint_bytes &&
	    now - x->ckpt_time < (uint64_t)c->checkpoint_interval_ms * 1000000ull)
		return;
	x->ckpt_time = now;
	x->syncing = true;
	x->syncing_off = x->on_disk;
	x->ej->e->stats.syncs++;
	kb_loop_fsync(x->ej->e->loop, &x->sync_op, x->fd, true);
}

static void sync_done(struct kb_op *op, int res)
{
	struct xfer *x = (struct xfer *)((char *)op - offsetof(struct xfer, sync_op));
	struct kb_engine *e = x->ej->e;
	struct kb_file *f = &x->ej->job->files[x->idx];

	x->syncing = false;
	if (res < 0) {
		struct kb_error err = { 0 };

		kb_error_local(&err, res, "cannot sync", f->path);
		xfer_fail(x, XO_ERR, &err);
		xfer_stop_curl(x);
	} else if (x->outcome != XO_RESTART && x->syncing_off > f->bytes_transferred) {
		/* durable now: the store may say so (xfer_conclude saves the last) */
		f->bytes_transferred = x->syncing_off;
		if (!x->curl_done) {
			e->stats.checkpoints++;
			if (e->ops->checkpoint)
				e->ops->checkpoint(e->ctx, x->ej->job, x->idx);
			else
				file_saved(x);
		}
	}
	xfer_advance(x);
}

static void file_saved(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;

	if (e->ops->file_saved)
		e->ops->file_saved(e->ctx, x->ej->job, x->idx);
}

/*
 * A row of a file never started, before any byte of it is promised: a
 * power cut that loses it leaves the file as it was, not started, and its
 * temporary file is found by its derived name (kb_temp_forget_derived).
 * Small files come by the thousand: a WAL sync for each was most of
 * their cost.
 */
static void file_noted(struct xfer *x)
{
	struct kb_engine *e = x->ej->e;

	if (e->ops->file_noted)
		e->ops->file_noted(e->ctx, x->ej->job, x->idx);
	else
		file_saved(x);
}

/* ---- curl done: the answer as a whole ---------------------------------------- */

/*
 * Whether a failed answer of this source sends the file on to its next
 * mirror (Documentation/kbitsd.md, "Mirrors"): the source could not be
 * reached or stalled (connect, resolve, timeout: the no-progress limit,
 * a connection that broke), the server failed (5xx), or the mirror lacks
 * the file or refuses it (403, 404, 410, 429). Not: TLS verification and
 * pinning (the job's trust, the same for every mirror), 401 and 407 (the
 * job's credentials), other 4xx (the request itself), a proxy's failure
 * (kb_httpreq_failover first).
 */
static bool mirror_failover(const struct xfer *x, CURLcode rc, long status)
{
	bool fail;

	if (x->mirror + 1 >= x->sources)
		return false;
	switch (rc) {
	case CURLE_OK:
		fail = status >= 500 || status == 403 || status == 404 || status == 410 ||
		       status == 429;
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		fail = true;
		break;
	default:
		fail = false;
	}
	if (fail && rc != CURLE_OK)
		kb_info("%s: source %u of %u, %s, failed (%s): the next mirror",
			x->ej->job->files[x->idx].path, x->mirror + 1, x->sources, x->src,
			curl_easy_strerror(rc));
	else if (fail)
		kb_info("%s: source %u of %u, %s, failed (HTTP %ld): the next mirror",
			x->ej->job->files[x->idx].path, x->mirror + 1, x->sources, x->src, status);
	return fail;
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
		if (rc != CURLE_OK && kb_httpreq_failover(&x->req, x->easy, rc)) {
			xfer_fail(x, XO_PROXY, NULL);
		} else if (mirror_failover(x, rc, status)) {
			xfer_fail(x, XO_MIRROR, NULL);
		} else if (rc != CURLE_OK) {
			kb_httpreq_error(&x->req, x->easy, rc, 0, &err);
			xfer_fail(x, XO_ERR, &err);
		} else if (status >= 200 && status < 300) {
			if (x->body || begin_body(x) == 0) {
				bool dynamic = job->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT;

				if (!dynamic && f->bytes_total != KBITS_UNKNOWN && x->next_off != f->bytes_total) {
					kb_error_curl(&err, CURLE_PARTIAL_FILE, "body shorter than announced", x->src);
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
	/*
	 * The redirect policy ALLOW_REPORT (BITS's): once the answer is good,
	 * the file's URL becomes the final one. kbitsd stores it and tells
	 * the module (GET_FILE); a resume asks it directly.
	 */
	if (x->outcome == XO_DONE && !x->mirror && f->final_url && strcmp(f->url, f->final_url) &&
	    (job->security_flags & KBITS_SECURITY_REDIRECT_MASK) == KBITS_SECURITY_REDIRECT_ALLOW_REPORT) {
		kb_strset(&f->url, f->final_url);
		f->untold |= KB_UNTOLD_URL;
	}
	x->curl_done = true;
	kb_curlio_remove(x->ej->e->io, x->easy);
	x->easy = NULL;
	/* its network slot is free while its last writes and fsync finish */
	x->ej->e->need_schedule = true;
	xfer_advance(x);
}

/* curlio.c: curl is done with the transfer's request. */
static void xfer_req_done(void *arg, CURLcode rc)
{
	xfer_curl_done(arg, rc);
}

/* ---- conclude: the last writes and fsync drained, the outcome settled -------- */

/* After curl is done: drain writes, sync, conclude. */
static void xfer_advance(struct xfer *x)
{
	if (!x->curl_done)
		return;
	/* bytes received before a transport error are good: keep them */
	if (x->outcome != XO_RESTART && !x->write_failed)
		flush_cur(x, true);
	else if (x->cur) {
		buf_free(x, x->cur);
		x->cur = NULL;
	}
	if (x->nq || x->syncing)
		return;
	/* A complete file is synced with the job's others (kb_job_final_sync);
	 * a stopped or failed one keeps its bytes as a checkpoint. */
	if (!x->final_sync_done && x->outcome != XO_RESTART && x->outcome != XO_DONE &&
	    x->on_disk > 0) {
		x->final_sync_done = true;
		x->syncing = true;
		x->syncing_off = x->on_disk;
		x->ej->e->stats.syncs++;
		kb_loop_fsync(x->ej->e->loop, &x->sync_op, x->fd, true);
		return;
	}
	xfer_conclude(x);
}

static void xfer_conclude(struct xfer *x)
{
	struct ejob *ej = x->ej;
	struct kb_engine *e = ej->e;
	struct kb_file *f = &ej->job->files[x->idx];
	struct kb_error err = x->err;
	uint32_t idx = x->idx;
	int outcome = x->outcome;

	if (outcome == XO_DONE && verify_file(x, &err) < 0)
		outcome = XO_ERR;
	switch (outcome) {
	case XO_DONE:
		if (f->bytes_total == KBITS_UNKNOWN)
			f->bytes_total = x->on_disk;
		f->bytes_transferred = x->on_disk;
		f->flags |= KBITS_FILE_COMPLETED;
		f->unsynced = true;	/* until kb_job_final_sync */
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
	case XO_MIRROR:
		/* the next source at once, as for a proxy: schedule starts the
		 * file again, with a Range and If-Range from what is synced */
		if (ej->mirror[idx] <= x->mirror)
			ej->mirror[idx] = (uint8_t)(x->mirror + 1);
		break;
	case XO_PROXY:
		/* the next entry at once (schedule starts the file again, with
		 * a Range from what is synced); no error of the job */
		if (ej->proxy <= x->req.proxy)
			ej->proxy = x->req.proxy + 1;
		break;
	default:	/* XO_ERR, XO_ABORT: keep what is synced */
		break;
	}
	/* a complete file's row waits for its data to be durable (kb_job_final_sync) */
	if (outcome != XO_DONE)
		file_saved(x);
	xfer_free(x);
	if (outcome == XO_DONE && e->ops->file_done)
		e->ops->file_done(e->ctx, ej->job, idx);
	if (outcome == XO_ERR) {
		err.file = idx;
		kb_job_fail(ej, &err);
	}
	kb_job_settle(ej);
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
	kb_curlio_remove(e->io, x->easy);
	x->easy = NULL;
}

void kb_xfer_abort(struct xfer *x)
{
	if (x->outcome == XO_NONE)	/* a finished file stays finished */
		x->outcome = XO_ABORT;
	xfer_stop_curl(x);
	xfer_advance(x);
}

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
	if (x->budget_paused)
		ej->e->wbuf_waiting--;
	buf_free(x, x->cur);
	kb_timer_cancel(ej->e->loop, &x->bucket.timer);
	if (x->fd >= 0)
		close(x->fd);
	curl_slist_free_all(x->hdrs);
	free(x->src);
	EVP_MD_CTX_free(x->md);
	free(x->hdr);
	ej->file_active[x->idx] = 0;
	ej->nactive--;
	ej->e->nactive--;
	/* No transfer left: no buffer is kept for one (the pool is idle). */
	if (!ej->e->nactive && ej->e->pool)
		kb_wbpool_trim(ej->e->pool);
	free(x);
}

/* ---- digest: SHA-256 of every file, checked against the client's -------------- */

/*
 * KB_BENCH_NO_DIGEST: make bench's baseline only (bench/agent.mk builds
 * kbits_get twice): the same engine without SHA-256, to price the digest.
 */
#ifdef KB_BENCH_NO_DIGEST
#define KB_DIGEST	0
#else
#define KB_DIGEST	1
#endif

static int hash_reset(struct xfer *x)
{
	x->hashed = 0;
	x->hash_linear = EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) == 1;
	return x->hash_linear ? 0 : -ENOMEM;
}

/*
 * Hashes the first len bytes of the temporary file: the part a resume
 * keeps (once per resume, before the first new byte) or, when the bytes
 * did not come in order, the finished file. These are blocking reads on
 * the loop's thread, a resume's price: the page cache usually holds them.
 */
static int hash_prefix(struct xfer *x, uint64_t len)
{
	size_t cap = 1u << 20;
	char *buf;
	int ret;

	ret = hash_reset(x);
	if (ret < 0 || !len || !KB_DIGEST)
		return ret;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	while (x->hashed < len) {
		size_t want = len - x->hashed < cap ? (size_t)(len - x->hashed) : cap;
		ssize_t n = pread(x->fd, buf, want, (off_t)x->hashed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;	/* shorter than it was: not ours to guess */
			break;
		}
		if (EVP_DigestUpdate(x->md, buf, (size_t)n) != 1) {
			ret = -ENOMEM;
			break;
		}
		x->hashed += (uint64_t)n;
	}
	free(buf);
	if (ret < 0)
		x->hash_linear = false;
	return ret;
}

/*
 * Bytes [off, off + len) as curl hands them to on_body, which is the order
 * they are written. A download is linear: each chunk continues the last
 * (after a resume the prefix was hashed by hash_prefix, and a restart from
 * 0 resets the hash in begin_body). Should a chunk ever not continue the
 * hashed bytes (ranges out of order), the running hash is given up and
 * verify_file hashes the finished file once instead.
 */
static void hash_feed(struct xfer *x, uint64_t off, const void *p, size_t len)
{
	if (!x->hash_linear || !KB_DIGEST)
		return;
	if (off != x->hashed || EVP_DigestUpdate(x->md, p, len) != 1) {
		x->hash_linear = false;
		return;
	}
	x->hashed += len;
}

static void hex(const uint8_t *d, char out[2 * KBITS_SHA256_LEN + 1])
{
	for (int i = 0; i < KBITS_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/*
 * A finished file: its digest into f->sha256 (KBITS_FILE_SHA256), checked
 * against what the client expected (KBITS_FILE_VERIFIED). A mismatch is
 * the job's ERROR (REMOTE_FILE, KBITS_E_*_MISMATCH) and the file is never
 * complete, so Complete renames nothing for it; its bytes are dropped so
 * that a Resume fetches it anew rather than keep bytes known to be wrong.
 */
static int verify_file(struct xfer *x, struct kb_error *err)
{
	struct kb_file *f = &x->ej->job->files[x->idx];
	char got[2 * KBITS_SHA256_LEN + 1], want[2 * KBITS_SHA256_LEN + 1];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ret = 0;

	f->flags &= ~(uint32_t)(KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED);
	if (!KB_DIGEST)
		return 0;
	if (!x->hash_linear || x->hashed != x->on_disk)
		ret = hash_prefix(x, x->on_disk);
	if (ret < 0 || EVP_DigestFinal_ex(x->md, md, &n) != 1 || n != KBITS_SHA256_LEN) {
		memset(err, 0, sizeof(*err));
		kb_error_local(err, ret < 0 ? ret : -ENOMEM, "cannot compute the SHA-256 of", f->path);
		err->transient = true;
		return -1;
	}
	memcpy(f->sha256, md, KBITS_SHA256_LEN);
	memset(err, 0, sizeof(*err));
	err->context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
	if ((f->flags & KBITS_FILE_EXPECT_SIZE) && x->on_disk != f->expected_size) {
		err->code = KBITS_E_SIZE_MISMATCH;
		snprintf(err->desc, sizeof(err->desc), "%s: %llu bytes received, %llu expected",
			 f->path, (unsigned long long)x->on_disk,
			 (unsigned long long)f->expected_size);
	} else if ((f->flags & KBITS_FILE_EXPECT_SHA256) &&
		   memcmp(md, f->expected_sha256, KBITS_SHA256_LEN)) {
		hex(md, got);
		hex(f->expected_sha256, want);
		err->code = KBITS_E_DIGEST_MISMATCH;
		snprintf(err->desc, sizeof(err->desc), "%s: SHA-256 %s, expected %s", f->path, got,
			 want);
	} else {
		f->flags |= KBITS_FILE_SHA256;
		if (f->flags & (KBITS_FILE_EXPECT_SIZE | KBITS_FILE_EXPECT_SHA256))
			f->flags |= KBITS_FILE_VERIFIED;
		return 0;
	}
	kb_info("%s", err->desc);
	if (ftruncate(x->fd, 0) < 0)
		kb_dbg("ftruncate: %m");
	x->on_disk = 0;
	f->bytes_transferred = 0;
	kb_strset(&f->etag, NULL);
	kb_strset(&f->last_modified, NULL);
	f->ranges_ok = false;
	return -1;
}

/* ---- the job's end: every complete file durable before TRANSFERRED ----------- */

/*
 * Measured on this project's host disk (ext4, Debian 12, 2 shared cores;
 * tools in the report of the durable branch): time to sync files already
 * written, io_uring fdatasyncs 32 in flight vs. one syncfs():
 *   1,000 x 64 KiB:  0.50 s vs. 0.12 s
 *   10,000 x 4 KiB:  3.30 s vs. 0.42 s (128 in flight: 5.5 s; one at a time,
 *                    1,000 x 64 KiB: 3.1 s)
 * syncfs writes back everything dirty on the filesystem, other writers'
 * bytes too, so a few files take fdatasyncs and many take syncfs, run on
 * a thread since it blocks.
 */
#ifndef KB_SYNCFS_MIN
#define KB_SYNCFS_MIN	64
#endif

struct fsync_one {
	struct kb_op op;
	struct fbatch *b;
	int fd;
	bool datasync;		/* a file's data; a directory's entries: fsync */
};

struct fbatch {
	struct ejob *ej;
	unsigned int pending, n;
	int err;
	/* syncfs: fds[] (one per filesystem) synced on a thread, efd told */
	struct kb_op done_op;
	int efd;
	pthread_t th;
	struct fsync_one one[];
};

static void final_sync_end(struct fbatch *b)
{
	struct ejob *ej = b->ej;
	struct kb_engine *e = ej->e;
	struct kb_job *job = ej->job;

	for (unsigned int i = 0; i < b->n; i++)
		if (b->one[i].fd >= 0)
			close(b->one[i].fd);
	if (b->efd >= 0)
		close(b->efd);
	ej->nactive--;
	if (b->err < 0) {
		struct kb_error err = { 0 };

		kb_error_local(&err, b->err, "cannot sync the files of", job->files[0].path);
		err.transient = true;
		kb_job_fail(ej, &err);
	} else {
		ej->synced = true;
		for (uint32_t i = 0; i < job->nr_files; i++)
			job->files[i].unsynced = false;
		/* the rows of the complete files, in the commit of TRANSFERRED */
		for (uint32_t i = 0; i < job->nr_files && e->ops->file_saved; i++)
			if (job->files[i].flags & KBITS_FILE_COMPLETED)
				e->ops->file_saved(e->ctx, job, i);
	}
	free(b);
	kb_job_settle(ej);
}

static void one_synced(struct kb_op *op, int res)
{
	struct fsync_one *o = (struct fsync_one *)op;
	struct fbatch *b = o->b;

	if (res < 0 && !b->err)
		b->err = res;
	if (--b->pending == 0)
		final_sync_end(b);
}

static void *syncfs_thread(void *arg)
{
	struct fbatch *b = arg;
	uint64_t one = 1;

	for (unsigned int i = 0; i < b->n; i++)
		if (syncfs(b->one[i].fd) < 0 && !b->err)
			b->err = -errno;
	if (write(b->efd, &one, sizeof(one)) != sizeof(one))
		abort();	/* the loop would wait forever */
	return NULL;
}

static void syncfs_done(struct kb_op *op, int res)
{
	struct fbatch *b = (struct fbatch *)((char *)op - offsetof(struct fbatch, done_op));

	(void)res;
	pthread_join(b->th, NULL);
	final_sync_end(b);
}

/* Opens what is to be synced: the temporary files (unless by_fs) and their
 * directories, one per filesystem when by_fs. Returns the count in b->one. */
static void final_sync_open(struct fbatch *b, bool by_fs, unsigned int cap)
{
	struct kb_job *job = b->ej->job;
	struct kb_creds_saved saved;
	dev_t devs[16];
	unsigned int ndevs = 0;
	char *last_dir = NULL;
	int dirfd = -1;

	if (kb_creds_enter(&b->ej->owner, &saved) < 0) {
		b->err = -EPERM;
		return;
	}
	for (uint32_t i = 0; i < job->nr_files && b->n < cap; i++) {
		const struct kb_file *f = &job->files[i];
		const char *base, *slash;
		struct stat st;
		int fd;

		if (!(f->flags & KBITS_FILE_COMPLETED) || !f->temp_name || strchr(f->temp_name, '/'))
			continue;
		slash = strrchr(f->path, '/');
		if (!slash)
			continue;
		/* a new directory: synced once (its entries), and its filesystem */
		if (!last_dir || strncmp(last_dir, f->path, (size_t)(slash - f->path)) ||
		    last_dir[slash - f->path]) {
			free(last_dir);
			last_dir = strndup(f->path, (size_t)(slash - f->path));
			dirfd = kb_dir_open(f->path, &base);
			if (dirfd < 0)
				continue;
			if (by_fs && fstat(dirfd, &st) == 0) {
				unsigned int k;

				for (k = 0; k < ndevs && devs[k] != st.st_dev; k++)
					;
				if (k < ndevs || ndevs == 16) {
					close(dirfd);	/* its filesystem is synced already */
					dirfd = -1;
					continue;
				}
				devs[ndevs++] = st.st_dev;
			}
			b->one[b->n++].fd = dirfd;
			if (b->n == cap)
				break;
		}
		if (by_fs || dirfd < 0)
			continue;
		fd = openat(dirfd, f->temp_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			b->one[b->n].datasync = true;
			b->one[b->n++].fd = fd;
		}
	}
	free(last_dir);
	kb_creds_leave(&saved);
}

void kb_job_final_sync(struct ejob *ej)
{
	struct kb_engine *e = ej->e;
	struct kb_job *job = ej->job;
	uint32_t complete = 0;
	unsigned int cap;
	bool by_fs;
	struct fbatch *b;

	for (uint32_t i = 0; i < job->nr_files; i++)
		complete += !!(job->files[i].flags & KBITS_FILE_COMPLETED);
	by_fs = complete >= KB_SYNCFS_MIN;
	cap = by_fs ? 16 : 2 * complete;
	b = calloc(1, sizeof(*b) + (cap + 1) * sizeof(b->one[0]));
	if (!b) {
		struct kb_error err = { 0 };

		/* a transient error: the job is retried */
		kb_error_local(&err, -ENOMEM, "cannot sync the files of", job->files[0].path);
		err.transient = true;
		kb_job_fail(ej, &err);
		kb_job_settle(ej);
		return;
	}
	ej->nactive++;
	b->ej = ej;
	b->efd = -1;
	final_sync_open(b, by_fs, cap);
	e->stats.syncs += b->n;
	if (b->err || !b->n) {
		final_sync_end(b);
		return;
	}
	if (by_fs) {
		b->efd = eventfd(0, EFD_CLOEXEC);
		b->done_op.cb = syncfs_done;
		if (b->efd < 0 || pthread_create(&b->th, NULL, syncfs_thread, b)) {
			b->err = -ENOMEM;
			final_sync_end(b);
			return;
		}
		kb_loop_poll(e->loop, &b->done_op, b->efd, POLLIN);
		return;
	}
	b->pending = b->n;
	for (unsigned int i = 0; i < b->n; i++) {
		b->one[i].b = b;
		b->one[i].op.cb = one_synced;
		kb_loop_fsync(e->loop, &b->one[i].op, b->one[i].fd, b->one[i].datasync);
	}
}
