// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The method protocol's framing: split apt's byte stream into messages,
 * look fields up, build replies. No I/O here, so the host tests drive it
 * with strings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto.h"

int apt_reader_feed(struct apt_reader *r, const char *data, size_t n)
{
	if (r->len + n > APT_MSG_MAX + 2)
		return -EMSGSIZE;
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return 0;
}

void apt_reader_free(struct apt_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Parse text (one message, NUL-terminated, owned by m on success). */
static int parse_msg(char *text, struct apt_msg *m, char *err, size_t errlen)
{
	char *line, *save = NULL, *end, *colon;
	size_t cap = 0;
	long code;

	memset(m, 0, sizeof(*m));
	line = strtok_r(text, "\n", &save);
	if (!line)
		return -EPROTO;
	code = strtol(line, &end, 10);
	if (end == line || code < 100 || code > 999 || (*end && *end != ' ')) {
		snprintf(err, errlen, "malformed status line \"%.60s\"", line);
		return -EPROTO;
	}
	m->code = (int)code;
	m->title = trim(end);
	while ((line = strtok_r(NULL, "\n", &save))) {
		colon = strchr(line, ':');
		if (!colon || colon == line) {
			snprintf(err, errlen, "message %d: a line without \"Name:\": \"%.60s\"",
				 m->code, line);
			free(m->fields);
			m->fields = NULL;
			return -EPROTO;
		}
		*colon = '\0';
		if (m->nr_fields == cap) {
			struct apt_field *nf;

			cap = cap ? cap * 2 : 16;
			nf = realloc(m->fields, cap * sizeof(*nf));
			if (!nf) {
				free(m->fields);
				m->fields = NULL;
				return -ENOMEM;
			}
			m->fields = nf;
		}
		m->fields[m->nr_fields].name = trim(line);
		m->fields[m->nr_fields].value = trim(colon + 1);
		m->nr_fields++;
	}
	m->text = text;
	return 0;
}

int apt_reader_next(struct apt_reader *r, struct apt_msg *m, char *err, size_t errlen)
{
	size_t skip = 0, mlen;
	char *text, *end;
	int ret;

	/* blank lines between messages are not messages */
	while (skip < r->len && (r->buf[skip] == '\n' || r->buf[skip] == '\r'))
		skip++;
	if (skip) {
		memmove(r->buf, r->buf + skip, r->len - skip + 1);
		r->len -= skip;
	}
	if (!r->len)
		return 0;
	end = strstr(r->buf, "\n\n");
	if (!end) {
		if (r->len > APT_MSG_MAX) {
			snprintf(err, errlen, "a message longer than %u bytes", APT_MSG_MAX);
			return -EMSGSIZE;
		}
		return 0;
	}
	mlen = (size_t)(end - r->buf);
	text = strndup(r->buf, mlen);
	if (!text)
		return -ENOMEM;
	memmove(r->buf, end + 2, r->len - mlen - 2 + 1);
	r->len -= mlen + 2;
	ret = parse_msg(text, m, err, errlen);
	if (ret < 0) {
		free(text);
		return ret;
	}
	return 1;
}

const char *apt_msg_get(const struct apt_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nr_fields; i++)
		if (!strcasecmp(m->fields[i].name, name))
			return m->fields[i].value;
	return NULL;
}

int apt_msg_bool(const struct apt_msg *m, const char *name, int def)
{
	const char *v = apt_msg_get(m, name);

	if (!v)
		return def;
	return !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") ||
	       !strcasecmp(v, "on") || !strcasecmp(v, "enable");
}

void apt_msg_free(struct apt_msg *m)
{
	free(m->fields);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

/* ---- the writer ------------------------------------------------------------ */

static void out_reserve(struct apt_out *o, size_t n)
{
	size_t cap;
	char *nb;

	if (o->err || o->len + n + 1 <= o->cap)
		return;
	cap = o->cap ? o->cap : 256;
	while (cap < o->len + n + 1)
		cap *= 2;
	nb = realloc(o->buf, cap);
	if (!nb) {
		o->err = -ENOMEM;
		return;
	}
	o->buf = nb;
	o->cap = cap;
}

static void out_vappend(struct apt_out *o, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		o->err = -EINVAL;
		return;
	}
	out_reserve(o, (size_t)n);
	if (o->err)
		return;
	vsnprintf(o->buf + o->len, (size_t)n + 1, fmt, ap);
	o->len += (size_t)n;
}

static void out_append(struct apt_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_vappend(o, fmt, ap);
	va_end(ap);
}

void apt_out_begin(struct apt_out *o, int code, const char *title)
{
	o->len = 0;
	o->err = 0;
	out_append(o, "%d %s\n", code, title);
}

void apt_out_field(struct apt_out *o, const char *name, const char *fmt, ...)
{
	size_t start, i;
	va_list ap;

	out_append(o, "%s: ", name);
	start = o->len;
	va_start(ap, fmt);
	out_vappend(o, fmt, ap);
	va_end(ap);
	if (o->err)
		return;
	/* an embedded newline would end the field, or the whole message */
	for (i = start; i < o->len; i++)
		if (o->buf[i] == '\n' || o->buf[i] == '\r')
			o->buf[i] = ' ';
	out_append(o, "\n");
}

int apt_out_end(struct apt_out *o)
{
	out_append(o, "\n");
	return o->err;
}

void apt_out_free(struct apt_out *o)
{
	free(o->buf);
	memset(o, 0, sizeof(*o));
}

/* ---- values ---------------------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void apt_dequote(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*w++ = (char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

int apt_date_parse(const char *s, int64_t *t)
{
	char wday[4], mon[4], zone[4];
	int day, year, h, mi, sec, i, n = 0;
	struct tm tm = { 0 };

	if (!s || sscanf(s, "%3[A-Za-z], %d %3s %d %d:%d:%d %3s%n", wday, &day, mon, &year, &h,
			 &mi, &sec, zone, &n) != 8 || s[n] || strlen(wday) != 3 ||
	    strcmp(zone, "GMT") || day < 1 || day > 31 || year < 1970 ||
	    h > 23 || mi > 59 || sec > 60 || h < 0 || mi < 0 || sec < 0)
		return -EINVAL;
	for (i = 0; i < 12 && strcmp(mon, months[i]); i++)
		;
	if (i == 12)
		return -EINVAL;
	tm.tm_mday = day;
	tm.tm_mon = i;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = (int64_t)timegm(&tm);
	return 0;
}

char *apt_date_format(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
	return buf;
}
