/* SPDX-License-Identifier: ISC */
/* release on a cluster: each new release and `current` published to etcd
 * (dyno-agent(8)), when dyno.conf has [cluster] etcd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "diag.h"
#include "etcd.h"
#include "procfile.h"
#include "state.h"
#include "release.h"

/* {slug:{sha256}, env, process_types, release_cmd, description, created} */
static char *
release_json(const char *reldir, const struct relinfo *r)
{
	char path[PATH_MAX], err[256], *env = NULL, *s;
	const struct procfile_entry *e;
	struct procfile pf;
	json_t *j, *types;
	size_t i;

	types = json_object();
	if (state_pathf(path, sizeof(path), "%s/slug", reldir) == 0 &&
	    procfile_load_beneath(path, "Procfile", &pf, NULL, NULL, err,
	    sizeof(err)) == 0) {
		for (i = 0; i < pf.n; i++) {
			e = &pf.entries[i];
			json_object_set_new(types, e->type, json_string(e->command));
		}
		procfile_free(&pf);
	}
	if (state_pathf(path, sizeof(path), "%s/env", reldir) == 0)
		(void)state_read(path, 1 << 20, &env, NULL);
	j = json_pack("{s:{s:s}, s:s, s:o, s:s, s:s, s:s}", "slug", "sha256",
	    r->slug_sha256, "env", env ? env : "", "process_types", types,
	    "release_cmd", json_string_value(json_object_get(types,
	    "release")) ?: "", "description", r->description, "created",
	    r->created);
	free(env);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/*
 * releases/vN and current in one txn; the formation too when the cluster
 * has none yet (the first release's web=1).  0, or an exit status having
 * said why (the release stands on this host either way).
 */
int
cluster_publish(struct app *a, const char *reldir, const struct relinfo *r)
{
	char rkey[128], ckey[128], fkey[128], cur[32], fml[128], err[256];
	struct etcd_cmp none = { ETCD_CREATE, ETCD_EQUAL, fkey, 0, NULL };
	struct etcd_op ops[2] = { { ETCD_OP_PUT, rkey, NULL, 0, 0 },
	    { ETCD_OP_PUT, ckey, cur, 0, 0 } };
	struct etcd_op fop = { ETCD_OP_PUT, fkey, fml, 0, 0 };
	struct etcd *e;
	char *v;
	int rc = 0;

	if (a->conf->cluster_etcd[0] == '\0')
		return 0;
	snprintf(rkey, sizeof(rkey), "/dyno/apps/%s/releases/v%u", a->name,
	    r->version);
	snprintf(ckey, sizeof(ckey), "/dyno/apps/%s/current", a->name);
	snprintf(fkey, sizeof(fkey), "/dyno/apps/%s/formation", a->name);
	snprintf(cur, sizeof(cur), "\"v%u\"", r->version);
	snprintf(fml, sizeof(fml), "{\"web\":1}");
	if ((v = release_json(reldir, r)) == NULL)
		return EXIT_SOFTWARE;
	ops[0].value = v;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((e = etcd_open(a->conf->cluster_etcd, err, sizeof(err))) == NULL ||
	    etcd_txn(e, NULL, 0, ops, 2, NULL, 0, NULL, NULL, err,
	    sizeof(err)) == -1 || etcd_txn(e, &none, 1, &fop, 1, NULL, 0, NULL,
	    NULL, err, sizeof(err)) == -1) {
		diag_error("%s: v%u stands on this host but is not in the "
		    "cluster: %s", a->name, r->version, err);
		rc = EXIT_UNAVAILABLE;
	}
	etcd_close(e);
	free(v);
	return rc;
}
