// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kbits+http, kbits+https: an APT acquire method that hands every file to
 * kbits. apt writes 600 URI Acquire messages on stdin; each becomes a kbits
 * job owned by the method's user (_apt, which apt drops to), and the
 * method answers 200 URI Start, 201 URI Done with the hashes of the file
 * on disk, or 400 URI Failure. Jobs are polled: apt pipelines several
 * files and they run at once, each reported when it ends. See
 * apt-transport-kbits(1) and Documentation/apt.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "method.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- replies --------------------------------------------------------------- */

static void flush_out(struct method *m)
{
	size_t off = 0;
	ssize_t n;

	if (apt_out_end(&m->out) < 0) {
		fprintf(stderr, "kbits: out of memory for a reply\n");
		m->out_broken = 1;
		return;
	}
	while (!m->out_broken && off < m->out.len) {
		n = write(m->out_fd, m->out.buf + off, m->out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			m->out_broken = 1;	/* EPIPE: apt went away */
			break;
		}
		off += (size_t)n;
	}
}

void send_status(struct method *m, const struct item *it, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	apt_out_begin(&m->out, 102, "Status");
	apt_out_field(&m->out, "URI", "%s", it->uri);
	apt_out_field(&m->out, "Message", "%s", msg);
	flush_out(m);
}

void send_start(struct method *m, struct item *it, uint64_t size)
{
	apt_out_begin(&m->out, 200, "URI Start");
	apt_out_field(&m->out, "URI", "%s", it->uri);
	if (size && size != KBITS_UNKNOWN)
		apt_out_field(&m->out, "Size", "%llu", (unsigned long long)size);
	if (it->resume_point)
		apt_out_field(&m->out, "Resume-Point", "%llu",
			      (unsigned long long)it->resume_point);
	flush_out(m);
	it->started = 1;
}

void send_failure(struct method *m, const struct item *it, const char *reason, int transient,
		  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	apt_out_begin(&m->out, 400, "URI Failure");
	apt_out_field(&m->out, "URI", "%s", it->uri);
	apt_out_field(&m->out, "Message", "%s", msg);
	if (reason)
		apt_out_field(&m->out, "FailReason", "%s", reason);
	if (transient)
		apt_out_field(&m->out, "Transient-Failure", "true");
	flush_out(m);
}

void send_done(struct method *m, struct item *it, int ims_hit)
{
	struct apt_hashes h;
	char date[64];
	int ret, i;

	if (ims_hit) {
		apt_out_begin(&m->out, 201, "URI Done");
		apt_out_field(&m->out, "URI", "%s", it->uri);
		apt_out_field(&m->out, "Filename", "%s", it->filename);
		apt_out_field(&m->out, "IMS-Hit", "true");
		apt_out_field(&m->out, "Last-Modified", "%s", it->ims);
		flush_out(m);
		return;
	}
	ret = apt_hash_file(it->filename, &h);
	if (ret) {
		send_failure(m, it, NULL, 0, "cannot read %s to hash it: %s", it->filename,
			     strerror(-ret));
		return;
	}
	apt_out_begin(&m->out, 201, "URI Done");
	apt_out_field(&m->out, "URI", "%s", it->uri);
	apt_out_field(&m->out, "Filename", "%s", it->filename);
	apt_out_field(&m->out, "Size", "%llu", (unsigned long long)h.size);
	if (it->created)
		apt_out_field(&m->out, "Last-Modified", "%s",
			      apt_date_format(it->created, date, sizeof(date)));
	if (it->resume_point)
		apt_out_field(&m->out, "Resume-Point", "%llu",
			      (unsigned long long)it->resume_point);
	for (i = 0; i < APT_NR_HASHES; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s-Hash", apt_hash_names[i]);
		apt_out_field(&m->out, name, "%s", h.hex[i]);
	}
	apt_out_field(&m->out, "Checksum-FileSize-Hash", "%llu", (unsigned long long)h.size);
	flush_out(m);
}

/* ---- items ----------------------------------------------------------------- */

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->uri);
	free(it->url);
	free(it->filename);
	free(it->ims);
	free(it->proxy);
	free(it);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* 600 URI Acquire: an item at the end of the waiting list, or a failure. */
static void on_acquire(struct method *m, const struct apt_msg *msg)
{
	const char *uri = apt_msg_get(msg, "URI"), *fn = apt_msg_get(msg, "Filename");
	const char *lm = apt_msg_get(msg, "Last-Modified");
	const char *fsz = apt_msg_get(msg, "Expected-Checksum-FileSize");
	struct item *it, **tail;
	char err[512];
	int64_t t;

	if (!uri || !*uri) {
		apt_out_begin(&m->out, 401, "General Failure");
		apt_out_field(&m->out, "Message", "600 URI Acquire without a URI field");
		flush_out(m);
		return;
	}
	it = calloc(1, sizeof(*it));
	if (!it || !(it->uri = strdup(uri))) {
		free(it);
		fprintf(stderr, "kbits: out of memory\n");
		exit(100);
	}
	if (apt_url_from_uri(uri, &it->url, err, sizeof(err))) {
		send_failure(m, it, NULL, 0, "%s", err);
		goto out_free;
	}
	if (!fn || fn[0] != '/') {
		send_failure(m, it, NULL, 0, "the Filename field \"%s\" is not an absolute path",
			     fn ? fn : "");
		goto out_free;
	}
	if (lm && *lm && apt_date_parse(lm, &t)) {
		send_failure(m, it, NULL, 0, "the Last-Modified field \"%s\" is not an RFC 1123 date",
			     lm);
		goto out_free;
	}
	it->filename = strdup(fn);
	it->ims = dup_or_null(lm);
	it->proxy = dup_or_null(apt_msg_get(msg, "Proxy"));
	if (!fsz)
		fsz = apt_msg_get(msg, "Maximum-Size");
	it->max_size = fsz ? strtoull(fsz, NULL, 10) : 0;
	for (tail = &m->waiting; *tail; tail = &(*tail)->next)
		;
	*tail = it;
	return;

out_free:
	item_free(it);
}

static void on_message(struct method *m, const struct apt_msg *msg)
{
	char err[256];
	size_t i;

	switch (msg->code) {
	case 601:
		for (i = 0; i < msg->nr_fields; i++) {
			if (strcasecmp(msg->fields[i].name, "Config-Item"))
				continue;
			if (apt_conf_item(&m->conf, msg->fields[i].value, err, sizeof(err)) ==
			    -EINVAL) {
				/* a bad setting of ours fails the run, loudly */
				apt_out_begin(&m->out, 401, "General Failure");
				apt_out_field(&m->out, "Message", "%s", err);
				flush_out(m);
				exit(100);
			}
		}
		/* apt leaves dropping to _apt to its methods; the jobs are then _apt's */
		if (!m->conf.no_drop_privs &&
		    apt_drop_privileges(m->conf.sandbox_user, err, sizeof(err))) {
			apt_out_begin(&m->out, 401, "General Failure");
			apt_out_field(&m->out, "Message", "%s", err);
			flush_out(m);
			exit(112);
		}
		break;
	case 600:
		on_acquire(m, msg);
		break;
	default:
		/* apt's other messages (media change answers...) are not for us */
		break;
	}
}

/* Turn waiting items into jobs while there is room. */
static void start_waiting(struct method *m)
{
	char err[512];
	struct item *it;
	int ret;

	while (m->waiting && m->nr_active < m->conf.max_jobs && !m->out_broken) {
		it = m->waiting;
		if (!m->k) {
			ret = kbits_open(&m->k);
			if (ret) {
				m->k = NULL;
				m->waiting = it->next;
				send_failure(m, it, NULL, 0, "cannot open /dev/kbits: %s",
					     ret == -ENOENT ? "kbits.ko is not loaded" :
					     kbits_strerror(ret));
				item_free(it);
				continue;
			}
		}
		ret = job_start(m, it, err, sizeof(err));
		if ((ret == -EDQUOT || ret == -EUSERS) && m->nr_active)
			return;		/* one of ours ends first */
		m->waiting = it->next;
		if (ret) {
			send_failure(m, it, NULL, ret == -EDQUOT || ret == -EUSERS || ret == -ENOTCONN ||
				     ret == -ETIMEDOUT,
				     "%s", err);
			item_free(it);
			continue;
		}
		it->next = m->active;
		m->active = it;
		m->nr_active++;
	}
}

static void poll_active(struct method *m)
{
	struct item **pp = &m->active, *it;

	while ((it = *pp)) {
		if (job_poll(m, it) == JOB_FINISHED) {
			*pp = it->next;
			m->nr_active--;
			item_free(it);
		} else {
			pp = &it->next;
		}
	}
}

static uint32_t initial_priority(void)
{
	char buf[1024];
	ssize_t n;
	int fd;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return KBITS_PRIORITY_FOREGROUND;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return apt_default_priority(buf);
}

int main(int argc, char **argv)
{
	struct method m = { .out_fd = STDOUT_FILENO };
	struct apt_reader r = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct apt_msg msg;
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	int eof = 0, ret, rc = 0;
	char buf[65536], err[256];
	struct item *it;
	ssize_t n;

	(void)argc;
	(void)argv;
	apt_conf_init(&m.conf, initial_priority());
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	apt_out_begin(&m.out, 100, "Capabilities");
	apt_out_field(&m.out, "Version", "1.2");
	apt_out_field(&m.out, "Pipeline", "true");
	apt_out_field(&m.out, "Send-Config", "true");
	flush_out(&m);

	/* apt closing our input means it is going away: so do we */
	while (!stop_signal && !m.out_broken && !eof) {
		ret = poll(&pfd, 1, m.active || m.waiting ? 200 : -1);
		if (ret < 0 && errno != EINTR) {
			perror("kbits: poll");
			rc = 100;
			break;
		}
		if (ret > 0) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno != EINTR && errno != EAGAIN) {
				perror("kbits: read");
				rc = 100;
				break;
			}
			if (n == 0)
				eof = 1;
			if (n > 0 && (ret = apt_reader_feed(&r, buf, (size_t)n)) < 0) {
				fprintf(stderr, "kbits: %s\n", strerror(-ret));
				rc = 100;
				break;
			}
			while ((ret = apt_reader_next(&r, &msg, err, sizeof(err))) != 0) {
				if (ret < 0) {
					fprintf(stderr, "kbits: bad message from apt: %s\n", err);
					if (ret != -EPROTO) {
						rc = 100;
						goto out;
					}
					continue;
				}
				on_message(&m, &msg);
				apt_msg_free(&msg);
			}
		}
		start_waiting(&m);
		poll_active(&m);
	}
out:
	/* Interrupted: leave every job suspended for the next run. */
	while ((it = m.active)) {
		m.active = it->next;
		job_leave(&m, it);
		item_free(it);
	}
	while ((it = m.waiting)) {
		m.waiting = it->next;
		item_free(it);
	}
	kbits_close(m.k);
	apt_reader_free(&r);
	apt_out_free(&m.out);
	apt_conf_free(&m.conf);
	if (stop_signal)
		rc = 100;
	return rc;
}
