/* SPDX-License-Identifier: ISC */
/* An etcd v3 client over the JSON gateway (libcurl + jansson), no gRPC. */
#ifndef DYNO_ETCD_H
#define DYNO_ETCD_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every call returns 0 on success or -1 with errno and a one-line reason in
 * `err` (when err is not NULL):
 *   EHOSTUNREACH  no endpoint answered (connect or transfer failed on all)
 *   ECONNREFUSED  every endpoint refused the connection: their hosts are up
 *                 and no etcd listens there (etcd is down, we are not cut
 *                 off from it)
 *   ENOENT        etcd said "not found" (gRPC code 5: an unknown lease)
 *   EPROTO        an answer that is not the JSON we expect
 *   EINVAL        etcd refused the request (gRPC code 3 and the like)
 *   ENOMEM        out of memory
 * Unary calls try each endpoint in turn, starting from the last one that
 * answered, with short connect/total timeouts (etcd_open's defaults: 1 s
 * and 3 s), so a member on the minority side of a partition costs at most
 * one timeout before the next is tried.
 */

struct etcd;

/* One key-value as etcd returns it; absent fields are zero. */
struct etcd_kv {
	char		*key;		/* NUL-terminated (keys are text here) */
	char		*value;		/* NUL-terminated; vlen bytes before it */
	size_t		 vlen;
	int64_t		 create_rev;
	int64_t		 mod_rev;
	int64_t		 version;
	int64_t		 lease;
};

/* What a range returns: kvs owned by it (etcd_range_free). */
struct etcd_range {
	struct etcd_kv	*kvs;
	size_t		 n;
	int64_t		 revision;	/* the store's revision at the read */
};

/* One comparison of a txn: the key's field `target` against a value. */
enum etcd_target { ETCD_CREATE, ETCD_MOD, ETCD_VERSION, ETCD_VALUE,
	ETCD_LEASE };
enum etcd_result { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_GREATER, ETCD_LESS };
struct etcd_cmp {
	enum etcd_target target;
	enum etcd_result result;
	const char	*key;
	int64_t		 num;		/* CREATE, MOD, VERSION, LEASE */
	const char	*value;		/* VALUE */
};

/* One operation of a txn: a put (with a lease when not 0) or a delete. */
enum etcd_optype { ETCD_OP_PUT, ETCD_OP_DELETE };
struct etcd_op {
	enum etcd_optype type;
	const char	*key;
	const char	*value;		/* PUT */
	int64_t		 lease;		/* PUT: 0 = none */
	int		 prefix;	/* DELETE: every key under `key` */
};

/*
 * A client for a comma-separated list of endpoints ("http://h:2379,...").
 * NULL with errno (EINVAL: an empty list or one longer than 16 members).
 * etcd_close() frees it.
 */
struct etcd *etcd_open(const char *endpoints, char *err, size_t errlen);
void	etcd_close(struct etcd *e);

/* Timeouts of unary calls in ms (connect, whole call). */
void	etcd_set_timeouts(struct etcd *e, long connect_ms, long total_ms);

/* The endpoint that answered last ("" before any call). */
const char *etcd_endpoint(const struct etcd *e);

/* The key, or with prefix every key under it.  *out is etcd_range_free'd. */
int	etcd_range(struct etcd *e, const char *key, int prefix,
	    struct etcd_range *out, char *err, size_t errlen);
void	etcd_range_free(struct etcd_range *r);

/* Every key under prefix without its value (each kv's value is ""). */
int	etcd_range_keys(struct etcd *e, const char *prefix,
	    struct etcd_range *out, char *err, size_t errlen);

/* Put key = value (len bytes), on lease (0 = none). */
int	etcd_put(struct etcd *e, const char *key, const char *value,
	    size_t len, int64_t lease, char *err, size_t errlen);

/* Delete the key, or every key under it; *deleted (if not NULL) = count. */
int	etcd_delete(struct etcd *e, const char *key, int prefix,
	    int64_t *deleted, char *err, size_t errlen);

/*
 * If every comparison holds, run `ok`, else `fail`; *succeeded says which.
 * At most 128 operations per branch (etcd's --max-txn-ops default).
 */
int	etcd_txn(struct etcd *e, const struct etcd_cmp *cmp, size_t ncmp,
	    const struct etcd_op *ok, size_t nok, const struct etcd_op *fail,
	    size_t nfail, int *succeeded, int64_t *revision, char *err,
	    size_t errlen);

/* A new lease of ttl seconds (etcd may grant more: its minimum is 2 s). */
int	etcd_lease_grant(struct etcd *e, long ttl, int64_t *id, long *granted,
	    char *err, size_t errlen);

/*
 * Renew a lease once.  0 with *ttl > 0: renewed for *ttl seconds; 0 with
 * *ttl == 0: the lease is gone (expired or revoked: never use it again);
 * -1: no answer (the lease may still live).
 */
int	etcd_lease_keepalive(struct etcd *e, int64_t id, long *ttl, char *err,
	    size_t errlen);
int	etcd_lease_revoke(struct etcd *e, int64_t id, char *err, size_t errlen);

/*
 * Watch every key under `prefix` (or the one key): first a range, given to
 * fn as ETCD_EV_RESET then one ETCD_EV_PUT per key, then the changes from
 * the range's revision + 1 as they come.  A broken stream is resumed from
 * the last revision seen + 1 on the next endpoint; when etcd has compacted
 * that revision away the range is read again (a new RESET).  Blocks until
 * fn returns non-zero (then returns 0), *stop becomes non-zero (checked
 * about every 200 ms; returns 0), or no endpoint answers `tries` times in a
 * row (-1, EHOSTUNREACH).  fn's kv is valid during the call only.  A RESET
 * says in `count` how many PUTs (the range's keys) follow it, so a caller
 * that swaps a copy in knows when the copy is whole; a change says in
 * `left` how many more the same response carries (a txn's changes come in
 * one response: left == 0 is where its copy is whole again).
 */
enum etcd_evtype { ETCD_EV_RESET, ETCD_EV_PUT, ETCD_EV_DELETE };
struct etcd_event {
	enum etcd_evtype type;
	const struct etcd_kv *kv;	/* NULL for RESET */
	int64_t		 revision;
	size_t		 count;		/* RESET: how many PUTs of the range follow */
	size_t		 left;		/* PUT, DELETE: events of the same
					   response after this one */
	int64_t		 compacted;	/* RESET: etcd's compact revision when
					   it had compacted the one to resume
					   from (else 0) */
};
typedef int (*etcd_watch_fn)(void *arg, const struct etcd_event *ev);
int	etcd_watch(struct etcd *e, const char *prefix, int is_prefix,
	    etcd_watch_fn fn, void *arg, volatile int *stop, unsigned tries,
	    char *err, size_t errlen);

/* Base64 (standard, padded) as etcd's gateway wants keys and values.
 * Return malloc'd NUL-terminated strings (NULL with errno); the decoder
 * sets *len and refuses bad input with EINVAL. */
char	*etcd_b64_encode(const void *data, size_t len);
char	*etcd_b64_decode(const char *s, size_t *len);

/* The key just after every key starting with `prefix` (malloc'd). */
char	*etcd_prefix_end(const char *prefix);

#endif
