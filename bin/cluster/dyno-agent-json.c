/* SPDX-License-Identifier: ISC */
/* dyno-agent: reading the small JSON values of its etcd keys. */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "dyno-agent.h"

char *
json_text(const char *value)
{
	json_t *j = json_loads(value, JSON_DECODE_ANY, NULL);
	char *s;

	s = strdup(json_is_string(j) ? json_string_value(j) : value);
	json_decref(j);
	return s;
}

long long
json_int_field(const char *value, const char *name, long long dflt)
{
	json_t *j = json_loads(value, 0, NULL), *v = json_object_get(j, name);
	long long n = json_is_integer(v) ? json_integer_value(v) : dflt;

	json_decref(j);
	return n;
}

void
json_str_field(const char *value, const char *name, char *buf, size_t size)
{
	json_t *j = json_loads(value, 0, NULL), *v = json_object_get(j, name);

	snprintf(buf, size, "%s", json_is_string(v) ? json_string_value(v) : "");
	json_decref(j);
}
