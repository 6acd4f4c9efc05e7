// SPDX-License-Identifier: GPL-2.0
/*
 * Proxy settings against a real tinyproxy on 127.0.0.1 (PRECONFIG from the
 * environment, NO_PROXY, OVERRIDE with proxy and bypass lists; the proxy's
 * log tells which requests went through it), and the privacy of the log:
 * with the most verbose logging (curl's too) credentials, custom headers
 * and proxy passwords never appear. An OVERRIDE list fails over: a proxy
 * that cannot be used (nobody listening on its port) is left for the next
 * entry at once, for downloads and BITS uploads, and only a list whose
 * every entry failed is the job's error. Credentials by target and scheme
 * (BITS's SetCredentials): a second tinyproxy asks for Basic proxy
 * authentication, nginx's /auth/ for Basic server authentication.
 */
#include "harness.h"

#include <openssl/evp.h>

#include "engine.h"
#include "loop.h"
#include "log.h"
#include "netopt.h"
#include "upload.h"

static struct kb_loop *loop;
static struct kb_engine *engine;
static int nginx_port, proxy_port, auth_proxy_port, bits_port, fault_port;
static uint8_t next_id = 1;
/* what the engine reported to the case (each case is a process of its own) */
static int errors;
static struct kb_error last_err;
static uint64_t acked;	/* an upload's bytes the server acknowledged */

static void o_progress(void *ctx, const struct kb_job *job, uint32_t f, uint64_t n)
{
	(void)ctx;
	(void)job;
	(void)f;
	acked = n;
}

static void o_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	(void)ctx;
	(void)job;
	errors++;
	last_err = *err;
}

static const struct kb_engine_ops ops = { .error = o_error, .progress = o_progress };

/* tinyproxy as name (its .conf and .log), with extra configuration lines. */
static pid_t start_tinyproxy(int *port, const char *name, const char *extra)
{
	char conf[512], log[512], text[1024], n[64];
	FILE *f;
	pid_t pid;

	*port = t_free_port();
	snprintf(n, sizeof(n), "%s.conf", name);
	t_path(conf, sizeof(conf), n);
	snprintf(n, sizeof(n), "%s.log", name);
	t_path(log, sizeof(log), n);
	snprintf(text, sizeof(text),
		 "Port %d\nListen 127.0.0.1\nTimeout 60\nLogFile \"%s\"\nLogLevel Info\nMaxClients 20\n"
		 "Allow 127.0.0.1\nViaProxyName \"kbits-test-proxy\"\n%s", *port, log, extra);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	{
		char *argv[] = { "/usr/bin/tinyproxy", "-d", "-c", conf, NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 250 && !t_port_open(*port); i++)
		usleep(20000);
	return t_port_open(*port) ? pid : -1;
}

/* Did a request for /name go through the proxy? */
static bool proxied(const char *name)
{
	char log[512], line[2048], want[256];
	bool found = false;
	FILE *f;

	snprintf(want, sizeof(want), "/%s HTTP/", name);
	/* The proxy's log, made when it started: the program's, not the case's. */
	snprintf(log, sizeof(log), "%s/tinyproxy.log", t_top);
	usleep(100000);		/* tinyproxy logs from its own process */
	f = fopen(log, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want))
			found = true;
	fclose(f);
	return found;
}

/*
 * More of the next fetch's job (each case runs in a child of its own, so
 * this starts zeroed), and what became of it.
 */
static struct {
	const char *proxy_creds;		/* KBITS_STR_PROXY_CREDENTIALS */
	uint32_t server_schemes, proxy_schemes;	/* KBITS_AUTH_SCHEME_* */
	uint32_t state;				/* out: the job's last state */
	int32_t code;				/* out: its error code */
	char desc[600];				/* out: its error description */
} xo;

/* Downloads www/src as dl/<name> with the given proxy settings: 1 when
 * TRANSFERRED with the right bytes, 0 otherwise; *state: the state it
 * ended in (a fatal error: ERROR, no_progress_timeout is 0). */
static bool fetch_state(const char *name, uint32_t usage, const char *list, const char *bypass,
			const char *creds, const char *headers, uint32_t *state)
{
	struct kb_job *job = kb_job_new(1);
	char p[512], url[256], src[512], a[65], b[65];
	double end = t_now() + 20;
	const struct kb_job *j;
	uint32_t st = 0;

	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 0;
	job->proxy_usage = usage;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], list);
	kb_strset(&job->strings[KBITS_STR_PROXY_BYPASS], bypass);
	kb_strset(&job->strings[KBITS_STR_CREDENTIALS], creds);
	kb_strset(&job->strings[KBITS_STR_HTTP_HEADERS], headers);
	kb_strset(&job->strings[KBITS_STR_PROXY_CREDENTIALS], xo.proxy_creds);
	job->server_auth_schemes = xo.server_schemes;
	job->proxy_auth_schemes = xo.proxy_schemes;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s", nginx_port, name);
	t_path(p, sizeof(p), "dl/x");
	snprintf(p + strlen(p) - 1, 64, "%s", name);
	for (size_t i = strlen(p) - strlen(name); p[i]; i++)	/* auth/a1: dl/auth_a1 */
		if (p[i] == '/')
			p[i] = '_';
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, p);
	kb_engine_run(engine, job);
	while (t_now() < end) {
		j = kb_engine_job(engine, job->id);
		st = j ? j->state : 0;
		if (st == KBITS_STATE_TRANSFERRED || st == KBITS_STATE_ERROR || st == KBITS_STATE_TRANSIENT_ERROR)
			break;
		kb_loop_run_once(loop, 20000000ull);
	}
	a[0] = b[0] = '\0';
	xo.state = st;
	j = kb_engine_job(engine, job->id);
	xo.code = j ? j->error_code : 0;
	snprintf(xo.desc, sizeof(xo.desc), "%s",
		 j && j->strings[KBITS_STR_ERROR_DESCRIPTION] ? j->strings[KBITS_STR_ERROR_DESCRIPTION] : "");
	if (st == KBITS_STATE_TRANSFERRED) {
		const struct kb_file *f = &kb_engine_job(engine, job->id)->files[0];
		char tmp[700];

		t_path(tmp, sizeof(tmp), "dl/");
		strncat(tmp, f->temp_name, sizeof(tmp) - strlen(tmp) - 1);
		t_sha256(tmp, b);
		t_path(src, sizeof(src), "www/");
		strncat(src, name, sizeof(src) - strlen(src) - 1);
		t_sha256(src, a);
	}
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
	if (state)
		*state = st;
	return st == KBITS_STATE_TRANSFERRED && a[0] && !strcmp(a, b);
}

static bool fetch(const char *name, uint32_t usage, const char *list, const char *bypass,
		  const char *creds, const char *headers)
{
	return fetch_state(name, usage, list, bypass, creds, headers, NULL);
}

static void test_bypass_syntax(void)
{
	char out[256];

	kb_netopt_bypass("a.example;b.example  c.example,<local>", out, sizeof(out));
	check(!strcmp(out, "a.example,b.example,c.example,localhost,127.0.0.1,::1"),
	      "bypass list: ';', blanks and ',' separate; <local> = localhost, 127.0.0.1, ::1 ('%s')", out);
}

/* Which URLs go through the list (the fail-over judges only those). */
static void test_proxied(void)
{
	struct kb_job *job = kb_job_new(1);
	bool a, b, c, d, e, f, g;

	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], " p1:3128 ;p2:3128,p3 ");
	kb_strset(&job->strings[KBITS_STR_PROXY_BYPASS], ".example.com;<local>");
	check(kb_netopt_proxy_count(job) == 3, "proxied: a list of 3 entries counts 3 (%u)",
	      kb_netopt_proxy_count(job));
	a = kb_netopt_proxied(job, "http://a.Example.COM/x");
	b = kb_netopt_proxied(job, "http://example.com./x");
	c = kb_netopt_proxied(job, "http://badexample.com/x");
	d = kb_netopt_proxied(job, "http://[::1]:8080/x");
	e = kb_netopt_proxied(job, "https://10.0.0.1/x");
	check(!a && !b && c && !d && e,
	      "proxied: bypass '.example.com;<local>': a.Example.COM %d, example.com. %d direct, badexample.com %d "
	      "through, [::1] %d direct, 10.0.0.1 %d through", a, b, c, d, e);
	kb_strset(&job->strings[KBITS_STR_PROXY_BYPASS], "*");
	f = kb_netopt_proxied(job, "http://host.example/x");
	job->proxy_usage = KBITS_PROXY_PRECONFIG;
	g = kb_netopt_proxied(job, "http://host.example/x");
	check(!f && !g && kb_netopt_proxy_count(job) == 0,
	      "proxied: bypass '*' is every host (%d); PRECONFIG has no list to fail over (%d)", f, g);
	kb_job_put(job);
}

/*
 * The environment a case's fetch sees: http_proxy (NULL: unset) and
 * no_proxy (NULL: unset). Each case runs in a child of its own, so what it
 * sets here does not leak into the next case.
 */
static void proxy_env(const char *http_proxy, const char *no_proxy)
{
	unsetenv("NO_PROXY");
	unsetenv("HTTP_PROXY");
	if (http_proxy)
		setenv("http_proxy", http_proxy, 1);
	else
		unsetenv("http_proxy");
	if (no_proxy)
		setenv("no_proxy", no_proxy, 1);
	else
		unsetenv("no_proxy");
}

static char *proxy_url(void)
{
	static char env[128];

	snprintf(env, sizeof(env), "http://127.0.0.1:%d", proxy_port);
	return env;
}

/* The OVERRIDE cases' list: the live proxy first, a dead one after it. */
static char *proxy_list(void)
{
	static char env[128];

	snprintf(env, sizeof(env), "127.0.0.1:%d;http://127.0.0.1:9", proxy_port);
	return env;
}

static void test_preconfig_env(void)
{
	proxy_env(proxy_url(), NULL);
	check(fetch("p1", KBITS_PROXY_PRECONFIG, NULL, NULL, NULL, NULL) && proxied("p1"),
	      "PRECONFIG with http_proxy set: through the proxy");
}

static void test_preconfig_no_proxy_env(void)
{
	proxy_env(proxy_url(), "127.0.0.1");
	check(fetch("p2", KBITS_PROXY_PRECONFIG, NULL, NULL, NULL, NULL) && !proxied("p2"),
	      "PRECONFIG with no_proxy=127.0.0.1: direct");
}

static void test_no_proxy_usage(void)
{
	proxy_env(proxy_url(), NULL);
	check(fetch("p3", KBITS_PROXY_NO_PROXY, NULL, NULL, NULL, NULL) && !proxied("p3"),
	      "NO_PROXY with http_proxy set in the environment: direct");
}

static void test_preconfig_no_env(void)
{
	proxy_env(NULL, NULL);
	check(fetch("p0", KBITS_PROXY_PRECONFIG, NULL, NULL, NULL, NULL) && !proxied("p0"),
	      "PRECONFIG without proxy variables: direct");
}

static void test_override_list(void)
{
	proxy_env(NULL, NULL);
	check(fetch("p4", KBITS_PROXY_OVERRIDE, proxy_list(), NULL, NULL, NULL) && proxied("p4"),
	      "OVERRIDE with a proxy list '%s': through the first proxy", proxy_list());
}

static void test_override_bypassed(void)
{
	proxy_env(NULL, NULL);
	check(fetch("p5", KBITS_PROXY_OVERRIDE, proxy_list(), "example.invalid;127.0.0.1", NULL, NULL) &&
	      !proxied("p5"),
	      "OVERRIDE with the server in the bypass list 'example.invalid;127.0.0.1': direct");
}

static void test_override_not_bypassed(void)
{
	proxy_env(NULL, NULL);
	check(fetch("p6", KBITS_PROXY_OVERRIDE, proxy_list(), "example.invalid other.invalid", NULL, NULL) &&
	      proxied("p6"),
	      "OVERRIDE with a bypass list not naming the server: through the proxy");
}

/* The Basic-auth proxy alone, as the job's OVERRIDE list. */
static char *auth_proxy(void)
{
	static char env[128];

	snprintf(env, sizeof(env), "127.0.0.1:%d", auth_proxy_port);
	return env;
}

/* The error names the Basic-auth proxy and not the origin server. */
static bool blames_proxy(void)
{
	char origin[64];

	snprintf(origin, sizeof(origin), ":%d", nginx_port);
	return xo.state == KBITS_STATE_ERROR && xo.code == 407 && strstr(xo.desc, "proxy") &&
	       strstr(xo.desc, auth_proxy()) && !strstr(xo.desc, origin);
}

static void test_proxy_auth_without_credentials(void)
{
	bool ok;

	proxy_env(NULL, NULL);
	ok = fetch("pa1", KBITS_PROXY_OVERRIDE, auth_proxy(), NULL, "alice:s3cret", NULL);
	check(!ok && blames_proxy(),
	      "proxy auth: without proxy credentials (server ones only) ERROR 407 naming the proxy (state %u, "
	      "code %d, '%s')", xo.state, xo.code, xo.desc);
}

static void test_proxy_auth_with_credentials(void)
{
	bool ok;

	proxy_env(NULL, NULL);
	xo.proxy_creds = "carol:Pr0xyAuth-PW";
	ok = fetch("pa2", KBITS_PROXY_OVERRIDE, auth_proxy(), NULL, NULL, NULL);
	check(ok,
	      "proxy auth: with the job's proxy credentials TRANSFERRED, every byte (state %u, '%s')", xo.state,
	      xo.desc);
	xo.proxy_schemes = KBITS_AUTH_SCHEME_BASIC;
	ok = fetch("pa3", KBITS_PROXY_OVERRIDE, auth_proxy(), NULL, NULL, NULL);
	check(ok,
	      "proxy auth: proxy scheme mask BASIC against a Basic proxy: TRANSFERRED (state %u, '%s')", xo.state,
	      xo.desc);
}

static void test_proxy_auth_scheme_refused(void)
{
	bool ok;

	proxy_env(NULL, NULL);
	xo.proxy_creds = "carol:Pr0xyAuth-PW";
	xo.proxy_schemes = KBITS_AUTH_SCHEME_DIGEST;
	ok = fetch("pa5", KBITS_PROXY_OVERRIDE, auth_proxy(), NULL, NULL, NULL);
	check(!ok && blames_proxy(),
	      "proxy auth: proxy scheme mask DIGEST against a Basic-only proxy: ERROR 407 naming the proxy "
	      "(state %u, code %d, '%s')", xo.state, xo.code, xo.desc);
}

static void test_server_scheme_basic(void)
{
	bool ok;

	proxy_env(NULL, NULL);
	xo.server_schemes = KBITS_AUTH_SCHEME_BASIC;
	ok = fetch("auth/a1", KBITS_PROXY_NO_PROXY, NULL, NULL, "alice:s3cret", NULL);
	check(ok,
	      "server auth: scheme mask BASIC against a Basic server: TRANSFERRED (state %u, '%s')", xo.state,
	      xo.desc);
	xo.server_schemes = KBITS_AUTH_SCHEME_BASIC | KBITS_AUTH_SCHEME_NTLM;
	ok = fetch("auth/a2", KBITS_PROXY_NO_PROXY, NULL, NULL, "alice:s3cret", NULL);
	check(ok,
	      "server auth: scheme mask BASIC|NTLM against a Basic server: TRANSFERRED (state %u, '%s')", xo.state,
	      xo.desc);
}

static void test_server_scheme_digest_refused(void)
{
	bool ok;

	proxy_env(NULL, NULL);
	xo.server_schemes = KBITS_AUTH_SCHEME_DIGEST;
	ok = fetch("auth/a3", KBITS_PROXY_NO_PROXY, NULL, NULL, "alice:s3cret", NULL);
	check(!ok &&
	      xo.state == KBITS_STATE_ERROR && xo.code == 401 && strstr(xo.desc, "schemes"),
	      "server auth: scheme mask DIGEST against a Basic-only server: ERROR 401 saying so (state %u, "
	      "code %d, '%s')", xo.state, xo.code, xo.desc);
}

static void b64(const char *in, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

static void test_log_privacy(void)
{
	char logp[512], line[4096], proxy[128], b1[128], b2[128], b3[128];
	int saved = dup(2), fd, lines = 0, leaks = 0, reqs = 0, hidden = 0;
	static const char *secrets[] = { "S3cr3t-PW", "tok-98765", "Pr0xy-PW", "qs-token-4242", "Pr0xyAuth-PW",
					 NULL, NULL, NULL };
	bool proxied_auth;
	FILE *f;

	b64("alice:S3cr3t-PW", b1);
	b64("bob:Pr0xy-PW", b2);
	b64("carol:Pr0xyAuth-PW", b3);
	secrets[5] = b1;
	secrets[6] = b2;
	secrets[7] = b3;
	proxy_env(NULL, NULL);
	t_path(logp, sizeof(logp), "verbose.log");
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	kb_log_level = 2;
	{
		struct kb_engine_config cfg;

		kb_engine_free(engine);
		kb_engine_config_default(&cfg);
		cfg.verbose = 3;	/* kbitsd -vvv: curl's own log too */
		engine = kb_engine_new(loop, &cfg, &ops, NULL);
	}
	fetch("p7", KBITS_PROXY_NO_PROXY, NULL, NULL, "alice:S3cr3t-PW", "X-Api-Token: tok-98765\r\nX-Other: tok-98765");
	fetch("missing", KBITS_PROXY_NO_PROXY, NULL, NULL, "alice:S3cr3t-PW", "X-Api-Token: tok-98765");
	snprintf(proxy, sizeof(proxy), "http://bob:Pr0xy-PW@127.0.0.1:%d", proxy_port);
	fetch("p8", KBITS_PROXY_OVERRIDE, proxy, NULL, "alice:S3cr3t-PW", "X-Api-Token: tok-98765");
	setenv("http_proxy", proxy, 1);
	fetch("p9", KBITS_PROXY_PRECONFIG, NULL, NULL, "alice:S3cr3t-PW", "X-Api-Token: tok-98765");
	unsetenv("http_proxy");
	/* the job's proxy credentials (BG_AUTH_TARGET_PROXY), to the Basic-auth proxy */
	xo.proxy_creds = "carol:Pr0xyAuth-PW";
	proxied_auth = fetch("pa6", KBITS_PROXY_OVERRIDE, auth_proxy(), NULL, "alice:S3cr3t-PW", NULL);
	xo.proxy_creds = NULL;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	kb_log_level = 0;
	f = fopen(logp, "r");
	while (f && fgets(line, sizeof(line), f)) {
		lines++;
		reqs += strstr(line, "curl > GET ") != NULL;
		hidden += strstr(line, "curl > Proxy-Authorization: [hidden]") != NULL;
		for (int i = 0; i < 8; i++) {
			if (strstr(line, secrets[i])) {
				leaks++;
				diag("leak: %s", line);
			}
		}
	}
	if (f)
		fclose(f);
	check(lines > 20 && reqs >= 4, "privacy: kbitsd -vvv logging with curl's verbose log: %d lines, %d requests", lines,
	      reqs);
	check(!leaks, "privacy: no password, custom header value, Basic token or proxy password in the log (%d leaks)",
	      leaks);
	check(proxied("p8"), "privacy: the proxy with credentials in its URL was used (p8)");
	check(proxied_auth && hidden >= 1,
	      "privacy: the job's proxy credentials were sent (Proxy-Authorization: [hidden], %d lines) and the "
	      "download went through", hidden);
}

/* A proxy URL on a loopback port nobody listens on (picked free, not a
 * fixed port another run may hold). */
static void dead_proxy(char *out, size_t len)
{
	snprintf(out, len, "http://127.0.0.1:%d", t_free_port());
}

static void test_failover_download(void)
{
	char dead[64], list[256];
	uint32_t st = 0;
	bool ok;

	proxy_env(NULL, NULL);
	dead_proxy(dead, sizeof(dead));
	snprintf(list, sizeof(list), "%s %s", dead, proxy_url());
	ok = fetch_state("p10", KBITS_PROXY_OVERRIDE, list, NULL, NULL, NULL, &st);
	check(ok && proxied("p10"), "fail-over '%s': TRANSFERRED through the second proxy (state %u, %s)", list,
	      st, errors ? last_err.desc : "no error");
	check(errors == 0, "fail-over: the dead first proxy is no error of the job (%d errors: %s)", errors,
	      errors ? last_err.desc : "none");
}

static void test_failover_all_dead(void)
{
	char dead1[64], dead2[64], list[160], want[128];
	uint32_t st = 0;

	proxy_env(NULL, NULL);
	dead_proxy(dead1, sizeof(dead1));
	do
		dead_proxy(dead2, sizeof(dead2));
	while (!strcmp(dead1, dead2));
	snprintf(list, sizeof(list), "%s;%s", dead1, dead2);
	fetch_state("p11", KBITS_PROXY_OVERRIDE, list, NULL, NULL, NULL, &st);
	snprintf(want, sizeof(want), "proxy %s (2 of 2 tried)", dead2);
	check(st == KBITS_STATE_ERROR && errors == 1 && strstr(last_err.desc, want) &&
	      last_err.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT && last_err.code == -ECONNREFUSED,
	      "fail-over, every proxy dead '%s': one error naming the last, '%s' (state %u, %d errors, code %d: %s)",
	      list, want, st, errors, last_err.code, errors ? last_err.desc : "none");
}

/* Runs the job until it is TRANSFERRED, ERROR or TRANSIENT_ERROR (30 s at most). */
static uint32_t run_job(struct kb_job *job)
{
	double end = t_now() + 30;
	const struct kb_job *j;
	uint32_t st = 0;

	kb_engine_run(engine, job);
	while (t_now() < end) {
		j = kb_engine_job(engine, job->id);
		st = j ? j->state : 0;
		if (st == KBITS_STATE_TRANSFERRED || st == KBITS_STATE_ERROR || st == KBITS_STATE_TRANSIENT_ERROR)
			break;
		kb_loop_run_once(loop, 20000000ull);
	}
	return st;
}

/*
 * A download that has bytes on disk (the fault server dropped the first,
 * direct, attempt) resumes through the second proxy of the list with a
 * Range: the fail-over keeps progress.
 */
static void test_failover_resume(void)
{
	struct kb_job *job = kb_job_new(1);
	char dead[64], list[256], url[256], p[512], log[2048], a[65] = "", b[65] = "", want[64];
	const struct kb_job *j;
	uint32_t st1, st2;
	uint64_t kept = 0;

	proxy_env(NULL, NULL);
	dead_proxy(dead, sizeof(dead));
	snprintf(list, sizeof(list), "%s %s", dead, proxy_url());
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/p13?drop=100000", fault_port);
	t_path(p, sizeof(p), "dl/p13");
	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 600;
	job->min_retry_delay = 600;	/* no retry of its own: the second run is the test's */
	job->proxy_usage = KBITS_PROXY_NO_PROXY;
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, p);
	st1 = run_job(job);
	j = kb_engine_job(engine, job->id);
	if (j)
		kept = j->files[0].bytes_transferred;
	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], list);
	st2 = run_job(job);
	j = kb_engine_job(engine, job->id);
	if (st2 == KBITS_STATE_TRANSFERRED && j) {
		char tmp[700];

		t_path(tmp, sizeof(tmp), "dl/");
		strncat(tmp, j->files[0].temp_name, sizeof(tmp) - strlen(tmp) - 1);
		t_sha256(tmp, b);
		snprintf(tmp, sizeof(tmp), "%s/www/p13", t_top);
		t_sha256(tmp, a);
	}
	t_fault_log_n("p13", 2, log, sizeof(log));
	snprintf(want, sizeof(want), "range=bytes=%llu-", (unsigned long long)kept);
	check(st1 == KBITS_STATE_TRANSIENT_ERROR && kept > 0 && kept <= 100000,
	      "resume: the first, direct attempt kept %llu bytes (state %u)", (unsigned long long)kept, st1);
	check(st2 == KBITS_STATE_TRANSFERRED && a[0] && !strcmp(a, b) && errors == 1 && strstr(log, want) &&
	      proxied("p13?drop=100000"),
	      "resume: through the second proxy of '%s' with a Range from the kept bytes, the right bytes, no "
	      "new error (state %u, %d errors, server: %s)", list, st2, errors, log);
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
}

/*
 * An https:// server through a proxy that refuses the CONNECT (tinyproxy
 * cannot reach the server's dead port): a failed tunnel is the proxy's
 * failure too, so the dead second entry is tried and named.
 */
static void test_failover_connect_refused(void)
{
	char dead[64], list[256], want[128];
	struct kb_job *job = kb_job_new(1);
	uint32_t st;

	proxy_env(NULL, NULL);
	dead_proxy(dead, sizeof(dead));
	snprintf(list, sizeof(list), "%s %s", proxy_url(), dead);
	job->id[0] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 0;
	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], list);
	{
		char url[128], p[512];

		snprintf(url, sizeof(url), "https://127.0.0.1:%d/x", t_free_port());
		t_path(p, sizeof(p), "dl/tls");
		kb_strset(&job->files[0].url, url);
		kb_strset(&job->files[0].path, p);
	}
	st = run_job(job);
	snprintf(want, sizeof(want), "proxy %s (2 of 2 tried)", dead);
	check(st == KBITS_STATE_ERROR && errors == 1 && strstr(last_err.desc, want),
	      "a refused CONNECT fails over: one error naming the second proxy, '%s' (state %u, %d errors: %s)", want,
	      st, errors, errors ? last_err.desc : "none");
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
}

static pid_t start_bits(void)
{
	char pf[512], log[512], root[512];
	pid_t pid;

	snprintf(pf, sizeof(pf), "%s/bits.port", t_top);
	snprintf(log, sizeof(log), "%s/bits.log", t_top);
	snprintf(root, sizeof(root), "%s/up", t_top);
	{
		char *argv[] = { "/usr/bin/python3", KB_TOP "/tests/servers/bitsserver.py", "--root", root,
				 "--log", log, "--port-file", pf, "--port", "0", NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(pf, "r");

		if (f) {
			if (fscanf(f, "%d", &bits_port) != 1)
				bits_port = -1;
			fclose(f);
			if (bits_port > 0 && t_port_open(bits_port))
				return pid;
		}
		usleep(20000);
	}
	return -1;
}

/* The BITS server's log lines of upload name (it is its own proxy: a
 * request in absolute form is logged via=proxy). */
static int bits_log(const char *name, const char *what, char *out, size_t len)
{
	char p[512], line[1024];
	size_t nl = strlen(name);
	int n = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/bits.log", t_top);
	out[0] = '\0';
	f = fopen(p, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, nl) || line[nl] != ' ' || !strstr(line, what))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strlen(out) + strlen(line) + 2 < len) {
			if (out[0])
				strcat(out, "|");
			strcat(out, line);
		}
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

/* An upload job of one file through the proxy list. */
static void upload_via(struct kb_job *job, const char *list, const char *url, const char *path)
{
	job->id[0] = 0xb1;
	job->id[1] = next_id++;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_UPLOAD;
	job->no_progress_timeout = 0;
	job->proxy_usage = KBITS_PROXY_OVERRIDE;
	kb_strset(&job->strings[KBITS_STR_PROXY_LIST], list);
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, path);
}

static void test_failover_upload(void)
{
	struct kb_job *job = kb_job_new(1);
	char dead[64], list[256], url[256], p[512], log[4096];
	double end = t_now() + 30;
	const struct kb_job *j;
	uint32_t st = 0;

	proxy_env(NULL, NULL);
	dead_proxy(dead, sizeof(dead));
	snprintf(list, sizeof(list), "%s,http://127.0.0.1:%d", dead, bits_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/upload/fo.bin", bits_port);
	snprintf(p, sizeof(p), "%s/www/p12", t_top);
	upload_via(job, list, url, p);
	kb_engine_run(engine, job);
	while (t_now() < end) {
		j = kb_engine_job(engine, job->id);
		st = j ? j->state : 0;
		if (st == KBITS_STATE_TRANSFERRED || st == KBITS_STATE_ERROR || st == KBITS_STATE_TRANSIENT_ERROR)
			break;
		kb_loop_run_once(loop, 20000000ull);
	}
	check(st == KBITS_STATE_TRANSFERRED && errors == 0,
	      "upload fail-over '%s': TRANSFERRED, no error of the job (state %u, %d errors: %s)", list, st,
	      errors, errors ? last_err.desc : "none");
	bits_log("fo.bin", "via=", log, sizeof(log));
	check(bits_log("fo.bin", "CLOSE", log, sizeof(log)) == 1 && !strstr(log, "via=direct") &&
	      bits_log("fo.bin", "via=proxy", log, sizeof(log)) >= 3,
	      "upload fail-over: Ping, Create-Session, Fragment and Close-Session through the second proxy (%s)", log);
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
}

/* Cancel-Session of an upload (stopped after its first acknowledged
 * fragment) fails over from the dead first proxy too. */
static void test_failover_cancel(void)
{
	struct kb_job *job = kb_job_new(1), *last = NULL;
	char dead[64], list[256], url[256], p[512], log[4096];
	const struct kb_job *j;

	proxy_env(NULL, NULL);
	dead_proxy(dead, sizeof(dead));
	snprintf(list, sizeof(list), "%s,http://127.0.0.1:%d", dead, bits_port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/upload/focancel.bin?slow=0.2", bits_port);
	snprintf(p, sizeof(p), "%s/www/p13", t_top);
	upload_via(job, list, url, p);
	kb_upload_fragment_size = 64 << 10;
	kb_engine_run(engine, job);
	for (int i = 0; i < 200 && acked == 0; i++)
		kb_loop_run_once(loop, 50000000ull);
	j = kb_engine_job(engine, job->id);
	if (j)
		last = kb_job_dup(j);
	kb_engine_stop(engine, job->id);
	check(acked > 0 && last && kb_engine_cancel_session(engine, last) == 0,
	      "cancel fail-over: a fragment acknowledged (%llu bytes), Cancel-Session sent", (unsigned long long)acked);
	for (int i = 0; i < 100 && kb_engine_cancels_pending(engine); i++)
		kb_loop_run_once(loop, 50000000ull);
	for (int i = 0; i < 50 && !bits_log("focancel.bin", "CANCEL", log, sizeof(log)); i++)
		usleep(20000);
	check(strstr(log, "CANCEL via=proxy") != NULL,
	      "cancel fail-over: Cancel-Session through the second proxy of '%s' (%s)", list, log);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(last);
	kb_job_put(job);
}

static bool proxy_setup(void)
{
	t_mkdir("dl", 0755);
	loop = kb_loop_new(128);
	engine = loop ? kb_engine_new(loop, NULL, &ops, NULL) : NULL;
	return check(loop && engine, "engine: a loop and an engine of the case's own");
}

static void proxy_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
}

static const struct t_case cases[] = {
	{ "a BITS bypass list is separated by ';', blanks and ',', and <local> names the loopback hosts",
	  test_bypass_syntax },
	{ "the fail-over judges only URLs that go through the list: its bypass list as libcurl matches it",
	  test_proxied },
	{ "PRECONFIG with http_proxy in the environment goes through that proxy", test_preconfig_env },
	{ "PRECONFIG with the server in no_proxy goes direct", test_preconfig_no_proxy_env },
	{ "NO_PROXY goes direct even with http_proxy in the environment", test_no_proxy_usage },
	{ "PRECONFIG without proxy variables goes direct", test_preconfig_no_env },
	{ "OVERRIDE goes through the first proxy of the job's list", test_override_list },
	{ "OVERRIDE with the server in the job's bypass list goes direct", test_override_bypassed },
	{ "OVERRIDE with a bypass list not naming the server goes through the proxy", test_override_not_bypassed },
	{ "OVERRIDE fails over from a dead first proxy to the second, with no error of the job",
	  test_failover_download },
	{ "OVERRIDE with every proxy dead: one error naming the last proxy and how many were tried",
	  test_failover_all_dead },
	{ "a download with bytes on disk resumes through the second proxy with a Range", test_failover_resume },
	{ "a proxy that refuses the CONNECT to an https:// server is left for the next entry",
	  test_failover_connect_refused },
	{ "a BITS upload fails over from a dead first proxy to the second too", test_failover_upload },
	{ "Cancel-Session of an upload fails over from a dead first proxy too", test_failover_cancel },
	{ "with kbitsd -vvv and curl's log, no password, header value, Basic token or proxy password is logged",
	  test_log_privacy },
	{ "a proxy asking for credentials of a job without proxy credentials fails naming the proxy",
	  test_proxy_auth_without_credentials },
	{ "the job's proxy credentials get a download through a Basic-auth proxy", test_proxy_auth_with_credentials },
	{ "a proxy scheme mask the proxy does not offer fails naming the proxy", test_proxy_auth_scheme_refused },
	{ "a server scheme mask with Basic works against a Basic server", test_server_scheme_basic },
	{ "a Digest-only server scheme mask fails against a Basic-only server, saying so",
	  test_server_scheme_digest_refused },
};

int main(void)
{
	char p[512];
	pid_t nginx, proxy, auth_proxy_pid, bits, fault;
	FILE *f;

	if (!t_begin(300))
		return 1;
	t_mkdir("www", 0755);
	t_mkdir("up", 0755);
	for (int i = 0; i <= 19; i++) {
		char n[32];

		/* p0..p13, and pa1..pa6 for the proxy authentication cases */
		snprintf(n, sizeof(n), i < 14 ? "www/p%d" : "www/pa%d", i < 14 ? i : i - 13);
		t_path(p, sizeof(p), n);
		t_write_file(p, 200000 + (uint64_t)i, (uint32_t)i + 1);
	}
	t_mkdir("www/auth", 0755);
	for (int i = 1; i <= 3; i++) {
		char n[32];

		snprintf(n, sizeof(n), "www/auth/a%d", i);
		t_path(p, sizeof(p), n);
		t_write_file(p, 100000 + (uint64_t)i, (uint32_t)i + 20);
	}
	t_path(p, sizeof(p), "htpasswd");	/* nginx's /auth/ */
	f = fopen(p, "w");
	if (f) {
		fputs("alice:{PLAIN}s3cret\n", f);
		fclose(f);
	}
	nginx = t_start_nginx(&nginx_port);
	proxy = start_tinyproxy(&proxy_port, "tinyproxy", "");
	auth_proxy_pid = start_tinyproxy(&auth_proxy_port, "tinyproxy-auth", "BasicAuth carol Pr0xyAuth-PW\n");
	bits = start_bits();
	fault = t_start_fault(&fault_port);
	if (!check(f && nginx > 0 && proxy > 0 && auth_proxy_pid > 0 && bits > 0 && fault > 0,
		   "nginx on 127.0.0.1:%d, tinyproxy on 127.0.0.1:%d, one with Basic auth on 127.0.0.1:%d, BITS "
		   "server on 127.0.0.1:%d, fault server on 127.0.0.1:%d", nginx_port, proxy_port, auth_proxy_port,
		   bits_port, fault_port))
		goto out;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), proxy_setup, proxy_teardown, 120);
out:
	t_kill(nginx);
	t_kill(proxy);
	t_kill(auth_proxy_pid);
	t_kill(bits);
	t_kill(fault);
	return t_end();
}
