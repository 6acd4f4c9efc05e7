// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * transfer: the whole BITS life cycle in one command. Create a job, add the
 * files, resume, wait (events wake us; a timer polls in case events are
 * lost or unavailable), complete on success; on a fatal ERROR report and
 * cancel; transient errors are waited through. Ctrl-C suspends the job and
 * says how to resume it.
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* How often the job is looked at even without an event (ms). */
#define POLL_MS 500
#define BAR_WIDTH 30

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct view {
	bool tty;
	uint32_t state;
	int decile;
	uint32_t files;
	uint32_t errors;
	bool drawn;
};

static void draw(struct cli *c, struct view *v, const struct kbits_job_info *i)
{
	char b1[32], b2[32], pc[16];
	int pct = -1;

	if (c->json)
		return;
	if (i->bytes_total != KBITS_UNKNOWN && i->bytes_total)
		pct = (int)(i->bytes_transferred * 100 / i->bytes_total);
	fmt_bytes(i->bytes_transferred, b1, sizeof(b1));
	fmt_bytes(i->bytes_total, b2, sizeof(b2));
	fmt_percent(i->bytes_transferred, i->bytes_total, pc, sizeof(pc));
	if (v->tty) {
		char bar[BAR_WIDTH + 1];
		int fill = pct < 0 ? 0 : pct * BAR_WIDTH / 100;

		for (int k = 0; k < BAR_WIDTH; k++)
			bar[k] = k < fill ? '=' : (k == fill && pct >= 0 ? '>' : ' ');
		bar[BAR_WIDTH] = '\0';
		printf("\r[%s] %4s  %s / %s  files %u/%u  %s\033[K", bar, pc, b1, b2,
		       i->files_transferred, i->files_total, fmt_state(c, i->state));
		fflush(stdout);
		v->drawn = true;
		return;
	}
	/* Plain lines: on a change of state, of file count, or every 10%. */
	if (v->drawn && i->state == v->state && pct / 10 == v->decile &&
	    i->files_transferred == v->files)
		return;
	printf("%s %s / %s (%s) files %u/%u\n", kbits_state_name(i->state), b1, b2, pc,
	       i->files_transferred, i->files_total);
	fflush(stdout);
	v->drawn = true;
	v->state = i->state;
	v->decile = pct / 10;
	v->files = i->files_transferred;
}

/* End the progress bar's line before printing anything else. */
static void newline(struct view *v)
{
	if (v->tty && v->drawn) {
		printf("\n");
		v->drawn = false;
	}
}

static void report_error(struct cli *c, const struct kbits_guid *id, const char *what)
{
	struct kbits_job_error e;

	if (kbits_job_get_error(c->k, id, &e)) {
		cli_error("%s", what);
		return;
	}
	cli_error("%s: %s, code %d%s%s", what, kbits_error_context_name(e.context), e.code,
		  e.description[0] ? ": " : "", e.description);
	kbits_job_error_free(&e);
}

static int finish_json(struct cli *c, const struct kbits_guid *id, const char *result,
		       const struct kbits_outcome *o, int ret)
{
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_guid(&j, "id", id);
		json_str(&j, "result", result);
		if (o) {
			json_u64(&j, "files_done", o->files_done);
			json_i64(&j, "error", o->error);
		}
		json_end_obj(&j);
		json_done(&j);
	}
	return ret;
}

static int complete(struct cli *c, const struct kbits_guid *id, struct view *v)
{
	struct kbits_outcome o;
	int ret = kbits_job_complete(c->k, id, &o);

	newline(v);
	if (ret < 0)
		return cli_fail(c, ret, NULL, "complete");
	if (o.result == KBITS_COMPLETE_ALL) {
		if (!c->json)
			printf("done: %u file%s in place\n", o.files_done, o.files_done == 1 ? "" : "s");
		return finish_json(c, id, "complete", &o, EXIT_OK);
	}
	cli_error("completed %s: %u file%s in place; first failure: %s",
		  o.result == KBITS_COMPLETE_PARTIAL ? "partially" : "with no file", o.files_done,
		  o.files_done == 1 ? "" : "s", strerror(-o.error));
	return finish_json(c, id, o.result == KBITS_COMPLETE_PARTIAL ? "partial" : "failed", &o,
			   EXIT_JOB);
}

/* The loop: look at the job, react, sleep until an event or the timer. */
static int wait_job(struct cli *c, const struct kbits_guid *id, struct kbits_events *evs)
{
	char g[KBITS_GUID_STRLEN + 1];
	struct view v = { .tty = isatty(STDOUT_FILENO), .decile = -1 };

	kbits_guid_format(id, g);
	for (;;) {
		struct kbits_event_msg ev;
		struct kbits_job_info i;
		int err;

		if (interrupted) {
			newline(&v);
			err = kbits_job_suspend(c->k, id);
			if (err)
				cli_fail(c, err, g, "suspend");
			else
				fprintf(stderr, "interrupted: job %s is suspended; resume it with:\n"
					"  kbitsctl resume %s\n", g, g);
			return finish_json(c, id, "interrupted", NULL, EXIT_INTERRUPTED);
		}
		err = kbits_job_get_info(c->k, id, &i);
		if (err) {
			newline(&v);
			return cli_fail(c, err, g, "transfer");
		}
		draw(c, &v, &i);
		switch (i.state) {
		case KBITS_STATE_TRANSFERRED:
			return complete(c, id, &v);
		case KBITS_STATE_ERROR:
			newline(&v);
			report_error(c, id, "transfer failed");
			err = kbits_job_cancel(c->k, id);
			if (err)
				cli_fail(c, err, g, "cancel");
			return finish_json(c, id, "error", NULL, EXIT_JOB);
		case KBITS_STATE_TRANSIENT_ERROR:
			if (i.error_count != v.errors) {
				v.errors = i.error_count;
				newline(&v);
				report_error(c, id, "transient error, will retry");
			}
			break;
		case KBITS_STATE_CANCELLED:
		case KBITS_STATE_ACKNOWLEDGED:
			newline(&v);
			cli_error("job %s was %s by someone else", g, kbits_state_name(i.state));
			return finish_json(c, id, kbits_state_name(i.state), NULL, EXIT_ERROR);
		}
		struct pollfd pfd = { .fd = evs ? kbits_events_fd(evs) : -1, .events = POLLIN };

		poll(&pfd, 1, POLL_MS);
		/* The events only wake us; the job itself is read above. */
		while (evs && kbits_events_read(evs, &ev) > 0)
			;
	}
}

int verb_transfer(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "priority", required_argument, NULL, 'p' },
		{ "upload", no_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct sigaction sa = { .sa_handler = on_sigint };
	uint32_t prio = KBITS_PRIORITY_NORMAL;
	struct kbits_file *files = NULL;
	struct kbits_events *evs = NULL;
	const char *name = NULL;
	char *defname = NULL;
	bool upload = false, set_prio = false;
	struct kbits_guid id;
	size_t n = 0;
	int opt, ret, err;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		switch (opt) {
		case 'p':
			if (kbits_priority_parse(optarg, &prio))
				return cli_usage(c, "priority '%s': foreground, high, normal or low",
						 optarg);
			set_prio = true;
			break;
		case 'u':
			upload = true;
			break;
		case 'n':
			name = optarg;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2 || (argc - optind) % 2)
		return cli_usage(c, "expected URL PATH pairs");
	n = (size_t)(argc - optind) / 2;
	if (upload && n != 1)
		return cli_usage(c, "an upload job takes exactly one file");
	if (n > KBITS_ADD_FILES_MAX)
		return cli_usage(c, "at most %d files", KBITS_ADD_FILES_MAX);
	ret = cli_open(c);
	if (ret)
		return ret;
	files = calloc(n, sizeof(*files));
	if (!files)
		return cli_fail(c, -ENOMEM, NULL, "transfer");
	for (size_t k = 0; k < n; k++) {
		files[k].url = argv[optind + 2 * k];
		files[k].path = abs_path(argv[optind + 2 * k + 1]);
		if (!files[k].path) {
			ret = cli_fail(c, -ENOMEM, NULL, "transfer");
			goto out_files;
		}
	}
	if (!name) {
		char *copy = strdup(files[0].path);

		if (copy && asprintf(&defname, "transfer %s%s", basename(copy),
				     n > 1 ? " and more" : "") < 0)
			defname = NULL;
		free(copy);
		name = defname ? defname : "transfer";
	}
	err = kbits_job_create(c->k, upload ? KBITS_JOB_UPLOAD : KBITS_JOB_DOWNLOAD, name, &id);
	if (err) {
		ret = cli_fail(c, err, NULL, "create");
		goto out_files;
	}
	if (set_prio)
		err = kbits_job_set_priority(c->k, &id, prio);
	if (!err)
		err = kbits_job_add_files(c->k, &id, files, n);
	if (err == -EINVAL) {
		ret = cli_usage(c, "kbits refused the files: URLs must be http:// or https://");
		goto out_cancel;
	}
	if (err) {
		ret = cli_fail(c, err, NULL, "transfer");
		goto out_cancel;
	}
	/* Subscribe before Resume so that no event is missed; optional. */
	if (kbits_events_open(&evs))
		evs = NULL;
	sigaction(SIGINT, &sa, NULL);
	err = kbits_job_resume(c->k, &id);
	if (err) {
		ret = cli_fail(c, err, NULL, "resume");
		goto out_cancel;
	}
	ret = wait_job(c, &id, evs);
	goto out_events;

out_cancel:
	/* A job this command could not start is not left behind. */
	kbits_job_cancel(c->k, &id);
out_events:
	kbits_events_close(evs);
out_files:
	for (size_t k = 0; k < n; k++)
		free((char *)files[k].path);
	free(files);
	free(defname);
	return ret;
}
