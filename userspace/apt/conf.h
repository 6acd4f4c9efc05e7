/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the method takes from apt's configuration (601 Configuration) and
 * from the URIs it is given.
 */
#ifndef APT_CONF_H
#define APT_CONF_H

#include <stddef.h>
#include <stdint.h>

struct apt_host_proxy {
	char *scheme;		/* "http" or "https" */
	char *host;
	char *value;		/* a proxy URL, or "DIRECT" */
};

struct apt_conf {
	uint32_t priority;		/* KBITS_PRIORITY_* */
	int priority_set;		/* Acquire::kbits::Priority was given */
	uint32_t timeout;		/* s without progress before a failure */
	int timeout_set;		/* Acquire::kbits::Timeout was given */
	uint32_t max_jobs;		/* jobs in flight at once */
	int no_redirect;		/* Acquire::http::AllowRedirect "false" */
	char *proxy_http;		/* Acquire::http::Proxy */
	char *proxy_https;		/* Acquire::https::Proxy */
	struct apt_host_proxy *host_proxies;	/* Acquire::http::Proxy::<host> */
	size_t nr_host_proxies;
	int debug;			/* Debug::Acquire::kbits */
	char *sandbox_user;		/* APT::Sandbox::User: who the method becomes */
	int no_drop_privs;		/* Debug::NoDropPrivs */
};

#define APT_DEFAULT_TIMEOUT 120
#define APT_DEFAULT_MAX_JOBS 8

/* Defaults: priority from apt_default_priority(), timeout 120 s, 8 jobs. */
void apt_conf_init(struct apt_conf *c, uint32_t priority);
void apt_conf_free(struct apt_conf *c);

/*
 * apt_conf_item - one Config-Item value, "Name=value" as apt quotes it (the
 * %XX are decoded here). Unknown names are ignored; a bad value of one of
 * ours is -EINVAL with a sentence in err.
 */
int apt_conf_item(struct apt_conf *c, const char *item, char *err, size_t errlen);

/*
 * apt_url_from_uri - the http(s) URL of a "kbits+http://..." or
 * "kbits+https://..." URI, malloc()ed in *url; -EINVAL (with a sentence)
 * for anything else.
 */
int apt_url_from_uri(const char *uri, char **url, char *err, size_t errlen);

/*
 * apt_conf_proxy - the proxy for url: 0 (KBITS_PROXY_PRECONFIG, apt names
 * none), 1 (KBITS_PROXY_NO_PROXY, "DIRECT") or 2 (KBITS_PROXY_OVERRIDE
 * with *list the proxy URL). msg_proxy is the 600 message's Proxy field
 * (apt's auto-detection), which wins when set.
 */
uint32_t apt_conf_proxy(const struct apt_conf *c, const char *url, const char *msg_proxy,
			const char **list);

/*
 * The default priority: FOREGROUND when the method has a controlling
 * terminal (a person runs apt), LOW otherwise (apt-daily, unattended
 * upgrades). stat_line is /proc/self/stat's text.
 */
uint32_t apt_default_priority(const char *stat_line);

/*
 * apt_drop_privileges - what apt's own methods do after 601 Configuration
 * (apt-pkg's DropPrivileges()): no_new_privs, then become user (its group
 * only), checked. Nothing to do for "", "root" or a caller that is not
 * root. 0, or -errno with a sentence.
 */
int apt_drop_privileges(const char *user, char *err, size_t errlen);

#endif
