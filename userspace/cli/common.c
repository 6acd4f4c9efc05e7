// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kbitsctl's shared parts: option parsing, opening the device, finding a
 * job by GUID or name, and turning errno values into sentences a person
 * can act on.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("kbitsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("kbitsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: kbitsctl %s %s\n", c->verb->name, c->verb->args);
	return EXIT_USAGE;
}

int cli_getopt(struct cli *c, int argc, char **argv, const struct option *extra)
{
	struct option opts[16];
	char shorts[40] = "h";
	int n = 0, opt;

	for (; extra && extra[n].name && n < 11; n++) {
		opts[n] = extra[n];
		if (extra[n].val > 0 && extra[n].val < 128 && strlen(shorts) < sizeof(shorts) - 3) {
			size_t l = strlen(shorts);

			shorts[l] = (char)extra[n].val;
			shorts[l + 1] = extra[n].has_arg ? ':' : '\0';
			shorts[l + 2] = '\0';
		}
	}
	/* The verbs that change a job and then wait for its durability. */
	if (c->verb->run == verb_create || c->verb->run == verb_addfile ||
	    c->verb->run == verb_addfileset || c->verb->run == verb_set ||
	    c->verb->run == verb_set_url || c->verb->run == verb_replace_prefix ||
	    c->verb->run == verb_mirrors) {
		opts[n++] = (struct option){ "no-wait-durable", no_argument, NULL, 'W' };
		opts[n++] = (struct option){ "durable-timeout", required_argument, NULL, 'T' };
	}
	opts[n++] = (struct option){ "json", no_argument, NULL, 'J' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ 0 };

	opterr = 0;
	for (;;) {
		opt = getopt_long(argc, argv, shorts, opts, NULL);
		switch (opt) {
		case 'J':
			c->json = true;
			continue;
		case 'W':
			c->no_wait_durable = true;
			continue;
		case 'T': {
			char *end;
			unsigned long s;

			errno = 0;
			s = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || s > 86400) {
				cli_usage(c, "--durable-timeout takes seconds, 0 to 86400: '%s'",
					  optarg);
				return '?';
			}
			c->durable_timeout_ms = (uint32_t)s * 1000;
			continue;
		}
		case 'h':
			printf("usage: kbitsctl %s %s\n\n%s\n\nSee kbitsctl(8).\n", c->verb->name,
			       c->verb->args, c->verb->help);
			return 'h';
		case '?':
			if (optopt && optopt < 128)
				cli_usage(c, "unknown option or missing value: -%c", optopt);
			else
				cli_usage(c, "unknown option or missing value: %s", argv[optind - 1]);
			return '?';
		default:
			return opt;
		}
	}
}

int cli_nargs(struct cli *c, int argc, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return cli_usage(c, "missing argument");
	if (max >= 0 && n > max)
		return cli_usage(c, "too many arguments");
	return 0;
}

int cli_open(struct cli *c)
{
	int err;

	if (c->k)
		return 0;
	err = kbits_open_path(c->device, &c->k);
	if (err == -ENOENT) {
		cli_error("kbits.ko is not loaded (no %s)", c->device);
		return EXIT_ERROR;
	}
	if (err) {
		cli_error("cannot open %s: %s", c->device, strerror(-err));
		return EXIT_ERROR;
	}
	return 0;
}

int cli_wait_durable(struct cli *c, const struct kbits_guid *id)
{
	char g[KBITS_GUID_STRLEN + 1];
	int err;

	if (c->no_wait_durable)
		return EXIT_OK;
	err = kbits_job_wait_durable(c->k, id, c->durable_timeout_ms);
	if (!err)
		return EXIT_OK;
	kbits_guid_format(id, g);
	if (err == -ENOTCONN)
		cli_error("job %s is not durable: no agent attached (is kbitsd running?)", g);
	else if (err == -ETIMEDOUT)
		cli_error("job %s is not durable: kbitsd did not store it within %u s", g,
			  c->durable_timeout_ms / 1000);
	else
		cli_error("job %s is not durable: %s", g, kbits_strerror(err));
	return EXIT_NOT_DURABLE;
}

char *cli_module_param(const char *name, char *buf, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/kbits/parameters/%s", name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* "limit reached: 60 jobs per user (kbits max_jobs_per_user)" */
static void limit(const char *param, const char *what)
{
	char v[32];

	if (cli_module_param(param, v, sizeof(v)))
		cli_error("limit reached: %s %s (kbits %s)", v, what, param);
	else
		cli_error("limit reached: too many %s (kbits %s)", what, param);
}

int cli_fail(struct cli *c, int err, const char *job, const char *doing)
{
	(void)c;
	switch (-err) {
	case ENOENT:
		if (job)
			cli_error("no job '%s' (or it belongs to another user)", job);
		else
			cli_error("%s: %s", doing, kbits_strerror(err));
		break;
	case ENOTCONN:
		cli_error("%s: kbitsd is not running (start the kbits agent and try again)", doing);
		break;
	case EDQUOT:
		limit("max_jobs_per_user", "jobs per user");
		break;
	case EUSERS:
		limit("max_jobs_total", "jobs in total");
		break;
	case EMLINK:
		limit("max_files_per_job", "files per job; an upload job takes one file");
		break;
	case E2BIG:
		limit("max_ranges_per_file", "ranges per file");
		break;
	case EPERM:
	case EACCES:
		cli_error("%s: permission denied (administrators only: CAP_SYS_ADMIN)", doing);
		break;
	default:
		if (job)
			cli_error("%s '%s': %s", doing, job, kbits_strerror(err));
		else
			cli_error("%s: %s", doing, kbits_strerror(err));
	}
	return EXIT_ERROR;
}

/* Administrators resolve names among every user's jobs, others their own. */
static int list_visible(struct cli *c, struct kbits_guid **ids, size_t *n)
{
	int err = kbits_job_list(c->k, KBITS_ENUM_ALL_USERS, ids, n);

	if (err == -EPERM)
		err = kbits_job_list(c->k, 0, ids, n);
	return err;
}

int cli_job(struct cli *c, const char *arg, struct kbits_guid *id)
{
	char gbuf[KBITS_GUID_STRLEN + 1];
	struct kbits_guid *ids, found;
	size_t n, matches = 0;
	int err;

	if (!kbits_guid_parse(arg, id))
		return 0;
	err = list_visible(c, &ids, &n);
	if (err)
		return cli_fail(c, err, NULL, "listing jobs");
	for (size_t i = 0; i < n; i++) {
		char *name;

		/* A job that vanished since the listing just does not match. */
		if (kbits_job_get_display_name(c->k, &ids[i], &name))
			continue;
		if (!strcmp(name, arg)) {
			if (matches++ == 0)
				found = ids[i];
			else if (matches == 2)
				cli_error("'%s' is ambiguous: several jobs have that name; use a GUID:\n  %s",
					  arg, kbits_guid_format(&found, gbuf));
			if (matches >= 2)
				fprintf(stderr, "  %s\n", kbits_guid_format(&ids[i], gbuf));
		}
		free(name);
	}
	free(ids);
	if (matches == 1) {
		*id = found;
		return 0;
	}
	if (matches == 0)
		cli_error("no job '%s' (or it belongs to another user)", arg);
	return EXIT_ERROR;
}

const char *fmt_bytes(uint64_t b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int u = 0;

	if (b == KBITS_UNKNOWN) {
		snprintf(buf, size, "?");
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
	return buf;
}

const char *fmt_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, size, "-");
	return buf;
}

const char *fmt_percent(uint64_t done, uint64_t total, char *buf, size_t size)
{
	if (total == KBITS_UNKNOWN || total == 0)
		snprintf(buf, size, "%s", total == 0 ? "100%" : "?%");
	else
		snprintf(buf, size, "%u%%", (unsigned)(done * 100 / total));
	return buf;
}

const char *fmt_user(uint32_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (!getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) && res)
		snprintf(buf, size, "%s", pw.pw_name);
	else
		snprintf(buf, size, "%u", uid);
	return buf;
}

const char *fmt_state(struct cli *c, uint32_t state)
{
	static char buf[64];
	const char *col = NULL;

	switch (state) {
	case KBITS_STATE_ERROR:
		col = "31";		/* red */
		break;
	case KBITS_STATE_TRANSIENT_ERROR:
		col = "33";		/* yellow */
		break;
	case KBITS_STATE_TRANSFERRED:
	case KBITS_STATE_ACKNOWLEDGED:
		col = "32";		/* green */
		break;
	case KBITS_STATE_CONNECTING:
	case KBITS_STATE_TRANSFERRING:
		col = "36";		/* cyan */
		break;
	}
	if (!c->color || !col)
		return kbits_state_name(state);
	snprintf(buf, sizeof(buf), "\033[%sm%s\033[0m", col, kbits_state_name(state));
	return buf;
}

char *abs_path(const char *path)
{
	char *cwd, *out;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&out, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
		out = NULL;
	free(cwd);
	return out;
}
