/* SPDX-License-Identifier: ISC */
/* An app's drains file (DYNO_ROOT/apps/APP/drains) and drain URLs. */
#ifndef DYNO_DRAINS_H
#define DYNO_DRAINS_H

#include <stddef.h>

#define DRAINS_TOKEN_LEN	38	/* "d." and a 36-character UUID */
#define DRAINS_URL_MAX		1024
#define DRAINS_HOST_MAX		256
#define DRAINS_FILE_MAX		(64 * 1024)

enum drain_kind {
	DRAIN_SYSLOG,		/* syslog://HOST:PORT */
	DRAIN_SYSLOG_TLS,	/* syslog+tls://HOST:PORT */
	DRAIN_HTTP,		/* http://[USER:PASS@]HOST[:PORT][/PATH] */
	DRAIN_HTTPS,		/* https://... */
};

struct drainurl {
	enum drain_kind	kind;
	char		host[DRAINS_HOST_MAX];	/* without [] around IPv6 */
	unsigned	port;			/* the scheme's default if absent */
};

/*
 * One line of the drains file: "d.<uuid> URL\n".  Blank lines and lines
 * starting with '#' are comments.
 */
struct drain_entry {
	char		token[DRAINS_TOKEN_LEN + 1];
	char		url[DRAINS_URL_MAX];
};

/*
 * Check a drain URL and split out what a connection needs.  0, or -1 with
 * errno EINVAL and *why saying what is wrong ("unsupported scheme").
 */
int	drains_parse_url(const char *url, struct drainurl *u, const char **why);

/*
 * url with the password of its userinfo shown as "***"
 * ("https://user:***@host/") into buf, for logs and dumps; a URL without
 * one is copied as it is.  Returns the length it needs, as snprintf.
 */
size_t	drains_redact_url(char *buf, size_t size, const char *url);

/* 1 when s has the form "d." + lowercase UUID. */
int	drains_token_valid(const char *s);

/* A fresh random token "d.<uuid v4>" into buf.  0, or -1 with errno. */
int	drains_new_token(char buf[DRAINS_TOKEN_LEN + 1]);

/*
 * Parse a drains file's text (NUL-terminated) into at most `max` entries.
 * Returns the number of entries, or -1 with errno EINVAL and
 * err = "LINE: why" (err may be NULL).  More than `max` entries is an
 * error too (E2BIG).
 */
int	drains_parse(const char *text, struct drain_entry *e, size_t max,
	    char *err, size_t errlen);

/* The file's text for n entries into buf; returns the length it needs. */
size_t	drains_format(char *buf, size_t size, const struct drain_entry *e,
	    size_t n);

#endif
