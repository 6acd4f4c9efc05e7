// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Job GUIDs in text: the canonical lowercase 8-4-4-4-12 form, bytes in the
 * order the kernel stores them (uuid_t, %pUb), so that kbitsctl, the
 * kernel log and the agent's store all print one job the same way.
 */
#include <stdio.h>

#include "internal.h"

/* Byte index where each '-' goes before: 4, 6, 8, 10. */
static int dash_before(int byte)
{
	return byte == 4 || byte == 6 || byte == 8 || byte == 10;
}

char *kbits_guid_format(const struct kbits_guid *id, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (dash_before(i))
			*p++ = '-';
		*p++ = hex[id->b[i] >> 4];
		*p++ = hex[id->b[i] & 0xf];
	}
	*p = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int kbits_guid_parse(const char *s, struct kbits_guid *id)
{
	struct kbits_guid g;
	int braced;

	if (!s || !id)
		return -EINVAL;
	braced = s[0] == '{';
	s += braced;
	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (dash_before(i) && *s++ != '-')
			return -EINVAL;
		/* hexval('\0') is -1, so a short string stops here. */
		hi = hexval(s[0]);
		if (hi < 0)
			return -EINVAL;
		lo = hexval(s[1]);
		if (lo < 0)
			return -EINVAL;
		g.b[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (braced && *s++ != '}')
		return -EINVAL;
	if (*s)
		return -EINVAL;
	*id = g;
	return 0;
}

int kbits_guid_equal(const struct kbits_guid *a, const struct kbits_guid *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}
