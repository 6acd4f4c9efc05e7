// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * 601 Configuration and URIs. apt sends its whole configuration tree, one
 * "Config-Item: Name=value" per node; the method keeps the few it needs.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <kbits.h>

#include "conf.h"
#include "proto.h"

void apt_conf_init(struct apt_conf *c, uint32_t priority)
{
	memset(c, 0, sizeof(*c));
	c->priority = priority;
	c->timeout = APT_DEFAULT_TIMEOUT;
	c->max_jobs = APT_DEFAULT_MAX_JOBS;
}

void apt_conf_free(struct apt_conf *c)
{
	size_t i;

	free(c->proxy_http);
	free(c->proxy_https);
	for (i = 0; i < c->nr_host_proxies; i++) {
		free(c->host_proxies[i].scheme);
		free(c->host_proxies[i].host);
		free(c->host_proxies[i].value);
	}
	free(c->host_proxies);
	free(c->sandbox_user);
	memset(c, 0, sizeof(*c));
}

static int parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long n;
	char *end;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return -EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int add_host_proxy(struct apt_conf *c, const char *scheme, const char *host,
			  const char *value)
{
	struct apt_host_proxy *n, *p;

	n = realloc(c->host_proxies, (c->nr_host_proxies + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->host_proxies = n;
	p = &n[c->nr_host_proxies];
	p->scheme = strdup(scheme);
	p->host = strdup(host);
	p->value = strdup(value);
	if (!p->scheme || !p->host || !p->value) {
		free(p->scheme);
		free(p->host);
		free(p->value);
		return -ENOMEM;
	}
	c->nr_host_proxies++;
	return 0;
}

/* Acquire::http::Proxy, Acquire::https::Proxy and their ::<host> children. */
static int proxy_item(struct apt_conf *c, const char *name, const char *value)
{
	static const char *const schemes[] = { "http", "https" };
	char prefix[32];
	size_t i, n;

	for (i = 0; i < 2; i++) {
		n = (size_t)snprintf(prefix, sizeof(prefix), "Acquire::%s::Proxy", schemes[i]);
		if (strncasecmp(name, prefix, n))
			continue;
		if (!name[n])
			return set_str(i ? &c->proxy_https : &c->proxy_http, value);
		if (!strncmp(name + n, "::", 2) && name[n + 2])
			return add_host_proxy(c, schemes[i], name + n + 2, value);
	}
	return 0;
}

int apt_conf_item(struct apt_conf *c, const char *item, char *err, size_t errlen)
{
	char *copy, *name, *value, *eq;
	int ret = 0;

	copy = strdup(item);
	if (!copy)
		return -ENOMEM;
	eq = strchr(copy, '=');
	if (!eq) {
		snprintf(err, errlen, "Config-Item \"%.80s\" has no '='", item);
		free(copy);
		return -EINVAL;
	}
	*eq = '\0';
	name = copy;
	value = eq + 1;
	apt_dequote(name);
	apt_dequote(value);
	if (!strcasecmp(name, "Acquire::kbits::Priority")) {
		ret = kbits_priority_parse(value, &c->priority);
		if (ret)
			snprintf(err, errlen, "Acquire::kbits::Priority \"%.40s\": not one of "
				 "foreground, high, normal, low", value);
		else
			c->priority_set = 1;
	} else if (!strcasecmp(name, "Acquire::kbits::Timeout")) {
		ret = parse_u32(value, 1, 86400 * 30, &c->timeout);
		if (ret)
			snprintf(err, errlen, "Acquire::kbits::Timeout \"%.40s\": not a number of "
				 "seconds from 1 to 2592000", value);
		else
			c->timeout_set = 1;
	} else if (!strcasecmp(name, "Acquire::kbits::Max-Jobs")) {
		ret = parse_u32(value, 1, 60, &c->max_jobs);
		if (ret)
			snprintf(err, errlen, "Acquire::kbits::Max-Jobs \"%.40s\": not a number "
				 "from 1 to 60", value);
	} else if (!strcasecmp(name, "Acquire::http::Timeout") && !c->timeout_set) {
		/* apt's own timeout, unless ours was given (either order) */
		if (parse_u32(value, 1, 86400 * 30, &c->timeout))
			c->timeout = APT_DEFAULT_TIMEOUT;
	} else if (!strcasecmp(name, "Acquire::http::AllowRedirect")) {
		/* apt's http method reads this one name for both schemes */
		c->no_redirect = !strcasecmp(value, "false") || !strcmp(value, "0") ||
				 !strcasecmp(value, "no");
	} else if (!strcasecmp(name, "APT::Sandbox::User")) {
		ret = set_str(&c->sandbox_user, value);
	} else if (!strcasecmp(name, "Debug::NoDropPrivs")) {
		c->no_drop_privs = !strcasecmp(value, "true") || !strcmp(value, "1") ||
				   !strcasecmp(value, "yes");
	} else if (!strcasecmp(name, "Debug::Acquire::kbits")) {
		c->debug = !strcasecmp(value, "true") || !strcmp(value, "1") ||
			   !strcasecmp(value, "yes");
	} else if (!strncasecmp(name, "Acquire::http", 13)) {
		ret = proxy_item(c, name, value);
	}
	free(copy);
	return ret;
}

int apt_url_from_uri(const char *uri, char **url, char *err, size_t errlen)
{
	static const char pfx[] = "kbits+";

	if (strncasecmp(uri, pfx, sizeof(pfx) - 1) ||
	    (strncasecmp(uri + 6, "http://", 7) && strncasecmp(uri + 6, "https://", 8))) {
		snprintf(err, errlen, "%.200s: not a kbits+http:// or kbits+https:// URI", uri);
		return -EINVAL;
	}
	if (strchr(uri, ' ') || strchr(uri, '\t')) {
		snprintf(err, errlen, "%.200s: a URI with a blank", uri);
		return -EINVAL;
	}
	*url = strdup(uri + 6);
	return *url ? 0 : -ENOMEM;
}

/* The host part of an http(s) URL, into buf: "" when there is none. */
static void url_host(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://"), *e, *at;
	size_t n;

	buf[0] = '\0';
	if (!p)
		return;
	p += 3;
	e = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(e - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));

		if (rb)
			e = rb + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(e - p));

		if (colon)
			e = colon;
	}
	n = (size_t)(e - p);
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static uint32_t proxy_value(const char *v, const char **list)
{
	if (!strcasecmp(v, "DIRECT")) {
		*list = NULL;
		return KBITS_PROXY_NO_PROXY;
	}
	*list = v;
	return KBITS_PROXY_OVERRIDE;
}

uint32_t apt_conf_proxy(const struct apt_conf *c, const char *url, const char *msg_proxy,
			const char **list)
{
	int https = !strncasecmp(url, "https:", 6);
	const char *scheme = https ? "https" : "http";
	char host[256];
	size_t i;

	*list = NULL;
	if (msg_proxy && *msg_proxy)
		return proxy_value(msg_proxy, list);
	url_host(url, host, sizeof(host));
	for (i = 0; i < c->nr_host_proxies; i++)
		if (!strcmp(c->host_proxies[i].scheme, scheme) &&
		    !strcasecmp(c->host_proxies[i].host, host) && *c->host_proxies[i].value)
			return proxy_value(c->host_proxies[i].value, list);
	/* apt's https method falls back to the http proxy too */
	if (https && c->proxy_https && *c->proxy_https)
		return proxy_value(c->proxy_https, list);
	if (c->proxy_http && *c->proxy_http)
		return proxy_value(c->proxy_http, list);
	return KBITS_PROXY_PRECONFIG;
}

uint32_t apt_default_priority(const char *stat_line)
{
	const char *p = stat_line ? strrchr(stat_line, ')') : NULL;
	long tty;

	/* "pid (comm) state ppid pgrp session tty_nr ...": comm may hold spaces */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %ld", &tty) != 1)
		return KBITS_PRIORITY_FOREGROUND;
	return tty ? KBITS_PRIORITY_FOREGROUND : KBITS_PRIORITY_LOW;
}

int apt_drop_privileges(const char *user, char *err, size_t errlen)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct passwd *pw;

	/* like apt's methods: no set-uid program regains anything */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (!user || !*user || !strcmp(user, "root") || getuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "no user %s (APT::Sandbox::User): cannot drop privileges",
			 user);
		return errno ? -errno : -ENOENT;
	}
	if (setgroups(1, &pw->pw_gid) || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
		snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
		return -errno;
	}
	if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid) ||
	    ruid != pw->pw_uid || euid != pw->pw_uid || suid != pw->pw_uid ||
	    rgid != pw->pw_gid || egid != pw->pw_gid || sgid != pw->pw_gid) {
		snprintf(err, errlen, "the switch to %s did not take", user);
		return -EPERM;
	}
	return 0;
}
