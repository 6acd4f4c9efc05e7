/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Readiness for systemd (Type=notify): the sd_notify(3) protocol, one
 * datagram to $NOTIFY_SOCKET. Without the variable it does nothing.
 */
#ifndef KBITSD_NOTIFY_H
#define KBITSD_NOTIFY_H

/* Sends STATE ("READY=1", "STATUS=...", newline-separated). Returns 1 when
 * sent, 0 when there is no $NOTIFY_SOCKET, a negative errno on failure. */
int kb_sd_notify(const char *state);

#endif
