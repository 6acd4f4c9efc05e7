// SPDX-License-Identifier: GPL-2.0
/*
 * The job's TLS options (KBITS_FEATURE_TLS) against a real nginx with TLS
 * on 127.0.0.1: a CA, a server certificate for IP:127.0.0.1, an expired
 * one and a client certificate, all made by openssl in tls_certs.sh. A CA
 * bundle lets a download verify (and replaces kbitsd's --ca-file); a
 * client certificate and key open nginx's client-certificate-only
 * location; a pin that is not the server's key is a fatal error with
 * nothing written; an expired certificate is an error; and every file is
 * read as the job's owner: a key, or /etc/shadow given as a certificate,
 * that the owner cannot read is ERROR/LOCAL_FILE naming the file.
 */
#include "harness.h"

#include "engine.h"
#include "loop.h"
#include "log.h"
#include "upload.h"

static struct kb_loop *loop;
static struct kb_engine *engine;
static int good_port, expired_port;
static uint8_t next_id = 1;
static char certs[512];		/* t_top/certs */

static void o_error(void *ctx, const struct kb_job *job, const struct kb_error *err)
{
	(void)ctx;
	(void)job;
	(void)err;
}

static const struct kb_engine_ops ops = { .error = o_error };

/* The next job's TLS options and owner (each case is a process: zeroed). */
static struct {
	const char *cert, *key, *ca, *pin;	/* KBITS_STR_* values, NULL: none */
	uint32_t uid, gid;			/* 0/0: this process's */
	const char *dl;				/* directory under t_dir, NULL: "dl" */
	/* out */
	uint32_t state, context;
	int32_t code;
	uint64_t bytes;				/* the file's bytes transferred */
	bool same;				/* the temporary file has the source's bytes */
	char desc[600];
} xo;

static const char *cert_path(const char *name)
{
	static char paths[8][600];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 600, "%s/%s", certs, name);
	return p;
}

/* Downloads /name from the server on port; the outcome in xo. */
static uint32_t fetch(int port, const char *name)
{
	struct kb_job *job = kb_job_new(1);
	char p[1024], url[256], src[1024], a[65], b[65], tmp[700];
	double end = t_now() + 30;
	const struct kb_job *j;
	uint32_t st = 0;

	job->id[0] = next_id++;
	job->owner_uid = xo.uid ? xo.uid : getuid();
	job->owner_gid = xo.uid ? xo.gid : getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 0;	/* every error is fatal: ERROR at once */
	kb_strset(&job->strings[KBITS_STR_CLIENT_CERT], xo.cert);
	kb_strset(&job->strings[KBITS_STR_CLIENT_KEY], xo.key);
	kb_strset(&job->strings[KBITS_STR_CA_BUNDLE], xo.ca);
	kb_strset(&job->strings[KBITS_STR_PINNED_PUBKEY], xo.pin);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/%s", port, name);
	snprintf(tmp, sizeof(tmp), "%s/%s", xo.dl ? xo.dl : "dl", strrchr(name, '/') ? strrchr(name, '/') + 1 : name);
	t_path(p, sizeof(p), tmp);
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
	j = kb_engine_job(engine, job->id);
	xo.state = st;
	xo.context = j ? j->error_context : 0;
	xo.code = j ? j->error_code : 0;
	xo.bytes = j ? j->files[0].bytes_transferred : 0;
	snprintf(xo.desc, sizeof(xo.desc), "%s",
		 j && j->strings[KBITS_STR_ERROR_DESCRIPTION] ? j->strings[KBITS_STR_ERROR_DESCRIPTION] : "");
	xo.same = false;
	if (st == KBITS_STATE_TRANSFERRED && j->files[0].temp_name) {
		snprintf(tmp, sizeof(tmp), "%s/%s", xo.dl ? xo.dl : "dl", j->files[0].temp_name);
		t_path(p, sizeof(p), tmp);
		t_sha256(p, b);
		snprintf(tmp, sizeof(tmp), "www/%s", name);
		t_path(src, sizeof(src), tmp);
		t_sha256(src, a);
		xo.same = a[0] && !strcmp(a, b);
	}
	kb_engine_stop(engine, job->id);
	for (int i = 0; i < 100 && kb_engine_job(engine, job->id); i++)
		kb_loop_run_once(loop, 20000000ull);
	kb_job_put(job);
	return st;
}

/* No file of the job's in its directory: not the destination, not a byte. */
static bool dl_has_no_data(void)
{
	char dir[512], cmd[700];

	t_path(dir, sizeof(dir), xo.dl ? xo.dl : "dl");
	snprintf(cmd, sizeof(cmd), "test -z \"$(find '%s' -type f -size +0c)\"", dir);
	return system(cmd) == 0;
}

static void test_ca_bundle(void)
{
	xo.ca = cert_path("ca.pem");
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_TRANSFERRED && xo.same,
	      "ca_bundle: the job's CA verifies 127.0.0.1: TRANSFERRED with the server's bytes (state %u: %s)",
	      xo.state, xo.desc);
}

static void test_no_ca_bundle(void)
{
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.context == KBITS_ERROR_CONTEXT_GENERAL_TRANSPORT &&
	      xo.code == -EKEYREJECTED && dl_has_no_data(),
	      "no ca_bundle: the system's CAs do not know the test CA: fatal ERROR, -EKEYREJECTED, no data "
	      "(state %u, context %u, code %d: %s)", xo.state, xo.context, xo.code, xo.desc);
}

/* kbitsd's --ca-file knows the CA; the job's bundle (another CA) replaces it. */
static void test_bundle_replaces(void)
{
	struct kb_engine_config cfg;

	kb_engine_free(engine);
	kb_engine_config_default(&cfg);
	cfg.ca_file = cert_path("ca.pem");
	engine = kb_engine_new(loop, &cfg, &ops, NULL);
	if (!check(engine, "an engine with --ca-file %s", cfg.ca_file))
		return;
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_TRANSFERRED && xo.same,
	      "--ca-file alone verifies the server (state %u: %s)", xo.state, xo.desc);
	xo.ca = cert_path("other-ca.pem");
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.code == -EKEYREJECTED,
	      "ca_bundle replaces --ca-file: a bundle of another CA does not verify (state %u, code %d: %s)",
	      xo.state, xo.code, xo.desc);
}

static void test_client_cert(void)
{
	xo.ca = cert_path("ca.pem");
	xo.cert = cert_path("client.pem");
	xo.key = cert_path("client.key");
	fetch(good_port, "client/f2");
	check(xo.state == KBITS_STATE_TRANSFERRED && xo.same,
	      "client_cert + client_key: nginx's client-certificate-only location answers (state %u: %s)",
	      xo.state, xo.desc);
}

static void test_client_cert_missing(void)
{
	xo.ca = cert_path("ca.pem");
	fetch(good_port, "client/f2");
	check(xo.state == KBITS_STATE_ERROR && xo.context == KBITS_ERROR_CONTEXT_REMOTE_FILE &&
	      xo.code == 403 && dl_has_no_data(),
	      "no client certificate: the location refuses (403), fatal, no data (state %u, context %u, code %d: %s)",
	      xo.state, xo.context, xo.code, xo.desc);
}

static void test_pin_wrong(void)
{
	static char pin[128];
	FILE *f = fopen(cert_path("other.pin"), "r");

	if (!f || !fgets(pin, sizeof(pin), f))
		pin[0] = '\0';
	if (f)
		fclose(f);
	pin[strcspn(pin, "\n")] = '\0';
	xo.ca = cert_path("ca.pem");
	xo.pin = pin;
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.code == -EKEYREJECTED && !xo.bytes && dl_has_no_data() &&
	      strstr(xo.desc, "public key"),
	      "a pin that is not the server's key: fatal ERROR, -EKEYREJECTED, nothing written (state %u, code %d, "
	      "%llu bytes: %s)", xo.state, xo.code, (unsigned long long)xo.bytes, xo.desc);
}

static void test_pin_right(void)
{
	static char pin[300];
	FILE *f = fopen(cert_path("server.pin"), "r");

	if (!f || !fgets(pin, 128, f))
		pin[0] = '\0';
	if (f)
		fclose(f);
	pin[strcspn(pin, "\n")] = '\0';
	/* a list: a key nobody has first, the server's second */
	{
		char first[64] = "sha256//", list[300];

		memset(first + 8, 'A', 43);
		first[51] = '=';
		first[52] = '\0';
		snprintf(list, sizeof(list), "%s;%s", first, pin);
		snprintf(pin, sizeof(pin), "%s", list);
	}
	xo.ca = cert_path("ca.pem");
	xo.pin = pin;
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_TRANSFERRED && xo.same,
	      "a pin list naming the server's key: TRANSFERRED (%s; state %u: %s)", pin, xo.state, xo.desc);
}

static void test_pin_file(void)
{
	xo.ca = cert_path("ca.pem");
	xo.pin = cert_path("server.pub");
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_TRANSFERRED && xo.same,
	      "a pin given as the server's public key file: TRANSFERRED (state %u: %s)", xo.state, xo.desc);
	xo.pin = cert_path("other.pub");
	fetch(good_port, "f3");
	check(xo.state == KBITS_STATE_ERROR && xo.code == -EKEYREJECTED && strstr(xo.desc, "pinned public key"),
	      "a pin file of another key: fatal ERROR, the pin named (state %u, code %d: %s)", xo.state, xo.code,
	      xo.desc);
}

static void test_expired(void)
{
	xo.ca = cert_path("ca.pem");
	fetch(expired_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.code == -EKEYREJECTED && dl_has_no_data() &&
	      strstr(xo.desc, "expired"),
	      "an expired server certificate: fatal ERROR, -EKEYREJECTED, says expired (state %u, code %d: %s)",
	      xo.state, xo.code, xo.desc);
}

/* The owner (nobody) cannot read the key: kbitsd, root, does not read it for them. */
static void test_key_unreadable(void)
{
	char key[600], cmd[1400];

	if (geteuid() != 0) {
		check(false, "owner: needs root to act as another user");
		return;
	}
	t_mkdir("dlnobody", 0777);
	t_path(key, sizeof(key), "root-only.key");
	snprintf(cmd, sizeof(cmd), "install -m 0600 '%s' '%s'", cert_path("client.key"), key);
	if (system(cmd) != 0)
		diag("%s failed", cmd);
	xo.uid = xo.gid = 65534;
	xo.dl = "dlnobody";
	xo.ca = cert_path("ca.pem");
	xo.cert = cert_path("client.pem");
	xo.key = key;
	fetch(good_port, "client/f2");
	check(xo.state == KBITS_STATE_ERROR && xo.context == KBITS_ERROR_CONTEXT_LOCAL_FILE &&
	      xo.code == -EACCES && strstr(xo.desc, "client key") && strstr(xo.desc, key) && dl_has_no_data(),
	      "a key its owner cannot read: ERROR/LOCAL_FILE/-EACCES naming the key, nothing fetched "
	      "(state %u, context %u, code %d: %s)", xo.state, xo.context, xo.code, xo.desc);
}

static void test_shadow_as_cert(void)
{
	if (geteuid() != 0) {
		check(false, "owner: needs root to act as another user");
		return;
	}
	t_mkdir("dlnobody", 0777);
	xo.uid = xo.gid = 65534;
	xo.dl = "dlnobody";
	xo.ca = cert_path("ca.pem");
	xo.cert = "/etc/shadow";
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.context == KBITS_ERROR_CONTEXT_LOCAL_FILE &&
	      xo.code == -EACCES && strstr(xo.desc, "/etc/shadow"),
	      "/etc/shadow as nobody's client certificate: root does not read it for them, LOCAL_FILE/-EACCES "
	      "(state %u, context %u, code %d: %s)", xo.state, xo.context, xo.code, xo.desc);
}

/* A CA bundle that names a FIFO: refused, kbitsd does not block on it. */
static void test_bundle_not_regular(void)
{
	char fifo[512];

	t_path(fifo, sizeof(fifo), "bundle.fifo");
	mkfifo(fifo, 0644);
	xo.ca = fifo;
	fetch(good_port, "f1");
	check(xo.state == KBITS_STATE_ERROR && xo.context == KBITS_ERROR_CONTEXT_LOCAL_FILE &&
	      xo.code == -EINVAL && strstr(xo.desc, "CA bundle"),
	      "a CA bundle that is a FIFO: LOCAL_FILE/-EINVAL at once (state %u, context %u, code %d: %s)",
	      xo.state, xo.context, xo.code, xo.desc);
}

static bool tls_setup(void)
{
	t_mkdir("dl", 0755);
	loop = kb_loop_new(128);
	engine = loop ? kb_engine_new(loop, NULL, &ops, NULL) : NULL;
	return check(loop && engine, "engine: a loop and an engine of the case's own");
}

static void tls_teardown(void)
{
	kb_engine_free(engine);
	kb_loop_free(loop);
}

static const struct t_case cases[] = {
	{ "a job's CA bundle verifies the server", test_ca_bundle },
	{ "without it the system's CAs do not: fatal", test_no_ca_bundle },
	{ "the job's bundle replaces kbitsd's --ca-file", test_bundle_replaces },
	{ "a client certificate and key open a client-certificate-only location", test_client_cert },
	{ "that location refuses a job without them", test_client_cert_missing },
	{ "a wrong pin is fatal and writes nothing", test_pin_wrong },
	{ "a pin list with the server's key passes", test_pin_right },
	{ "a pin file is read as the owner and compared", test_pin_file },
	{ "an expired certificate is an error", test_expired },
	{ "a key the owner cannot read is LOCAL_FILE", test_key_unreadable },
	{ "/etc/shadow as a certificate is not read by root for a user", test_shadow_as_cert },
	{ "a CA bundle that is not a regular file is refused", test_bundle_not_regular },
};

/* nginx with TLS: the good certificate (and /client/) and the expired one. */
static pid_t start_nginx_tls(void)
{
	char conf[512], prefix[300], text[8192];
	pid_t pid;
	FILE *f;

	good_port = t_free_port();
	expired_port = t_free_port();
	t_path(conf, sizeof(conf), "nginx.conf");
	snprintf(prefix, sizeof(prefix), "%s/", t_dir);
	t_mkdir("nginx-tmp", 0700);
	snprintf(text, sizeof(text),
		 "daemon off;\nmaster_process off;\nworker_processes 1;\n%s"
		 "error_log %s/nginx.err;\npid %s/nginx.pid;\n"
		 "events { worker_connections 64; }\n"
		 "http {\n access_log off;\n"
		 " client_body_temp_path %s/nginx-tmp; proxy_temp_path %s/nginx-tmp;\n"
		 " fastcgi_temp_path %s/nginx-tmp; uwsgi_temp_path %s/nginx-tmp; scgi_temp_path %s/nginx-tmp;\n"
		 " server { listen 127.0.0.1:%d ssl; root %s/www;\n"
		 "  ssl_certificate %s/server.pem; ssl_certificate_key %s/server.key;\n"
		 "  ssl_client_certificate %s/ca.pem; ssl_verify_client optional;\n"
		 "  location / { }\n"
		 "  location /client/ { if ($ssl_client_verify != SUCCESS) { return 403; } } }\n"
		 " server { listen 127.0.0.1:%d ssl; root %s/www;\n"
		 "  ssl_certificate %s/expired.pem; ssl_certificate_key %s/server.key; location / { } }\n}\n",
		 geteuid() == 0 ? "user root;\n" : "", t_dir, t_dir, t_dir, t_dir, t_dir, t_dir, t_dir,
		 good_port, t_dir, certs, certs, certs, expired_port, t_dir, certs, certs);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	{
		char *argv[] = { "/usr/sbin/nginx", "-p", prefix, "-c", conf, "-e", "stderr", NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 250 && !(t_port_open(good_port) && t_port_open(expired_port)); i++)
		usleep(20000);
	return t_port_open(good_port) && t_port_open(expired_port) ? pid : -1;
}

int main(void)
{
	char p[512], cmd[700];
	pid_t nginx = -1;
	bool made;

	if (!t_begin(300))
		return 1;
	t_mkdir("www", 0755);
	t_mkdir("www/client", 0755);
	t_path(p, sizeof(p), "www/f1");
	t_write_file(p, 300000, 1);
	t_path(p, sizeof(p), "www/f3");
	t_write_file(p, 3000, 3);
	t_path(p, sizeof(p), "www/client/f2");
	t_write_file(p, 200000, 2);
	t_path(certs, sizeof(certs), "certs");
	snprintf(cmd, sizeof(cmd), "%s/tests/agent/tls_certs.sh '%s'", KB_TOP, certs);
	made = system(cmd) == 0;
	chmod(certs, 0755);
	if (!check(made, "openssl made a CA, server, expired and client certificates in %s", certs))
		goto out;
	nginx = start_nginx_tls();
	if (!check(nginx > 0, "nginx with TLS on 127.0.0.1:%d (and an expired certificate on :%d)", good_port,
		   expired_port))
		goto out;
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), tls_setup, tls_teardown, 120);
out:
	t_kill(nginx);
	return t_end();
}
