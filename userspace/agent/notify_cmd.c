// SPDX-License-Identifier: GPL-2.0
/*
 * The notify command line: see notify_cmd.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "owner.h"
#include "log.h"
#include "notify_cmd.h"

struct child {
	struct kb_op op;		/* the pidfd's poll */
	struct kb_timer timer;		/* the time bound */
	struct kb_ncmd *n;
	struct child *next;
	pid_t pid;
	int pidfd;
	bool killed;
	uint8_t id[16];
};

struct kb_ncmd {
	struct kb_loop *loop;
	unsigned int timeout_s;
	struct child *children;
	unsigned int running;
	kb_ncmd_done_cb done;
	void *done_arg;
};

/* ---- splitting ------------------------------------------------------------ */

int kb_ncmd_split(const char *cmdline, const char *job_id, char ***argvp)
{
	size_t len = strlen(cmdline), idlen = job_id ? strlen(job_id) : 0, cap;
	char **argv, *o;
	const char *p = cmdline;
	int argc = 0;

	*argvp = NULL;
	if (len > 65536)
		return -E2BIG;
	/* every %i may grow to the id: bound the text once */
	cap = len + 1 + (len / 2 + 1) * (idlen + 1) + KB_NCMD_MAX_ARGS;
	argv = malloc((KB_NCMD_MAX_ARGS + 1) * sizeof(char *) + cap);
	if (!argv)
		return -ENOMEM;
	o = (char *)(argv + KB_NCMD_MAX_ARGS + 1);
	for (;;) {

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (argc == KB_NCMD_MAX_ARGS) {
			free(argv);
			return -E2BIG;
		}
		argv[argc++] = o;
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
			if (*p == '\'') {
				const char *q = strchr(p + 1, '\'');

				if (!q)
					goto bad;
				memcpy(o, p + 1, (size_t)(q - p - 1));
				o += q - p - 1;
				p = q + 1;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					else if (*p == '%' && p[1] == 'i' && job_id) {
						memcpy(o, job_id, idlen);
						o += idlen;
						p++;
						continue;
					} else if (*p == '%' && p[1] == '%') {
						p++;
					}
					*o++ = *p;
				}
				if (*p != '"')
					goto bad;
				p++;
			} else if (*p == '\\') {
				if (!p[1])
					goto bad;
				*o++ = p[1];
				p += 2;
			} else if (*p == '%' && p[1] == 'i' && job_id) {
				memcpy(o, job_id, idlen);
				o += idlen;
				p += 2;
			} else if (*p == '%' && p[1] == '%') {
				*o++ = '%';
				p += 2;
			} else {
				*o++ = *p++;
			}
		}
		*o++ = '\0';
	}
	argv[argc] = NULL;
	if (!argc || argv[0][0] != '/') {
		free(argv);
		return -EINVAL;
	}
	*argvp = argv;
	return argc;
bad:
	free(argv);
	return -EINVAL;
}

/* ---- children ---------------------------------------------------------------- */

static void child_reap(struct child *c)
{
	struct kb_ncmd *n = c->n;
	siginfo_t si;
	int status = 0;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == c->pid) {
		if (si.si_code == CLD_EXITED)
			status = (si.si_status & 0xff) << 8;
		else
			status = si.si_status & 0x7f;
	}
	kb_timer_cancel(n->loop, &c->timer);
	close(c->pidfd);
	for (struct child **pp = &n->children; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	n->running--;
	kb_info("notify command of a job ended (%s %d)", WIFSIGNALED(status) ? "signal" : "status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (n->done)
		n->done(n->done_arg, c->id, status);
	free(c);
}

static void child_exited(struct kb_op *op, int res)
{
	struct child *c = (struct child *)op;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (res < 0 && res != -ECANCELED) {
		kb_loop_poll(c->n->loop, &c->op, c->pidfd, POLLIN);
		return;
	}
	/* a pidfd is readable once the process exited: reap it without waiting */
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid) {
		child_reap(c);
		return;
	}
	kb_loop_poll(c->n->loop, &c->op, c->pidfd, POLLIN);
}

static void child_timeout(struct kb_timer *t)
{
	struct child *c = (struct child *)((char *)t - offsetof(struct child, timer));

	kb_info("notify command of a job ran for %u s: killed", c->n->timeout_s);
	c->killed = true;
	kill(-c->pid, SIGKILL);		/* its process group: it has its own session */
	syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

/* In the child: become the owner, exec. Only async-signal-safe calls
 * after the fork but for what was prepared before it. */
static void __attribute__((noreturn)) child_exec(const struct kb_owner *o, char **argv, char **envp)
{
	sigset_t all;
	int null;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	setsid();
	null = open("/dev/null", O_RDWR);
	if (null < 0)
		_exit(126);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	syscall(SYS_close_range, 3u, ~0u, 0u);
	if (syscall(SYS_setgroups, (size_t)o->ngroups, o->groups) < 0 || setgid(o->gid) < 0 ||
	    setuid(o->uid) < 0)
		_exit(126);
	if (o->uid != 0 && (setuid(0) == 0 || geteuid() != o->uid || getegid() != o->gid))
		_exit(126);		/* root must be gone for good */
	if (chdir("/") < 0)
		_exit(126);
	execve(argv[0], argv, envp);
	_exit(127);
}

static int spawn(struct kb_ncmd *n, const struct kb_job *job, const char *state_name)
{
	char gid[37], *envv[8], envbuf[6][600], pwbuf[4096], **argv = NULL;
	struct passwd pw, *res = NULL;
	struct kb_owner owner;
	struct child *c;
	int argc, ne = 0, pidfd;
	pid_t pid;

	kb_guid_str(job->id, gid);
	argc = kb_ncmd_split(job->strings[KBITS_STR_NOTIFY_CMDLINE], gid, &argv);
	if (argc < 0) {
		kb_err("notify command line of job %s not run: %s", gid,
		       argc == -EINVAL ? "not an absolute program path, or bad quoting" : strerror(-argc));
		return argc;
	}
	kb_owner_init(&owner, job->owner_uid, job->owner_gid);
	snprintf(envbuf[ne], sizeof(envbuf[ne]), "PATH=/usr/local/bin:/usr/bin:/bin");
	envv[ne] = envbuf[ne];
	ne++;
	snprintf(envbuf[ne], sizeof(envbuf[ne]), "KBITS_JOB_ID=%s", gid);
	envv[ne] = envbuf[ne];
	ne++;
	snprintf(envbuf[ne], sizeof(envbuf[ne]), "KBITS_JOB_STATE=%s", state_name);
	envv[ne] = envbuf[ne];
	ne++;
	if (getpwuid_r(job->owner_uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res) {
		snprintf(envbuf[ne], sizeof(envbuf[ne]), "HOME=%.500s", pw.pw_dir);
		envv[ne] = envbuf[ne];
		ne++;
		snprintf(envbuf[ne], sizeof(envbuf[ne]), "USER=%.200s", pw.pw_name);
		envv[ne] = envbuf[ne];
		ne++;
		snprintf(envbuf[ne], sizeof(envbuf[ne]), "LOGNAME=%.200s", pw.pw_name);
		envv[ne] = envbuf[ne];
		ne++;
	}
	envv[ne] = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		free(argv);
		return -ENOMEM;
	}
	pid = fork();
	if (pid == 0)
		child_exec(&owner, argv, envv);
	free(argv);
	if (pid < 0) {
		int err = -errno;

		free(c);
		kb_err("notify command of job %s: fork: %s", gid, strerror(-err));
		return err;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		/* cannot watch it: do not leave it unbounded */
		int err = -errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(c);
		kb_err("notify command of job %s: pidfd_open: %s", gid, strerror(-err));
		return err;
	}
	c->n = n;
	c->pid = pid;
	c->pidfd = pidfd;
	memcpy(c->id, job->id, 16);
	c->op.cb = child_exited;
	c->timer.cb = child_timeout;
	c->next = n->children;
	n->children = c;
	n->running++;
	kb_loop_poll(n->loop, &c->op, pidfd, POLLIN);
	kb_timer_arm_in(n->loop, &c->timer, (uint64_t)n->timeout_s * 1000000000ull);
	kb_info("job %s is %s: notify command started as uid %u", gid, state_name, job->owner_uid);
	return 1;
}

int kb_ncmd_on_state(struct kb_ncmd *n, const struct kb_job *job, uint32_t state)
{
	const char *cmd = job->strings[KBITS_STR_NOTIFY_CMDLINE];
	uint32_t f = job->notify_flags;

	if (!n || !cmd || !cmd[0] || (f & KBITS_NOTIFY_DISABLE))
		return 0;
	if (state == KBITS_STATE_TRANSFERRED && (f & KBITS_NOTIFY_JOB_TRANSFERRED))
		return spawn(n, job, "TRANSFERRED");
	if (state == KBITS_STATE_ERROR && (f & KBITS_NOTIFY_JOB_ERROR))
		return spawn(n, job, "ERROR");
	return 0;
}

/* ---- the manager -------------------------------------------------------------- */

struct kb_ncmd *kb_ncmd_new(struct kb_loop *loop, unsigned int timeout_s)
{
	struct kb_ncmd *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->loop = loop;
	n->timeout_s = timeout_s ? timeout_s : KB_NCMD_TIMEOUT_S;
	return n;
}

void kb_ncmd_set_done(struct kb_ncmd *n, kb_ncmd_done_cb cb, void *arg)
{
	n->done = cb;
	n->done_arg = arg;
}

unsigned int kb_ncmd_running(const struct kb_ncmd *n)
{
	return n ? n->running : 0;
}

void kb_ncmd_free(struct kb_ncmd *n)
{
	if (!n)
		return;
	for (struct child *c = n->children; c; c = c->next) {
		kill(-c->pid, SIGKILL);
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	}
	/* the polls complete once the processes are gone: bounded */
	for (int i = 0; i < 200 && n->children; i++)
		kb_loop_run_once(n->loop, 10000000ull);
	while (n->children) {
		struct child *c = n->children;

		/* not reaped through the loop in time: the poll may still be
		 * armed, so the entry is leaked rather than freed under it */
		n->children = c->next;
		waitpid(c->pid, NULL, 0);
		kb_timer_cancel(n->loop, &c->timer);
	}
	free(n);
}
