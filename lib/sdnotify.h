/* SPDX-License-Identifier: ISC */
/* systemd's readiness protocol (sd_notify(3)) without linking libsystemd. */
#ifndef DYNO_SDNOTIFY_H
#define DYNO_SDNOTIFY_H

/*
 * Send `state` ("READY=1", "STOPPING=1", ...) as one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
 * abstract namespace).  0 when sent or when NOTIFY_SOCKET is unset (not
 * started by systemd with Type=notify); -1 with errno otherwise.
 */
int	sdnotify_send(const char *state);

#endif
