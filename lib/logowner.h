/* SPDX-License-Identifier: ISC */
/* An app's log-owner file (DYNO_ROOT/apps/APP/log-owner): where its log lives. */
#ifndef DYNO_LOGOWNER_H
#define DYNO_LOGOWNER_H

#include <stddef.h>

#define LOGOWNER_FILE		"log-owner"
#define LOGOWNER_FILE_MAX	512
#define LOGOWNER_HOST_MAX	63

/*
 * Across hosts an app has one log-owner host: its history, tails and
 * drains live in that host's logplexd alone.  On every other host the
 * file says where it is, one line:
 *
 *	HOST ADDR:PORT
 *
 * HOST the owner's host name (letters, digits, '.', '-', '_'; at most 63);
 * ADDR:PORT the owner logplexd's --listen address, a numeric IPv4 address
 * or "[IPv6]", and a port.  The file is absent on the owner itself (and
 * on a host alone): absent means "this host keeps the app's log".
 */
struct logowner {
	char		host[LOGOWNER_HOST_MAX + 1];
	char		addr[48];	/* numeric, without [] around IPv6 */
	unsigned	port;
};

/*
 * Parse the file's text (NUL-terminated; one line, an optional "\n").
 * 0, or -1 with errno EINVAL and *why (when not NULL) saying what is wrong.
 */
int	logowner_parse(const char *text, struct logowner *o, const char **why);

/* "HOST ADDR:PORT\n" into buf; returns the length it needs, as snprintf. */
size_t	logowner_format(char *buf, size_t size, const struct logowner *o);

/* "ADDR:PORT" ("[V6]:PORT") into buf; the length it needs, as snprintf. */
size_t	logowner_addr(char *buf, size_t size, const struct logowner *o);

/*
 * Read root/apps/app/log-owner.  1 and *o filled when the file names an
 * owner, 0 when there is none (the file is absent: this host owns the
 * log), -1 with errno (EINVAL: a malformed file, *why says why).
 */
int	logowner_read(const char *root, const char *app, struct logowner *o,
	    const char **why);

#endif
