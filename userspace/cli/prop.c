// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * get and set: one table of job properties, each with how to read it (a
 * string property or a field of GetJob) and how to write it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "cli.h"

enum kind {
	P_STR,		/* a KBITS_STR_* string */
	P_U32,		/* plain number */
	P_SECS,		/* seconds; set accepts 90s, 10m, 2h, 14d */
	P_MS,		/* milliseconds; set accepts 750, 750ms, 2s */
	P_BYTES,	/* bytes; set accepts K, M, G, T (binary) */
	P_TIME,		/* ns since the epoch, read-only */
	P_ENUM,		/* a name (priority, state, ...) */
	P_NOTIFY,	/* KBITS_NOTIFY_* as names */
	P_JOBFLAG,	/* one KBITS_JOB_F_* bit as yes/no */
	P_SECFLAG,	/* one KBITS_SECURITY_* bit as yes/no */
	P_AUTH,		/* KBITS_AUTH_SCHEME_* as names; 0 is "any" */
};

struct prop {
	const char *name;
	enum kind kind;
	uint32_t str;		/* P_STR: KBITS_STR_*; P_JOBFLAG, P_SECFLAG: the bit */
	ssize_t off;		/* numeric: offset in kbits_job_info; -1 none */
	int size;		/* numeric: 4 or 8 */
	bool readable, writable;
	const char *(*name_of)(uint32_t);			/* P_ENUM */
	int (*parse)(const char *, uint32_t *);			/* P_ENUM */
	int (*set32)(struct kbits *, const struct kbits_guid *, uint32_t);
	int (*set64)(struct kbits *, const struct kbits_guid *, uint64_t);
	const char *help;
};

/* The redirect policy alone: the other security flags stay as they are. */
static int set_redirect_policy(struct kbits *k, const struct kbits_guid *id, uint32_t policy)
{
	uint32_t f;
	int err = kbits_job_get_security_flags(k, id, &f);

	if (err)
		return err;
	return kbits_job_set_security_flags(k, id, (f & ~(uint32_t)KBITS_SECURITY_REDIRECT_MASK) | policy);
}

#define INFO(f) offsetof(struct kbits_job_info, f), (int)sizeof(((struct kbits_job_info *)0)->f)
#define NOINFO -1, 0

static const struct prop props[] = {
	{ "display_name", P_STR, KBITS_STR_DISPLAY_NAME, NOINFO, true, true, .help = "the job's name (not unique)" },
	{ "description", P_STR, KBITS_STR_DESCRIPTION, NOINFO, true, true, .help = "free text" },
	{ "priority", P_ENUM, 0, INFO(priority), true, true, kbits_priority_name, kbits_priority_parse,
	  .set32 = kbits_job_set_priority, .help = "foreground, high, normal or low" },
	{ "min_retry_delay", P_SECS, 0, INFO(min_retry_delay), true, true,
	  .set32 = kbits_job_set_min_retry_delay, .help = "seconds before retrying after a transient error" },
	{ "no_progress_timeout", P_SECS, 0, INFO(no_progress_timeout), true, true,
	  .set32 = kbits_job_set_no_progress_timeout, .help = "seconds without progress before an error is fatal (0: at once)" },
	{ "notify_flags", P_NOTIFY, 0, INFO(notify_flags), true, true,
	  .set32 = kbits_job_set_notify_flags, .help = "transferred,error,disable,modification,file_transferred or a number" },
	{ "notify_cmdline", P_STR, KBITS_STR_NOTIFY_CMDLINE, NOINFO, true, true, .help = "program run on notified events" },
	{ "proxy_usage", P_ENUM, 0, INFO(proxy_usage), true, true, kbits_proxy_usage_name, kbits_proxy_usage_parse,
	  .help = "preconfig, no_proxy, override or autodetect" },
	{ "proxy_list", P_STR, KBITS_STR_PROXY_LIST, NOINFO, true, true, .help = "proxies for proxy_usage override" },
	{ "proxy_bypass", P_STR, KBITS_STR_PROXY_BYPASS, NOINFO, true, true, .help = "hosts reached without the proxy" },
	{ "credentials", P_STR, KBITS_STR_CREDENTIALS, NOINFO, false, true,
	  .help = "USER:PASSWORD for the server (write-only; \"\" removes)" },
	{ "auth_schemes", P_AUTH, 0, INFO(server_auth_schemes), true, true,
	  .set32 = kbits_job_set_server_auth_schemes,
	  .help = "schemes for the server's credentials: any or basic,digest,ntlm,negotiate" },
	{ "proxy_credentials", P_STR, KBITS_STR_PROXY_CREDENTIALS, NOINFO, false, true,
	  .help = "USER:PASSWORD for the proxy (write-only; \"\" removes)" },
	{ "proxy_auth_schemes", P_AUTH, 0, INFO(proxy_auth_schemes), true, true,
	  .set32 = kbits_job_set_proxy_auth_schemes,
	  .help = "schemes for the proxy's credentials: any or basic,digest,ntlm,negotiate" },
	{ "http_headers", P_STR, KBITS_STR_HTTP_HEADERS, NOINFO, true, true, .help = "custom headers, \"Name: value\" lines" },
	{ "min_notify_interval", P_MS, 0, INFO(min_notify_interval_ms), true, true,
	  .set32 = kbits_job_set_min_notify_interval,
	  .help = "least time between progress events: milliseconds (750, 750ms, 2s); 0 is the default, 500 ms" },
	{ "max_download_time", P_SECS, 0, INFO(max_download_time), true, true,
	  .set64 = kbits_job_set_max_download_time, .help = "seconds of transfer before the job fails" },
	{ "max_download_size", P_BYTES, 0, INFO(max_download_size), true, true,
	  .set64 = kbits_job_set_max_download_size, .help = "bytes; 0 means no limit" },
	{ "max_bandwidth", P_BYTES, 0, INFO(max_bandwidth), true, true,
	  .set64 = kbits_job_set_max_bandwidth,
	  .help = "bytes per second (256K, 1M); 0 is kbitsd's per-job default" },
	{ "dynamic_content", P_JOBFLAG, KBITS_JOB_F_DYNAMIC_CONTENT, NOINFO, true, true, .help = "yes/no: no Range requests, no size check" },
	{ "http_put", P_JOBFLAG, KBITS_JOB_F_HTTP_PUT, NOINFO, true, true, .help = "yes/no: upload with a plain PUT" },
	{ "redirect_policy", P_ENUM, 0, INFO(security_flags), true, true, kbits_redirect_policy_name,
	  kbits_redirect_policy_parse, .set32 = set_redirect_policy,
	  .help = "allow, report (the file's URL becomes the final one) or disallow (a redirect is an error)" },
	{ "https_to_http", P_SECFLAG, KBITS_SECURITY_REDIRECT_HTTPS_TO_HTTP, NOINFO, true, true,
	  .help = "yes/no: follow a redirect from https to http (default no)" },
	{ "reply_file", P_STR, KBITS_STR_REPLY_FILE, NOINFO, true, true, .help = "upload-reply jobs: where the reply goes" },
	{ "client_cert", P_STR, KBITS_STR_CLIENT_CERT, NOINFO, true, true,
	  .help = "PEM client certificate (absolute path, read as the job's owner)" },
	{ "client_key", P_STR, KBITS_STR_CLIENT_KEY, NOINFO, true, true,
	  .help = "PEM private key of the client certificate, not encrypted (absolute path)" },
	{ "ca_bundle", P_STR, KBITS_STR_CA_BUNDLE, NOINFO, true, true,
	  .help = "PEM CA certificates trusted instead of the system's (absolute path)" },
	{ "pinned_pubkey", P_STR, KBITS_STR_PINNED_PUBKEY, NOINFO, true, true,
	  .help = "the server's key: sha256//BASE64[;sha256//...] or an absolute path of a public key" },
	/* Read-only. */
	{ "type", P_ENUM, 0, INFO(type), true, false, kbits_type_name, NULL, .help = "download, upload or upload_reply" },
	{ "state", P_ENUM, 0, INFO(state), true, false, kbits_state_name, NULL, .help = "the job's state" },
	{ "owner_uid", P_U32, 0, INFO(owner_uid), true, false, .help = "the owner's uid" },
	{ "bytes_total", P_U32, 0, INFO(bytes_total), true, false, .help = "bytes to transfer (unknown until known)" },
	{ "bytes_transferred", P_U32, 0, INFO(bytes_transferred), true, false, .help = "bytes transferred" },
	{ "files_total", P_U32, 0, INFO(files_total), true, false, .help = "files in the job" },
	{ "files_transferred", P_U32, 0, INFO(files_transferred), true, false, .help = "files transferred" },
	{ "creation_time", P_TIME, 0, INFO(creation_time), true, false, .help = "when the job was created" },
	{ "modification_time", P_TIME, 0, INFO(modification_time), true, false, .help = "when the job last changed" },
	{ "transfer_completion_time", P_TIME, 0, INFO(transfer_completion_time), true, false, .help = "when it transferred" },
	{ "error_count", P_U32, 0, INFO(error_count), true, false, .help = "errors so far" },
	{ "error_context", P_ENUM, 0, INFO(error_context), true, false, kbits_error_context_name, NULL, .help = "where the last error happened" },
	{ "error_code", P_U32, 0, INFO(error_code), true, false, .help = "-errno or HTTP status of the last error" },
	{ "error_description", P_STR, KBITS_STR_ERROR_DESCRIPTION, NOINFO, true, false, .help = "text of the last error" },
};

#define NPROPS (sizeof(props) / sizeof(props[0]))

static const char *const notify_names[] = {
	"transferred", "error", "disable", "modification", "file_transferred",
};

/* KBITS_AUTH_SCHEME_* by bit (BITS's BG_AUTH_SCHEME_* n is bit n - 1). */
static const char *const auth_names[] = { "basic", "digest", "ntlm", "negotiate" };

const char *cli_auth_schemes(uint32_t v, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t b = 0; b < 4; b++)
		if (v & (1u << b))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "",
				 auth_names[b]);
	if (!buf[0])
		snprintf(buf, len, "any");
	return buf;
}

static const struct prop *find(const char *name)
{
	for (size_t i = 0; i < NPROPS; i++) {
		if (!strcmp(props[i].name, name))
			return &props[i];
		/* "display-name" works too. */
		if (strlen(name) == strlen(props[i].name)) {
			size_t k;

			for (k = 0; name[k]; k++)
				if ((name[k] == '-' ? '_' : name[k]) != props[i].name[k])
					break;
			if (!name[k])
				return &props[i];
		}
	}
	return NULL;
}

static void list_props(FILE *f, bool writable)
{
	fprintf(f, "%s properties:\n", writable ? "settable" : "readable");
	for (size_t i = 0; i < NPROPS; i++)
		if (writable ? props[i].writable : props[i].readable)
			fprintf(f, "  %-25s %s\n", props[i].name, props[i].help);
}

static uint64_t info_field(const struct kbits_job_info *i, const struct prop *p)
{
	const char *base = (const char *)i + p->off;

	if (p->size == 8)
		return *(const uint64_t *)(const void *)base;
	return *(const uint32_t *)(const void *)base;
}

static void print_value(struct cli *c, const struct prop *p, const struct kbits_job_info *i,
			const char *s)
{
	uint64_t v = p->off >= 0 ? info_field(i, p) : 0;
	char buf[256];
	struct json j;

	json_init(&j, stdout);
	if (c->json) {
		json_obj(&j, NULL);
		json_str(&j, "property", p->name);
	}
	switch (p->kind) {
	case P_STR:
		if (c->json)
			json_str(&j, "value", s);
		else
			printf("%s\n", s);
		break;
	case P_ENUM:
		if (c->json)
			json_str(&j, "value", p->name_of((uint32_t)v));
		else
			printf("%s\n", p->name_of((uint32_t)v));
		break;
	case P_JOBFLAG:
		if (c->json)
			json_bool(&j, "value", i->job_flags & p->str);
		else
			printf("%s\n", i->job_flags & p->str ? "yes" : "no");
		break;
	case P_SECFLAG:
		if (c->json)
			json_bool(&j, "value", i->security_flags & p->str);
		else
			printf("%s\n", i->security_flags & p->str ? "yes" : "no");
		break;
	case P_NOTIFY:
		buf[0] = '\0';
		for (size_t b = 0; b < 5; b++)
			if (v & (1u << b))
				snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
					 buf[0] ? "," : "", notify_names[b]);
		if (c->json) {
			json_u64(&j, "value", v);
			json_str(&j, "names", buf);
		} else {
			printf("%s\n", buf[0] ? buf : "none");
		}
		break;
	case P_AUTH:
		cli_auth_schemes((uint32_t)v, buf, sizeof(buf));
		if (c->json) {
			json_u64(&j, "value", v);
			json_str(&j, "names", buf);
		} else {
			printf("%s\n", buf);
		}
		break;
	case P_TIME:
		if (c->json)
			json_u64(&j, "value", v);
		else
			printf("%s\n", fmt_time(v, buf, sizeof(buf)));
		break;
	default:
		if (!strcmp(p->name, "error_code")) {
			if (c->json)
				json_i64(&j, "value", (int32_t)v);
			else
				printf("%d\n", (int32_t)v);
		} else if (c->json) {
			json_bytes(&j, "value", p->size == 8 ? v : (uint32_t)v);
		} else if (v == KBITS_UNKNOWN) {
			printf("unknown\n");
		} else {
			printf("%" PRIu64 "\n", v);
		}
	}
	if (c->json) {
		json_end_obj(&j);
		json_done(&j);
	}
}

/*
 * What get and set share: --help and "help" list the properties; then
 * JOB PROPERTY [VALUE] with a property that can be read (set: written),
 * the device open and JOB found. Returns -1 to go on, or an exit status.
 */
static int prop_verb_start(struct cli *c, int argc, char **argv, bool set,
			   const struct prop **pp, struct kbits_guid *id)
{
	const struct prop *p;
	int opt, ret;

	while ((opt = cli_getopt(c, argc, argv, NULL)) != -1) {
		if (opt == 'h')
			list_props(stdout, set);
		return opt == 'h' ? EXIT_OK : EXIT_USAGE;
	}
	if ((argc - optind == 1 && !strcmp(argv[optind], "help")) ||
	    (argc - optind == 2 && !strcmp(argv[optind + 1], "help"))) {
		list_props(stdout, set);
		return EXIT_OK;
	}
	ret = cli_nargs(c, argc, set ? 3 : 2, set ? 3 : 2);
	if (ret)
		return ret;
	p = find(argv[optind + 1]);
	if (!p || !(set ? p->writable : p->readable)) {
		cli_usage(c, !p ? "no property '%s'" : set ? "'%s' is read-only" : "'%s' is write-only",
			  argv[optind + 1]);
		list_props(stderr, set);
		return EXIT_USAGE;
	}
	ret = cli_open(c);
	if (!ret)
		ret = cli_job(c, argv[optind], id);
	if (ret)
		return ret;
	*pp = p;
	return -1;
}

int verb_get(struct cli *c, int argc, char **argv)
{
	struct kbits_job_info i;
	const struct prop *p;
	struct kbits_guid id;
	char *s = NULL;
	int ret;

	ret = prop_verb_start(c, argc, argv, false, &p, &id);
	if (ret >= 0)
		return ret;
	ret = kbits_job_get_info(c->k, &id, &i);
	if (!ret && p->kind == P_STR)
		ret = kbits_job_get_string(c->k, &id, p->str, &s);
	if (ret)
		return cli_fail(c, ret, argv[optind], "get");
	print_value(c, p, &i, s);
	free(s);
	return EXIT_OK;
}

/* "90", "90s", "10m", "2h", "14d". */
static int parse_secs(const char *s, uint64_t *v)
{
	char *end;
	uint64_t n, mul = 1;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return -EINVAL;
	}
	if (n > UINT64_MAX / mul)
		return -ERANGE;
	*v = n * mul;
	return 0;
}

/* "1048576", "512K", "10M", "4G", "1T" (binary multiples). */
static int parse_bytes(const char *s, uint64_t *v)
{
	static const char units[] = "KMGT";
	char *end;
	uint64_t n, mul = 1;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		const char *u = strchr(units, *end & ~0x20);

		if (!u || (end[1] && strcasecmp(end + 1, "iB") && strcasecmp(end + 1, "B")))
			return -EINVAL;
		mul = 1ull << (10 * (u - units + 1));
	}
	if (n > UINT64_MAX / mul)
		return -ERANGE;
	*v = n * mul;
	return 0;
}

/*
 * A mask: a number within all, or names[] separated by ','. The word
 * zero_word (if any) alone means 0; a list of names must name one at least.
 */
static int parse_mask(const char *s, const char *const *names, size_t nnames, uint32_t all,
		      const char *zero_word, uint32_t *v)
{
	char *copy, *save, *tok;
	uint32_t f = 0;
	uint64_t n;

	if (zero_word && !strcasecmp(s, zero_word)) {
		*v = 0;
		return 0;
	}
	if (!parse_bytes(s, &n) && !strpbrk(s, "KMGTkmgt")) {
		if (n & ~(uint64_t)all)
			return -EINVAL;
		*v = (uint32_t)n;
		return 0;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t b;

		for (b = 0; b < nnames && strcasecmp(tok, names[b]); b++)
			;
		if (b == nnames) {
			free(copy);
			return -EINVAL;
		}
		f |= 1u << b;
	}
	free(copy);
	if (!f)
		return -EINVAL;
	*v = f;
	return 0;
}

static int parse_notify(const char *s, uint32_t *v)
{
	return parse_mask(s, notify_names, 5, KBITS_NOTIFY_ALL, "none", v);
}

/* "any" (0), or names of auth_names separated by ',', or a number. */
static int parse_auth(const char *s, uint32_t *v)
{
	return parse_mask(s, auth_names, 4, KBITS_AUTH_SCHEME_ALL, "any", v);
}

/* 750, 750ms or 2s: milliseconds. */
static int parse_ms(const char *s, uint64_t *v)
{
	unsigned long long n;
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (!strcmp(end, "s")) {
		if (n > UINT64_MAX / 1000)
			return -EINVAL;
		n *= 1000;
	} else if (*end && strcmp(end, "ms")) {
		return -EINVAL;
	}
	*v = n;
	return 0;
}

static int parse_bool(const char *s, bool *v)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "on"))
		*v = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") || !strcmp(s, "0") || !strcasecmp(s, "off"))
		*v = false;
	else
		return -EINVAL;
	return 0;
}

static int set_value(struct cli *c, const struct prop *p, const struct kbits_guid *id,
		     const char *val)
{
	uint64_t n = 0;
	uint32_t e;
	bool b;
	int err;

	switch (p->kind) {
	case P_STR:
		return kbits_job_set_string(c->k, id, p->str, val);
	case P_ENUM:
		if (p->parse(val, &e))
			return cli_usage(c, "'%s' is not a valid %s (%s)", val, p->name, p->help);
		if (!strcmp(p->name, "proxy_usage")) {
			char *list = NULL, *bypass = NULL;

			/* Usage alone: keep the lists as they are. */
			err = kbits_job_get_proxy(c->k, id, NULL, &list, &bypass);
			if (!err)
				err = kbits_job_set_proxy(c->k, id, e, list, bypass);
			free(list);
			free(bypass);
			return err;
		}
		return p->set32(c->k, id, e);
	case P_NOTIFY:
		if (parse_notify(val, &e))
			return cli_usage(c, "'%s': expected %s", val, p->help);
		return p->set32(c->k, id, e);
	case P_AUTH:
		if (parse_auth(val, &e))
			return cli_usage(c, "'%s': expected %s", val, p->help);
		return p->set32(c->k, id, e);
	case P_JOBFLAG:
		if (parse_bool(val, &b))
			return cli_usage(c, "'%s': expected yes or no", val);
		err = kbits_job_get_flags(c->k, id, &e);
		if (err)
			return err;
		return kbits_job_set_flags(c->k, id, b ? e | p->str : e & ~p->str);
	case P_SECFLAG:
		if (parse_bool(val, &b))
			return cli_usage(c, "'%s': expected yes or no", val);
		err = kbits_job_get_security_flags(c->k, id, &e);
		if (err)
			return err;
		return kbits_job_set_security_flags(c->k, id, b ? e | p->str : e & ~p->str);
	case P_MS:
		if (parse_ms(val, &n) || n > UINT32_MAX)
			return cli_usage(c, "'%s' is not a valid %s (%s)", val, p->name, p->help);
		return p->set32(c->k, id, (uint32_t)n);
	case P_SECS:
	case P_BYTES:
		err = p->kind == P_SECS ? parse_secs(val, &n) : parse_bytes(val, &n);
		if (err || (p->set32 && n > UINT32_MAX))
			return cli_usage(c, "'%s' is not a valid %s (%s)", val, p->name, p->help);
		return p->set32 ? p->set32(c->k, id, (uint32_t)n) : p->set64(c->k, id, n);
	default:
		return -EINVAL;
	}
}

int verb_set(struct cli *c, int argc, char **argv)
{
	const struct prop *p;
	struct kbits_guid id;
	int ret;

	ret = prop_verb_start(c, argc, argv, true, &p, &id);
	if (ret >= 0)
		return ret;
	ret = set_value(c, p, &id, argv[optind + 2]);
	if (ret == EXIT_USAGE)
		return ret;
	if (ret == -EINVAL || ret == -ENAMETOOLONG)
		return cli_usage(c, "kbits refused '%s' as %s (%s)", argv[optind + 2], p->name, p->help);
	if (ret == -EBUSY) {
		cli_error("cannot set %s of job '%s' in its current state (or of this job type)",
			  p->name, argv[optind]);
		return EXIT_ERROR;
	}
	return ret ? cli_fail(c, ret, argv[optind], "set") : cli_wait_durable(c, &id);
}
