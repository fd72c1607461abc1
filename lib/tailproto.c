/* SPDX-License-Identifier: ISC */
/* Format, parse and apply the logplexd tail request. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "num.h"
#include "tailproto.h"

int
tailproto_format(char *buf, size_t size, const struct tailreq *r)
{
	int n;

	n = snprintf(buf, size, "tail %s lines=%u follow=%d%s%s%s%s%s%s%s%s\n",
	    r->app, r->lines, r->follow ? 1 : 0,
	    r->dyno[0] ? " dyno=" : "", r->dyno,
	    r->ps[0] ? " ps=" : "", r->ps,
	    r->source[0] ? " source=" : "", r->source,
	    r->token[0] ? " token=" : "", r->token);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return n;
}

/* A field value: printable, no spaces, shorter than the field. */
static int
copy_value(char *dst, const char *src, size_t len)
{
	size_t i;

	if (len == 0 || len >= TAILPROTO_FIELD_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (src[i] <= ' ' || src[i] == 0x7f || src[i] == '=')
			return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

static int
parse_option(struct tailreq *r, const char *w, size_t len, const char **why)
{
	const char *eq = memchr(w, '=', len);
	char num[16];
	size_t klen, vlen;

	*why = "bad option";
	if (eq == NULL)
		return -1;
	klen = (size_t)(eq - w);
	vlen = len - klen - 1;
	if (klen == 5 && memcmp(w, "lines", 5) == 0) {
		*why = "bad line count";
		if (vlen == 0 || vlen >= sizeof(num))
			return -1;
		memcpy(num, eq + 1, vlen);
		num[vlen] = '\0';
		return num_parse_uint(num, 0, 1000000, &r->lines);
	}
	if (klen == 6 && memcmp(w, "follow", 6) == 0) {
		*why = "bad follow flag";
		if (vlen != 1 || (eq[1] != '0' && eq[1] != '1'))
			return -1;
		r->follow = eq[1] == '1';
		return 0;
	}
	*why = "bad filter";
	if (klen == 4 && memcmp(w, "dyno", 4) == 0)
		return copy_value(r->dyno, eq + 1, vlen);
	if (klen == 2 && memcmp(w, "ps", 2) == 0)
		return copy_value(r->ps, eq + 1, vlen);
	if (klen == 6 && memcmp(w, "source", 6) == 0)
		return copy_value(r->source, eq + 1, vlen);
	*why = "bad token";
	if (klen == 5 && memcmp(w, "token", 5) == 0)
		return copy_value(r->token, eq + 1, vlen);
	*why = "unknown option";
	return -1;
}

int
tailproto_parse(const char *line, size_t len, struct tailreq *r,
    const char **why)
{
	const char *p = line, *end = line + len, *sp, *dummy;
	int word = 0;

	if (why == NULL)
		why = &dummy;
	memset(r, 0, sizeof(*r));
	r->lines = 100;
	if (len > 0 && end[-1] == '\n')
		end--;
	*why = "empty request";
	for (; p < end; p = sp + 1, word++) {
		if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
			sp = end;
		if (word == 0) {
			*why = "not a tail request";
			if (sp - p != 4 || memcmp(p, "tail", 4) != 0)
				goto bad;
		} else if (word == 1) {
			*why = "bad app name";
			if (copy_value(r->app, p, (size_t)(sp - p)) == -1)
				goto bad;
		} else if (parse_option(r, p, (size_t)(sp - p), why) == -1)
			goto bad;
	}
	if (word >= 2)
		return 0;
	*why = "missing app name";
bad:
	errno = EINVAL;
	return -1;
}

/* logplex's process filter: "web" matches "web" and "web.<anything>". */
static int
match_ps(const char *want, const char *dyno, size_t dlen)
{
	size_t wlen = strlen(want);

	if (wlen == 0)
		return 1;
	if (dlen < wlen || memcmp(want, dyno, wlen) != 0)
		return 0;
	return dlen == wlen || dyno[wlen] == '.';
}

int
tailproto_match(const struct tailreq *r, const char *source, size_t slen,
    const char *dyno, size_t dlen)
{
	if (r->source[0] != '\0' && (strlen(r->source) != slen ||
	    memcmp(r->source, source, slen) != 0))
		return 0;
	return match_ps(r->dyno, dyno, dlen) && match_ps(r->ps, dyno, dlen);
}
