/* SPDX-License-Identifier: ISC */
/* Checked number, duration, size and boolean parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "num.h"

/* Digits only; returns the end of the digits, or NULL on overflow/none. */
static const char *
digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

int
num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end;

	if (s == NULL || (end = digits(s, &v)) == NULL) {
		errno = (s && *s >= '0' && *s <= '9') ? ERANGE : EINVAL;
		return -1;
	}
	if (*end != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int
num_parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	uint64_t v;

	if (num_parse_u64(s, min, max, &v) == -1)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Multiply with an overflow check. */
static int
mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return 0;
	*out = a * b;
	return 1;
}

static uint64_t
unit_ms(const char *u, size_t len)
{
	static const struct { const char *name; uint64_t ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    strncmp(units[i].name, u, len) == 0)
			return units[i].ms;
	return 0;
}

int
num_parse_duration_ms(const char *s, uint64_t *out_ms)
{
	uint64_t total = 0, v, part, ms;
	const char *p = s, *u;

	if (s == NULL || *s == '\0')
		goto inval;
	while (*p != '\0') {
		if ((p = digits(p, &v)) == NULL)
			goto range_or_inval;
		for (u = p; *p >= 'a' && *p <= 'z'; p++)
			;
		if (p == u)
			ms = (u == s + strlen(s) && total == 0) ? 1000 : 0;
		else
			ms = unit_ms(u, (size_t)(p - u));
		if (ms == 0)
			goto inval;
		if (!mul_ok(v, ms, &part) || total > UINT64_MAX - part) {
			errno = ERANGE;
			return -1;
		}
		total += part;
	}
	*out_ms = total;
	return 0;
range_or_inval:
	errno = (s[0] >= '0' && s[0] <= '9') ? ERANGE : EINVAL;
	return -1;
inval:
	errno = EINVAL;
	return -1;
}

int
num_parse_size(const char *s, uint64_t *out_bytes)
{
	static const char suffixes[] = "KMGT";
	uint64_t v, mult = 1;
	const char *end, *hit;

	if (s == NULL || (end = digits(s, &v)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (*end != '\0') {
		hit = (*end >= 'A' && *end <= 'z') ?
		    strchr(suffixes, *end & ~0x20) : NULL;
		if (hit == NULL || *hit == '\0' || (end[1] != '\0' &&
		    strcasecmp(end + 1, "B") != 0 && strcasecmp(end + 1, "iB") != 0)) {
			errno = EINVAL;
			return -1;
		}
		for (; hit >= suffixes; hit--)
			mult *= 1024;
	}
	if (!mul_ok(v, mult, out_bytes)) {
		errno = ERANGE;
		return -1;
	}
	return 0;
}

int
num_parse_bool(const char *s, int *out)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; s != NULL && i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

void
num_format_duration(uint64_t ms, char *buf, unsigned size)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%llum", (unsigned long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, size, "%lluh%llum", (unsigned long long)(s / 3600),
		    (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%llud%lluh", (unsigned long long)(s / 86400),
		    (unsigned long long)(s % 86400 / 3600));
}
