// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verbs that show jobs: info, list, files, and version.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef KBITS_VERSION
#define KBITS_VERSION "unknown"
#endif

void json_summary(struct json *j, const struct kbits_job_summary *s)
{
	json_guid(j, "id", &s->id);
	json_u64(j, "owner_uid", s->owner_uid);
	json_str(j, "type", kbits_type_name(s->type));
	json_str(j, "priority", kbits_priority_name(s->priority));
	json_str(j, "state", kbits_state_name(s->state));
	json_bytes(j, "bytes_total", s->bytes_total);
	json_u64(j, "bytes_transferred", s->bytes_transferred);
	json_u64(j, "files_total", s->files_total);
	json_u64(j, "files_transferred", s->files_transferred);
	json_u64(j, "error_count", s->error_count);
	json_str(j, "error_context", kbits_error_context_name(s->error_context));
	json_i64(j, "error_code", s->error_code);
}

/* An error code for people: "-ENOENT" as text, an HTTP status as such. */
static void print_error_code(int32_t code)
{
	if (code == KBITS_E_DIGEST_MISMATCH)
		printf("SHA-256 mismatch (%d)", code);
	else if (code == KBITS_E_SIZE_MISMATCH)
		printf("size mismatch (%d)", code);
	else if (code < 0)
		printf("%s (errno %d)", strerror(-code), -code);
	else if (code >= 100 && code < 600)
		printf("HTTP %d", code);
	else
		printf("%d", code);
}

static void hex32(const uint8_t *d, char out[2 * KBITS_SHA256_LEN + 1])
{
	for (int i = 0; i < KBITS_SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The digest and what was expected, where the module knows them. */
static void json_digest(struct cli *c, struct json *j, const struct kbits_guid *id, uint32_t i)
{
	struct kbits_file_digest d;
	char h[2 * KBITS_SHA256_LEN + 1];

	if (kbits_job_get_file_digest(c->k, id, i, &d))
		return;
	if (d.flags & KBITS_FILE_SHA256) {
		hex32(d.sha256, h);
		json_str(j, "sha256", h);
	} else {
		json_null(j, "sha256");
	}
	json_bool(j, "verified", d.flags & KBITS_FILE_VERIFIED);
	if (d.flags & KBITS_FILE_EXPECT_SHA256) {
		hex32(d.expected_sha256, h);
		json_str(j, "expected_sha256", h);
	}
	if (d.flags & KBITS_FILE_EXPECT_SIZE)
		json_u64(j, "expected_size", d.expected_size);
}

static void print_digest(struct cli *c, const struct kbits_guid *id, uint32_t i)
{
	struct kbits_file_digest d;
	char h[2 * KBITS_SHA256_LEN + 1];

	if (kbits_job_get_file_digest(c->k, id, i, &d))
		return;
	if (d.flags & KBITS_FILE_SHA256) {
		hex32(d.sha256, h);
		printf("       sha256 %s%s\n", h, d.flags & KBITS_FILE_VERIFIED ? " (verified)" : "");
	}
	if (!(d.flags & KBITS_FILE_VERIFIED) && (d.flags & KBITS_FILE_EXPECT_SHA256)) {
		hex32(d.expected_sha256, h);
		printf("       expected sha256 %s\n", h);
	}
	if (!(d.flags & KBITS_FILE_VERIFIED) && (d.flags & KBITS_FILE_EXPECT_SIZE))
		printf("       expected size %llu\n", (unsigned long long)d.expected_size);
}

static void json_files(struct cli *c, struct json *j, const struct kbits_guid *id)
{
	struct kbits_file_props f;

	json_arr(j, "files");
	for (uint32_t i = 0; !kbits_job_get_file(c->k, id, i, &f); i++) {
		json_obj(j, NULL);
		json_u64(j, "index", i);
		json_str(j, "url", f.url);
		json_str(j, "path", f.path);
		json_str(j, "temp_name", f.temp_name);
		json_bool(j, "completed", f.flags & KBITS_FILE_COMPLETED);
		json_bytes(j, "bytes_total", f.bytes_total);
		json_u64(j, "bytes_transferred", f.bytes_transferred);
		json_u64(j, "nr_ranges", f.nr_ranges);
		json_digest(c, j, id, i);
		json_end_obj(j);
		kbits_file_props_free(&f);
	}
	json_end_arr(j);
}

static void print_files(struct cli *c, const struct kbits_guid *id)
{
	struct kbits_file_props f;
	char b1[32], b2[32];

	for (uint32_t i = 0; !kbits_job_get_file(c->k, id, i, &f); i++) {
		printf("  %3u  %-6s %10s / %-10s %s -> %s\n", i,
		       f.flags & KBITS_FILE_COMPLETED ? "done" : "",
		       fmt_bytes(f.bytes_transferred, b1, sizeof(b1)),
		       fmt_bytes(f.bytes_total, b2, sizeof(b2)), f.url, f.path);
		if (f.temp_name[0])
			printf("       temporary file %s\n", f.temp_name);
		print_digest(c, id, i);
		kbits_file_props_free(&f);
	}
}

/* The strings of --verbose, by KBITS_STR_*; credentials are write-only. */
static const struct {
	uint32_t prop;
	const char *name;
} verbose_strings[] = {
	{ KBITS_STR_DESCRIPTION, "description" },
	{ KBITS_STR_NOTIFY_CMDLINE, "notify_cmdline" },
	{ KBITS_STR_PROXY_LIST, "proxy_list" },
	{ KBITS_STR_PROXY_BYPASS, "proxy_bypass" },
	{ KBITS_STR_HTTP_HEADERS, "http_headers" },
	{ KBITS_STR_REPLY_FILE, "reply_file" },
	{ KBITS_STR_CLIENT_CERT, "client_cert" },
	{ KBITS_STR_CLIENT_KEY, "client_key" },
	{ KBITS_STR_CA_BUNDLE, "ca_bundle" },
	{ KBITS_STR_PINNED_PUBKEY, "pinned_pubkey" },
};

static void info_json(struct cli *c, const struct kbits_guid *id, const struct kbits_job_info *i,
		      const char *name, const struct kbits_job_error *e, bool verbose)
{
	char sch[32];
	struct json j;

	json_init(&j, stdout);
	json_obj(&j, NULL);
	json_guid(&j, "id", id);
	json_str(&j, "display_name", name);
	json_str(&j, "type", kbits_type_name(i->type));
	json_str(&j, "state", kbits_state_name(i->state));
	json_bool(&j, "durable", i->status & KBITS_JOB_STATUS_DURABLE);
	json_str(&j, "priority", kbits_priority_name(i->priority));
	json_u64(&j, "owner_uid", i->owner_uid);
	json_bytes(&j, "bytes_total", i->bytes_total);
	json_u64(&j, "bytes_transferred", i->bytes_transferred);
	json_u64(&j, "files_total", i->files_total);
	json_u64(&j, "files_transferred", i->files_transferred);
	json_u64(&j, "creation_time_ns", i->creation_time);
	json_u64(&j, "modification_time_ns", i->modification_time);
	json_u64(&j, "transfer_completion_time_ns", i->transfer_completion_time);
	json_obj(&j, "error");
	json_u64(&j, "count", i->error_count);
	json_str(&j, "context", kbits_error_context_name(i->error_context));
	json_i64(&j, "code", i->error_code);
	if (i->error_file == ~0u)
		json_null(&j, "file");
	else
		json_u64(&j, "file", i->error_file);
	json_str(&j, "description", e->description);
	json_end_obj(&j);
	if (verbose) {
		json_u64(&j, "min_retry_delay", i->min_retry_delay);
		json_u64(&j, "no_progress_timeout", i->no_progress_timeout);
		json_u64(&j, "notify_flags", i->notify_flags);
		json_u64(&j, "min_notify_interval_ms", i->min_notify_interval_ms);
		json_str(&j, "proxy_usage", kbits_proxy_usage_name(i->proxy_usage));
		json_u64(&j, "max_download_time", i->max_download_time);
		json_u64(&j, "max_download_size", i->max_download_size);
		json_u64(&j, "max_bandwidth", i->max_bandwidth);
		json_bool(&j, "dynamic_content", i->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT);
		json_bool(&j, "http_put", i->job_flags & KBITS_JOB_F_HTTP_PUT);
		json_str(&j, "redirect_policy", kbits_redirect_policy_name(i->security_flags));
		json_bool(&j, "https_to_http", i->security_flags & KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP);
		json_bool(&j, "credentials_set", i->credentials_set);
		json_str(&j, "auth_schemes", cli_auth_schemes(i->server_auth_schemes, sch, sizeof(sch)));
		json_bool(&j, "proxy_credentials_set", i->proxy_credentials_set);
		json_str(&j, "proxy_auth_schemes", cli_auth_schemes(i->proxy_auth_schemes, sch, sizeof(sch)));
		if (i->type == KBITS_JOB_UPLOAD_REPLY) {
			json_bytes(&j, "reply_bytes_total", i->reply_bytes_total);
			json_u64(&j, "reply_bytes_transferred", i->reply_bytes_transferred);
		}
		for (size_t s = 0; s < sizeof(verbose_strings) / sizeof(verbose_strings[0]); s++) {
			char *v = NULL;

			if (!kbits_job_get_string(c->k, id, verbose_strings[s].prop, &v))
				json_str(&j, verbose_strings[s].name, v);
			free(v);
		}
		json_files(c, &j, id);
	}
	json_end_obj(&j);
	json_done(&j);
}

static void info_text(struct cli *c, const struct kbits_guid *id, const struct kbits_job_info *i,
		      const char *name, const struct kbits_job_error *e, bool verbose)
{
	char g[KBITS_GUID_STRLEN + 1], b1[32], b2[32], pc[16], u[64];

	printf("job %s \"%s\"\n", kbits_guid_format(id, g), name);
	printf("  type          %s\n", kbits_type_name(i->type));
	printf("  state         %s\n", fmt_state(c, i->state));
	printf("  durable       %s\n", i->status & KBITS_JOB_STATUS_DURABLE ? "yes" :
	       "no (kbitsd has not stored its last change)");
	printf("  priority      %s\n", kbits_priority_name(i->priority));
	printf("  owner         %s\n", fmt_user(i->owner_uid, u, sizeof(u)));
	printf("  progress      %s / %s (%s), files %u / %u\n",
	       fmt_bytes(i->bytes_transferred, b1, sizeof(b1)),
	       fmt_bytes(i->bytes_total, b2, sizeof(b2)),
	       fmt_percent(i->bytes_transferred, i->bytes_total, pc, sizeof(pc)),
	       i->files_transferred, i->files_total);
	printf("  created       %s\n", fmt_time(i->creation_time, b1, sizeof(b1)));
	printf("  modified      %s\n", fmt_time(i->modification_time, b1, sizeof(b1)));
	printf("  transferred   %s\n", fmt_time(i->transfer_completion_time, b1, sizeof(b1)));
	printf("  errors        %u\n", i->error_count);
	if (i->error_context != KBITS_ERROR_CONTEXT_NONE) {
		printf("  last error    %s: ", kbits_error_context_name(i->error_context));
		print_error_code(i->error_code);
		if (i->error_file != ~0u)
			printf(" (file %u)", i->error_file);
		printf("\n");
		if (e->description[0])
			printf("                %s\n", e->description);
	}
	if (!verbose)
		return;
	printf("  retry delay   %u s\n", i->min_retry_delay);
	printf("  no progress   %u s\n", i->no_progress_timeout);
	printf("  notify flags  0x%x\n", i->notify_flags);
	if (i->min_notify_interval_ms > KBITS_DEFAULT_NOTIFY_INTERVAL_MS)
		printf("  progress      an event at most every %u ms\n", i->min_notify_interval_ms);
	else
		printf("  progress      an event at most every %u ms (default)\n",
		       KBITS_DEFAULT_NOTIFY_INTERVAL_MS);
	printf("  proxy usage   %s\n", kbits_proxy_usage_name(i->proxy_usage));
	printf("  max time      %llu s\n", (unsigned long long)i->max_download_time);
	printf("  max size      %s\n", i->max_download_size ?
	       fmt_bytes(i->max_download_size, b1, sizeof(b1)) : "no limit");
	if (i->max_bandwidth)
		printf("  bandwidth     %s/s\n", fmt_bytes(i->max_bandwidth, b1, sizeof(b1)));
	else
		printf("  bandwidth     kbitsd's per-job default\n");
	printf("  dynamic       %s\n", i->job_flags & KBITS_JOB_F_DYNAMIC_CONTENT ? "yes" : "no");
	printf("  http put      %s\n", i->job_flags & KBITS_JOB_F_HTTP_PUT ? "yes" : "no");
	printf("  redirects     %s, https to http %s\n", kbits_redirect_policy_name(i->security_flags),
	       i->security_flags & KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP ? "allowed" : "refused");
	printf("  credentials   %s (schemes: %s)\n", i->credentials_set ? "set" : "none",
	       cli_auth_schemes(i->server_auth_schemes, b1, sizeof(b1)));
	printf("  proxy creds   %s (schemes: %s)\n", i->proxy_credentials_set ? "set" : "none",
	       cli_auth_schemes(i->proxy_auth_schemes, b1, sizeof(b1)));
	for (size_t s = 0; s < sizeof(verbose_strings) / sizeof(verbose_strings[0]); s++) {
		char *v = NULL;

		if (!kbits_job_get_string(c->k, id, verbose_strings[s].prop, &v) && v[0])
			printf("  %-13s %s\n", verbose_strings[s].name, v);
		free(v);
	}
	printf("  files\n");
	print_files(c, id);
}

int verb_info(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ 0 },
	};
	struct kbits_job_error e = { 0 };
	struct kbits_job_info i;
	struct kbits_guid id;
	bool verbose = false;
	char *name = NULL;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (opt == 'v')
			verbose = true;
		else
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	ret = cli_nargs(c, argc, 1, 1);
	if (!ret)
		ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], &id);
	if (ret)
		return ret;
	ret = kbits_job_get_info(c->k, &id, &i);
	if (!ret)
		ret = kbits_job_get_display_name(c->k, &id, &name);
	if (!ret)
		ret = kbits_job_get_error(c->k, &id, &e);
	if (ret) {
		free(name);
		return cli_fail(c, ret, argv[optind], "info");
	}
	if (c->json)
		info_json(c, &id, &i, name, &e, verbose);
	else
		info_text(c, &id, &i, name, &e, verbose);
	free(name);
	kbits_job_error_free(&e);
	return EXIT_OK;
}

int verb_list(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all-users", no_argument, NULL, 'a' },
		{ 0 },
	};
	char g[KBITS_GUID_STRLEN + 1], b1[32], b2[32], u[64];
	struct kbits_guid *ids;
	bool all = false;
	struct json j;
	size_t n;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, opts)) != -1) {
		if (opt == 'a')
			all = true;
		else
			return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	ret = cli_nargs(c, argc, 0, 0);
	if (!ret)
		ret = cli_open(c);
	if (ret)
		return ret;
	ret = kbits_job_list(c->k, all ? KBITS_ENUM_ALL_USERS : 0, &ids, &n);
	if (ret == -EPERM) {
		cli_error("list --all-users: only administrators (CAP_SYS_ADMIN) see other users' jobs");
		return EXIT_ERROR;
	}
	if (ret)
		return cli_fail(c, ret, NULL, "list");
	json_init(&j, stdout);
	if (c->json)
		json_arr(&j, NULL);
	else if (n)
		printf("%-36s  %-15s %-10s %-23s %-7s %s%s\n", "GUID", "STATE", "PRIORITY",
		       "BYTES", "FILES", all ? "OWNER     " : "", "NAME");
	for (size_t k = 0; k < n; k++) {
		struct kbits_job_info i;
		char *name = NULL;

		/* A job that left the registry since the listing is skipped. */
		if (kbits_job_get_info(c->k, &ids[k], &i) ||
		    kbits_job_get_display_name(c->k, &ids[k], &name))
			continue;
		if (c->json) {
			json_obj(&j, NULL);
			json_guid(&j, "id", &ids[k]);
			json_str(&j, "display_name", name);
			json_str(&j, "type", kbits_type_name(i.type));
			json_str(&j, "state", kbits_state_name(i.state));
			json_str(&j, "priority", kbits_priority_name(i.priority));
			json_u64(&j, "owner_uid", i.owner_uid);
			json_bytes(&j, "bytes_total", i.bytes_total);
			json_u64(&j, "bytes_transferred", i.bytes_transferred);
			json_u64(&j, "files_total", i.files_total);
			json_u64(&j, "files_transferred", i.files_transferred);
			json_end_obj(&j);
		} else {
			char bytes[48], files[24], owner[80] = "";
			const char *st = fmt_state(c, i.state);

			snprintf(bytes, sizeof(bytes), "%s/%s", fmt_bytes(i.bytes_transferred, b1, sizeof(b1)),
				 fmt_bytes(i.bytes_total, b2, sizeof(b2)));
			snprintf(files, sizeof(files), "%u/%u", i.files_transferred, i.files_total);
			if (all)
				snprintf(owner, sizeof(owner), "%-10s", fmt_user(i.owner_uid, u, sizeof(u)));
			/* Pad the state by its visible width, colour codes aside. */
			printf("%s  %s%*s %-10s %-23s %-7s %s%s\n", kbits_guid_format(&ids[k], g), st,
			       (int)(15 - strlen(kbits_state_name(i.state))), "",
			       kbits_priority_name(i.priority), bytes, files, owner, name);
		}
		free(name);
	}
	if (c->json) {
		json_end_arr(&j);
		json_done(&j);
	}
	free(ids);
	return EXIT_OK;
}

int verb_files(struct cli *c, int argc, char **argv)
{
	struct kbits_job_info i;
	struct kbits_guid id;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1)
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	ret = cli_nargs(c, argc, 1, 1);
	if (!ret)
		ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], &id);
	if (ret)
		return ret;
	/* Distinguish "no such job" from "no files" before walking them. */
	ret = kbits_job_get_info(c->k, &id, &i);
	if (ret)
		return cli_fail(c, ret, argv[optind], "files of");
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_guid(&j, "id", &id);
		json_files(c, &j, &id);
		json_end_obj(&j);
		json_done(&j);
	} else {
		print_files(c, &id);
	}
	return EXIT_OK;
}

int verb_version(struct cli *c, int argc, char **argv)
{
	char inst[KBITS_GUID_STRLEN + 1];
	struct kbits_version v;
	int opt, ret, err;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1)
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	ret = cli_nargs(c, argc, 0, 0);
	if (ret)
		return ret;
	/* The client's version is worth printing even without the module. */
	err = kbits_open_path(c->device, &c->k);
	if (!err)
		err = kbits_version(c->k, &v);
	if (!err)
		kbits_guid_format((const struct kbits_guid *)v.instance_id, inst);
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj(&j, NULL);
		json_str(&j, "kbitsctl", KBITS_VERSION);
		json_u64(&j, "client_abi_version", KBITS_ABI_VERSION);
		/* What the header kbitsctl was built with knows: a test compares. */
		json_u64(&j, "client_features", KBITS_FEATURE_ALL);
		if (!err) {
			json_obj(&j, "module");
			json_u64(&j, "abi_version", v.abi_version);
			json_u64(&j, "features", v.features);
			json_str(&j, "instance_id", inst);
			json_end_obj(&j);
		} else {
			json_null(&j, "module");
		}
		json_end_obj(&j);
		json_done(&j);
	} else {
		printf("kbitsctl %s (ABI %d)\n", KBITS_VERSION, KBITS_ABI_VERSION);
		if (!err)
			printf("kbits.ko ABI %u, features 0x%llx, instance %s\n", v.abi_version,
			       (unsigned long long)v.features, inst);
	}
	if (err == -ENOENT) {
		cli_error("kbits.ko is not loaded (no %s)", c->device);
		return EXIT_ERROR;
	}
	return err ? cli_fail(c, err, NULL, "version") : EXIT_OK;
}
