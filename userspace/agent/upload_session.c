// SPDX-License-Identifier: GPL-2.0
/*
 * Upload jobs: see upload.h and Documentation/uploads.md.
 *
 * A job (struct ujob) is a little state machine driven by the answers to
 * its one outstanding request:
 *
 *   Ping -> Create-Session -> Fragment ... Fragment -> [GET reply] -> Close-Session
 *
 * (plain PUT: one request). The durable facts (session id, Host-Id, the
 * source's size and mtime, bytes the server acknowledged, reply URL and
 * temporary name, phase) are in job->up and files[0] and go to the store
 * through ops->file_saved after every change. After any interruption
 * (transport error, restart of kbitsd) the first fragment is a one-byte
 * probe at the last acknowledged offset: the server ignores the overlap
 * and its BITS-Received-Content-Range says where to go on.
 *
 * The source is opened as the owner (kb_creds_enter) and read with pread()
 * from curl's read callback; its size and mtime are checked before every
 * request, every 1 MiB read and after every acknowledgement: a change
 * fails the job with LOCAL_FILE/-ESTALE and cancels the session, so the
 * server never closes a mix.
 *
 * Nothing calls back into curl from a curl callback: requests start from
 * kb_uploads_run, timers, and the requests' done callbacks (curlio.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bits_proto.h"
#include "commit.h"
#include "curlio.h"
#include "http.h"
#include "httpreq.h"
#include "jobindex.h"
#include "log.h"
#include "owner.h"
#include "sched.h"
#include "tempfile.h"
#include "upload.h"
#include "upload_cancel.h"

uint64_t kb_upload_fragment_size = 1 << 20;

#define CHECK_EVERY	(1u << 20)	/* source identity check while reading */
#define MAX_RESYNCS	8		/* 416s in a row without progress */
#define MAX_LOST_SESSIONS 3		/* new sessions lost before one byte is acknowledged */
#define HOSTID_RETRY_NS	1000000000ull	/* retry the Host-Id every second */

enum req { R_NONE, R_PING, R_CREATE, R_FRAGMENT, R_CLOSE, R_REPLY, R_PUT };

static const char *const req_name[] = { "-", "Ping", "Create-Session", "Fragment",
					"Close-Session", "GET reply", "PUT" };

struct ujob {
	struct kb_uploads *u;
	struct ujob *next, **pprev;	/* u->jobs */
	struct kb_job *job;
	struct kb_owner owner;
	int fd, reply_fd;
	CURL *easy;
	struct curl_slist *hdrs;
	char *url;			/* of the request in flight */
	struct kb_httpreq req;		/* its setup (httpreq.h) */
	enum req kind;
	uint64_t body_off, body_end, read_pos, next_check;
	bool need_sync;			/* the server may hold more than we know */
	/*
	 * Evidence that a Close-Session reached the server: its answer began
	 * (close_heard) before the transfer failed. Only then does a later
	 * "session not found" mean "closed"; otherwise the upload starts over.
	 */
	bool close_heard, close_again;
	bool hostid_off;		/* fell back to the original URL */
	uint64_t hostid_first_fail;
	unsigned int resyncs;
	unsigned int lost_sessions;
	/* The entry of the job's proxy list its requests go through: state of
	 * this attempt only (0 again at the job's error), never in the store. */
	unsigned int proxy;
	struct kb_timer timer;
	uint64_t last_progress;
	int local_err;			/* from the read callback */
	/* the response */
	long status;
	char r_sid[128], r_proto[64], r_recv[32], r_reply[KBITS_URL_MAX + 1];
	char r_hostid[256], r_hostid_to[32], r_ecode[32], r_ectx[32];
	uint64_t r_got, reply_reported;
	/* the bytes it sends, as a download's (sched.c): paused in on_read,
	 * at the rate the engine's pass gave it (0: none) */
	struct kb_bucket bucket;
	uint64_t rate;
	/*
	 * It holds one of the engine's transfer slots (kb_upload_grant): only
	 * then does it send. Given back when it leaves CONNECTING and
	 * TRANSFERRING (set_state), or taken back by the engine.
	 */
	bool slot;
};

struct kb_uploads {
	struct kb_loop *loop;
	struct kb_curlio *io;
	const struct kb_engine_config *cfg;
	const struct kb_engine_ops *const *ops;
	void *ctx;
	struct ujob *jobs;
	struct kb_jobindex index;	/* the same, by job id */
	struct kb_cancels *cancels;	/* upload_cancel.c */
	kb_uploads_sched_fn *sched;	/* the engine's scheduler hears of every state */
	void *sched_arg;
};

static void ujob_start(struct ujob *uj);
static void ujob_done(struct ujob *uj, CURLcode rc);

#define OPS(u)	(*(u)->ops)

/* ---- small helpers ---------------------------------------------------------- */

static bool running(uint32_t state)
{
	return state == KBITS_STATE_CONNECTING || state == KBITS_STATE_TRANSFERRING;
}

static void set_state(struct ujob *uj, uint32_t state)
{
	if (uj->job->state == state)
		return;
	uj->job->state = state;
	/* done, failed or waiting: the slot goes back to the engine, which
	 * accounts the job's time before the state is reported */
	if (!running(state))
		uj->slot = false;
	if (uj->u->sched)
		uj->u->sched(uj->u->sched_arg, uj->job);
	if (OPS(uj->u)->state)
		OPS(uj->u)->state(uj->u->ctx, uj->job, state);
}

static void save(struct ujob *uj)
{
	if (OPS(uj->u)->file_saved)
		OPS(uj->u)->file_saved(uj->u->ctx, uj->job, 0);
}

static void reply_progress(struct ujob *uj)
{
	const struct kb_upload_state *up = &uj->job->up;

	uj->reply_reported = up->reply_done;
	if (OPS(uj->u)->reply_progress)
		OPS(uj->u)->reply_progress(uj->u->ctx, uj->job, up->reply_total, up->reply_done);
}

static bool is_put(const struct kb_job *job)
{
	return job->job_flags & KBITS_JOB_F_HTTP_PUT;
}

static struct kb_file *src(struct ujob *uj)
{
	return &uj->job->files[0];
}

static void req_cleanup(struct ujob *uj)
{
	kb_timer_cancel(uj->u->loop, &uj->bucket.timer);
	kb_curlio_remove(uj->u->io, uj->easy);
	uj->easy = NULL;
	curl_slist_free_all(uj->hdrs);
	uj->hdrs = NULL;
	free(uj->url);
	uj->url = NULL;
	uj->kind = R_NONE;
}

static void close_fds(struct ujob *uj)
{
	if (uj->fd >= 0)
		close(uj->fd);
	if (uj->reply_fd >= 0)
		close(uj->reply_fd);
	uj->fd = uj->reply_fd = -1;
}

/* ---- errors ------------------------------------------------------------------ */

static void ujob_fail(struct ujob *uj, struct kb_error *err)
{
	struct kb_job *job = uj->job;
	uint64_t idle = kb_now() - uj->last_progress;
	bool fatal = !err->transient || !job->no_progress_timeout ||
		     idle >= (uint64_t)job->no_progress_timeout * 1000000000ull;

	req_cleanup(uj);
	close_fds(uj);
	uj->need_sync = true;
	uj->proxy = 0;	/* the next attempt starts at the list's first entry */
	if (err->file == 0 && job->nr_files == 0)
		err->file = ~0u;
	job->error_count++;
	job->error_context = err->context;
	job->error_code = err->code;
	job->error_file = err->file;
	kb_strset(&job->strings[KBITS_STR_ERROR_DESCRIPTION], err->desc);
	kb_info("upload error (%s): %s", fatal ? "fatal" : "transient", err->desc);
	if (OPS(uj->u)->error)
		OPS(uj->u)->error(uj->u->ctx, job, err);
	set_state(uj, fatal ? KBITS_STATE_ERROR : KBITS_STATE_TRANSIENT_ERROR);
	if (!fatal) {
		uint64_t delay = job->min_retry_delay;

		if (err->retry_after > delay)
			delay = err->retry_after;
		kb_timer_arm_in(uj->u->loop, &uj->timer, delay * 1000000000ull);
	}
}

static void fail_local(struct ujob *uj, int code, const char *what)
{
	struct kb_error err = { 0 };

	kb_error_local(&err, code, what, src(uj)->path);
	err.file = 0;
	ujob_fail(uj, &err);
}

static void fail_proto(struct ujob *uj, const char *what)
{
	struct kb_error err = { .context = KBITS_ERROR_CONTEXT_REMOTE_APPLICATION, .code = -EPROTO };
	char u[200];

	kb_url_safe(uj->url ? uj->url : src(uj)->url, u, sizeof(u));
	snprintf(err.desc, sizeof(err.desc), "%s: %s: %s", u, req_name[uj->kind], what);
	ujob_fail(uj, &err);
}

/* A non-2xx answer: BITS-Error-Code / BITS-Error-Context when the server
 * gave them, else as for downloads. */
static void fail_http(struct ujob *uj, long status)
{
	struct kb_error err = { 0 };
	uint32_t code, ctx = KBITS_ERROR_CONTEXT_REMOTE_APPLICATION;
	curl_off_t ra = 0;
	char u[320];

	kb_url_safe(uj->url ? uj->url : src(uj)->url, u, sizeof(u));
	if (uj->kind != R_REPLY && uj->kind != R_PUT && kb_bits_parse_hex(uj->r_ecode, &code) == 0) {
		if (kb_bits_parse_hex(uj->r_ectx, &ctx) < 0 || ctx == 0 || ctx > KBITS_ERROR_CONTEXT_REMOTE_APPLICATION)
			ctx = KBITS_ERROR_CONTEXT_REMOTE_APPLICATION;
		err.context = ctx;
		err.code = (int32_t)code;
		err.transient = status == 408 || status == 429 || status == 503;
		snprintf(err.desc, sizeof(err.desc), "%s: %s: HTTP %ld, BITS error 0x%08x (context 0x%x)",
			 u, req_name[uj->kind], status, code, ctx);
		if (curl_easy_getinfo(uj->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
			err.retry_after = ra > 86400 * 30 ? 86400 * 30 : (uint32_t)ra;
	} else {
		kb_httpreq_error(&uj->req, uj->easy, CURLE_OK, status, &err);
		if (uj->kind == R_PING && (status == 405 || status == 501 || status == 400))
			snprintf(err.desc, sizeof(err.desc),
				 "%s: HTTP %ld to BITS_POST: the server does not speak the BITS upload "
				 "protocol (plain PUT: KBITS_JOB_F_HTTP_PUT)", u, status);
	}
	err.file = 0;
	ujob_fail(uj, &err);
}

/* ---- the source -------------------------------------------------------------- */

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
}

static bool source_changed(struct ujob *uj)
{
	struct stat st;

	if (uj->fd < 0 || fstat(uj->fd, &st) < 0)
		return true;
	return (uint64_t)st.st_size != uj->job->up.src_size || mtime_ns(&st) != uj->job->up.src_mtime_ns;
}

/* The source changed under an open session: the server must not close a
 * mix. Cancel the session, forget it (a Resume starts over), fail. */
static void fail_changed(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;
	struct kb_error err = { .context = KBITS_ERROR_CONTEXT_LOCAL_FILE, .code = -ESTALE, .file = 0 };

	if (up->session_id && !is_put(uj->job))
		kb_cancel_session(uj->u->cancels, uj->job);
	kb_strset(&up->session_id, NULL);
	kb_strset(&up->host_id, NULL);
	kb_strset(&up->reply_url, NULL);
	up->phase = KB_UP_NONE;
	up->src_size = 0;
	up->src_mtime_ns = 0;
	src(uj)->bytes_transferred = 0;
	src(uj)->flags &= ~KBITS_FILE_COMPLETED;
	save(uj);
	snprintf(err.desc, sizeof(err.desc), "%s: the file changed during the upload", src(uj)->path);
	ujob_fail(uj, &err);
}

static int open_source(struct ujob *uj)
{
	struct kb_creds_saved saved;
	struct stat st;
	int fd, ret;

	if (uj->fd >= 0)
		return 0;
	ret = kb_creds_enter(&uj->owner, &saved);
	if (ret < 0) {
		fail_local(uj, ret, "cannot take the owner's credentials for");
		return ret;
	}
	fd = open(src(uj)->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	ret = fd < 0 ? -errno : 0;
	kb_creds_leave(&saved);
	if (fd < 0) {
		fail_local(uj, ret, "cannot open");
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		fail_local(uj, -EINVAL, "not a regular file:");
		return -EINVAL;
	}
	uj->fd = fd;
	return 0;
}

/* Records (no session yet) or checks (a session is open) the source's identity. */
static int source_identity(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;
	struct stat st;

	if (fstat(uj->fd, &st) < 0) {
		fail_local(uj, -errno, "cannot stat");
		return -1;
	}
	if (up->phase == KB_UP_NONE || is_put(uj->job)) {
		up->src_size = (uint64_t)st.st_size;
		up->src_mtime_ns = mtime_ns(&st);
		src(uj)->bytes_total = up->src_size;
		src(uj)->bytes_transferred = 0;
		src(uj)->flags &= ~KBITS_FILE_COMPLETED;
		return 0;
	}
	if (source_changed(uj)) {
		fail_changed(uj);
		return -1;
	}
	return 0;
}

/* The reply's temporary file beside the reply file, as the owner, empty. */
static int open_reply(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;
	struct kb_creds_saved saved;
	char path[KBITS_PATH_MAX + 16];
	const char *base;
	bool fresh = false;
	int dirfd, fd, ret;

	if (uj->reply_fd >= 0)
		close(uj->reply_fd);
	uj->reply_fd = -1;
	ret = kb_upload_reply_path(uj->job, path, sizeof(path));
	if (ret < 0) {
		fail_local(uj, ret, "bad reply file name for");
		return ret;
	}
	ret = kb_creds_enter(&uj->owner, &saved);
	if (ret < 0) {
		fail_local(uj, ret, "cannot take the owner's credentials for");
		return ret;
	}
	dirfd = kb_dir_open(path, &base);
	if (dirfd < 0) {
		kb_creds_leave(&saved);
		fail_local(uj, dirfd, "cannot open the directory of the reply file of");
		return dirfd;
	}
	fd = kb_temp_open(dirfd, base, NULL, &up->reply_temp, &fresh);
	close(dirfd);
	kb_creds_leave(&saved);
	if (fd < 0) {
		fail_local(uj, fd, "cannot create the reply file of");
		return fd;
	}
	if (ftruncate(fd, 0) < 0) {
		ret = -errno;
		close(fd);
		fail_local(uj, ret, "cannot truncate the reply file of");
		return ret;
	}
	uj->reply_fd = fd;
	up->reply_done = 0;
	up->reply_total = KBITS_UNKNOWN;
	save(uj);
	return 0;
}

/* ---- curl callbacks ------------------------------------------------------------ */

static size_t on_header(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct ujob *uj = arg;
	size_t len = sz * nmemb, n;
	const char *v;
	static const struct { const char *name; size_t off, cap; } want[] = {
#define W(h, f) { h, offsetof(struct ujob, f), sizeof(((struct ujob *)0)->f) }
		W("bits-session-id", r_sid), W("bits-protocol", r_proto),
		W("bits-received-content-range", r_recv), W("bits-reply-url", r_reply),
		W("bits-host-id", r_hostid), W("bits-host-id-fallback-timeout", r_hostid_to),
		W("bits-error-code", r_ecode), W("bits-error-context", r_ectx),
#undef W
	};

	if (uj->kind == R_CLOSE)
		uj->close_heard = true;	/* the server answers: it got the Close */
	if (kb_http_status_line(p, len, &uj->status)) {
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			((char *)uj + want[i].off)[0] = '\0';
		return len;
	}
	if (kb_http_headers_end(p, len))
		return kb_httpreq_stop_at_headers(&uj->req, uj->status) ? 0 : len;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if ((v = kb_http_header_value(p, len, want[i].name, &n))) {
			kb_http_copy_value((char *)uj + want[i].off, want[i].cap, v, n);
			break;
		}
	}
	if (uj->kind == R_REPLY && (v = kb_http_header_value(p, len, "content-length", &n)) && n && n < 21 &&
	    v[0] >= '0' && v[0] <= '9')
		uj->job->up.reply_total = strtoull(v, NULL, 10);
	return len;
}

static size_t on_body(char *p, size_t sz, size_t nmemb, void *arg)
{
	struct ujob *uj = arg;
	struct kb_upload_state *up = &uj->job->up;
	size_t len = sz * nmemb, done = 0;

	if (uj->reply_fd < 0 || uj->status < 200 || uj->status >= 300)
		return len;	/* acknowledgements and error pages: dropped */
	if (uj->job->max_download_size && up->reply_done + len > uj->job->max_download_size) {
		uj->local_err = -EFBIG;
		return 0;
	}
	while (done < len) {
		ssize_t w = pwrite(uj->reply_fd, p + done, len - done, (off_t)up->reply_done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			uj->local_err = w < 0 ? -errno : -EIO;
			return 0;
		}
		done += (size_t)w;
		up->reply_done += (uint64_t)w;
	}
	uj->last_progress = kb_now();
	if (up->reply_done - uj->reply_reported >= (256u << 10))
		reply_progress(uj);
	return len;
}

/* The bandwidth limit paused the request's body: its time has come. */
static void bucket_fired(struct kb_timer *t)
{
	struct ujob *uj = (struct ujob *)((char *)t - offsetof(struct ujob, bucket.timer));

	if (!uj->easy)
		return;
	curl_easy_pause(uj->easy, CURLPAUSE_CONT);
	kb_curlio_check(uj->u->io);
}

static size_t on_read(char *buf, size_t sz, size_t nmemb, void *arg)
{
	struct ujob *uj = arg;
	size_t want = sz * nmemb;
	uint64_t left = uj->body_end - uj->read_pos;
	ssize_t r;

	if (!left)
		return 0;
	if (want > left)
		want = (size_t)left;
	if (uj->bucket.rate) {
		uint64_t wait = kb_bucket_take(&uj->bucket, want, kb_now());

		if (wait) {
			kb_timer_arm_in(uj->u->loop, &uj->bucket.timer, wait);
			return CURL_READFUNC_PAUSE;
		}
	}
	do
		r = pread(uj->fd, buf, want, (off_t)uj->read_pos);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		uj->local_err = r < 0 ? -errno : -ESTALE;	/* shorter than it was */
		return CURL_READFUNC_ABORT;
	}
	uj->read_pos += (uint64_t)r;
	if (uj->read_pos >= uj->next_check || uj->read_pos == uj->body_end) {
		uj->next_check = uj->read_pos + CHECK_EVERY;
		if (source_changed(uj)) {
			uj->local_err = -ESTALE;
			return CURL_READFUNC_ABORT;
		}
	}
	return (size_t)r;
}

/* A 401 or 407 answer: libcurl sends the body again from offset. */
static int on_rewind(void *arg, curl_off_t offset)
{
	struct ujob *uj = arg;

	if ((uint64_t)offset > uj->body_end - uj->body_off)
		return -EINVAL;
	uj->read_pos = uj->body_off + (uint64_t)offset;
	uj->next_check = uj->read_pos + CHECK_EVERY;
	return 0;
}

/* ---- requests ------------------------------------------------------------------ */

/* curlio.c: curl is done with the job's request. */
static void ujob_req_done(void *arg, CURLcode rc)
{
	ujob_done(arg, rc);
}

static void start_request(struct ujob *uj, enum req kind)
{
	struct kb_job *job = uj->job;
	struct kb_upload_state *up = &job->up;
	struct kb_file *f = src(uj);
	CURL *c;
	int err = 0;

	req_cleanup(uj);
	uj->kind = kind;
	uj->status = 0;
	uj->local_err = 0;
	if (kind == R_REPLY)
		uj->url = strdup(up->reply_url);
	else if (kind == R_PUT || uj->hostid_off)
		uj->url = strdup(f->url);
	else
		uj->url = kb_bits_request_url(f->url, up->host_id);
	c = uj->easy = curl_easy_init();
	if (!uj->url || !c)
		goto nomem;
	kb_httpreq_init(&uj->req, uj->u->cfg, job, uj->url, uj);
	uj->req.proxy = uj->proxy;
	uj->req.header = on_header;
	uj->req.body = on_body;
	uj->req.done = ujob_req_done;
	if (kind == R_PUT || kind == R_FRAGMENT) {
		uj->req.read = on_read;
		uj->req.rewind = on_rewind;
		kb_bucket_set(&uj->bucket, uj->rate, kb_now());
	}
	if (kind == R_CLOSE)
		uj->close_heard = false;
	if (kind == R_REPLY) {
		uj->req.follow = true;
		uj->req.max_redirects = uj->u->cfg->max_redirects ? (long)uj->u->cfg->max_redirects : 10L;
	}
	if (kb_httpreq_setup(c, &uj->req, &uj->hdrs) < 0) {
		if (uj->req.tls_err.desc[0]) {
			struct kb_error e = uj->req.tls_err;

			e.file = 0;
			ujob_fail(uj, &e);
			return;
		}
		goto nomem;
	}
	err |= kb_httpreq_add_line(&uj->hdrs, "Expect:");
	switch (kind) {
	case R_REPLY:
		break;
	case R_PUT:
		uj->body_off = uj->read_pos = 0;
		uj->body_end = up->src_size;
		uj->next_check = CHECK_EVERY;
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->src_size);
		break;
	default:
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "BITS_POST");
		err |= kb_httpreq_add_line(&uj->hdrs, "Content-Type:");
		err |= kb_httpreq_add_line(&uj->hdrs, "BITS-Packet-Type: %s", req_name[kind]);
		if (kind == R_CREATE)
			err |= kb_httpreq_add_line(&uj->hdrs, "BITS-Supported-Protocols: %s", KB_BITS_PROTOCOL);
		if (kind == R_FRAGMENT || kind == R_CLOSE)
			err |= kb_httpreq_add_line(&uj->hdrs, "BITS-Session-Id: %s", up->session_id);
		/*
		 * Close-Session goes on the connection the fragments used: a
		 * server may keep sessions per connection, and a
		 * single-threaded one serves no second connection while the
		 * first is open. libcurl may send it again on a new
		 * connection when the reused one dies before any answer; the
		 * "session not found" that may get is handled in ujob_done.
		 */
		if (kind == R_FRAGMENT) {
			const char *base = strrchr(f->path, '/');

			if (uj->body_off == 0)
				err |= kb_httpreq_add_line(&uj->hdrs, "Content-Name: %s", base ? base + 1 : f->path);
			if (uj->body_end == uj->body_off)
				err |= kb_httpreq_add_line(&uj->hdrs, "Content-Range: bytes */%llu",
						(unsigned long long)up->src_size);
			else
				err |= kb_httpreq_add_line(&uj->hdrs, "Content-Range: bytes %llu-%llu/%llu",
						(unsigned long long)uj->body_off,
						(unsigned long long)uj->body_end - 1,
						(unsigned long long)up->src_size);
			uj->read_pos = uj->body_off;
			uj->next_check = uj->body_off + CHECK_EVERY;
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(uj->body_end - uj->body_off));
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
		}
		break;
	}
	if (err)
		goto nomem;
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, uj->hdrs);
	if (kb_curlio_add(uj->u->io, c) < 0)
		goto nomem;
	kb_dbg("upload: %s %s", req_name[kind], kind == R_FRAGMENT ? "" : "");
	return;
nomem:
	{
		struct kb_error e = { .context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, .code = -ENOMEM,
				      .transient = true, .file = 0 };

		snprintf(e.desc, sizeof(e.desc), "cannot set up an upload request");
		ujob_fail(uj, &e);
	}
}

/* The next fragment from what the server acknowledged. */
static void send_fragment(struct ujob *uj)
{
	uint64_t size = uj->job->up.src_size, acked = src(uj)->bytes_transferred;
	uint64_t len = kb_upload_fragment_size ? kb_upload_fragment_size : 1 << 20;

	if (acked > size)
		acked = size;
	if (uj->need_sync && size)	/* a one-byte probe: the server says where it is */
		len = 1;
	if (acked == size && size)	/* only the reply URL is missing: the last byte again */
		acked = size - 1;
	uj->body_off = acked;
	uj->body_end = acked + (len < size - acked ? len : size - acked);
	start_request(uj, R_FRAGMENT);
}

/* The session is gone and nothing says it was closed: a new one. */
static void restart_upload(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;

	req_cleanup(uj);
	close_fds(uj);
	kb_strset(&up->session_id, NULL);
	kb_strset(&up->host_id, NULL);
	kb_strset(&up->reply_url, NULL);
	up->phase = KB_UP_NONE;
	src(uj)->bytes_transferred = 0;
	src(uj)->flags &= ~KBITS_FILE_COMPLETED;
	uj->close_again = false;
	save(uj);
	ujob_start(uj);
}

static void finish_transferred(struct ujob *uj)
{
	struct kb_job *job = uj->job;

	req_cleanup(uj);
	close_fds(uj);
	job->up.phase = KB_UP_DONE;
	kb_strset(&job->up.session_id, NULL);
	src(uj)->flags |= KBITS_FILE_COMPLETED;
	save(uj);
	job->transfer_completion_time = 0;	/* the module stamps it */
	set_state(uj, KBITS_STATE_TRANSFERRED);
}

/* Every byte acknowledged: the reply (UPLOAD_REPLY) or Close-Session. */
static void after_last_fragment(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;

	if (uj->job->type == KBITS_JOB_UPLOAD_REPLY && up->phase < KB_UP_CLOSING) {
		up->phase = KB_UP_REPLY;
		if (open_reply(uj) < 0)
			return;
		if (!up->reply_url) {
			/* the server has no reply: an empty reply file */
			up->reply_total = 0;
			if (fsync(uj->reply_fd) < 0 || fchmod(uj->reply_fd, 0644) < 0)
				kb_dbg("reply: %m");
			reply_progress(uj);
			up->phase = KB_UP_CLOSING;
			save(uj);
		} else {
			save(uj);
			start_request(uj, R_REPLY);
			return;
		}
	}
	up->phase = KB_UP_CLOSING;
	save(uj);
	start_request(uj, R_CLOSE);
}

static void ujob_start(struct ujob *uj)
{
	struct kb_upload_state *up = &uj->job->up;

	if (uj->job->nr_files != 1 || !src(uj)->url || !src(uj)->path) {
		struct kb_error e = { .context = KBITS_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER, .code = -EINVAL };

		snprintf(e.desc, sizeof(e.desc), "an upload job needs exactly one file");
		ujob_fail(uj, &e);
		return;
	}
	if (up->phase == KB_UP_DONE) {
		finish_transferred(uj);
		return;
	}
	set_state(uj, KBITS_STATE_CONNECTING);
	uj->need_sync = true;
	uj->resyncs = 0;
	if (up->phase == KB_UP_CLOSING) {	/* the reply is saved, the bytes are there */
		start_request(uj, R_CLOSE);
		return;
	}
	if (open_source(uj) < 0 || source_identity(uj) < 0)
		return;
	if (is_put(uj->job)) {
		/* no resume: the whole file again */
		up->phase = KB_UP_NONE;
		if (uj->job->type == KBITS_JOB_UPLOAD_REPLY && open_reply(uj) < 0)
			return;
		save(uj);
		start_request(uj, R_PUT);
		return;
	}
	if (up->phase == KB_UP_NONE || !up->session_id) {
		up->phase = KB_UP_NONE;
		save(uj);
		start_request(uj, R_PING);
		return;
	}
	if (up->phase == KB_UP_REPLY && up->reply_url) {
		if (open_reply(uj) == 0)
			start_request(uj, R_REPLY);
		return;
	}
	send_fragment(uj);
}

/* ---- answers ---------------------------------------------------------------------- */

static bool transport_error_of_host(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_OPERATION_TIMEDOUT;
}

static void timer_fired(struct kb_timer *t)
{
	struct ujob *uj = (struct ujob *)((char *)t - offsetof(struct ujob, timer));

	if (uj->job->state == KBITS_STATE_TRANSIENT_ERROR) {
		/* a retry waits for a slot like a new job (kb_upload_grant) */
		set_state(uj, KBITS_STATE_QUEUED);
		return;
	}
	/* the Host-Id's retry, in the slot it holds */
	if (uj->slot && running(uj->job->state))
		ujob_start(uj);
}

static void on_transport_error(struct ujob *uj, CURLcode rc)
{
	struct kb_upload_state *up = &uj->job->up;
	struct kb_error err = { 0 };

	if (uj->local_err == -ESTALE || (uj->fd >= 0 && uj->kind == R_FRAGMENT && source_changed(uj))) {
		fail_changed(uj);
		return;
	}
	if (uj->local_err) {
		if (uj->kind == R_REPLY && uj->local_err == -EFBIG) {
			err.context = KBITS_ERROR_CONTEXT_REMOTE_FILE;
			err.code = -EFBIG;
			snprintf(err.desc, sizeof(err.desc), "%s: the reply exceeds the job's maximum size",
				 src(uj)->path);
			ujob_fail(uj, &err);
		} else {
			fail_local(uj, uj->local_err, uj->kind == R_REPLY ? "cannot write the reply of" :
				   "cannot read");
		}
		return;
	}
	/*
	 * Its proxy could not be used: the next entry of the list at once,
	 * as a retry would go on (a probe asks the server where it is), with
	 * no error of the job. Before the Host-Id's fallback: the proxy
	 * failed, not the host.
	 */
	if (kb_httpreq_failover(&uj->req, uj->easy, rc)) {
		uj->proxy = uj->req.proxy + 1;
		req_cleanup(uj);
		close_fds(uj);
		ujob_start(uj);
		return;
	}
	/* BITS-Host-Id: try it for its fallback timeout, then the original URL */
	if (up->host_id && !uj->hostid_off && uj->kind != R_REPLY && uj->kind != R_PUT &&
	    transport_error_of_host(rc) && up->host_id_timeout != ~0u) {
		uint64_t now = kb_now();

		if (!uj->hostid_first_fail)
			uj->hostid_first_fail = now;
		if (now - uj->hostid_first_fail >= (uint64_t)up->host_id_timeout * 1000000000ull) {
			kb_info("upload: BITS-Host-Id %s unreachable for %u s: back to the original URL",
				up->host_id, up->host_id_timeout);
			uj->hostid_off = true;
			ujob_start(uj);
		} else {
			req_cleanup(uj);
			kb_timer_arm_in(uj->u->loop, &uj->timer, HOSTID_RETRY_NS);
		}
		return;
	}
	if (uj->kind == R_CLOSE && uj->close_heard)
		uj->close_again = true;	/* its answer began: the server has it */
	kb_httpreq_error(&uj->req, uj->easy, rc, 0, &err);
	err.file = 0;
	ujob_fail(uj, &err);
}

static void on_fragment_ack(struct ujob *uj)
{
	struct kb_job *job = uj->job;
	struct kb_upload_state *up = &job->up;
	struct kb_file *f = src(uj);
	uint64_t recv, before = f->bytes_transferred;
	char *end;

	if (!uj->r_recv[0] || uj->r_recv[0] < '0' || uj->r_recv[0] > '9') {
		fail_proto(uj, "no BITS-Received-Content-Range in the answer");
		return;
	}
	recv = strtoull(uj->r_recv, &end, 10);
	if (*end && *end != '-')
		recv = ~0ull;
	if (*end == '-')	/* "0-N": the range received, N its last byte */
		recv = strtoull(end + 1, NULL, 10) + 1;
	if (recv > up->src_size) {
		fail_proto(uj, "BITS-Received-Content-Range beyond the end of the file");
		return;
	}
	if (uj->status == 416) {
		/* a gap, or overlap it does not take: go on from where it is */
		kb_info("upload: 416, the server holds %llu bytes: resynchronising",
			(unsigned long long)recv);
		if (recv <= before && ++uj->resyncs > MAX_RESYNCS) {
			fail_proto(uj, "416 again and again: cannot resynchronise");
			return;
		}
	} else if (recv > before) {
		uj->resyncs = 0;
		uj->lost_sessions = 0;
	}
	if (source_changed(uj)) {
		fail_changed(uj);
		return;
	}
	uj->need_sync = false;
	f->bytes_transferred = recv;
	if (uj->r_reply[0] && recv == up->src_size) {
		char *r = kb_bits_resolve_url(uj->url, uj->r_reply);

		if (!r || (strncasecmp(r, "http://", 7) && strncasecmp(r, "https://", 8))) {
			free(r);
			fail_proto(uj, "BITS-Reply-URL is not an http(s) URL");
			return;
		}
		free(up->reply_url);
		up->reply_url = r;
	}
	if (recv != before) {
		uj->last_progress = kb_now();
		if (OPS(uj->u)->progress)
			OPS(uj->u)->progress(uj->u->ctx, job, 0, recv);
	}
	set_state(uj, KBITS_STATE_TRANSFERRING);
	save(uj);
	if (recv == up->src_size && uj->status != 416) {
		bool first = !(f->flags & KBITS_FILE_COMPLETED);

		f->flags |= KBITS_FILE_COMPLETED;
		if (first && OPS(uj->u)->file_done)
			OPS(uj->u)->file_done(uj->u->ctx, job, 0);
		after_last_fragment(uj);
		return;
	}
	send_fragment(uj);
}

static void ujob_done(struct ujob *uj, CURLcode rc)
{
	struct kb_job *job = uj->job;
	struct kb_upload_state *up = &job->up;
	uint32_t ecode;
	long status = 0;

	rc = kb_httpreq_result(&uj->req, uj->easy, rc, &status);
	uj->status = status;
	if (rc != CURLE_OK) {
		on_transport_error(uj, rc);
		return;
	}
	uj->hostid_first_fail = 0;
	if (uj->kind == R_FRAGMENT && status == 416 && uj->r_recv[0]) {
		on_fragment_ack(uj);
		return;
	}
	if (uj->kind == R_CLOSE && status >= 400 && status < 500 &&
	    kb_bits_parse_hex(uj->r_ecode, &ecode) == 0 && ecode == KB_BG_E_SESSION_NOT_FOUND) {
		if (uj->close_again) {
			/*
			 * Every byte was acknowledged and the server began to
			 * answer an earlier Close-Session before the answer
			 * was lost: that Close ended the session.
			 */
			kb_dbg("upload: the session was closed before: %s", up->session_id);
			finish_transferred(uj);
			return;
		}
		/*
		 * Nothing says an earlier Close arrived (it may have been
		 * refused, or the server restarted and lost the session):
		 * closed or lost cannot be told, and a lost upload must not
		 * pass for a done one. Start over with a new session.
		 */
		kb_info("upload: the server has no session %s and no Close is known to have reached it: "
			"uploading again", up->session_id);
		restart_upload(uj);
		return;
	}
	if (uj->kind == R_FRAGMENT && status >= 400 && status < 500 &&
	    kb_bits_parse_hex(uj->r_ecode, &ecode) == 0 && ecode == KB_BG_E_SESSION_NOT_FOUND &&
	    ++uj->lost_sessions <= MAX_LOST_SESSIONS) {
		/*
		 * The server lost the session (it restarted, or expired it):
		 * what it held of the file is gone with it. BITS starts over
		 * in a new session; a server that loses every new session
		 * before acknowledging a byte gets the error.
		 */
		kb_info("upload: the server lost session %s: uploading again", up->session_id);
		restart_upload(uj);
		return;
	}
	if (status < 200 || status >= 300) {
		fail_http(uj, status);
		return;
	}
	switch (uj->kind) {
	case R_PING:
		start_request(uj, R_CREATE);
		break;
	case R_CREATE:
		if (!uj->r_sid[0]) {
			fail_proto(uj, "no BITS-Session-Id in the answer");
			break;
		}
		if (strcasecmp(uj->r_proto, KB_BITS_PROTOCOL)) {
			fail_proto(uj, "the server chose no protocol we offered (BITS-Protocol)");
			break;
		}
		kb_strset(&up->session_id, uj->r_sid);
		kb_strset(&up->host_id, uj->r_hostid[0] ? uj->r_hostid : NULL);
		up->host_id_timeout = uj->r_hostid_to[0] ? (uint32_t)strtoul(uj->r_hostid_to, NULL, 10) : ~0u;
		uj->hostid_off = false;
		kb_strset(&up->reply_url, NULL);
		up->phase = KB_UP_SENDING;
		src(uj)->bytes_transferred = 0;
		uj->need_sync = false;
		set_state(uj, KBITS_STATE_TRANSFERRING);
		save(uj);
		send_fragment(uj);
		break;
	case R_FRAGMENT:
		on_fragment_ack(uj);
		break;
	case R_REPLY:
		if (up->reply_total == KBITS_UNKNOWN || up->reply_total != up->reply_done)
			up->reply_total = up->reply_done;
		if (fsync(uj->reply_fd) < 0) {
			fail_local(uj, -errno, "cannot sync the reply of");
			break;
		}
		if (fchmod(uj->reply_fd, 0644) < 0)
			kb_dbg("fchmod: %m");
		reply_progress(uj);
		up->phase = KB_UP_CLOSING;
		save(uj);
		start_request(uj, R_CLOSE);
		break;
	case R_CLOSE:
		finish_transferred(uj);
		break;
	case R_PUT:
		if (source_changed(uj)) {
			fail_changed(uj);
			break;
		}
		src(uj)->bytes_transferred = up->src_size;
		src(uj)->flags |= KBITS_FILE_COMPLETED;
		if (OPS(uj->u)->progress)
			OPS(uj->u)->progress(uj->u->ctx, job, 0, up->src_size);
		if (OPS(uj->u)->file_done)
			OPS(uj->u)->file_done(uj->u->ctx, job, 0);
		if (job->type == KBITS_JOB_UPLOAD_REPLY && uj->reply_fd >= 0) {
			up->reply_total = up->reply_done;
			if (fsync(uj->reply_fd) < 0 || fchmod(uj->reply_fd, 0644) < 0)
				kb_dbg("reply: %m");
			reply_progress(uj);
		}
		finish_transferred(uj);
		break;
	default:
		break;
	}
}

/* ---- the interface ---------------------------------------------------------------- */

struct kb_uploads *kb_uploads_new(struct kb_loop *loop, struct kb_curlio *io,
				  const struct kb_engine_config *cfg,
				  const struct kb_engine_ops *const *ops, void *ctx,
				  kb_uploads_sched_fn *sched, void *sched_arg)
{
	struct kb_uploads *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->cancels = kb_cancels_new(loop, io, cfg);
	if (!u->cancels) {
		free(u);
		return NULL;
	}
	u->loop = loop;
	u->io = io;
	u->cfg = cfg;
	u->ops = ops;
	u->ctx = ctx;
	u->sched = sched;
	u->sched_arg = sched_arg;
	return u;
}

static struct ujob *find(struct kb_uploads *u, const uint8_t id[16])
{
	return u ? kb_jobindex_find(&u->index, id) : NULL;
}

static void ujob_free(struct ujob *uj)
{
	kb_jobindex_del(&uj->u->index, uj->job->id);
	if (uj->next)
		uj->next->pprev = uj->pprev;
	*uj->pprev = uj->next;
	req_cleanup(uj);
	close_fds(uj);
	kb_timer_cancel(uj->u->loop, &uj->timer);
	kb_job_put(uj->job);
	free(uj);
}

void kb_uploads_free(struct kb_uploads *u)
{
	int budget = 100000;

	if (!u)
		return;
	while (u->jobs && budget-- > 0)
		ujob_free(u->jobs);
	kb_cancels_free(u->cancels);
	kb_jobindex_free(&u->index);
	free(u);
}

int kb_uploads_cancel_session(struct kb_uploads *u, struct kb_job *job)
{
	return kb_cancel_session(u ? u->cancels : NULL, job);
}

unsigned int kb_uploads_cancels_pending(struct kb_uploads *u)
{
	return kb_cancels_pending(u ? u->cancels : NULL);
}

int kb_uploads_run(struct kb_uploads *u, struct kb_job *job, struct ujob **out)
{
	struct ujob *uj = find(u, job->id);
	struct kb_job *nj;

	if (!u)
		return -EOPNOTSUPP;
	if (job->type != KBITS_JOB_UPLOAD && job->type != KBITS_JOB_UPLOAD_REPLY)
		return -EINVAL;
	nj = kb_job_get(job);
	if (uj) {
		/* a change or a Resume: what only we know survives (job.h) */
		struct kb_job *old = uj->job;

		if (!kb_job_carry(nj, old) && !is_put(old))
			kb_cancel_session(u->cancels, old);
		req_cleanup(uj);
		close_fds(uj);
		kb_timer_cancel(u->loop, &uj->timer);
		kb_job_put(old);
		uj->job = nj;
	} else {
		uj = calloc(1, sizeof(*uj));
		if (!uj) {
			kb_job_put(nj);
			return -ENOMEM;
		}
		if (kb_jobindex_put(&u->index, nj->id, uj) < 0) {
			free(uj);
			kb_job_put(nj);
			return -ENOMEM;
		}
		uj->u = u;
		uj->job = nj;
		uj->fd = uj->reply_fd = -1;
		uj->timer.cb = timer_fired;
		uj->bucket.timer.cb = bucket_fired;
		uj->next = u->jobs;
		if (uj->next)
			uj->next->pprev = &uj->next;
		uj->pprev = &u->jobs;
		u->jobs = uj;
	}
	/* it starts transferring now: its owner's groups as they are now */
	kb_owner_refresh(&uj->owner, nj->owner_uid, nj->owner_gid);
	uj->last_progress = kb_now();
	uj->close_again = false;	/* nothing known of an earlier run's Close */
	uj->hostid_off = false;
	uj->hostid_first_fail = 0;
	uj->proxy = 0;	/* its proxy list may have changed */
	/* its request is dropped: it waits for a slot of the engine's next pass */
	uj->slot = false;
	nj->state = KBITS_STATE_QUEUED;
	*out = uj;
	return 0;
}

bool kb_upload_grant(struct ujob *uj, bool grant)
{
	if (grant && !uj->slot && uj->job->state == KBITS_STATE_QUEUED) {
		uj->slot = true;
		ujob_start(uj);		/* resyncs with the server: a one-byte probe */
	} else if (!grant && uj->slot && uj->job->up.phase <= KB_UP_SENDING) {
		/*
		 * Only while fragments go (or before): a Close-Session or
		 * the reply is finished first, their answers are evidence
		 * ujob_done weighs. The server keeps the session: the next
		 * turn resumes where it acknowledged, as after a dropped
		 * connection (a plain PUT sends the whole file again).
		 */
		req_cleanup(uj);
		close_fds(uj);
		kb_timer_cancel(uj->u->loop, &uj->timer);
		uj->slot = false;
		set_state(uj, KBITS_STATE_QUEUED);
	}
	return uj->slot;
}

bool kb_upload_live(const struct ujob *uj)
{
	return uj->slot;
}

void kb_upload_set_rate(struct ujob *uj, uint64_t rate)
{
	uj->rate = rate;
	kb_bucket_set(&uj->bucket, rate, kb_now());
}

void kb_upload_fail(struct ujob *uj, const struct kb_error *err)
{
	struct kb_error e = *err;

	ujob_fail(uj, &e);
}

int kb_uploads_stop(struct kb_uploads *u, const uint8_t id[16])
{
	struct ujob *uj = find(u, id);
	uint8_t jid[16];

	if (!uj)
		return -ENOENT;
	memcpy(jid, id, 16);
	ujob_free(uj);		/* progress is saved at every acknowledgement */
	if (OPS(u)->stopped)
		OPS(u)->stopped(u->ctx, jid);
	return 0;
}
