/* SPDX-License-Identifier: ISC */
/* dyno-route: ACME HTTP-01 answers from the challenge store (lib/acmechal). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acmechal.h"
#include "dyno-route.h"

/* A plain-text answer of the router's own; the connection then closes. */
static void
acme_reply(struct conn *c, int status, const char *reason, const char *body,
    size_t len)
{
	char head[256];
	int hl;

	hl = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
	    "text/plain\r\nContent-Length: %zu\r\nCache-Control: no-cache, "
	    "no-store\r\nConnection: close\r\n\r\n", status, reason, len);
	c->ri.status = status;
	c->keep = 0;
	if (hl < 0 ||
	    buf_reserve(&c->down, (size_t)hl + len, 2 * HEAD_MAX) == -1)
		return;
	buf_append(&c->down, head, (size_t)hl);
	if (!c->is_head)
		buf_append(&c->down, body, len);
}

/*
 * GET or HEAD /.well-known/acme-challenge/TOKEN on a plain-HTTP listener
 * is answered here, before any Host lookup: the ACME server asks for a
 * name no app may route yet, and no app may answer for the platform.
 * The target is the raw one (no percent-decoding), so "%2e%2e" is simply
 * not a token.  Returns 1 when c was answered (its state is CLOSE).
 */
int
acme_answer(struct worker *w, struct conn *c, const struct http_msg *m,
    size_t hl)
{
	static const char prefix[] = ACMECHAL_PREFIX;
	const size_t plen = sizeof(prefix) - 1;
	char *data = NULL;
	size_t len = 0;

	if (c->l->tls || m->target == NULL || m->tlen < plen ||
	    memcmp(m->target, prefix, plen) != 0)
		return 0;
	if (!(m->mlen == 3 && memcmp(m->method, "GET", 3) == 0) &&
	    !(m->mlen == 4 && memcmp(m->method, "HEAD", 4) == 0))
		return 0;
	c->is_head = m->mlen == 4;
	c->cin.off += hl;
	if (acmechal_read(w->conf->rundir, m->target + plen, m->tlen - plen,
	    &data, &len) == 0)
		acme_reply(c, 200, "OK", data, len);
	else
		acme_reply(c, 404, "Not Found", "no such challenge\n", 18);
	free(data);
	return 1;
}
