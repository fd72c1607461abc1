/* SPDX-License-Identifier: ISC */
/* etcd v3 over its JSON gateway: unary calls, leases, txns and watches. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"

#define ETCD_MAX_ENDPOINTS	16
#define ETCD_MAX_BODY		(8U << 20)	/* a range of many keys */
#define ETCD_MAX_LINE		(2U << 20)	/* one watch message */

struct etcd {
	char		*ep[ETCD_MAX_ENDPOINTS];
	size_t		 nep;
	size_t		 cur;		/* the endpoint that answered last */
	long		 connect_ms;
	long		 total_ms;
	CURL		*curl;
};

struct buf {
	char		*p;
	size_t		 len, cap, max;
};

static void seterr(char *, size_t, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
seterr(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = errnum;
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *s = data;
	char *out, *o;
	size_t i;
	uint32_t v;

	if (len > SIZE_MAX / 2 || (out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i += 3) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < len)
			v |= s[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int
b64_value(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

char *
etcd_b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), i, o = 0;
	uint32_t v;
	int k, d, pad;
	char *out;

	if (n % 4 != 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((out = malloc(n / 4 * 3 + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i += 4) {
		for (k = 0, v = 0, pad = 0; k < 4; k++) {
			/* '=' only at the end, and at most two */
			if (s[i + k] == '=' && i + 4 == n && k >= 2 &&
			    (k == 3 || s[i + 3] == '=')) {
				pad++;
				d = 0;
			} else if (pad || (d = b64_value(s[i + k])) < 0) {
				free(out);
				errno = EINVAL;
				return NULL;
			}
			v = v << 6 | (uint32_t)d;
		}
		out[o++] = (char)(v >> 16);
		if (pad < 2)
			out[o++] = (char)(v >> 8 & 255);
		if (pad < 1)
			out[o++] = (char)(v & 255);
	}
	out[o] = '\0';
	*len = o;
	return out;
}

char *
etcd_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end;

	if ((end = strdup(prefix)) == NULL)
		return NULL;
	/* the last byte that is not 0xff, plus one; all 0xff: to the end */
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		end[--n] = '\0';
	if (n == 0) {
		free(end);
		return strdup("");	/* "\0" as range_end: every key */
	}
	end[n - 1]++;
	return end;
}

struct etcd *
etcd_open(const char *endpoints, char *err, size_t errlen)
{
	struct etcd *e;
	char *list, *tok, *save = NULL;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (list = strdup(endpoints)) == NULL) {
		free(e);
		seterr(err, errlen, ENOMEM, "out of memory");
		return NULL;
	}
	for (tok = strtok_r(list, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		if (e->nep == ETCD_MAX_ENDPOINTS ||
		    (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8))) {
			seterr(err, errlen, EINVAL, "%s: %s", tok,
			    e->nep == ETCD_MAX_ENDPOINTS ? "more than 16 endpoints" :
			    "not an http:// or https:// URL");
			goto fail;
		}
		/* no trailing slash: paths are appended as "/v3/..." */
		tok[strcspn(tok, "?#")] = '\0';
		while (strlen(tok) > 8 && tok[strlen(tok) - 1] == '/')
			tok[strlen(tok) - 1] = '\0';
		if ((e->ep[e->nep++] = strdup(tok)) == NULL)
			goto fail;
	}
	free(list);
	list = NULL;
	if (e->nep == 0) {
		seterr(err, errlen, EINVAL, "no etcd endpoint");
		goto fail;
	}
	e->connect_ms = 1000;
	e->total_ms = 3000;
	if ((e->curl = curl_easy_init()) == NULL) {
		seterr(err, errlen, ENOMEM, "curl_easy_init failed");
		goto fail;
	}
	return e;
fail:
	free(list);
	etcd_close(e);
	return NULL;
}

void
etcd_close(struct etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nep; i++)
		free(e->ep[i]);
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	free(e);
}

void
etcd_set_timeouts(struct etcd *e, long connect_ms, long total_ms)
{
	e->connect_ms = connect_ms;
	e->total_ms = total_ms;
}

const char *
etcd_endpoint(const struct etcd *e)
{
	return e->ep[e->cur];
}

static size_t
buf_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (n > b->max - b->len)
		return 0;	/* too big: the transfer fails */
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((p = realloc(b->p, b->cap)) == NULL)
			return 0;
		b->p = p;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* An etcd error body {"error","message","code"} as errno and err. */
static int
etcd_error(json_t *j, long status, char *err, size_t errlen)
{
	json_t *msg = json_object_get(j, "message");
	json_int_t code = json_integer_value(json_object_get(j, "code"));
	int errnum = code == 5 ? ENOENT : code == 3 || code == 9 ? EINVAL :
	    code == 14 || code == 4 ? EHOSTUNREACH : EPROTO;

	seterr(err, errlen, errnum, "etcd: HTTP %ld: %s", status,
	    json_is_string(msg) ? json_string_value(msg) : "error");
	return -1;
}

/* Set up one POST of body to path on endpoint i, answer into b. */
static void
setup_post(struct etcd *e, size_t i, const char *path, const char *body,
    struct curl_slist *hdr, struct buf *b, char *url, size_t urlsize)
{
	CURL *c = e->curl;

	snprintf(url, urlsize, "%s%s", e->ep[i], path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->total_ms);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
}

/*
 * POST a JSON request to every endpoint in turn until one answers; the
 * answer's JSON into *out.  An answer of the "unavailable" kind (a member
 * without a leader, HTTP 503) moves on to the next endpoint too.
 */
static int
call(struct etcd *e, const char *path, json_t *req, json_t **out, char *err,
    size_t errlen)
{
	struct curl_slist *hdr;
	struct buf b = { .max = ETCD_MAX_BODY };
	char *body, url[1024];
	json_error_t jerr;
	CURLcode rc = CURLE_OK;
	long status = 0, oserr;
	size_t k, i, refused = 0;
	json_t *j;

	*out = NULL;
	if ((body = json_dumps(req, JSON_COMPACT)) == NULL) {
		seterr(err, errlen, ENOMEM, "out of memory");
		return -1;
	}
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	for (k = 0; k < e->nep; k++) {
		i = (e->cur + k) % e->nep;
		b.len = 0;
		setup_post(e, i, path, body, hdr, &b, url, sizeof(url));
		if ((rc = curl_easy_perform(e->curl)) != CURLE_OK) {
			if (curl_easy_getinfo(e->curl, CURLINFO_OS_ERRNO,
			    &oserr) == CURLE_OK && oserr == ECONNREFUSED)
				refused++;
			continue;
		}
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status == 503 || status == 502 || status == 504)
			continue;
		e->cur = i;
		break;
	}
	free(body);
	curl_slist_free_all(hdr);
	if (k == e->nep) {
		free(b.p);
		/* every member refused: etcd is down, not just out of reach */
		seterr(err, errlen, refused == e->nep ? ECONNREFUSED :
		    EHOSTUNREACH, "etcd: no endpoint answered%s%s",
		    rc != CURLE_OK ? ": " : " (HTTP 5xx)",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "");
		return -1;
	}
	j = json_loadb(b.p ? b.p : "", b.len, 0, &jerr);
	free(b.p);
	if (!json_is_object(j)) {
		json_decref(j);
		seterr(err, errlen, EPROTO, "etcd: %s: HTTP %ld: not a JSON object",
		    url, status);
		return -1;
	}
	/* keepalive answers {"result":{...}} (a stream of one) */
	if (status != 200 || json_object_get(j, "error") != NULL) {
		etcd_error(json_object_get(j, "error") && json_is_object(
		    json_object_get(j, "error")) ? json_object_get(j, "error") :
		    j, status, err, errlen);
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

/* An int64 field, string or number; absent = 0. */
static int64_t
get_i64(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

static json_t *
b64_json(const char *data, size_t len)
{
	char *s = etcd_b64_encode(data, len);
	json_t *j;

	if (s == NULL)
		return NULL;
	j = json_string(s);
	free(s);
	return j;
}

static json_t *
i64_json(int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return json_string(s);
}

/* Decode one {"key","value",...} into kv (zeroed first).  0 or -1. */
static int
kv_parse(json_t *o, struct etcd_kv *kv)
{
	json_t *k = json_object_get(o, "key"), *v = json_object_get(o, "value");
	size_t len;

	memset(kv, 0, sizeof(*kv));
	if (!json_is_string(k) || (kv->key = etcd_b64_decode(
	    json_string_value(k), &len)) == NULL)
		return -1;
	if (strlen(kv->key) != len) {	/* a NUL inside a key: not ours */
		free(kv->key);
		kv->key = NULL;
		return -1;
	}
	kv->value = etcd_b64_decode(json_is_string(v) ? json_string_value(v) :
	    "", &kv->vlen);
	if (kv->value == NULL) {
		free(kv->key);
		kv->key = NULL;
		return -1;
	}
	kv->create_rev = get_i64(o, "create_revision");
	kv->mod_rev = get_i64(o, "mod_revision");
	kv->version = get_i64(o, "version");
	kv->lease = get_i64(o, "lease");
	return 0;
}

static void
kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

/* Add "key" and, for a prefix, "range_end" to a request. */
static int
set_key(json_t *req, const char *key, int prefix)
{
	char *end;
	int rc;

	if (json_object_set_new(req, "key", b64_json(key, strlen(key))) == -1)
		return -1;
	if (!prefix)
		return 0;
	if ((end = etcd_prefix_end(key)) == NULL)
		return -1;
	/* "" as range_end means every key from key on: etcd wants "\0" */
	rc = json_object_set_new(req, "range_end", *end ? b64_json(end,
	    strlen(end)) : json_string("AA=="));
	free(end);
	return rc;
}

static int
parse_kvs(json_t *arr, struct etcd_range *out, char *err, size_t errlen)
{
	size_t i, n = json_array_size(arr);

	if (n > 0 && (out->kvs = calloc(n, sizeof(*out->kvs))) == NULL) {
		seterr(err, errlen, ENOMEM, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (kv_parse(json_array_get(arr, i), &out->kvs[out->n]) == -1) {
			seterr(err, errlen, EPROTO, "etcd: a key that is not base64 text");
			return -1;
		}
		out->n++;
	}
	return 0;
}

static int
range(struct etcd *e, const char *key, int prefix, int keys_only,
    struct etcd_range *out, char *err, size_t errlen)
{
	json_t *req = json_object(), *res = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (req == NULL || set_key(req, key, prefix) == -1 || (keys_only &&
	    json_object_set_new(req, "keys_only", json_true()) == -1)) {
		seterr(err, errlen, ENOMEM, "out of memory");
		goto out;
	}
	if (call(e, "/v3/kv/range", req, &res, err, errlen) == -1)
		goto out;
	out->revision = get_i64(json_object_get(res, "header"), "revision");
	if ((rc = parse_kvs(json_object_get(res, "kvs"), out, err, errlen)) ==
	    -1)
		etcd_range_free(out);
out:
	json_decref(req);
	json_decref(res);
	return rc;
}

int
etcd_range(struct etcd *e, const char *key, int prefix, struct etcd_range *out,
    char *err, size_t errlen)
{
	return range(e, key, prefix, 0, out, err, errlen);
}

int
etcd_range_keys(struct etcd *e, const char *prefix, struct etcd_range *out,
    char *err, size_t errlen)
{
	return range(e, prefix, 1, 1, out, err, errlen);
}

void
etcd_range_free(struct etcd_range *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		kv_free(&r->kvs[i]);
	free(r->kvs);
	r->kvs = NULL;
	r->n = 0;
}

/* One unary call whose answer we only check: a request built by the caller. */
static int
call_simple(struct etcd *e, const char *path, json_t *req, json_t **res,
    char *err, size_t errlen)
{
	json_t *r = NULL;
	int rc;

	if (req == NULL) {
		seterr(err, errlen, ENOMEM, "out of memory");
		return -1;
	}
	rc = call(e, path, req, &r, err, errlen);
	json_decref(req);
	if (res != NULL)
		*res = r;
	else
		json_decref(r);
	return rc;
}

int
etcd_put(struct etcd *e, const char *key, const char *value, size_t len,
    int64_t lease, char *err, size_t errlen)
{
	json_t *req = json_object();

	if (req != NULL && (set_key(req, key, 0) == -1 || json_object_set_new(
	    req, "value", b64_json(value, len)) == -1 || (lease != 0 &&
	    json_object_set_new(req, "lease", i64_json(lease)) == -1))) {
		json_decref(req);
		req = NULL;
	}
	return call_simple(e, "/v3/kv/put", req, NULL, err, errlen);
}

int
etcd_delete(struct etcd *e, const char *key, int prefix, int64_t *deleted,
    char *err, size_t errlen)
{
	json_t *req = json_object(), *res = NULL;

	if (req != NULL && set_key(req, key, prefix) == -1) {
		json_decref(req);
		req = NULL;
	}
	if (call_simple(e, "/v3/kv/deleterange", req, &res, err, errlen) == -1)
		return -1;
	if (deleted != NULL)
		*deleted = get_i64(res, "deleted");
	json_decref(res);
	return 0;
}

static json_t *
cmp_json(const struct etcd_cmp *c)
{
	static const char *targets[] = { "CREATE", "MOD", "VERSION", "VALUE",
	    "LEASE" };
	static const char *fields[] = { "create_revision", "mod_revision",
	    "version", "value", "lease" };
	static const char *results[] = { "EQUAL", "NOT_EQUAL", "GREATER",
	    "LESS" };
	json_t *j = json_object();

	if (j == NULL || set_key(j, c->key, 0) == -1)
		goto fail;
	json_object_set_new(j, "target", json_string(targets[c->target]));
	json_object_set_new(j, "result", json_string(results[c->result]));
	json_object_set_new(j, fields[c->target], c->target == ETCD_VALUE ?
	    b64_json(c->value, strlen(c->value)) : i64_json(c->num));
	if (json_object_get(j, fields[c->target]) == NULL)
		goto fail;
	return j;
fail:
	json_decref(j);
	return NULL;
}

static json_t *
op_json(const struct etcd_op *op)
{
	json_t *in = json_object(), *j = json_object();

	if (in == NULL || j == NULL || set_key(in, op->key, op->type ==
	    ETCD_OP_DELETE && op->prefix) == -1)
		goto fail;
	if (op->type == ETCD_OP_PUT) {
		if (json_object_set_new(in, "value", b64_json(op->value,
		    strlen(op->value))) == -1 || (op->lease != 0 &&
		    json_object_set_new(in, "lease", i64_json(op->lease)) == -1))
			goto fail;
	}
	if (json_object_set_new(j, op->type == ETCD_OP_PUT ? "request_put" :
	    "request_delete_range", in) == -1) {
		in = NULL;
		goto fail;
	}
	return j;
fail:
	json_decref(in);
	json_decref(j);
	return NULL;
}

/* An array of n items made by fn; NULL if any fails. */
static json_t *
array_of(const void *items, size_t size, size_t n, json_t *(*fn)(const void *))
{
	json_t *a = json_array(), *x;
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if ((x = fn((const char *)items + i * size)) == NULL ||
		    json_array_append_new(a, x) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *
cmp_item(const void *p)
{
	return cmp_json(p);
}

static json_t *
op_item(const void *p)
{
	return op_json(p);
}

int
etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp,
    const struct etcd_op *ok, size_t nok, const struct etcd_op *fail,
    size_t nfail, int *succeeded, int64_t *revision, char *err, size_t errlen)
{
	json_t *req = json_object(), *res = NULL, *c, *s, *f;

	c = array_of(cmp, sizeof(*cmp), ncmp, cmp_item);
	s = array_of(ok, sizeof(*ok), nok, op_item);
	f = array_of(fail, sizeof(*fail), nfail, op_item);
	if (req == NULL || json_object_set_new(req, "compare", c) == -1 ||
	    json_object_set_new(req, "success", s) == -1 ||
	    json_object_set_new(req, "failure", f) == -1) {
		json_decref(req);
		req = NULL;
	}
	if (call_simple(e, "/v3/kv/txn", req, &res, err, errlen) == -1)
		return -1;
	/* a failed txn has no "succeeded" at all (proto3 drops false) */
	if (succeeded != NULL)
		*succeeded = json_is_true(json_object_get(res, "succeeded"));
	if (revision != NULL)
		*revision = get_i64(json_object_get(res, "header"), "revision");
	json_decref(res);
	return 0;
}

int
etcd_lease_grant(struct etcd *e, long ttl, int64_t *id, long *granted,
    char *err, size_t errlen)
{
	json_t *req = json_object(), *res = NULL;

	if (req != NULL && json_object_set_new(req, "TTL", i64_json(ttl)) == -1) {
		json_decref(req);
		req = NULL;
	}
	if (call_simple(e, "/v3/lease/grant", req, &res, err, errlen) == -1)
		return -1;
	*id = get_i64(res, "ID");
	if (granted != NULL)
		*granted = (long)get_i64(res, "TTL");
	json_decref(res);
	if (*id == 0) {
		seterr(err, errlen, EPROTO, "etcd: a lease grant without an ID");
		return -1;
	}
	return 0;
}

int
etcd_lease_keepalive(struct etcd *e, int64_t id, long *ttl, char *err,
    size_t errlen)
{
	json_t *req = json_object(), *res = NULL;

	if (req != NULL && json_object_set_new(req, "ID", i64_json(id)) == -1) {
		json_decref(req);
		req = NULL;
	}
	if (call_simple(e, "/v3/lease/keepalive", req, &res, err, errlen) == -1)
		return -1;
	/* HTTP 200 without a TTL: the lease is gone */
	*ttl = (long)get_i64(json_object_get(res, "result"), "TTL");
	if (*ttl < 0)
		*ttl = 0;
	json_decref(res);
	return 0;
}

int
etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen)
{
	json_t *req = json_object();

	if (req != NULL && json_object_set_new(req, "ID", i64_json(id)) == -1) {
		json_decref(req);
		req = NULL;
	}
	return call_simple(e, "/v3/lease/revoke", req, NULL, err, errlen);
}

/* ---- watch ---- */

struct watch {
	struct etcd	*e;
	etcd_watch_fn	 fn;
	void		*arg;
	volatile int	*stop;
	struct buf	 line;
	int64_t		 next_rev;	/* resume from here */
	int		 compacted;	/* the revision is gone: range again */
	int64_t		 compact_rev;	/* etcd's, when it said so */
	int		 done;		/* fn said stop */
	int		 got;		/* a message arrived on this stream */
};

static int
deliver(struct watch *w, enum etcd_evtype type, json_t *kvj, int64_t rev,
    size_t left)
{
	struct etcd_kv kv;
	struct etcd_event ev = { .type = type, .kv = &kv, .revision = rev,
	    .left = left };
	int rc;

	if (kv_parse(kvj, &kv) == -1)
		return 0;	/* not one of ours: skip it */
	rc = w->fn(w->arg, &ev);
	kv_free(&kv);
	return rc;
}

/* One line of the stream: {"result":{"header":..,"events":[..]}}. */
static void
watch_line(struct watch *w, const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL), *r, *evs, *ev, *t;
	size_t i;
	int64_t rev;

	r = json_object_get(j, "result");
	if (!json_is_object(r)) {
		json_decref(j);
		return;
	}
	w->got = 1;
	if (get_i64(r, "compact_revision") > 0 ||
	    json_is_true(json_object_get(r, "canceled"))) {
		w->compacted = 1;
		w->compact_rev = get_i64(r, "compact_revision");
	}
	rev = get_i64(json_object_get(r, "header"), "revision");
	evs = json_object_get(r, "events");
	for (i = 0; !w->done && i < json_array_size(evs); i++) {
		ev = json_array_get(evs, i);
		t = json_object_get(ev, "type");
		/* PUT is proto3's zero: it comes without a "type" */
		w->done = deliver(w, json_is_string(t) && strcmp(
		    json_string_value(t), "DELETE") == 0 ? ETCD_EV_DELETE :
		    ETCD_EV_PUT, json_object_get(ev, "kv"), rev,
		    json_array_size(evs) - i - 1) != 0;
		w->next_rev = get_i64(json_object_get(ev, "kv"),
		    "mod_revision") + 1;
	}
	json_decref(j);
}

static size_t
watch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct watch *w = arg;
	size_t n = size * nmemb, i, start;

	if (buf_write(data, size, nmemb, &w->line) != n)
		return 0;
	for (i = 0, start = 0; i < w->line.len && !w->done; i++)
		if (w->line.p[i] == '\n') {
			watch_line(w, w->line.p + start, i - start);
			start = i + 1;
		}
	memmove(w->line.p, w->line.p + start, w->line.len - start);
	w->line.len -= start;
	return w->done || w->compacted ? 0 : n;
}

static int
watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	struct watch *w = arg;

	(void)a, (void)b, (void)c, (void)d;
	return w->stop != NULL && *w->stop;
}

/* The range that starts (or restarts) a watch: RESET, then each key. */
static int
watch_reset(struct watch *w, const char *key, int prefix, char *err,
    size_t errlen)
{
	struct etcd_range r;
	struct etcd_event ev = { .type = ETCD_EV_RESET };
	size_t i;

	if (etcd_range(w->e, key, prefix, &r, err, errlen) == -1)
		return -1;
	ev.revision = r.revision;
	ev.count = r.n;
	ev.compacted = w->compacted ? w->compact_rev : 0;
	w->done = w->fn(w->arg, &ev) != 0;
	for (i = 0; !w->done && i < r.n; i++) {
		ev.type = ETCD_EV_PUT;
		ev.kv = &r.kvs[i];
		w->done = w->fn(w->arg, &ev) != 0;
	}
	w->next_rev = r.revision + 1;
	w->compacted = 0;
	etcd_range_free(&r);
	return 0;
}

/* One streaming POST /v3/watch on endpoint i, until it ends. */
static void
watch_stream(struct watch *w, size_t i, const char *key, int prefix)
{
	json_t *req = json_object(), *cr = json_object();
	struct curl_slist *hdr;
	struct buf none = { .max = 0 };
	char url[1024], *body;

	if (req == NULL || cr == NULL || set_key(cr, key, prefix) == -1 ||
	    json_object_set_new(cr, "start_revision", i64_json(w->next_rev)) ==
	    -1 || json_object_set_new(req, "create_request", cr) == -1 ||
	    (body = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return;
	}
	json_decref(req);
	hdr = curl_slist_append(NULL, "Content-Type: application/json");
	setup_post(w->e, i, "/v3/watch", body, hdr, &none, url, sizeof(url));
	curl_easy_setopt(w->e->curl, CURLOPT_TIMEOUT_MS, 0L);
	curl_easy_setopt(w->e->curl, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(w->e->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->e->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w->e->curl, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_easy_setopt(w->e->curl, CURLOPT_TCP_KEEPINTVL, 1L);
	curl_easy_setopt(w->e->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->e->curl, CURLOPT_XFERINFOFUNCTION, watch_progress);
	curl_easy_setopt(w->e->curl, CURLOPT_XFERINFODATA, w);
	w->got = 0;
	w->line.len = 0;
	curl_easy_perform(w->e->curl);
	free(body);
	curl_slist_free_all(hdr);
}

int
etcd_watch(struct etcd *e, const char *key, int is_prefix, etcd_watch_fn fn,
    void *arg, volatile int *stop, unsigned tries, char *err, size_t errlen)
{
	struct watch w = { .e = e, .fn = fn, .arg = arg, .stop = stop,
	    .line = { .max = ETCD_MAX_LINE } };
	struct timespec pause = { 0, 200 * 1000000L };
	unsigned failed = 0;
	int rc = 0, fresh = 1;

	while (!w.done && (stop == NULL || !*stop)) {
		if ((fresh || w.compacted) && watch_reset(&w, key, is_prefix,
		    err, errlen) == -1) {
			if (++failed >= tries) {
				rc = -1;
				break;
			}
			nanosleep(&pause, NULL);
			continue;
		}
		fresh = 0;
		if (w.done)
			break;
		watch_stream(&w, e->cur, key, is_prefix);
		if (w.got)
			failed = 0;
		else {
			/* nothing from this member: the next one */
			e->cur = (e->cur + 1) % e->nep;
			if (++failed >= tries) {
				seterr(err, errlen, EHOSTUNREACH,
				    "etcd: no endpoint answered the watch");
				rc = -1;
				break;
			}
			nanosleep(&pause, NULL);
		}
	}
	free(w.line.p);
	return rc;
}
