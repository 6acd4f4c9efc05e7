// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verbs that change a job: create, addfile, addfileset, resume, suspend,
 * cancel, complete, takeownership. Quiet on success unless they have
 * something to say (create prints the GUID, complete the outcome).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int verb_create(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "download", no_argument, NULL, 'd' },
		{ "upload", no_argument, NULL, 'u' },
		{ "upload-reply", no_argument, NULL, 'r' },
		{ 0 },
	};
	char gbuf[KBITS_GUID_STRLEN + 1];
	uint32_t type = KBITS_JOB_DOWNLOAD;
	struct kbits_guid id;
	int opt, ret, ntypes = 0;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		switch (opt) {
		case 'd':
			type = KBITS_JOB_DOWNLOAD;
			break;
		case 'u':
			type = KBITS_JOB_UPLOAD;
			break;
		case 'r':
			type = KBITS_JOB_UPLOAD_REPLY;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
		ntypes++;
	}
	if (ntypes > 1)
		return cli_usage(c, "choose one of --download, --upload, --upload-reply");
	ret = cli_nargs(c, argc, 1, 1);
	if (ret)
		return ret;
	ret = cli_open(c);
	if (ret)
		return ret;
	ret = kbits_job_create(c->k, type, argv[optind], &id);
	if (ret == -ENAMETOOLONG)
		return cli_usage(c, "the name is longer than %d bytes", KBITS_DISPLAY_NAME_MAX);
	if (ret)
		return cli_fail(c, ret, NULL, "create");
	/* The GUID is printed either way: the job exists, durable or not. */
	ret = cli_wait_durable(c, &id);
	kbits_guid_format(&id, gbuf);
	if (c->json)
		printf("{\"id\":\"%s\",\"type\":\"%s\",\"durable\":%s}\n", gbuf,
		       kbits_type_name(type), ret == EXIT_OK && !c->no_wait_durable ? "true" : "false");
	else
		printf("%s\n", gbuf);
	return ret;
}

/* Options, then exactly n positional arguments, the first a JOB. */
static int job_args(struct cli *c, int argc, char **argv, int n, struct kbits_guid *id)
{
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1)
		return opt == 'h' ? -EXIT_OK - 1 : EXIT_USAGE;
	ret = cli_nargs(c, argc, n, n);
	if (!ret)
		ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], id);
	return ret;
}

/* job_args()'s way of saying "--help was printed, exit 0". */
#define HELPED (-EXIT_OK - 1)
#define DONE(r) ((r) == HELPED ? EXIT_OK : (r))

/* 64 hex digits (either case) into 32 bytes; false for anything else. */
static bool parse_sha256(const char *s, uint8_t out[KBITS_SHA256_LEN])
{
	if (strlen(s) != 2 * KBITS_SHA256_LEN)
		return false;
	for (int i = 0; i < 2 * KBITS_SHA256_LEN; i++) {
		int v = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
			s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10 :
			s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 10 : -1;

		if (v < 0)
			return false;
		if (i % 2)
			out[i / 2] = (uint8_t)(out[i / 2] | v);
		else
			out[i / 2] = (uint8_t)(v << 4);
	}
	return true;
}

static int add_mirror(struct cli *c, char **list, size_t *n, const char *url);
static int addfile_run(struct cli *c, int argc, char **argv, const uint8_t *sha, uint64_t size,
		       const char *mirrors);

int verb_addfile(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sha256", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'z' },
		{ "mirror", required_argument, NULL, 'm' },
		{ 0 },
	};
	uint8_t sha[KBITS_SHA256_LEN];
	uint64_t size = KBITS_UNKNOWN;
	bool have_sha = false;
	char *end, *mirrors = NULL;
	size_t nmirrors = 0;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		switch (opt) {
		case 's':
			if (!parse_sha256(optarg, sha))
				return cli_usage(c, "--sha256 takes 64 hex digits, not '%s'", optarg);
			have_sha = true;
			break;
		case 'z':
			errno = 0;
			size = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9' ||
			    size == KBITS_UNKNOWN)
				return cli_usage(c, "--size takes a number of bytes, not '%s'", optarg);
			break;
		case 'm':
			ret = add_mirror(c, &mirrors, &nmirrors, optarg);
			if (ret) {
				free(mirrors);
				return ret;
			}
			break;
		case 'h':
			free(mirrors);
			return EXIT_OK;
		default:
			free(mirrors);
			return EXIT_USAGE;
		}
	}
	ret = addfile_run(c, argc, argv, have_sha ? sha : NULL, size, mirrors);
	free(mirrors);
	return ret;
}

/* One more --mirror URL, "\n"-joined in *list (the module checks each URL). */
static int add_mirror(struct cli *c, char **list, size_t *n, const char *url)
{
	size_t old = *list ? strlen(*list) : 0;
	char *grown;

	if (++*n > KBITS_MIRRORS_MAX)
		return cli_usage(c, "at most %d --mirror URLs", KBITS_MIRRORS_MAX);
	if (!*url || strchr(url, '\n') || strlen(url) > KBITS_URL_MAX)
		return cli_usage(c, "--mirror takes an http:// or https:// URL of at most %d bytes",
				 KBITS_URL_MAX);
	grown = realloc(*list, old + strlen(url) + 2);
	if (!grown)
		return cli_fail(c, -ENOMEM, NULL, "addfile");
	if (old)
		grown[old++] = '\n';
	strcpy(grown + old, url);
	*list = grown;
	return 0;
}

/*
 * The file added is the job's last, and gets its mirrors at once. A job is
 * created SUSPENDED, so nothing transfers before they are set; in a job
 * already resumed the file could start from its URL first (a mirror set a
 * moment later is -EBUSY while the job moves: suspend it first). The URL
 * at the last index is checked to be ours: another AddFile to the same job
 * in between is refused rather than given our mirrors.
 */
static int addfile_mirrors(struct cli *c, const struct kbits_guid *id, const char *job,
			   const char *url, const char *mirrors)
{
	struct kbits_job_info info;
	char *got = NULL;
	uint32_t idx;
	int ret;

	ret = kbits_job_get_info(c->k, id, &info);
	if (!ret && !info.files_total)
		ret = -ENXIO;
	idx = info.files_total - 1;
	if (!ret)
		ret = kbits_job_get_file_string(c->k, id, idx, KBITS_FILE_STR_URL, &got);
	if (!ret && strcmp(got, url)) {
		free(got);
		cli_error("job '%s' got another file meanwhile: set the mirrors of the file with "
			  "'kbitsctl mirrors'", job);
		return EXIT_ERROR;
	}
	free(got);
	if (!ret)
		ret = kbits_job_set_file_mirrors(c->k, id, idx, mirrors);
	if (ret == -EINVAL) {
		cli_error("the file was added, but its mirrors were refused: each must be an "
			  "http:// or https:// URL of at most %d bytes", KBITS_URL_MAX);
		return EXIT_ERROR;
	}
	if (ret == -EOPNOTSUPP) {
		cli_error("the file was added, but job '%s' cannot have mirrors (an upload job, "
			  "or kbits.ko is too old)", job);
		return EXIT_ERROR;
	}
	return ret ? cli_fail(c, ret, job, "set the mirrors of the file added to") : 0;
}

static int addfile_run(struct cli *c, int argc, char **argv, const uint8_t *sha, uint64_t size,
		       const char *mirrors)
{
	struct kbits_guid id;
	char *path;
	int ret;

	ret = cli_nargs(c, argc, 3, 3);
	if (!ret)
		ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], &id);
	if (ret)
		return ret;
	path = abs_path(argv[optind + 2]);
	if (!path)
		return cli_fail(c, -errno, NULL, "addfile");
	if (sha || size != KBITS_UNKNOWN)
		ret = kbits_job_add_file_sha256(c->k, &id, argv[optind + 1], path, sha, size);
	else
		ret = kbits_job_add_file(c->k, &id, argv[optind + 1], path);
	free(path);
	if (!ret && mirrors) {
		ret = addfile_mirrors(c, &id, argv[optind], argv[optind + 1], mirrors);
		if (ret)
			return ret;
	}
	if (ret == -EOPNOTSUPP)
		return cli_fail(c, ret, argv[optind],
				"addfile with --sha256/--size (the kbits module is too old) to");
	if (ret == -ENAMETOOLONG)
		return cli_usage(c, "URL longer than %d or path longer than %d bytes",
				 KBITS_URL_MAX, KBITS_PATH_MAX);
	if (ret == -EINVAL)
		return cli_usage(c, "the URL must be http:// or https:// and the path a file name");
	return ret ? cli_fail(c, ret, argv[optind], "addfile to") : cli_wait_durable(c, &id);
}

/* The file set: "URL PATH" per line; blank lines and #comments skipped. */
static int read_list(struct cli *c, const char *name, struct kbits_file **out, size_t *count)
{
	FILE *f = strcmp(name, "-") ? fopen(name, "re") : stdin;
	struct kbits_file *v = NULL;
	size_t n = 0, lineno = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	int ret = 0;

	if (!f) {
		cli_error("cannot read %s: %s", name, strerror(errno));
		return EXIT_ERROR;
	}
	while (getline(&line, &lcap, f) > 0) {
		char *save, *url, *path, *extra;

		lineno++;
		url = strtok_r(line, " \t\r\n", &save);
		if (!url || url[0] == '#')
			continue;
		path = strtok_r(NULL, " \t\r\n", &save);
		extra = strtok_r(NULL, " \t\r\n", &save);
		if (!path || extra) {
			cli_error("%s:%zu: expected \"URL PATH\"", name, lineno);
			ret = EXIT_USAGE;
			break;
		}
		if (n == cap) {
			struct kbits_file *nv;

			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = cli_fail(c, -ENOMEM, NULL, "addfileset");
				break;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].url = strdup(url);
		v[n].path = abs_path(path);
		n++;
		if (!v[n - 1].url || !v[n - 1].path) {
			ret = cli_fail(c, -ENOMEM, NULL, "addfileset");
			break;
		}
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!ret && n == 0) {
		cli_error("%s has no files", name);
		ret = EXIT_USAGE;
	}
	*out = v;
	*count = n;
	return ret;
}

int verb_addfileset(struct cli *c, int argc, char **argv)
{
	struct kbits_file *files = NULL;
	struct kbits_guid id;
	size_t n = 0;
	int ret = job_args(c, argc, argv, 2, &id);

	if (ret)
		return DONE(ret);
	ret = read_list(c, argv[optind + 1], &files, &n);
	if (!ret && n > KBITS_ADD_FILES_MAX) {
		cli_error("%zu files: at most %d can be added at once", n, KBITS_ADD_FILES_MAX);
		ret = EXIT_USAGE;
	}
	if (!ret) {
		int err = kbits_job_add_files(c->k, &id, files, n);

		ret = err ? cli_fail(c, err, argv[optind], "addfileset to") :
			    cli_wait_durable(c, &id);
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)files[i].url);
		free((char *)files[i].path);
	}
	free(files);
	return ret;
}

static int simple(struct cli *c, int argc, char **argv,
		  int (*fn)(struct kbits *, const struct kbits_guid *), const char *doing)
{
	struct kbits_guid id;
	int ret = job_args(c, argc, argv, 1, &id);

	if (ret)
		return DONE(ret);
	ret = fn(c->k, &id);
	if (ret == -ENODATA) {
		cli_error("job '%s' has no files: add some with \"kbitsctl addfile\" first",
			  argv[optind]);
		return EXIT_ERROR;
	}
	if (ret == -EBUSY) {
		uint32_t st = 0;

		kbits_job_get_state(c->k, &id, &st);
		cli_error("cannot %s job '%s' while it is %s", doing, argv[optind],
			  kbits_state_name(st));
		return EXIT_ERROR;
	}
	return ret ? cli_fail(c, ret, argv[optind], doing) : EXIT_OK;
}

int verb_resume(struct cli *c, int argc, char **argv)
{
	return simple(c, argc, argv, kbits_job_resume, "resume");
}

int verb_suspend(struct cli *c, int argc, char **argv)
{
	return simple(c, argc, argv, kbits_job_suspend, "suspend");
}

int verb_cancel(struct cli *c, int argc, char **argv)
{
	return simple(c, argc, argv, kbits_job_cancel, "cancel");
}

int verb_takeownership(struct cli *c, int argc, char **argv)
{
	return simple(c, argc, argv, kbits_job_take_ownership, "take ownership of");
}

static const char *const outcomes[] = { "all", "partial", "failed" };

int verb_complete(struct cli *c, int argc, char **argv)
{
	struct kbits_outcome o;
	struct kbits_guid id;
	int ret = job_args(c, argc, argv, 1, &id);

	if (ret)
		return DONE(ret);
	ret = kbits_job_complete(c->k, &id, &o);
	if (ret == -EBUSY) {
		uint32_t st = 0;

		kbits_job_get_state(c->k, &id, &st);
		cli_error("job '%s' (%s) is already being completed",
			  argv[optind], kbits_state_name(st));
		return EXIT_ERROR;
	}
	if (ret < 0)
		return cli_fail(c, ret, argv[optind], "complete");
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "result", o.result < 3 ? outcomes[o.result] : "unknown");
		json_u64(&j, "files_done", o.files_done);
		json_i64(&j, "error", o.error);
		json_end_obj(&j);
		json_done(&j);
	} else if (o.result == KBITS_COMPLETE_ALL) {
		printf("completed: %u file%s in place\n", o.files_done, o.files_done == 1 ? "" : "s");
	} else {
		printf("completed %s: %u file%s in place; first failure: %s\n",
		       o.result == KBITS_COMPLETE_PARTIAL ? "partially" : "with no file",
		       o.files_done, o.files_done == 1 ? "" : "s", strerror(-o.error));
	}
	return o.result == KBITS_COMPLETE_ALL ? EXIT_OK : EXIT_JOB;
}

/* INDEX of a file: a decimal number. */
static int file_index(struct cli *c, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX || s[0] == '-')
		return cli_usage(c, "INDEX must be a file number (0, 1, ...), not '%s'", s);
	*out = (uint32_t)v;
	return 0;
}

/* -EBUSY, -EOPNOTSUPP of a URL change, for a person. */
static int rename_fail(struct cli *c, int err, const struct kbits_guid *id, const char *job,
		       const char *doing)
{
	uint32_t st = 0;

	if (err == -EBUSY) {
		kbits_job_get_state(c->k, id, &st);
		cli_error("cannot %s of job '%s' while it is %s: suspend it first", doing, job,
			  kbits_state_name(st));
		return EXIT_ERROR;
	}
	if (err == -EOPNOTSUPP) {
		cli_error("cannot %s of job '%s': only download jobs can change URLs "
			  "(or kbits.ko is too old)", doing, job);
		return EXIT_ERROR;
	}
	if (err == -ENXIO) {
		cli_error("job '%s' has no such file", job);
		return EXIT_ERROR;
	}
	if (err == -EINVAL) {
		cli_error("cannot %s of job '%s': not an http:// or https:// URL of at most %d bytes",
			  doing, job, KBITS_URL_MAX);
		return EXIT_ERROR;
	}
	return cli_fail(c, err, job, doing);
}

int verb_set_url(struct cli *c, int argc, char **argv)
{
	struct kbits_guid id;
	uint32_t idx;
	int ret = job_args(c, argc, argv, 3, &id);

	if (ret)
		return DONE(ret);
	ret = file_index(c, argv[optind + 1], &idx);
	if (ret)
		return ret;
	ret = kbits_job_set_remote_name(c->k, &id, idx, argv[optind + 2]);
	if (ret)
		return rename_fail(c, ret, &id, argv[optind], "change a URL");
	return cli_wait_durable(c, &id);
}

int verb_replace_prefix(struct cli *c, int argc, char **argv)
{
	struct kbits_guid id;
	uint32_t n = 0;
	int ret = job_args(c, argc, argv, 3, &id);

	if (ret)
		return DONE(ret);
	if (!argv[optind + 1][0] || !argv[optind + 2][0])
		return cli_usage(c, "OLD and NEW must not be empty");
	ret = kbits_job_replace_remote_prefix(c->k, &id, argv[optind + 1], argv[optind + 2], &n);
	if (ret)
		return rename_fail(c, ret, &id, argv[optind], "replace the URL prefix");
	if (c->json)
		printf("{\"changed\":%u}\n", n);
	else
		printf("%u file%s changed\n", n, n == 1 ? "" : "s");
	return n ? cli_wait_durable(c, &id) : EXIT_OK;
}

/* mirrors JOB INDEX: print them; mirrors JOB INDEX URL...: set them; "" clears. */
int verb_mirrors(struct cli *c, int argc, char **argv)
{
	struct kbits_guid id;
	char *list = NULL, *m = NULL;
	size_t n = 0;
	uint32_t idx;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1)
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	ret = cli_nargs(c, argc, 2, 2 + KBITS_MIRRORS_MAX);
	if (!ret)
		ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], &id);
	if (!ret)
		ret = file_index(c, argv[optind + 1], &idx);
	if (ret)
		return ret;
	if (argc - optind > 2) {
		/* a single "" clears them */
		bool clear = argc - optind == 3 && !argv[optind + 2][0];

		for (int i = optind + 2; i < argc && !clear; i++) {
			ret = add_mirror(c, &list, &n, argv[i]);
			if (ret) {
				free(list);
				return ret;
			}
		}
		ret = kbits_job_set_file_mirrors(c->k, &id, idx, clear ? "" : list);
		free(list);
		if (ret)
			return rename_fail(c, ret, &id, argv[optind], "change the mirrors");
		return cli_wait_durable(c, &id);
	}
	ret = kbits_job_get_file_string(c->k, &id, idx, KBITS_FILE_STR_MIRRORS, &m);
	if (ret == -ENXIO) {
		cli_error("job '%s' has no file %u", argv[optind], idx);
		return EXIT_ERROR;
	}
	if (ret == -EOPNOTSUPP) {
		cli_error("kbits.ko has no mirrors (KBITS_FEATURE_MIRRORS): it is too old");
		return EXIT_ERROR;
	}
	if (ret)
		return cli_fail(c, ret, argv[optind], "read the mirrors");
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_u64(&j, "index", idx);
		json_arr(&j, "mirrors");
		/* the module's value: URLs separated by single "\n" */
		for (char *p = strtok(m, "\n"); p; p = strtok(NULL, "\n"))
			json_str(&j, NULL, p);
		json_end_arr(&j);
		json_end_obj(&j);
		json_done(&j);
	} else if (m[0]) {
		printf("%s\n", m);
	}
	free(m);
	return EXIT_OK;
}

int verb_headers(struct cli *c, int argc, char **argv)
{
	struct kbits_guid id;
	uint32_t idx;
	char *h = NULL;
	int ret = job_args(c, argc, argv, 2, &id);

	if (ret)
		return DONE(ret);
	ret = file_index(c, argv[optind + 1], &idx);
	if (ret)
		return ret;
	ret = kbits_job_get_file_string(c->k, &id, idx, KBITS_FILE_STR_HTTP_RESPONSE_HEADERS, &h);
	if (ret == -ENXIO) {
		cli_error("job '%s' has no file %u", argv[optind], idx);
		return EXIT_ERROR;
	}
	if (ret)
		return cli_fail(c, ret, argv[optind], "read the response headers");
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_u64(&j, "index", idx);
		json_str(&j, "headers", h);
		json_end_obj(&j);
		json_done(&j);
	} else {
		/* The header block as the server sent it, one line each, without CRs. */
		for (char *p = h, *e; *p; p = e) {
			size_t n = strcspn(p, "\r\n");

			e = p + n;
			printf("%.*s\n", (int)n, p);
			e += strspn(e, "\r\n");
		}
	}
	free(h);
	return EXIT_OK;
}
