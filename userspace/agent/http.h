/* SPDX-License-Identifier: GPL-2.0 */
/* Small HTTP helpers shared by downloads (engine.c) and uploads (upload.c). */
#ifndef KBITS_AGENT_HTTP_H
#define KBITS_AGENT_HTTP_H

#include <stddef.h>

/*
 * The value of header NAME (case-insensitive) in one header line of LEN
 * bytes as libcurl hands it over, without surrounding blanks and CR/LF;
 * NULL when the line is another header.
 */
const char *kb_http_header_value(const char *line, size_t len, const char *name, size_t *vlen);

#endif
