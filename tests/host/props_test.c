// SPDX-License-Identifier: GPL-2.0
/*
 * include/kbits_props.h is the one list of a job's properties that the
 * module, kbitsd's channel and its store expand. This test fails when a
 * field of struct kbits_job_info or struct kbits_agent_restore is in no list
 * (and so copied by no layer), when a listed property differs in size
 * between the uapi structs, kbitsd's struct kb_job and the module's struct
 * kbits_job (read from module/kbits.h), or when the string list does not
 * name every KBITS_STR_* once.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kbits.h>

/* -Wpadded is for the uapi; kbitsd's own structs may have holes. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpadded"
#include "../../userspace/agent/job.h"
#pragma GCC diagnostic pop

static int n, failed;

static void check(int ok, const char *fmt, const char *what)
{
	n++;
	printf("%sok %d - ", ok ? "" : "not ", n);
	printf(fmt, what);
	printf("\n");
	if (!ok)
		failed = 1;
}

#define FSIZE(type, f)	sizeof(((type *)0)->f)

struct field {
	const char *name;
	size_t off, size;
};

/* The listed fields of each struct, by include/kbits_props.h. */
#define KBITS_IDENTITY(f)	{ #f, offsetof(struct kbits_job_info, f), FSIZE(struct kbits_job_info, f) },
#define KBITS_PROP(f)		{ #f, offsetof(struct kbits_job_info, f), FSIZE(struct kbits_job_info, f) },
static const struct field listed_info[] = {
#include <kbits_props.h>
};

#define KBITS_IDENTITY(f)	{ #f, offsetof(struct kbits_agent_restore, f), \
				  FSIZE(struct kbits_agent_restore, f) },
#define KBITS_PROP(f)		{ #f, offsetof(struct kbits_agent_restore, f), \
				  FSIZE(struct kbits_agent_restore, f) },
static const struct field listed_restore[] = {
#include <kbits_props.h>
};

#define KBITS_IDENTITY(f)	{ #f, offsetof(struct kb_job, f), FSIZE(struct kb_job, f) },
#define KBITS_PROP(f)		{ #f, offsetof(struct kb_job, f), FSIZE(struct kb_job, f) },
static const struct field listed_kb_job[] = {
#include <kbits_props.h>
};

/* Only the module's properties (its identity fields are translated). */
#define KBITS_PROP(f)		{ #f, 0, FSIZE(struct kbits_job_info, f) },
static const struct field listed_module[] = {
#include <kbits_props.h>
};

#define NLISTED	(sizeof(listed_info) / sizeof(listed_info[0]))

/*
 * The fields each layer handles outside the list, by hand, each for a
 * reason: the id, sizes and versions, counters the module computes, and
 * the strings and files, which have lists and loops of their own.
 */
#define F(type, f)	{ #f, offsetof(struct type, f), FSIZE(struct type, f) }
static const struct field other_info[] = {
	F(kbits_job_info, size), F(kbits_job_info, flags), F(kbits_job_info, job_id),
	F(kbits_job_info, bytes_total), F(kbits_job_info, bytes_transferred),
	F(kbits_job_info, files_total), F(kbits_job_info, files_transferred),
	F(kbits_job_info, credentials_set), F(kbits_job_info, reply_bytes_total),
	F(kbits_job_info, reply_bytes_transferred), F(kbits_job_info, pad2),
	F(kbits_job_info, status), F(kbits_job_info, pad3),
	F(kbits_job_info, change_seq), F(kbits_job_info, stored_seq), F(kbits_job_info, pad4),
	F(kbits_job_info, proxy_credentials_set), F(kbits_job_info, pad5), F(kbits_job_info, pad6),
};

static const struct field other_restore[] = {
	F(kbits_agent_restore, size), F(kbits_agent_restore, flags),
	F(kbits_agent_restore, job_id), F(kbits_agent_restore, strings),
	F(kbits_agent_restore, string_lens), F(kbits_agent_restore, nr_files),
	F(kbits_agent_restore, files), F(kbits_agent_restore, file_size),
	F(kbits_agent_restore, pad), F(kbits_agent_restore, pad2),
	F(kbits_agent_restore, ext_strings), F(kbits_agent_restore, ext_string_lens),
	F(kbits_agent_restore, pad3),
};

#define COUNT(a)	(sizeof(a) / sizeof((a)[0]))

/* Every byte of a struct belongs to a listed field or a known other one. */
static void covered(const char *type, size_t size, const struct field *listed,
		    const struct field *other, size_t nother)
{
	unsigned char *map = calloc(size, 1);
	char what[200];
	size_t i, j;
	int overlap = 0;

	for (i = 0; i < NLISTED + nother; i++) {
		const struct field *f = i < NLISTED ? &listed[i] : &other[i - NLISTED];

		for (j = f->off; j < f->off + f->size && j < size; j++)
			overlap |= map[j]++;
	}
	snprintf(what, sizeof(what), "no field of struct %s is listed twice", type);
	check(!overlap, "%s", what);
	for (j = 0; j < size && map[j]; j++)
		;
	if (j < size)
		snprintf(what, sizeof(what),
			 "struct %s: the field at offset %zu is in include/kbits_props.h "
			 "or handled by hand (tests/host/props_test.c lists those)", type, j);
	else
		snprintf(what, sizeof(what),
			 "every field of struct %s is in include/kbits_props.h or handled by hand",
			 type);
	check(j == size, "%s", what);
	free(map);
}

/* The size of the module's struct kbits_job field name, from module/kbits.h; 0 if none. */
static size_t module_field_size(const char *src, const char *name)
{
	static const struct { const char *type; size_t size; } types[] = {
		{ "u8", 1 }, { "u16", 2 }, { "u32", 4 }, { "s32", 4 }, { "u64", 8 }, { "s64", 8 },
	};
	const char *start = strstr(src, "\nstruct kbits_job {\n");
	const char *end = start ? strstr(start, "\n};\n") : NULL;

	if (!end)
		return 0;
	for (const char *l = start; l && l < end; l = strchr(l + 1, '\n')) {
		char type[16], field[64];

		if (sscanf(l, " %15s %63[a-z_0-9];", type, field) != 2 || strcmp(field, name))
			continue;
		for (size_t i = 0; i < COUNT(types); i++)
			if (!strcmp(type, types[i].type))
				return types[i].size;
	}
	return 0;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

int main(void)
{
	static const unsigned int str_index[] = {
#define KBITS_STRING(i, name)	i,
#include <kbits_props.h>
	};
	unsigned int seen[KBITS_STR_MAX + 1] = { 0 };
	char *module_h = read_file(KB_TOP "/module/kbits.h");
	char what[200];
	int ok;

	printf("TAP version 13\n");
	covered("kbits_job_info", sizeof(struct kbits_job_info), listed_info, other_info,
		COUNT(other_info));
	covered("kbits_agent_restore", sizeof(struct kbits_agent_restore), listed_restore,
		other_restore, COUNT(other_restore));

	for (size_t i = 0; i < NLISTED; i++) {
		snprintf(what, sizeof(what), "%s has one size in GET_INFO, RESTORE and kbitsd's kb_job",
			 listed_info[i].name);
		check(listed_info[i].size == listed_restore[i].size &&
		      listed_info[i].size == listed_kb_job[i].size, "%s", what);
	}

	check(module_h != NULL, "%s", "module/kbits.h is readable (KB_TOP " KB_TOP ")");
	ok = module_h != NULL;
	for (size_t i = 0; module_h && i < COUNT(listed_module); i++) {
		size_t sz = module_field_size(module_h, listed_module[i].name);

		if (sz != listed_module[i].size) {
			printf("# module struct kbits_job.%s: %zu bytes, uapi %zu\n",
			       listed_module[i].name, sz, listed_module[i].size);
			ok = 0;
		}
	}
	check(ok, "%s", "every property has its uapi size in the module's struct kbits_job");
	free(module_h);

	ok = COUNT(str_index) == KBITS_STR_MAX + 1;
	for (size_t i = 0; i < COUNT(str_index); i++)
		if (str_index[i] > KBITS_STR_MAX || seen[str_index[i]]++)
			ok = 0;
	check(ok, "%s", "KBITS_STRING names every KBITS_STR_* once");

	printf("1..%d\n", n);
	return failed;
}
