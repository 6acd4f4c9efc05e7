// SPDX-License-Identifier: GPL-2.0
/*
 * The notify command line (notify_cmd.c): splitting rules, the flags, the
 * owner's identity (uid, gid, groups) in the command, the job id in its
 * arguments and environment, the time bound (process group killed), the
 * reaping through the loop, and the hook from an engine's state change.
 */
#include "harness.h"

#include "engine.h"
#include "loop.h"
#include "log.h"
#include "notify_cmd.h"

static struct kb_loop *loop;
static struct kb_ncmd *ncmd;
static int ndone, last_status;

static void on_done(void *arg, const uint8_t id[16], int status)
{
	(void)arg;
	(void)id;
	ndone++;
	last_status = status;
}

static bool wait_done(int want, double secs)
{
	double end = t_now() + secs;

	while (ndone < want && t_now() < end)
		kb_loop_run_once(loop, 20000000ull);
	return ndone >= want;
}

static void test_split(void)
{
	static const char *id = "01020304-0000-0000-0000-000000000000";
	char **argv = NULL;
	int n;

	n = kb_ncmd_split("/bin/echo a \"b c\" 'd e' f\\ g %i 100%% \"x\\\"y\\\\\" '%i' \"[%i]\"", id, &argv);
	check(n == 10 && !strcmp(argv[0], "/bin/echo") && !strcmp(argv[1], "a") && !strcmp(argv[2], "b c") &&
	      !strcmp(argv[3], "d e") && !strcmp(argv[4], "f g") && !strcmp(argv[5], id) &&
	      !strcmp(argv[6], "100%") && !strcmp(argv[7], "x\"y\\") && !strcmp(argv[8], "%i") &&
	      !strcmp(argv[9], "[01020304-0000-0000-0000-000000000000]") && !argv[10],
	      "split: blanks, \"...\", '...', backslash, %%i, %%%% (%d arguments)", n);
	free(argv);
	n = kb_ncmd_split("  /bin/true  ", id, &argv);
	check(n == 1 && !strcmp(argv[0], "/bin/true"), "split: surrounding blanks");
	free(argv);
	check(kb_ncmd_split("/bin/echo \"open", id, &argv) == -EINVAL && !argv, "split: unterminated \" refused");
	check(kb_ncmd_split("/bin/echo 'open", id, &argv) == -EINVAL, "split: unterminated ' refused");
	check(kb_ncmd_split("/bin/echo a\\", id, &argv) == -EINVAL, "split: trailing backslash refused");
	check(kb_ncmd_split("echo relative", id, &argv) == -EINVAL, "split: a program without an absolute path refused");
	check(kb_ncmd_split("   ", id, &argv) == -EINVAL, "split: an empty command line refused");
	{
		char big[1024] = "/bin/echo";

		for (int i = 0; i < 64; i++)
			strcat(big, " x");
		check(kb_ncmd_split(big, id, &argv) == -E2BIG, "split: more than 64 arguments refused");
	}
}

static struct kb_job *njob(uint32_t flags, const char *cmd, uint32_t uid, uint32_t gid)
{
	struct kb_job *job = kb_job_new(0);

	for (int i = 0; i < 16; i++)
		job->id[i] = (uint8_t)(0xa0 + i);
	job->owner_uid = uid;
	job->owner_gid = gid;
	job->type = KBITS_JOB_DOWNLOAD;
	job->notify_flags = flags;
	kb_strset(&job->strings[KBITS_STR_NOTIFY_CMDLINE], cmd);
	return job;
}

static void read_file(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = '\0';
		fclose(f);
	}
	out[strcspn(out, "\n")] = '\0';
}

static void test_owner_and_id(void)
{
	char out[512], cmd[1024], want[512], gid[37];
	struct kb_job *job;
	int r;

	t_path(out, sizeof(out), "notify/out");
	snprintf(cmd, sizeof(cmd),
		 "/bin/sh -c 'echo \"$KBITS_JOB_ID $KBITS_JOB_STATE $(id -u) $(id -g) $(id -G) $1 $USER\" > \"$2\"' sh %%i %s",
		 out);
	job = njob(KBITS_NOTIFY_JOB_TRANSFERRED | KBITS_NOTIFY_JOB_ERROR, cmd, 65534, 65534);
	kb_guid_str(job->id, gid);
	r = kb_ncmd_on_state(ncmd, job, KBITS_STATE_TRANSFERRED);
	check(r == 1 && wait_done(1, 10) && WIFEXITED(last_status) && WEXITSTATUS(last_status) == 0,
	      "TRANSFERRED with the TRANSFERRED flag: the command ran and was reaped (exit %d)",
	      WEXITSTATUS(last_status));
	read_file(out, want, sizeof(want));
	{
		char expect[512];

		snprintf(expect, sizeof(expect), "%s TRANSFERRED 65534 65534 65534 %s nobody", gid, gid);
		check(!strcmp(want, expect),
		      "as the owner (uid, gid, only its groups), job id in the environment and as %%i: '%s'", want);
	}
	unlink(out);
	check(kb_ncmd_on_state(ncmd, job, KBITS_STATE_ERROR) == 1 && wait_done(2, 10), "ERROR with the ERROR flag: runs");
	read_file(out, want, sizeof(want));
	check(strstr(want, " ERROR ") != NULL, "KBITS_JOB_STATE=ERROR ('%s')", want);
	check(kb_ncmd_on_state(ncmd, job, KBITS_STATE_QUEUED) == 0 &&
	      kb_ncmd_on_state(ncmd, job, KBITS_STATE_TRANSIENT_ERROR) == 0, "other states run nothing");
	kb_job_put(job);

	job = njob(KBITS_NOTIFY_JOB_ERROR, "/bin/true", 65534, 65534);
	check(kb_ncmd_on_state(ncmd, job, KBITS_STATE_TRANSFERRED) == 0, "TRANSFERRED without its flag: nothing");
	kb_job_put(job);
	job = njob(KBITS_NOTIFY_JOB_TRANSFERRED | KBITS_NOTIFY_DISABLE, "/bin/true", 65534, 65534);
	check(kb_ncmd_on_state(ncmd, job, KBITS_STATE_TRANSFERRED) == 0, "DISABLE: nothing");
	kb_job_put(job);
	job = njob(KBITS_NOTIFY_JOB_TRANSFERRED, "true", 65534, 65534);
	check(kb_ncmd_on_state(ncmd, job, KBITS_STATE_TRANSFERRED) == -EINVAL && kb_ncmd_running(ncmd) == 0,
	      "a relative program is refused (no PATH search, no shell)");
	kb_job_put(job);
}

static void test_timeout(void)
{
	struct kb_ncmd *n = kb_ncmd_new(loop, 1);
	char pidfile[512], cmd[1024], buf[64], st[600];
	struct kb_job *job;
	double t0;
	int before = ndone, gpid;
	bool gone = false, ok;

	kb_ncmd_set_done(n, on_done, NULL);
	t_path(pidfile, sizeof(pidfile), "notify/grandchild");
	snprintf(cmd, sizeof(cmd), "/bin/sh -c 'sleep 61 & echo $! > %s; wait'", pidfile);
	job = njob(KBITS_NOTIFY_JOB_TRANSFERRED, cmd, 65534, 65534);
	t0 = t_now();
	ok = kb_ncmd_on_state(n, job, KBITS_STATE_TRANSFERRED) == 1 && wait_done(before + 1, 10);
	t0 = t_now() - t0;
	check(ok && t0 > 0.9 && t0 < 3, "a command that hangs ends (%.2f s with a 1 s bound)", t0);
	check(WIFSIGNALED(last_status) && WTERMSIG(last_status) == SIGKILL && kb_ncmd_running(n) == 0,
	      "killed with SIGKILL and reaped through the loop");
	read_file(pidfile, buf, sizeof(buf));
	gpid = atoi(buf);
	for (int i = 0; i < 100 && gpid > 0 && !gone; i++) {
		snprintf(st, sizeof(st), "/proc/%d/stat", gpid);
		read_file(st, st, sizeof(st));
		gone = !st[0] || strstr(st, ") Z ") != NULL;
		if (!gone)
			usleep(20000);
	}
	check(gpid > 0 && gone, "its process group went with it (grandchild %d)", gpid);
	kb_job_put(job);
	kb_ncmd_free(n);
}

/* kbitsd's state handler calls kb_ncmd_on_state: the same from an engine. */
static struct kb_ncmd *eng_ncmd;

static void e_state(void *ctx, const struct kb_job *job, uint32_t state)
{
	(void)ctx;
	kb_ncmd_on_state(eng_ncmd, job, state);
}

static void test_engine_hook(void)
{
	static const struct kb_engine_ops ops = { .state = e_state };
	struct kb_engine *e = kb_engine_new(loop, NULL, &ops, NULL);
	char p[512], url[256], mark[512], cmd[1200], got[128];
	struct kb_job *job = kb_job_new(1);
	int port, before = ndone;
	pid_t nginx = t_start_nginx(&port);

	eng_ncmd = ncmd;
	job->id[0] = 0x77;
	job->owner_uid = getuid();
	job->owner_gid = getgid();
	job->type = KBITS_JOB_DOWNLOAD;
	job->no_progress_timeout = 600;
	job->notify_flags = KBITS_NOTIFY_JOB_TRANSFERRED | KBITS_NOTIFY_JOB_ERROR;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/f", port);
	t_path(p, sizeof(p), "dl/f");
	t_path(mark, sizeof(mark), "notify/engine");
	snprintf(cmd, sizeof(cmd), "/bin/sh -c 'echo \"$KBITS_JOB_STATE\" > %s'", mark);
	kb_strset(&job->files[0].url, url);
	kb_strset(&job->files[0].path, p);
	kb_strset(&job->strings[KBITS_STR_NOTIFY_CMDLINE], cmd);
	kb_engine_run(e, job);
	wait_done(before + 1, 20);
	read_file(mark, got, sizeof(got));
	check(nginx > 0 && !strcmp(got, "TRANSFERRED"), "engine: a job reaching TRANSFERRED runs its command ('%s')", got);
	kb_engine_free(e);
	kb_job_put(job);
	t_kill(nginx);
}

/* Each case's own loop, command runner and directories. */
static bool notify_setup(void)
{
	t_mkdir("dl", 0755);
	t_mkdir("notify", 0777);
	loop = kb_loop_new(64);
	ncmd = loop ? kb_ncmd_new(loop, 30) : NULL;
	if (ncmd)
		kb_ncmd_set_done(ncmd, on_done, NULL);
	return check(loop && ncmd, "notify: a loop and a command runner of the case's own");
}

static void notify_teardown(void)
{
	kb_ncmd_free(ncmd);
	kb_loop_free(loop);
}

static void test_owner_and_id_as_root(void)
{
	if (geteuid() == 0)
		test_owner_and_id();
	else
		check(false, "the owner tests need root (setuid)");
}

static const struct t_case cases[] = {
	{ "a notify command line splits as the BITS rules say, and bad ones are refused",
	  test_split },
	{ "the command runs as the job's owner with the job's id, for the states its flags name",
	  test_owner_and_id_as_root },
	{ "a command that hangs is ended at its time bound", test_timeout },
	{ "the engine runs a job's command when the job reaches TRANSFERRED", test_engine_hook },
};

int main(void)
{
	char p[512];

	if (!t_begin(120))
		return 1;
	t_mkdir("www", 0755);
	t_path(p, sizeof(p), "www/f");
	t_write_file(p, 100000, 3);
	t_run_cases(cases, sizeof(cases) / sizeof(cases[0]), notify_setup, notify_teardown, 60);
	return t_end();
}
