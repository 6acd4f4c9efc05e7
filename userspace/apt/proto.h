/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * APT's method protocol: messages of a status line ("600 URI Acquire")
 * and "Name: value" lines, ended by an empty line, on stdin and stdout.
 * The reader splits a byte stream into messages; the writer builds one.
 */
#ifndef APT_PROTO_H
#define APT_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct apt_field {
	const char *name;
	const char *value;
};

struct apt_msg {
	int code;			/* 600, 601, ... */
	const char *title;		/* "URI Acquire" */
	struct apt_field *fields;
	size_t nr_fields;
	char *text;			/* owns the strings above */
};

/* Bytes read from apt, not yet a whole message. */
struct apt_reader {
	char *buf;
	size_t len, cap;
};

/* A message larger than this is refused: apt's biggest is 601 Configuration. */
#define APT_MSG_MAX (4u << 20)

int apt_reader_feed(struct apt_reader *r, const char *data, size_t n);
/*
 * apt_reader_next - 1 and *m for the next whole message, 0 when more bytes
 * are needed, -EPROTO for a message that does not start with a number or has
 * a line without ':' (the message is dropped), -EMSGSIZE past APT_MSG_MAX.
 */
int apt_reader_next(struct apt_reader *r, struct apt_msg *m, char *err, size_t errlen);
void apt_reader_free(struct apt_reader *r);

/* The first field of that name (case-insensitive), or NULL. */
const char *apt_msg_get(const struct apt_msg *m, const char *name);
/* "true"/"yes"/"1" (apt's StringToBool), else 0; def when absent. */
int apt_msg_bool(const struct apt_msg *m, const char *name, int def);
void apt_msg_free(struct apt_msg *m);

/* An outgoing message; errors (-ENOMEM) stick until apt_out_take(). */
struct apt_out {
	char *buf;
	size_t len, cap;
	int err;
};

void apt_out_begin(struct apt_out *o, int code, const char *title);
/* Newlines in the value become spaces: a value is one line. */
void apt_out_field(struct apt_out *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Ends the message; 0 and the text in o->buf (o->len bytes), or -ENOMEM. */
int apt_out_end(struct apt_out *o);
void apt_out_free(struct apt_out *o);

/* apt's %XX quoting of 601's Config-Item (QuoteString): decoded in place. */
void apt_dequote(char *s);

/*
 * RFC 1123 dates as apt sends them ("Sun, 06 Nov 1994 08:49:37 GMT"):
 * 0 and *t, or -EINVAL. apt_date_format writes one into buf (>= 32 bytes).
 */
int apt_date_parse(const char *s, int64_t *t);
char *apt_date_format(int64_t t, char *buf, size_t len);

#endif
