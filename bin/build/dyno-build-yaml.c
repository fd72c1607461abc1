/* SPDX-License-Identifier: ISC */
/* dyno-build: bin/release's YAML, read with libyaml. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "dyno-build.h"
#include "names.h"

#define YAML_TYPES_MAX	64	/* process types a buildpack may declare */

static yaml_node_t *
map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* "type: command\n" for one pair, checked: a name, a one-line command. */
static int
add_type(yaml_node_t *k, yaml_node_t *v, char **out, size_t *len,
    char *err, size_t errlen)
{
	const char *type, *cmd, *why;
	size_t n;
	char *nb;

	if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE ||
	    v->type != YAML_SCALAR_NODE) {
		snprintf(err, errlen, "default_process_types: not a map of "
		    "strings");
		return -1;
	}
	type = (const char *)k->data.scalar.value;
	cmd = (const char *)v->data.scalar.value;
	if ((why = names_check_proctype(type)) != NULL) {
		snprintf(err, errlen, "process type \"%.64s\": %s", type, why);
		return -1;
	}
	if (*cmd == '\0' || strpbrk(cmd, "\r\n") != NULL ||
	    strlen(cmd) > 4096) {
		snprintf(err, errlen, "process type %s: the command is empty, "
		    "longer than 4096 bytes or not one line", type);
		return -1;
	}
	n = strlen(type) + strlen(cmd) + 3;
	if ((nb = realloc(*out, *len + n + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	*out = nb;
	*len += (size_t)snprintf(nb + *len, n + 1, "%s: %s\n", type, cmd);
	return 0;
}

static int
collect(yaml_document_t *doc, char **types, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *dpt;
	yaml_node_pair_t *p;
	size_t len = 0;

	if (root == NULL || (root->type == YAML_SCALAR_NODE &&
	    root->data.scalar.length == 0))
		return 0;
	if (root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "not a YAML map");
		return -1;
	}
	if ((dpt = map_get(doc, root, "default_process_types")) == NULL ||
	    (dpt->type == YAML_SCALAR_NODE && dpt->data.scalar.length == 0))
		return 0;
	if (dpt->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "default_process_types: not a map");
		return -1;
	}
	if (dpt->data.mapping.pairs.top - dpt->data.mapping.pairs.start >
	    YAML_TYPES_MAX) {
		snprintf(err, errlen, "over %d process types", YAML_TYPES_MAX);
		return -1;
	}
	for (p = dpt->data.mapping.pairs.start; p < dpt->data.mapping.pairs.top;
	    p++)
		if (add_type(yaml_document_get_node(doc, p->key),
		    yaml_document_get_node(doc, p->value), types, &len, err,
		    errlen) == -1)
			return -1;
	return 0;
}

/*
 * The document is loaded whole (bounded by BUILD_YAML_MAX before it gets
 * here); aliases are nodes shared, never expanded, so a "billion laughs"
 * document costs no more than its size.
 */
int
yaml_process_types(const char *yaml, size_t len, char **types, char *err,
    size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc = -1;

	*types = NULL;
	if (yaml == NULL || len == 0)
		return 0;
	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %lu: %s",
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "bad YAML");
		yaml_parser_delete(&parser);
		return -1;
	}
	rc = collect(&doc, types, err, errlen);
	if (rc == -1) {
		free(*types);
		*types = NULL;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}
