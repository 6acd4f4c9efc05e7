/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libcurl on the io_uring loop: one multi handle whose sockets are polled
 * with IORING_OP_POLL_ADD and whose timer is a loop timer. It knows
 * neither downloads nor uploads: every easy handle added here carries a
 * struct kb_httpreq (CURLOPT_PRIVATE, set by kb_httpreq_setup) whose
 * done() is called once curl has finished it.
 */
#ifndef KBITSD_CURLIO_H
#define KBITSD_CURLIO_H

#include <stdint.h>
#include <curl/curl.h>

#include "loop.h"

struct kb_curlio;

struct kb_curlio *kb_curlio_new(struct kb_loop *loop, long max_connects);
/* After every request is removed. */
void kb_curlio_free(struct kb_curlio *io);
/* 0, or -ENOMEM when curl refuses the handle. */
int kb_curlio_add(struct kb_curlio *io, CURL *easy);
/* Takes the handle out of the multi and cleans it up; NULL is fine. */
void kb_curlio_remove(struct kb_curlio *io, CURL *easy);
/* Runs done() of finished requests (after a pause, an unpause, an action)
 * and re-arms the polls. Never call it from a curl callback. */
void kb_curlio_check(struct kb_curlio *io);
/* Re-arms the polls curl asked for since (the loop's idle hook). */
void kb_curlio_arm(struct kb_curlio *io);
uint64_t kb_curlio_polls(const struct kb_curlio *io);	/* POLL_ADDs submitted */

#endif
