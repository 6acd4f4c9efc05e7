// SPDX-License-Identifier: GPL-2.0
/*
 * One copy of each job (job.h): its reference count, the one merge of a
 * new description (kb_job_carry), and how the store writes a file whose
 * outcome is not durable yet. Built with ASan/LSan (and run under
 * valgrind): a holder that frees the job too early is a use after free,
 * one that never lets go a leak, and either fails its case.
 */
#include "harness.h"

#include "engine.h"
#include "store.h"
#include "upload_cancel.h"

static struct kb_job *job_of(uint32_t type, const char *url, const char *path)
{
	struct kb_job *job = kb_job_new(1);

	memset(job->id, 0x5a, 16);
	job->type = type;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->min_retry_delay = 600;
	job->no_progress_timeout = 600;
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, path);
	return job;
}

/* ---- reference counts ------------------------------------------------------- */

static void test_refs(void)
{
	struct kb_job *job = job_of(KBITS_JOB_DOWNLOAD, "http://127.0.0.1:9/a", "/tmp/a");

	check(job->refs == 1, "a new job has one reference, its creator's (%u)", job->refs);
	bool same = kb_job_get(job) == job && kb_job_get(job) == job;
	unsigned int refs = job->refs;

	check(same && refs == 3, "kb_job_get returns the job and counts the holder (%u)", refs);
	kb_job_put(job);
	kb_job_put(job);
	/* ASan: a put that freed early makes this a use after free */
	check(job->refs == 1 && !strcmp(job->files[0].url, "http://127.0.0.1:9/a"),
	      "after two puts of three the job is whole (%u)", job->refs);
	kb_job_put(job);	/* the last: LSan fails the case if it did not free */
	kb_job_put(NULL);
	check(true, "the last put frees (LeakSanitizer checks at the case's exit), a put of NULL is nothing");
}

static struct kb_loop *loop;
static struct kb_engine *engine;
static struct kb_engine_config cfg;
static const struct kb_engine_ops no_ops;

static bool engine_setup(void)
{
	kb_engine_config_default(&cfg);
	loop = kb_loop_new(64);
	engine = loop ? kb_engine_new(loop, &cfg, &no_ops, NULL) : NULL;
	return check(engine != NULL, "a loop and an engine of the case's own");
}

static void engine_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
}

/* A server that accepts and never answers: transfers stay in flight. */
static int silent_server(char *url, size_t len, const char *name)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(url, len, "http://127.0.0.1:%d/%s", ntohs(sin.sin_port), name);
	return fd;
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		kb_loop_run_once(loop, 10000000ull);
}

/*
 * The engine holds its own reference: the caller lets go at once; a new
 * description replaces the old one once its transfer drained, and the
 * old one is freed then (not before: its transfer still reads it).
 */
static void test_engine_holds(void)
{
	char url[128], path[600];
	struct kb_job *a, *b;
	const struct kb_job *j;
	int ret, fd = silent_server(url, sizeof(url), "f");

	if (!check(fd >= 0, "a silent server on 127.0.0.1") || !engine_setup())
		return;
	t_path(path, sizeof(path), "f");
	a = job_of(KBITS_JOB_DOWNLOAD, url, path);
	ret = kb_engine_run(engine, a);
	check(ret == 0 && a->refs == 2, "the engine takes a reference (%d, %u)", ret, a->refs);
	kb_job_put(a);
	spin(10);
	j = kb_engine_job(engine, a->id);
	check(j == a && j->files[0].temp_name != NULL,
	      "the caller let go: the engine's job is the same one, transferring (its temporary file %s)",
	      j && j->files[0].temp_name ? j->files[0].temp_name : "none");
	/* a new description of the same file: what the agent knows carries over */
	b = job_of(KBITS_JOB_DOWNLOAD, url, path);
	kb_strset(&b->strings[KBITS_STR_DISPLAY_NAME], "renamed");
	kb_engine_run(engine, b);
	kb_job_put(b);
	for (int i = 0; i < 100 && kb_engine_job(engine, b->id) != b; i++)
		spin(1);
	j = kb_engine_job(engine, b->id);
	check(j == b && b->refs == 1 && b->files[0].temp_name && !strcmp(b->strings[KBITS_STR_DISPLAY_NAME], "renamed"),
	      "after the drain the engine runs the new description, with the old one's temporary file (%u refs)",
	      b->refs);
	kb_engine_stop(engine, b->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, b->id); i++)
		spin(1);
	check(!kb_engine_job(engine, b->id), "stopped: the engine let go (LSan: and freed it)");
	engine_teardown();
	close(fd);
}

/* A pending Cancel-Session holds the job it cancels after every other holder let go. */
static void test_cancel_holds(void)
{
	char url[128];
	int ret, fd = silent_server(url, sizeof(url), "up");
	struct kb_job *job;

	if (!check(fd >= 0, "a silent server on 127.0.0.1") || !engine_setup())
		return;
	kb_upload_cancel_tries = 1;
	job = job_of(KBITS_JOB_UPLOAD, url, "/tmp/src");
	kb_strset(&job->up.session_id, "{0000-1111}");
	job->up.phase = KB_UP_SENDING;
	kb_strset(&job->strings[KBITS_STR_HTTP_HEADERS], "X-Kept: yes\r\n");
	ret = kb_engine_cancel_session(engine, job);
	check(ret == 0 && kb_engine_cancels_pending(engine) == 1 && job->refs == 2,
	      "Cancel-Session on its way, holding a reference (%d, %u)", ret, job->refs);
	kb_job_put(job);	/* kbitsd's known list lets go (do_cancel) */
	spin(20);	/* ASan: the request reads the job's headers and proxy */
	check(kb_engine_cancels_pending(engine) == 1, "the job's last holder is the request, still waiting");
	close(fd);	/* its connection is refused or reset: the one try ends */
	for (int i = 0; i < 300 && kb_engine_cancels_pending(engine); i++)
		spin(1);
	check(kb_engine_cancels_pending(engine) == 0, "the request ended and let go (LSan: freed)");
	engine_teardown();
}

/* ---- kb_job_carry ------------------------------------------------------------- */

static struct kb_job *worked(void)
{
	struct kb_job *o = job_of(KBITS_JOB_DOWNLOAD, "http://h/a", "/d/a");
	struct kb_file *f = &o->files[0];

	kb_strset(&f->temp_name, ".a.kbits-1");
	kb_strset(&f->etag, "\"e\"");
	kb_strset(&f->last_modified, "Sun, 29 Nov 2026 10:00:00 GMT");
	kb_strset(&f->final_url, "http://h2/a");
	f->ranges_ok = true;
	f->bytes_total = 1000;
	f->bytes_transferred = 1000;
	f->flags = KBITS_FILE_COMPLETED | KBITS_FILE_SHA256 | KBITS_FILE_VERIFIED | KBITS_FILE_EXPECT_SIZE;
	memset(f->sha256, 0xab, sizeof(f->sha256));
	f->untold = KB_UNTOLD_TEMP;
	return o;
}

static void test_carry(void)
{
	struct kb_job *o = worked(), *n = job_of(KBITS_JOB_DOWNLOAD, "http://h/a", "/d/a");
	struct kb_file *f = &n->files[0];
	bool ok;

	n->files[0].flags = KBITS_FILE_EXPECT_SHA256;	/* the client's new expectation */
	n->files[0].bytes_transferred = 1234;		/* the module heard of more than is synced */
	check(!kb_job_carry(n, o), "a download has no session to carry");
	ok = f->temp_name && !strcmp(f->temp_name, ".a.kbits-1") && f->etag && !strcmp(f->etag, "\"e\"") &&
	     f->last_modified && f->final_url && !strcmp(f->final_url, "http://h2/a") && f->ranges_ok &&
	     f->bytes_total == 1000 && f->bytes_transferred == 1000 && f->sha256[31] == 0xab &&
	     (f->untold & KB_UNTOLD_TEMP);
	check(ok, "the same file (URL and path): temporary name, validators, final URL, ranges, bytes, "
	      "digest and what is not told yet carry over");
	check(f->flags == (KBITS_FILE_EXPECT_SHA256 | KBITS_FILE_COMPLETED | KBITS_FILE_SHA256 |
			   KBITS_FILE_VERIFIED),
	      "the outcome flags are the agent's, the expectations the new description's (0x%x)", f->flags);
	kb_job_put(n);

	n = job_of(KBITS_JOB_DOWNLOAD, "http://h/b", "/d/a");
	kb_job_carry(n, o);
	f = &n->files[0];
	/* SetRemoteName, ReplaceRemotePrefix: If-Range at the new server judges the bytes */
	check(f->temp_name && f->etag && !strcmp(f->etag, "\"e\"") && f->bytes_transferred == 1000 &&
	      f->ranges_ok && !f->final_url,
	      "another URL, the same path: temporary name, validators and bytes carry over, the old "
	      "URL's final URL does not");
	kb_job_put(n);
	n = job_of(KBITS_JOB_DOWNLOAD, "http://h/a", "/d/other");
	kb_job_carry(n, o);
	check(!n->files[0].temp_name && !n->files[0].bytes_transferred, "another path: nothing carries over");
	kb_job_put(n);
	check(kb_job_carry(o, o) && o->files[0].bytes_transferred == 1000, "a job carried into itself: nothing to do");
	kb_job_put(o);
}

static void test_carry_session(void)
{
	struct kb_job *o = job_of(KBITS_JOB_UPLOAD, "http://h/up", "/s/up"), *n;

	kb_strset(&o->up.session_id, "{sid}");
	kb_strset(&o->up.host_id, "h3");
	o->up.phase = KB_UP_SENDING;
	o->up.src_size = 77;
	o->files[0].bytes_transferred = 50;
	n = job_of(KBITS_JOB_UPLOAD, "http://h/up", "/s/up");
	check(kb_job_carry(n, o) && n->up.session_id && !strcmp(n->up.session_id, "{sid}") &&
	      n->up.session_id != o->up.session_id && n->up.phase == KB_UP_SENDING && n->up.src_size == 77 &&
	      n->files[0].bytes_transferred == 50,
	      "an upload of the same file, same kind: its open session and acknowledged bytes carry over");
	kb_job_put(n);
	n = job_of(KBITS_JOB_UPLOAD, "http://h/up", "/s/up");
	n->job_flags |= KBITS_JOB_F_HTTP_PUT;
	check(!kb_job_carry(n, o) && !n->up.session_id && n->files[0].bytes_transferred == 50,
	      "a BITS session does not carry into a PUT (the caller cancels it); the file's bytes do");
	kb_job_put(n);
	n = job_of(KBITS_JOB_UPLOAD, "http://h/elsewhere", "/s/up");
	check(!kb_job_carry(n, o) && !n->up.session_id, "another URL: no session carries over");
	kb_job_put(n);
	kb_job_put(o);
}

/* ---- the store and an outcome not yet durable ------------------------------------- */

static int take(void *arg, struct kb_job *job)
{
	struct kb_job **out = arg;

	kb_job_put(*out);
	*out = job;
	return 0;
}

static void test_store_unsynced(void)
{
	struct kb_job *job = worked(), *got = NULL;
	struct kb_store *s = NULL;
	char db[512];

	t_path(db, sizeof(db), "kbits.db");
	if (!check(kb_store_open(db, &s) == 0, "a store of the case's own"))
		goto out;
	job->files[0].unsynced = true;	/* done, the job's final sync still ahead */
	kb_store_put_job(s, job);
	kb_store_load(s, take, &got);
	check(got && !(got->files[0].flags & (KBITS_FILE_COMPLETED | KBITS_FILE_SHA256)) &&
	      (got->files[0].flags & KBITS_FILE_EXPECT_SIZE) && got->files[0].bytes_transferred == 0 &&
	      got->files[0].temp_name,
	      "a file done but not synced is stored as not done, no bytes claimed, its temporary file kept "
	      "(flags 0x%x, %llu bytes)", got ? got->files[0].flags : 0,
	      got ? (unsigned long long)got->files[0].bytes_transferred : 0ull);
	job->files[0].unsynced = false;	/* the final sync ran */
	kb_store_put_file(s, job, 0);
	kb_store_load(s, take, &got);
	check(got && (got->files[0].flags & KBITS_FILE_COMPLETED) && got->files[0].bytes_transferred == 1000,
	      "once synced its row says COMPLETED, 1000 bytes");
out:
	kb_job_put(got);
	kb_store_close(s);
	kb_job_put(job);
}

static const struct t_case cases[] = {
	{ "a job lives while it has a holder and the last put frees it", test_refs },
	{ "the engine shares the job it is given and swaps a new description in after the drain",
	  test_engine_holds },
	{ "a pending Cancel-Session is the last holder of a cancelled upload", test_cancel_holds },
	{ "a new description takes what only the agent knows of the same file, nothing of another",
	  test_carry },
	{ "an upload's session carries over only to the same file, uploaded the same way", test_carry_session },
	{ "the store never writes an outcome the final sync has not made durable", test_store_unsynced },
};

int main(void)
{
	if (!t_begin(120))
		return 1;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), NULL, NULL, 60);
	return t_end();
}
