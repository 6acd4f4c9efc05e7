/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the two netlink files of libkbits (queries, events) share.
 */
#ifndef KBITS_NL_H
#define KBITS_NL_H

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "internal.h"

/* Strict attribute policy: a short or mistyped attribute is refused. */
extern struct nla_policy kbits__nl_policy[KBITS_A_MAX + 1];

/* A connected generic netlink socket and the family's id; 0 or -errno. */
int kbits__nl_connect(struct nl_sock **sk, int *family);

/* A libnl error code (-NLE_*) as the -errno the library promises. */
int kbits__nl_errno(int nlerr);

/* Fill a summary from the attributes of a GET_JOB reply or an event. */
int kbits__nl_job(struct nlattr **tb, struct kbits_job_summary *job);

#endif /* KBITS_NL_H */
