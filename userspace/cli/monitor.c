// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Netlink verbs: monitor (live events, one line each, like `ip monitor`)
 * and accounts.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int nl_fail(int err, const char *doing)
{
	if (err == -ENOENT) {
		cli_error("kbits.ko is not loaded (no generic netlink family \"%s\")", KBITS_GENL_NAME);
		return EXIT_ERROR;
	}
	cli_error("%s: %s", doing, kbits_strerror(err));
	return EXIT_ERROR;
}

static void print_event(struct cli *c, const char *what, const struct kbits_event_msg *ev)
{
	const struct kbits_job_summary *s = &ev->job;
	char g[KBITS_GUID_STRLEN + 1], b1[32], b2[32], ts[32];
	struct timespec now;
	struct tm tm;

	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "event", what);
		json_summary(&j, s);
		if (ev->file_index != ~0u)
			json_u64(&j, "file_index", ev->file_index);
		json_end_obj(&j);
		json_done(&j);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	printf("[%s.%03ld] %-16s %s uid %u %s %s %s %s/%s files %u/%u", ts, now.tv_nsec / 1000000,
	       what, kbits_guid_format(&s->id, g), s->owner_uid, kbits_type_name(s->type),
	       kbits_priority_name(s->priority), fmt_state(c, s->state),
	       fmt_bytes(s->bytes_transferred, b1, sizeof(b1)),
	       fmt_bytes(s->bytes_total, b2, sizeof(b2)), s->files_transferred, s->files_total);
	if (ev->file_index != ~0u)
		printf(" file %u", ev->file_index);
	if (s->error_context)
		printf(" error %s %d (%u so far)", kbits_error_context_name(s->error_context),
		       s->error_code, s->error_count);
	printf("\n");
	fflush(stdout);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* After lost events: the state of every visible job, as "sync" lines. */
static int resync(struct cli *c, struct kbits_nl *nl, bool all, uid_t me)
{
	struct kbits_job_summary *jobs;
	size_t n;
	int err = kbits_job_dump(nl, &jobs, &n);

	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		struct kbits_event_msg ev = { .event = 0, .file_index = ~0u, .job = jobs[i] };

		if (all || jobs[i].owner_uid == me)
			print_event(c, "sync", &ev);
	}
	free(jobs);
	return 0;
}

int verb_monitor(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all-users", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct kbits_events *evs;
	struct kbits_nl *nl;
	bool all = false;
	uid_t me = getuid();
	int opt, err;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (opt == 'a')
			all = true;
		else
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	err = cli_nargs(c, argc, 0, 0);
	if (err)
		return err;
	err = kbits_events_open(&evs);
	if (err)
		return nl_fail(err, "monitor");
	err = kbits_nl_open(&nl);
	if (err) {
		kbits_events_close(evs);
		return nl_fail(err, "monitor");
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		struct pollfd pfd = { .fd = kbits_events_fd(evs), .events = POLLIN };
		struct kbits_event_msg ev;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		while (!stop && (err = kbits_events_read(evs, &ev)) > 0) {
			if (ev.event == KBITS_EVENT_LIB_RESYNC) {
				if (!c->json)
					printf("-- events were lost; current state follows --\n");
				err = resync(c, nl, all, me);
				if (err)
					break;
				continue;
			}
			/* The kernel sends a user their own jobs' events only; an
			 * administrator gets everybody's, shown when asked. */
			if (!all && ev.job.owner_uid != me)
				continue;
			print_event(c, kbits_event_name(ev.event), &ev);
		}
		if (err < 0)
			break;
		err = 0;
	}
	kbits_nl_close(nl);
	kbits_events_close(evs);
	return err < 0 ? nl_fail(err, "monitor") : EXIT_OK;
}

int verb_accounts(struct cli *c, int argc, char **argv)
{
	struct kbits_account *a;
	struct kbits_nl *nl;
	char u[64], b1[32], b2[32];
	size_t n;
	int opt, err;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1)
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	err = cli_nargs(c, argc, 0, 0);
	if (err)
		return err;
	err = kbits_nl_open(&nl);
	if (err)
		return nl_fail(err, "accounts");
	err = kbits_account_dump(nl, &a, &n);
	kbits_nl_close(nl);
	if (err)
		return nl_fail(err, "accounts");
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_arr(&j, NULL);
		for (size_t i = 0; i < n; i++) {
			json_obj(&j, NULL);
			json_u64(&j, "uid", a[i].uid);
			json_str(&j, "user", fmt_user(a[i].uid, u, sizeof(u)));
			json_u64(&j, "jobs", a[i].jobs);
			json_u64(&j, "files", a[i].files);
			json_u64(&j, "bytes_down", a[i].bytes_down);
			json_u64(&j, "bytes_up", a[i].bytes_up);
			json_u64(&j, "refusals", a[i].refusals);
			json_end_obj(&j);
		}
		json_end_arr(&j);
		json_done(&j);
	} else {
		printf("%-12s %6s %6s %12s %12s %9s\n", "USER", "JOBS", "FILES", "DOWN", "UP",
		       "REFUSALS");
		for (size_t i = 0; i < n; i++)
			printf("%-12s %6u %6u %12s %12s %9llu\n", fmt_user(a[i].uid, u, sizeof(u)),
			       a[i].jobs, a[i].files, fmt_bytes(a[i].bytes_down, b1, sizeof(b1)),
			       fmt_bytes(a[i].bytes_up, b2, sizeof(b2)),
			       (unsigned long long)a[i].refusals);
	}
	free(a);
	return EXIT_OK;
}
