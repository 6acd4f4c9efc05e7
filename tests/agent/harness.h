/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small TAP harness for kbitsd's host tests: checks, a scratch directory,
 * loopback servers (nginx, the fault server) started as children that die
 * with the test (PR_SET_PDEATHSIG), sha256 of files.
 */
#ifndef KBITSD_TEST_HARNESS_H
#define KBITSD_TEST_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "log.h"

#include <dirent.h>
#include <sys/mman.h>

/*
 * The counts of checks. Cases run in child processes (t_run_cases), so the
 * counts live in a shared page once t_begin has run: a case that crashes
 * still leaves its numbered lines counted.
 */
struct t_counts {
	int n, failed;
};

static struct t_counts t_counts_early, *t_counts = &t_counts_early;
#define t_n	(t_counts->n)
#define t_failed (t_counts->failed)

static inline bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	t_n++;
	printf("%sok %d - ", ok ? "" : "not ", t_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		t_failed++;
	return ok;
}

static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline double t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char t_dir[256];		/* the current case's scratch directory */
static char t_top[256];		/* the program's: servers' roots and logs */

/*
 * The start of every test program: the TAP header, a bound on the whole
 * run (alarm), kbitsd's log level from KBITSD_TEST_VERBOSE, and a fresh
 * scratch directory t_dir (mode 0755: the owner-credential tests run as
 * other users inside it). False (and a failed check) when there is none.
 */
static inline bool t_begin(unsigned int bound_s)
{
	void *shared = mmap(NULL, sizeof(*t_counts), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	printf("TAP version 13\n");
	fflush(stdout);
	alarm(bound_s);
	if (getenv("KBITSD_TEST_VERBOSE"))
		kb_log_level = atoi(getenv("KBITSD_TEST_VERBOSE"));
	if (shared == MAP_FAILED)
		return check(false, "mmap of the shared counts: %s", strerror(errno));
	t_counts = shared;
	snprintf(t_dir, sizeof(t_dir), "/tmp/kbitsd-test.XXXXXX");
	if (!mkdtemp(t_dir))
		return check(false, "mkdtemp %s: %s", t_dir, strerror(errno));
	chmod(t_dir, 0755);
	memcpy(t_top, t_dir, sizeof(t_top));
	return true;
}

static inline void t_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", t_dir, name);
}

static inline void t_mkdir(const char *name, mode_t mode)
{
	char p[512];

	t_path(p, sizeof(p), name);
	mkdir(p, mode);
	chmod(p, mode);
}

/*
 * Independent cases, as the kselftests have: each case is a sentence (what
 * must hold) and a function, run in a child process of its own with a
 * scratch directory of its own, t_top/case-NN, so that its failure, crash
 * or hang costs that case only. The case's directory links every entry of
 * t_top (the servers' roots and logs, made before the cases); setup (may be
 * NULL) makes what the case owns (an engine, its directories) and returns
 * false when it cannot, teardown (may be NULL) frees it. A case that does
 * not end by itself within bound_s seconds, or ends by a signal or a non-zero
 * status, is a failed check of its own.
 */
struct t_case {
	const char *name;
	void (*run)(void);
};

static inline void t_link_shared(void)
{
	DIR *d = opendir(t_top);
	struct dirent *e;
	char from[600], to[600];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "case-", 5))
			continue;
		snprintf(from, sizeof(from), "%s/%s", t_top, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", t_dir, e->d_name);
		if (symlink(from, to))
			diag("symlink %s: %s", to, strerror(errno));
	}
	closedir(d);
}

static inline void t_run_cases(const struct t_case *cases, size_t nr, bool (*setup)(void),
			       void (*teardown)(void), unsigned int bound_s)
{
	for (size_t i = 0; i < nr; i++) {
		const struct t_case *c = &cases[i];
		int before = t_failed, status = 0;
		pid_t pid;

		snprintf(t_dir, sizeof(t_dir), "%s/case-%02zu", t_top, i + 1);
		if (mkdir(t_dir, 0755) && errno != EEXIST) {
			check(false, "%s: its scratch directory %s: %s", c->name, t_dir, strerror(errno));
			continue;
		}
		chmod(t_dir, 0755);
		t_link_shared();
		diag("case %zu/%zu: %s", i + 1, nr, c->name);
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			alarm(bound_s);
			if (setup && !setup()) {
				check(false, "%s: its fixture could not be made", c->name);
				exit(1);
			}
			c->run();
			if (teardown)
				teardown();
			fflush(stdout);
			exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			check(false, "%s: fork: %s", c->name, strerror(errno));
			continue;
		}
		if (WIFSIGNALED(status))
			check(false, "%s: the case died of signal %d%s", c->name, WTERMSIG(status),
			      WTERMSIG(status) == SIGALRM ? " (it ran out of its time)" : "");
		else if (WEXITSTATUS(status) && t_failed == before)
			check(false, "%s: the case exited with status %d", c->name, WEXITSTATUS(status));
		diag("case %zu/%zu: %s", i + 1, nr, t_failed == before ? "passed" : "FAILED");
	}
	snprintf(t_dir, sizeof(t_dir), "%s", t_top);
}

/* Writes size bytes of a deterministic pseudo-random sequence. */
static inline int t_write_file(const char *path, uint64_t size, uint32_t seed)
{
	static uint8_t buf[1 << 16];
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1, done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -errno;
	while (done < size) {
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);

		for (size_t i = 0; i < n; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
		}
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -EIO;
		}
		done += n;
	}
	close(fd);
	return 0;
}

/* sha256 of a file as hex, "" when it cannot be read. */
static inline void t_sha256(const char *path, char out[65])
{
	static uint8_t buf[1 << 16];
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_NOFOLLOW);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0 || !ctx) {
		if (fd >= 0)
			close(fd);
		EVP_MD_CTX_free(ctx);
		return;
	}
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	close(fd);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* A loopback port nobody listens on right now. */
static inline int t_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static inline bool t_port_open(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static inline pid_t t_spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0);
		dup2(null, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static inline void t_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* nginx serving t_dir/www on 127.0.0.1:*port. */
static inline pid_t t_start_nginx(int *port)
{
	char conf[512], prefix[300], text[4096];
	pid_t pid;
	FILE *f;

	*port = t_free_port();
	t_path(conf, sizeof(conf), "nginx.conf");
	snprintf(prefix, sizeof(prefix), "%s/", t_dir);
	t_mkdir("nginx-tmp", 0700);
	snprintf(text, sizeof(text),
		 "daemon off;\nmaster_process off;\nworker_processes 1;\n%s"
		 "error_log %s/nginx.err;\npid %s/nginx.pid;\n"
		 "events { worker_connections 64; }\n"
		 "http {\n access_log off;\n sendfile on;\n"
		 " client_body_temp_path %s/nginx-tmp; proxy_temp_path %s/nginx-tmp;\n"
		 " fastcgi_temp_path %s/nginx-tmp; uwsgi_temp_path %s/nginx-tmp; scgi_temp_path %s/nginx-tmp;\n"
		 " server { listen 127.0.0.1:%d; root %s/www; location / { }\n"
		 "  location /slow/ { alias %s/www/; limit_rate 32m; }\n"
		 /* Basic auth (t_dir/htpasswd, written by the test that needs it) */
		 "  location /auth/ { auth_basic kbits; auth_basic_user_file %s/htpasswd; } }\n}\n",
		 geteuid() == 0 ? "user root;\n" : "", t_dir, t_dir, t_dir, t_dir, t_dir, t_dir, t_dir,
		 *port, t_dir, t_dir, t_dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	{
		char *argv[] = { "/usr/sbin/nginx", "-p", prefix, "-c", conf, "-e", "stderr", NULL };

		pid = t_spawn(argv);
	}
	for (int i = 0; i < 250 && !t_port_open(*port); i++)
		usleep(20000);
	return t_port_open(*port) ? pid : -1;
}

/*
 * The fault server on 127.0.0.1:*port, logging to t_dir/NAME.log; over TLS
 * when cert (PEM, the key in the same file) is given.
 */
static inline pid_t t_start_fault_as(int *port, const char *name, const char *cert)
{
	char pf[512], log[512], root[512], tmp[128];
	pid_t pid;

	snprintf(tmp, sizeof(tmp), "%s.port", name);
	t_path(pf, sizeof(pf), tmp);
	snprintf(tmp, sizeof(tmp), "%s.log", name);
	t_path(log, sizeof(log), tmp);
	t_path(root, sizeof(root), "www");
	unlink(pf);
	{
		char *argv[] = { "/usr/bin/python3", KB_TOP "/tests/servers/faultserver.py", "--root", root,
				 "--log", log, "--port-file", pf, cert ? "--cert" : NULL, (char *)cert,
				 "--key", (char *)cert, NULL };

		pid = t_spawn(argv);
	}
	*port = -1;
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(pf, "r");

		if (f) {
			if (fscanf(f, "%d", port) != 1)
				*port = -1;
			fclose(f);
			if (*port > 0 && t_port_open(*port))
				return pid;
		}
		usleep(20000);
	}
	return -1;
}

/* The fault server on 127.0.0.1:*port, logging to t_dir/fault.log. */
static inline pid_t t_start_fault(int *port)
{
	return t_start_fault_as(port, "fault", NULL);
}

/* The fault server's log lines for one name, joined with '|'. A line is
 * written when the server is done with a request, which can be after the
 * client has its last byte: wait (bounded) for at least min_lines. */
static inline void t_fault_log_n(const char *name, int min_lines, char *out, size_t len)
{
	char p[512], line[1024];
	size_t nl = strlen(name);

	/* The server's log, made when it started: the program's, not the case's. */
	snprintf(p, sizeof(p), "%s/fault.log", t_top);
	for (int tries = 0; tries < 150; tries++) {
		FILE *f = fopen(p, "r");
		int n = 0;

		out[0] = '\0';
		if (f) {
			while (fgets(line, sizeof(line), f)) {
				if (strncmp(line, name, nl) || line[nl] != ' ')
					continue;
				line[strcspn(line, "\n")] = '\0';
				if (out[0])
					strncat(out, "|", len - strlen(out) - 1);
				strncat(out, line, len - strlen(out) - 1);
				n++;
			}
			fclose(f);
		}
		if (n >= min_lines)
			return;
		usleep(20000);
	}
}

#define t_fault_log(name, out, len) t_fault_log_n(name, 2, out, len)

static inline void t_rm_rf(const char *dir)
{
	char cmd[600];

	if (strncmp(dir, "/tmp/kbitsd-test.", 17))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
}

/* The end of every test program: the TAP plan, the scratch directory
 * removed (kept, and named, when a check failed), the exit status. */
static inline int t_end(void)
{
	if (!t_failed)
		t_rm_rf(t_top);
	else
		diag("kept %s", t_top);
	printf("1..%d\n", t_n);
	return t_failed ? 1 : 0;
}

#endif
