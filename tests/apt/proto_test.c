// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host tests of the APT method's protocol parser, message writer,
 * configuration and hashing (userspace/apt/): no kbits.ko, no apt. TAP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kbits.h>

#include "conf.h"
#include "hash.h"
#include "proto.h"

static int n, failed;

static void ok(int cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#include <stdarg.h>
static void ok(int cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	n++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, name);
	if (!cond) {
		failed = 1;
		printf("#   ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
}

static void reader_splits_messages_fed_byte_by_byte(void)
{
	static const char in[] = "\n601 Configuration\nConfig-Item: A::b=1\nConfig-Item: C=2\n\n"
				 "600 URI Acquire\nURI: kbits+http://h/p\nfilename:  /tmp/x \n\n";
	struct apt_reader r = { 0 };
	struct apt_msg m[2];
	int got = 0, ret = 0;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(in) - 1 && ret >= 0; i++) {
		apt_reader_feed(&r, &in[i], 1);
		while (got < 2 && (ret = apt_reader_next(&r, &m[got], err, sizeof(err))) > 0)
			got++;
	}
	ok(got == 2 && m[0].code == 601 && m[1].code == 600 && !strcmp(m[1].title, "URI Acquire"),
	   "reader: two messages fed a byte at a time", "got %d messages, ret %d", got, ret);
	if (got < 2)
		goto out;
	ok(m[0].nr_fields == 2 && !strcmp(m[0].fields[1].value, "C=2"),
	   "reader: repeated Config-Item fields are all kept", "%zu fields", m[0].nr_fields);
	ok(apt_msg_get(&m[1], "FileName") && !strcmp(apt_msg_get(&m[1], "FileName"), "/tmp/x"),
	   "reader: field names are case-insensitive, values trimmed", "got \"%s\"",
	   apt_msg_get(&m[1], "FileName") ? apt_msg_get(&m[1], "FileName") : "(null)");
	ok(!apt_msg_get(&m[1], "Last-Modified"), "reader: an absent field is NULL", "not NULL");
	apt_msg_free(&m[1]);
out:
	if (got > 0)
		apt_msg_free(&m[0]);
	apt_reader_free(&r);
}

static void reader_refuses_bad_messages_and_goes_on(void)
{
	static const char in[] = "hello\nURI: x\n\n600 URI Acquire\nno colon here\n\n"
				 "600 URI Acquire\nURI: u\n\n";
	struct apt_reader r = { 0 };
	struct apt_msg m;
	char err[128] = "";
	int r1, r2, r3;

	apt_reader_feed(&r, in, sizeof(in) - 1);
	r1 = apt_reader_next(&r, &m, err, sizeof(err));
	ok(r1 == -EPROTO && strstr(err, "malformed status line"),
	   "reader: a message without a number is -EPROTO", "ret %d, err \"%s\"", r1, err);
	r2 = apt_reader_next(&r, &m, err, sizeof(err));
	ok(r2 == -EPROTO && strstr(err, "without \"Name:\""),
	   "reader: a line without a colon is -EPROTO", "ret %d, err \"%s\"", r2, err);
	r3 = apt_reader_next(&r, &m, err, sizeof(err));
	ok(r3 == 1 && !strcmp(apt_msg_get(&m, "URI"), "u"),
	   "reader: the message after bad ones is read", "ret %d", r3);
	if (r3 == 1)
		apt_msg_free(&m);
	ok(apt_reader_next(&r, &m, err, sizeof(err)) == 0, "reader: then nothing", "not 0");
	apt_reader_free(&r);
}

static void reader_refuses_an_endless_message(void)
{
	struct apt_reader r = { 0 };
	struct apt_msg m;
	char *big = malloc(APT_MSG_MAX + 16), err[128];
	int ret;

	memset(big, 'a', APT_MSG_MAX + 16);
	memcpy(big, "600 X\nA: ", 9);
	ret = apt_reader_feed(&r, big, APT_MSG_MAX + 1);
	if (!ret)
		ret = apt_reader_next(&r, &m, err, sizeof(err));
	ok(ret == -EMSGSIZE, "reader: a message past APT_MSG_MAX is -EMSGSIZE", "ret %d", ret);
	free(big);
	apt_reader_free(&r);
}

static void writer_builds_messages(void)
{
	struct apt_out o = { 0 };
	int ret;

	apt_out_begin(&o, 400, "URI Failure");
	apt_out_field(&o, "URI", "%s", "kbits+http://h/p");
	apt_out_field(&o, "Message", "%s", "line one\nline two\r");
	apt_out_field(&o, "Size", "%d", 42);
	ret = apt_out_end(&o);
	ok(!ret && !strcmp(o.buf, "400 URI Failure\nURI: kbits+http://h/p\n"
			  "Message: line one line two \nSize: 42\n\n"),
	   "writer: fields in order, newlines in a value become spaces, empty line at the end",
	   "got \"%s\"", o.buf);
	apt_out_begin(&o, 102, "Status");
	apt_out_end(&o);
	ok(!strcmp(o.buf, "102 Status\n\n"), "writer: the buffer is reused", "got \"%s\"", o.buf);
	apt_out_free(&o);
}

static void values_dequote_and_dates(void)
{
	char q[] = "Acquire::http::Proxy=http://p%3a3128/%zz%2";
	char date[64];
	int64_t t = 0;
	int ret;

	apt_dequote(q);
	ok(!strcmp(q, "Acquire::http::Proxy=http://p:3128/%zz%2"),
	   "dequote: %XX decoded, anything else kept", "got \"%s\"", q);
	ret = apt_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t);
	ok(!ret && t == 784111777, "date: RFC 1123 parsed", "ret %d t %lld", ret, (long long)t);
	apt_date_format(784111777, date, sizeof(date));
	ok(!strcmp(date, "Sun, 06 Nov 1994 08:49:37 GMT"), "date: formatted back", "got \"%s\"",
	   date);
	ok(apt_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t) == -EINVAL &&
	   apt_date_parse("Sun, 06 Nov 1994 08:49:37 GMT trailing", &t) == -EINVAL &&
	   apt_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t) == -EINVAL &&
	   apt_date_parse("Sun, 06 Nov 1994 25:49:37 GMT", &t) == -EINVAL &&
	   apt_date_parse("", &t) == -EINVAL,
	   "date: other forms, trailing text, bad month or hour are -EINVAL", "one was accepted");
}

static void conf_items(void)
{
	struct apt_conf c;
	char err[256] = "";
	int ret;

	apt_conf_init(&c, KBITS_PRIORITY_FOREGROUND);
	ret = apt_conf_item(&c, "Acquire::kbits::Priority=low", err, sizeof(err));
	ok(!ret && c.priority == KBITS_PRIORITY_LOW && c.priority_set,
	   "conf: Acquire::kbits::Priority=low", "ret %d priority %u", ret, c.priority);
	ret = apt_conf_item(&c, "acquire::KBITS::priority=Urgent", err, sizeof(err));
	ok(ret == -EINVAL && strstr(err, "not one of foreground, high, normal, low") &&
	   c.priority == KBITS_PRIORITY_LOW,
	   "conf: a bad priority is -EINVAL with a sentence, the old value kept", "ret %d err \"%s\"",
	   ret, err);
	ok(c.timeout == APT_DEFAULT_TIMEOUT && c.max_jobs == APT_DEFAULT_MAX_JOBS,
	   "conf: defaults 120 s and 8 jobs", "timeout %u max_jobs %u", c.timeout, c.max_jobs);
	ok(!c.no_redirect, "conf: redirects are followed by default", "no_redirect %d", c.no_redirect);
	apt_conf_item(&c, "Acquire::http::AllowRedirect=false", err, sizeof(err));
	ok(c.no_redirect, "conf: Acquire::http::AllowRedirect false refuses redirects", "no_redirect %d", c.no_redirect);
	apt_conf_item(&c, "Acquire::http::AllowRedirect=true", err, sizeof(err));
	ok(!c.no_redirect, "conf: Acquire::http::AllowRedirect true follows them again", "no_redirect %d", c.no_redirect);
	apt_conf_item(&c, "Acquire::http::Timeout=30", err, sizeof(err));
	ok(c.timeout == 30, "conf: apt's Acquire::http::Timeout when ours is not given",
	   "timeout %u", c.timeout);
	apt_conf_item(&c, "Acquire::kbits::Timeout=300", err, sizeof(err));
	apt_conf_item(&c, "Acquire::http::Timeout=20", err, sizeof(err));
	ok(c.timeout == 300, "conf: Acquire::kbits::Timeout wins over apt's, in either order",
	   "timeout %u", c.timeout);
	ok(apt_conf_item(&c, "Acquire::kbits::Timeout=0", err, sizeof(err)) == -EINVAL &&
	   apt_conf_item(&c, "Acquire::kbits::Timeout=12s", err, sizeof(err)) == -EINVAL &&
	   apt_conf_item(&c, "Acquire::kbits::Max-Jobs=61", err, sizeof(err)) == -EINVAL &&
	   apt_conf_item(&c, "Acquire::kbits::Max-Jobs=-1", err, sizeof(err)) == -EINVAL,
	   "conf: timeout 0, '12s', 61 jobs, -1 jobs are -EINVAL", "one was accepted");
	ok(apt_conf_item(&c, "Acquire::kbits::Max-Jobs=4", err, sizeof(err)) == 0 && c.max_jobs == 4,
	   "conf: Max-Jobs=4", "max_jobs %u", c.max_jobs);
	ok(apt_conf_item(&c, "no equals sign", err, sizeof(err)) == -EINVAL &&
	   apt_conf_item(&c, "APT::Architecture=amd64", err, sizeof(err)) == 0,
	   "conf: an item without '=' is -EINVAL, others' items are ignored", "wrong");
	apt_conf_free(&c);
}

static void conf_proxies(void)
{
	const char *list = NULL;
	struct apt_conf c;
	char err[128];
	uint32_t u;

	apt_conf_init(&c, KBITS_PRIORITY_LOW);
	u = apt_conf_proxy(&c, "http://deb.example/debian", NULL, &list);
	ok(u == KBITS_PROXY_PRECONFIG && !list, "proxy: none configured is PRECONFIG", "usage %u", u);
	apt_conf_item(&c, "Acquire::http::Proxy=http%3a//proxy:3128", err, sizeof(err));
	apt_conf_item(&c, "Acquire::http::Proxy::mirror.local=DIRECT", err, sizeof(err));
	apt_conf_item(&c, "Acquire::http::Proxy::other.example=http://p2:8080", err, sizeof(err));
	u = apt_conf_proxy(&c, "http://deb.example/debian", NULL, &list);
	ok(u == KBITS_PROXY_OVERRIDE && list && !strcmp(list, "http://proxy:3128"),
	   "proxy: Acquire::http::Proxy is OVERRIDE with its URL", "usage %u list %s", u,
	   list ? list : "(null)");
	u = apt_conf_proxy(&c, "http://user@mirror.local:8080/debian", NULL, &list);
	ok(u == KBITS_PROXY_NO_PROXY && !list, "proxy: ::<host> DIRECT is NO_PROXY", "usage %u", u);
	u = apt_conf_proxy(&c, "http://other.example/x", NULL, &list);
	ok(u == KBITS_PROXY_OVERRIDE && !strcmp(list, "http://p2:8080"),
	   "proxy: ::<host> URL wins over the global one", "list %s", list ? list : "(null)");
	u = apt_conf_proxy(&c, "https://deb.example/x", NULL, &list);
	ok(u == KBITS_PROXY_OVERRIDE && !strcmp(list, "http://proxy:3128"),
	   "proxy: https falls back to Acquire::http::Proxy", "list %s", list ? list : "(null)");
	apt_conf_item(&c, "Acquire::https::Proxy=http://sp:1", err, sizeof(err));
	u = apt_conf_proxy(&c, "https://deb.example/x", NULL, &list);
	ok(u == KBITS_PROXY_OVERRIDE && !strcmp(list, "http://sp:1"),
	   "proxy: Acquire::https::Proxy for https", "list %s", list ? list : "(null)");
	u = apt_conf_proxy(&c, "http://deb.example/x", "DIRECT", &list);
	ok(u == KBITS_PROXY_NO_PROXY, "proxy: the message's Proxy field wins", "usage %u", u);
	apt_conf_free(&c);
}

static void uris(void)
{
	char *url = NULL, err[256] = "";
	int ret;

	ret = apt_url_from_uri("kbits+http://127.0.0.1:8080/debian/dists/x/InRelease", &url, err,
			       sizeof(err));
	ok(!ret && !strcmp(url, "http://127.0.0.1:8080/debian/dists/x/InRelease"),
	   "uri: kbits+http:// becomes http://", "ret %d url %s", ret, url ? url : "(null)");
	free(url);
	url = NULL;
	ret = apt_url_from_uri("KBITS+HTTPS://h/p", &url, err, sizeof(err));
	ok(!ret && !strcmp(url, "HTTPS://h/p"), "uri: kbits+https:// in any case", "ret %d", ret);
	free(url);
	url = NULL;
	ok(apt_url_from_uri("http://h/p", &url, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "not a kbits+http://") &&
	   apt_url_from_uri("kbits+ftp://h/p", &url, err, sizeof(err)) == -EINVAL &&
	   apt_url_from_uri("kbits+http://h/a b", &url, err, sizeof(err)) == -EINVAL && !url,
	   "uri: http://, kbits+ftp:// and a blank are -EINVAL", "accepted; err \"%s\"", err);
}

static void default_priority(void)
{
	ok(apt_default_priority("123 (kbits+http) S 1 123 123 0 -1 4194560") == KBITS_PRIORITY_LOW,
	   "priority: no controlling terminal (apt-daily) is LOW", "not LOW");
	ok(apt_default_priority("123 (a) b) S 1 123 123 34816 123") == KBITS_PRIORITY_FOREGROUND,
	   "priority: a terminal (a person) is FOREGROUND, ')' in the name is skipped",
	   "not FOREGROUND");
	ok(apt_default_priority("garbage") == KBITS_PRIORITY_FOREGROUND,
	   "priority: unreadable is FOREGROUND", "not FOREGROUND");
}

static void hashes(void)
{
	char path[] = "/tmp/apt_proto_test.XXXXXX";
	struct apt_hashes h;
	int fd = mkstemp(path), ret;

	if (fd < 0 || write(fd, "abc", 3) != 3) {
		ok(0, "hash: a temporary file", "cannot write %s", path);
		return;
	}
	close(fd);
	ret = apt_hash_file(path, &h);
	ok(!ret && h.size == 3 &&
	   !strcmp(h.hex[APT_MD5], "900150983cd24fb0d6963f7d28e17f72") &&
	   !strcmp(h.hex[APT_SHA1], "a9993e364706816aba3e25717850c26c9cd0d89d") &&
	   !strcmp(h.hex[APT_SHA256],
		   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") &&
	   !strncmp(h.hex[APT_SHA512], "ddaf35a193617abacc417349ae204131", 32) &&
	   strlen(h.hex[APT_SHA512]) == 128,
	   "hash: \"abc\" gives the FIPS test vectors", "ret %d sha256 %s", ret, h.hex[APT_SHA256]);
	unlink(path);
	ret = apt_hash_file(path, &h);
	ok(ret == -ENOENT, "hash: a missing file is -ENOENT", "ret %d", ret);
}

int main(void)
{
	printf("TAP version 13\n");
	reader_splits_messages_fed_byte_by_byte();
	reader_refuses_bad_messages_and_goes_on();
	reader_refuses_an_endless_message();
	writer_builds_messages();
	values_dequote_and_dates();
	conf_items();
	conf_proxies();
	uris();
	default_priority();
	hashes();
	printf("1..%d\n", n);
	return failed;
}
