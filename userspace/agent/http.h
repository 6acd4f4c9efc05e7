/* SPDX-License-Identifier: GPL-2.0 */
/* Small HTTP helpers shared by downloads (engine.c) and uploads (upload_session.c,
 * upload_cancel.c): reading the header lines libcurl hands over. */
#ifndef KBITS_AGENT_HTTP_H
#define KBITS_AGENT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The value of header NAME (case-insensitive) in one header line of LEN
 * bytes as libcurl hands it over, without surrounding blanks and CR/LF;
 * NULL when the line is another header.
 */
const char *kb_http_header_value(const char *line, size_t len, const char *name, size_t *vlen);

/* A status line ("HTTP/1.1 404 ..."): true, and *status its code (0 when
 * unreadable); false for any other line. */
bool kb_http_status_line(const char *line, size_t len, long *status);
/* The blank line that ends a response's headers. */
bool kb_http_headers_end(const char *line, size_t len);
/* Copies a header value of n bytes as a string into dst (cap bytes); a
 * value that does not fit becomes "" (too long to be one we use). */
void kb_http_copy_value(char *dst, size_t cap, const char *v, size_t n);

#endif
