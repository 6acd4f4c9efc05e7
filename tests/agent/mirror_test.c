// SPDX-License-Identifier: GPL-2.0
/*
 * A file's mirrors (KBITS_FILE_STR_MIRRORS) against the fault server on
 * 127.0.0.1: the file's URL is tried first, then each mirror in order; a
 * refused connection, a 5xx, a 404 or a stall (curl's no-progress limit)
 * sends the file to the next one; the bytes already on disk are continued
 * (Range with If-Range) only when the new mirror's validator is the one
 * they came with, else the file restarts from 0 there; when every source
 * failed the job's error names the last one tried.
 */
#include "harness.h"

#include "engine.h"
#include "loop.h"
#include "log.h"

static struct kb_loop *loop;
static struct kb_engine *engine;
static int fault_port, closed_port;
static uint8_t next_id = 1;

static const struct kb_engine_ops ops = { 0 };

/* What became of the last fetch; expect: the www file it must equal, when not its name. */
static struct {
	const char *expect;
	uint32_t state;
	char desc[1100];
} xo;

/*
 * Downloads www/<name> as dl/<name> from url with the given mirrors: true
 * when TRANSFERRED with the bytes of www/<name>. no_progress_timeout is 0:
 * every error of the job is fatal (ERROR), so the case ends.
 */
static bool fetch(const char *name, const char *url, const char *mirrors)
{
	struct kb_job *job = kb_job_new(1);
	char p[512], src[512], a[65], b[65];
	double end = t_now() + 40;
	const struct kb_job *j;
	uint32_t st = 0;

	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 0;
	t_path(p, sizeof(p), "dl/");
	strncat(p, name, sizeof(p) - strlen(p) - 1);
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, p);
	kb_strset(&job->files[0].mirrors, mirrors);
	kb_engine_run(engine, job);
	while (t_now() < end) {
		j = kb_engine_job(engine, job->id);
		st = j ? j->state : 0;
		if (st == KBITS_STATE_TRANSFERRED || st == KBITS_STATE_ERROR ||
		    st == KBITS_STATE_TRANSIENT_ERROR)
			break;
		kb_loop_run_once(loop, 20000000ull);
	}
	a[0] = b[0] = '\0';
	xo.state = st;
	j = kb_engine_job(engine, job->id);
	snprintf(xo.desc, sizeof(xo.desc), "%s",
		 j && j->strings[KBITS_STR_ERROR_DESCRIPTION] ? j->strings[KBITS_STR_ERROR_DESCRIPTION] : "");
	if (st == KBITS_STATE_TRANSFERRED) {
		const struct kb_file *f = &j->files[0];
		char tmp[700];

		t_path(tmp, sizeof(tmp), "dl/");
		strncat(tmp, f->temp_name, sizeof(tmp) - strlen(tmp) - 1);
		t_sha256(tmp, b);
		t_path(src, sizeof(src), "www/");
		strncat(src, xo.expect ? xo.expect : name, sizeof(src) - strlen(src) - 1);
		t_sha256(src, a);
	}
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
	return st == KBITS_STATE_TRANSFERRED && a[0] && !strcmp(a, b);
}

static const char *fault_url(char *out, size_t len, const char *name_query)
{
	snprintf(out, len, "http://127.0.0.1:%d/%s", fault_port, name_query);
	return out;
}

static void test_refused_then_mirror(void)
{
	char url[128], m[128], log[2048];
	bool ok;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/m1", closed_port);
	ok = fetch("m1", url, fault_url(m, sizeof(m), "m1"));
	check(ok, "the URL refuses the connection: the mirror serves the file, byte-exact (state %u, %s)",
	      xo.state, xo.desc);
	t_fault_log_n("m1", 1, log, sizeof(log));
	check(!strncmp(log, "m1 GET 200 range=- ", 19), "the mirror sent the whole file (%s)", log);
}

static void test_503_then_next(void)
{
	char url[128], m[256], log[2048];
	bool ok;

	fault_url(url, sizeof(url), "m2?status=503");
	snprintf(m, sizeof(m), "http://127.0.0.1:%d/m2?status=500\nhttp://127.0.0.1:%d/m2",
		 fault_port, fault_port);
	ok = fetch("m2", url, m);
	check(ok, "503 from the URL, 500 from the first mirror: the second serves it (state %u, %s)",
	      xo.state, xo.desc);
	t_fault_log_n("m2", 3, log, sizeof(log));
	check(strstr(log, "m2 GET 503 ") && strstr(log, "m2 GET 500 ") && strstr(log, "m2 GET 200 "),
	      "each source was asked once, in order (%s)", log);
}

static void test_stall_resumes_when_validators_agree(void)
{
	char url[128], m[128], log[2048], *second;
	bool ok;

	fault_url(url, sizeof(url), "m3?stall=300000");
	ok = fetch("m3", url, fault_url(m, sizeof(m), "m3"));
	check(ok, "the URL stalls after 300000 bytes: the mirror finishes the file, byte-exact "
	      "(state %u, %s)", xo.state, xo.desc);
	/* the stalled request is logged when its server thread ends, later */
	t_fault_log_n("m3", 1, log, sizeof(log));
	second = strstr(log, "m3 GET 206 range=bytes=");
	check(second && strncmp(second, "m3 GET 206 range=bytes=0-", 25) && strstr(second, "if_range=\""),
	      "the mirror was asked for the rest: a Range with If-Range, answered 206 (%s)", log);
}

static void test_stall_restarts_when_the_etag_differs(void)
{
	char url[128], m[128], log[2048], *second;
	bool ok;

	fault_url(url, sizeof(url), "m4?stall=300000");
	ok = fetch("m4", url, fault_url(m, sizeof(m), "m4?etag=other-mirror"));
	check(ok, "the URL stalls, the mirror has another ETag: the file restarts there, byte-exact "
	      "(state %u, %s)", xo.state, xo.desc);
	t_fault_log_n("m4", 1, log, sizeof(log));
	second = strstr(log, "m4 GET 200 range=bytes=");
	check(second && strncmp(second, "m4 GET 200 range=bytes=0-", 25) && strstr(second, "if_range=\""),
	      "the mirror judged the If-Range and sent the whole file (%s)", log);
}

/*
 * Validators by Last-Modified only (noetag), and the two files share their
 * mtime: the mirror's If-Range matches and it answers 206, but its file has
 * another size, so the bytes of the first must not be continued with it.
 */
static void test_a_206_of_another_size_restarts(void)
{
	char url[128], m[128], log[2048];
	bool ok;

	fault_url(url, sizeof(url), "m7?stall=300000&noetag=1");
	xo.expect = "m7b";
	ok = fetch("m7", url, fault_url(m, sizeof(m), "m7b?noetag=1"));
	t_fault_log_n("m7b", 2, log, sizeof(log));
	check(ok, "the file is the mirror's whole file, not the URL's head with its tail "
	      "(state %u, %s; %s)", xo.state, xo.desc, log);
	check(strstr(log, "m7b GET 206 range=bytes=") && strstr(log, "m7b GET 200 range=-"),
	      "the 206 of another size was dropped, the file fetched again whole (%s)", log);
}

static void test_all_fail_names_the_last(void)
{
	char url[128], m[256];
	bool ok;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/m5", closed_port);
	/* the last mirror lacks the file (404); error texts carry no query */
	snprintf(m, sizeof(m), "http://127.0.0.1:%d/m5?status=503\nhttp://127.0.0.1:%d/m5-last-mirror",
		 fault_port, fault_port);
	ok = fetch("m5", url, m);
	check(!ok && xo.state == KBITS_STATE_ERROR, "every source fails: the job is in ERROR (state %u)",
	      xo.state);
	check(strstr(xo.desc, "404") && strstr(xo.desc, "/m5-last-mirror"),
	      "the error names the last mirror tried ('%s')", xo.desc);
}

static void test_no_mirrors_unchanged(void)
{
	char url[128];
	bool ok;

	fault_url(url, sizeof(url), "m6?status=503");
	ok = fetch("m6", url, NULL);
	check(!ok && xo.state == KBITS_STATE_ERROR && strstr(xo.desc, "503") &&
	      strstr(xo.desc, "/m6"),
	      "without mirrors a 503 is the job's error as before ('%s')", xo.desc);
}

static bool mirror_setup(void)
{
	struct kb_engine_config cfg;

	t_mkdir("dl", 0755);
	loop = kb_loop_new(128);
	kb_engine_config_default(&cfg);
	cfg.low_speed_time = 2;		/* a stall is seen in 2 s */
	cfg.connect_timeout = 5;
	engine = loop ? kb_engine_new(loop, &cfg, &ops, NULL) : NULL;
	return check(loop && engine, "engine: a loop and an engine of the case's own");
}

static void mirror_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
}

static const struct t_case cases[] = {
	{ "a URL that refuses connections fails over to its mirror", test_refused_then_mirror },
	{ "5xx answers fail over to the next mirror, in order", test_503_then_next },
	{ "a stalled source: the next mirror continues the bytes when the validator agrees",
	  test_stall_resumes_when_validators_agree },
	{ "a stalled source: the file restarts from 0 on a mirror with another ETag",
	  test_stall_restarts_when_the_etag_differs },
	{ "a 206 whose total size is not the bytes' restarts the file from 0",
	  test_a_206_of_another_size_restarts },
	{ "when every source fails the error names the last mirror", test_all_fail_names_the_last },
	{ "a file without mirrors fails as before", test_no_mirrors_unchanged },
};

int main(void)
{
	char p[512];
	pid_t fault;

	if (!t_begin(300))
		return 1;
	t_mkdir("www", 0755);
	for (int i = 1; i <= 7; i++) {
		char n[32];

		snprintf(n, sizeof(n), "www/m%d", i);
		t_path(p, sizeof(p), n);
		t_write_file(p, 1000000 + (uint64_t)i, (uint32_t)i + 40);
	}
	/* m7b: another size, the same mtime as m7 (Last-Modified, to the second) */
	{
		struct timespec ts[2] = { { 1700000000, 0 }, { 1700000000, 0 } };
		char q[512];

		t_path(p, sizeof(p), "www/m7b");
		t_write_file(p, 1200000, 99);
		t_path(q, sizeof(q), "www/m7");
		if (utimensat(AT_FDCWD, p, ts, 0) || utimensat(AT_FDCWD, q, ts, 0))
			check(false, "utimensat: %s", strerror(errno));
	}
	closed_port = t_free_port();	/* nobody listens there */
	fault = t_start_fault(&fault_port);
	if (!check(fault > 0, "fault server on 127.0.0.1:%d; nobody on 127.0.0.1:%d", fault_port,
		   closed_port))
		goto out;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), mirror_setup, mirror_teardown, 120);
out:
	t_kill(fault);
	return t_end();
}
