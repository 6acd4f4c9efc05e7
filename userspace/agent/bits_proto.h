/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of Microsoft's BITS Upload Protocol [MC-BUP] that hold no state:
 * its constants, the numbers of its headers, the URLs it names.
 */
#ifndef KBITSD_BITS_PROTO_H
#define KBITSD_BITS_PROTO_H

#include <stdint.h>

#define KB_BITS_PROTOCOL	"{7df0354d-249b-430f-820d-3d2a9bef4931}"
#define KB_BG_E_SESSION_NOT_FOUND	0x80200031u	/* BITS-Error-Code */

/* An HRESULT as BITS-Error-Code carries it ("0x80070005" or "80070005"):
 * 0, or -1 when s is not one. */
int kb_bits_parse_hex(const char *s, uint32_t *out);
/* The URL of BITS requests: url with its host replaced by the server's
 * BITS-Host-Id ("name" or "name:port"), url itself without one. Allocated;
 * NULL: out of memory or not a URL. */
char *kb_bits_request_url(const char *url, const char *host_id);
/* A BITS-Reply-URL, relative or absolute, against the URL it came from. */
char *kb_bits_resolve_url(const char *base, const char *rel);

#endif
