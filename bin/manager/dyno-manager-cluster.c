/* SPDX-License-Identifier: ISC */
/* dyno-manager scale and ps on a cluster: the formation and the dynos'
 * hosts in etcd (dyno-agent(8)), when dyno.conf has [cluster] etcd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "diag.h"
#include "etcd.h"
#include "dyno-manager.h"

static struct etcd *
open_etcd(const struct conf *conf)
{
	char err[256];
	struct etcd *e;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e = etcd_open(conf->cluster_etcd, err, sizeof(err))) == NULL)
		diag_error("[cluster] etcd: %s", err);
	return e;
}

int
cluster_formation_load(const struct conf *conf, const char *app,
    struct formation *f, int64_t *rev)
{
	struct etcd_range r;
	struct etcd *e;
	struct ftype *t;
	char key[128], err[256];
	const char *type;
	json_t *j, *v;

	if ((e = open_etcd(conf)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "/dyno/apps/%s/formation", app);
	if (etcd_range(e, key, 0, &r, err, sizeof(err)) == -1) {
		diag_error("%s: %s", key, err);
		etcd_close(e);
		return -1;
	}
	*rev = r.n == 1 ? r.kvs[0].mod_rev : 0;
	j = r.n == 1 ? json_loads(r.kvs[0].value, 0, NULL) : NULL;
	/* etcd's counts win over this host's file; its sizes stay */
	json_object_foreach(j, type, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 100000)
			continue;
		if ((t = formation_find(f, type)) == NULL && f->n <
		    FORMATION_MAX_TYPES && strlen(type) < sizeof(t->type)) {
			t = &f->t[f->n++];
			memset(t, 0, sizeof(*t));
			snprintf(t->type, sizeof(t->type), "%s", type);
		}
		if (t != NULL)
			t->count = (unsigned)json_integer_value(v);
	}
	json_decref(j);
	etcd_range_free(&r);
	etcd_close(e);
	return 0;
}

int
cluster_formation_store(const struct conf *conf, const char *app,
    const struct formation *f, int64_t rev)
{
	struct etcd_cmp c = { ETCD_MOD, ETCD_EQUAL, NULL, rev, NULL };
	struct etcd_op put = { ETCD_OP_PUT, NULL, NULL, 0, 0 };
	char key[128], err[256], *v;
	struct etcd *e;
	json_t *j = json_object();
	unsigned i;
	int ok = 0, rc = -1;

	for (i = 0; j != NULL && i < f->n; i++)
		json_object_set_new(j, f->t[i].type, json_integer(f->t[i].count));
	if (j == NULL || (v = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS)) ==
	    NULL) {
		json_decref(j);
		return -1;
	}
	json_decref(j);
	snprintf(key, sizeof(key), "/dyno/apps/%s/formation", app);
	c.key = put.key = key;
	put.value = v;
	/* another scale in between: the caller's counts are stale, say so */
	if ((e = open_etcd(conf)) != NULL && etcd_txn(e, &c, 1, &put, 1, NULL,
	    0, &ok, NULL, err, sizeof(err)) == -1)
		diag_error("%s: %s", key, err);
	else if (e != NULL && !ok)
		diag_error("%s: changed by another scale meanwhile: try again", app);
	else if (e != NULL)
		rc = 0;
	etcd_close(e);
	free(v);
	return rc;
}

/* The status of app's dynos (status/<app>/), for ps; NULL on failure. */
int
cluster_status(const struct conf *conf, const char *app,
    struct etcd_range *r)
{
	struct etcd *e;
	char key[128], err[256];
	int rc;

	if ((e = open_etcd(conf)) == NULL)
		return -1;
	snprintf(key, sizeof(key), "/dyno/status/%s/", app);
	if ((rc = etcd_range(e, key, 1, r, err, sizeof(err))) == -1)
		diag_error("%s: %s", key, err);
	etcd_close(e);
	return rc;
}
