// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

const char *kb_http_header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	v = line + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

bool kb_http_status_line(const char *line, size_t len, long *status)
{
	const char *sp;

	if (len < 5 || strncmp(line, "HTTP/", 5))
		return false;
	sp = memchr(line, ' ', len);
	*status = sp ? strtol(sp + 1, NULL, 10) : 0;
	return true;
}

bool kb_http_headers_end(const char *line, size_t len)
{
	return (len == 2 && line[0] == '\r') || (len == 1 && line[0] == '\n');
}

void kb_http_copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = 0;
	memcpy(dst, v, n);
	dst[n] = '\0';
}
