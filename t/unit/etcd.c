/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/etcd against one real etcd member on 127.0.0.1. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"
#include "tap.h"

static pid_t etcd_pid;
static char datadir[] = "/dev/shm/dynotest-etcd-unit-XXXXXX";

/* A free port on 127.0.0.1 (the kernel's choice; etcd binds it next). */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (s >= 0)
		close(s);
	return port;
}

static void
stop_etcd(void)
{
	char cmd[128];

	if (etcd_pid > 0) {
		kill(etcd_pid, SIGKILL);
		waitpid(etcd_pid, NULL, 0);
		etcd_pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", datadir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", datadir);
}

static int
start_etcd(char *url, size_t size)
{
	char curl[64], purl[64], ipurl[96];
	int cp = free_port(), pp = free_port(), fd;

	if (cp < 0 || pp < 0 || mkdtemp(datadir) == NULL)
		return -1;
	snprintf(curl, sizeof(curl), "http://127.0.0.1:%d", cp);
	snprintf(purl, sizeof(purl), "http://127.0.0.1:%d", pp);
	snprintf(ipurl, sizeof(ipurl), "dynotest=%s", purl);
	snprintf(url, size, "%s", curl);
	if ((etcd_pid = fork()) == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("etcd", "etcd", "--name", "dynotest", "--data-dir",
		    datadir, "--listen-client-urls", curl,
		    "--advertise-client-urls", curl, "--listen-peer-urls", purl,
		    "--initial-advertise-peer-urls", purl, "--initial-cluster",
		    ipurl, (char *)NULL);
		_exit(127);
	}
	return etcd_pid > 0 ? 0 : -1;
}

/* Wait (at most 10 s) for the member to answer a range. */
static int
wait_ready(struct etcd *e)
{
	struct timespec t = { 0, 100 * 1000000L };
	struct etcd_range r;
	int i;

	for (i = 0; i < 100; i++) {
		if (etcd_range(e, "/dyno/", 1, &r, NULL, 0) == 0) {
			etcd_range_free(&r);
			return 0;
		}
		nanosleep(&t, NULL);
	}
	return -1;
}

static void
test_b64(void)
{
	char *s, *d;
	size_t n;

	s = etcd_b64_encode("ab", 2);
	is_str(s, "YWI=", "base64 of 2 bytes is padded");
	d = etcd_b64_decode(s, &n);
	is_str(d, "ab", "and decodes back");
	is_int(n, 2, "to 2 bytes");
	free(s);
	free(d);
	ok(etcd_b64_decode("YW=I", &n) == NULL && errno == EINVAL,
	    "'=' inside base64 refused");
	ok(etcd_b64_decode("YWI", &n) == NULL, "short base64 refused");
	ok(etcd_b64_decode("Y*I=", &n) == NULL, "a bad letter refused");
	s = etcd_prefix_end("/dyno/");
	is_str(s, "/dyno0", "prefix end of /dyno/");
	free(s);
	ok(etcd_open("ftp://x", NULL, 0) == NULL && errno == EINVAL,
	    "an endpoint that is not http refused");
	ok(etcd_open(" , ", NULL, 0) == NULL && errno == EINVAL,
	    "an empty endpoint list refused");
}

static void
test_kv(struct etcd *e)
{
	struct etcd_range r;
	char err[256];
	int64_t n;

	ok(etcd_put(e, "/dyno/t/a", "1", 1, 0, err, sizeof(err)) == 0,
	    "put");
	ok(etcd_put(e, "/dyno/t/b", "two\0x", 5, 0, err, sizeof(err)) == 0,
	    "put of a value with a NUL");
	ok(etcd_range(e, "/dyno/t/", 1, &r, err, sizeof(err)) == 0 &&
	    r.n == 2, "range of the prefix finds both");
	if (r.n == 2) {
		is_str(r.kvs[0].key, "/dyno/t/a", "key a");
		is_int(r.kvs[1].vlen, 5, "value b keeps its 5 bytes");
		ok(r.kvs[0].create_rev > 0, "create_revision is read");
	}
	ok(r.revision > 0, "header revision is read");
	etcd_range_free(&r);
	ok(etcd_range_keys(e, "/dyno/t/", &r, err, sizeof(err)) == 0 &&
	    r.n == 2, "keys only: both keys");
	if (r.n == 2) {
		is_str(r.kvs[1].key, "/dyno/t/b", "key b");
		ok(r.kvs[1].vlen == 0 && r.kvs[1].mod_rev > 0,
		    "no value, its revisions");
	}
	etcd_range_free(&r);
	ok(etcd_range(e, "/dyno/none", 0, &r, err, sizeof(err)) == 0 &&
	    r.n == 0, "a missing key: no kvs, no error");
	etcd_range_free(&r);
	ok(etcd_delete(e, "/dyno/t/", 1, &n, err, sizeof(err)) == 0 && n == 2,
	    "delete of the prefix removes 2");
}

static void
test_txn(struct etcd *e)
{
	struct etcd_cmp c = { ETCD_CREATE, ETCD_EQUAL, "/dyno/t/placer", 0,
	    NULL };
	struct etcd_op put = { ETCD_OP_PUT, "/dyno/t/placer", "h1", 0, 0 };
	struct etcd_range r;
	char err[256];
	int won = -1;
	int64_t rev;

	ok(etcd_txn(e, &c, 1, &put, 1, NULL, 0, &won, &rev, err,
	    sizeof(err)) == 0 && won == 1, "create-if-absent wins once");
	put.value = "h2";
	ok(etcd_txn(e, &c, 1, &put, 1, NULL, 0, &won, NULL, err,
	    sizeof(err)) == 0 && won == 0, "and fails (no \"succeeded\") after");
	ok(etcd_range(e, "/dyno/t/placer", 0, &r, err, sizeof(err)) == 0 &&
	    r.n == 1 && strcmp(r.kvs[0].value, "h1") == 0, "the first holds");
	c.num = r.n ? r.kvs[0].create_rev : 0;
	etcd_range_free(&r);
	ok(etcd_txn(e, &c, 1, &put, 1, NULL, 0, &won, NULL, err,
	    sizeof(err)) == 0 && won == 1, "a write guarded by the holder's "
	    "create_revision passes");
	c.target = ETCD_VALUE;
	c.value = "nope";
	ok(etcd_txn(e, &c, 1, &put, 1, NULL, 0, &won, NULL, err,
	    sizeof(err)) == 0 && won == 0, "a value compare that fails");
	etcd_delete(e, "/dyno/t/", 1, NULL, NULL, 0);
}

static void
test_lease(struct etcd *e)
{
	struct etcd_range r;
	char err[256];
	int64_t id;
	long ttl = -1, granted = 0;

	ok(etcd_lease_grant(e, 1, &id, &granted, err, sizeof(err)) == 0 &&
	    id != 0, "lease grant");
	ok(granted >= 2, "etcd grants at least 2 s (got %ld)", granted);
	ok(id > (1LL << 53) || id > 0, "the id survives as int64");
	ok(etcd_put(e, "/dyno/t/leased", "x", 1, id, err, sizeof(err)) == 0,
	    "put on the lease");
	ok(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)) == 0 &&
	    ttl > 0, "keepalive of a live lease gives a TTL");
	ok(etcd_lease_revoke(e, id, err, sizeof(err)) == 0, "revoke");
	ok(etcd_lease_keepalive(e, id, &ttl, err, sizeof(err)) == 0 &&
	    ttl == 0, "keepalive of a revoked lease: 200 and no TTL = lost");
	ok(etcd_range(e, "/dyno/t/leased", 0, &r, err, sizeof(err)) == 0 &&
	    r.n == 0, "its key went with it");
	etcd_range_free(&r);
	ok(etcd_put(e, "/dyno/t/x", "x", 1, id, err, sizeof(err)) == -1 &&
	    errno == ENOENT, "put on a lost lease: ENOENT (%s)", err);
}

struct seen {
	int	 resets, puts, dels;
	size_t	 count, left[4];
	char	 last[64];
	struct etcd *writer;
};

static int
on_event(void *arg, const struct etcd_event *ev)
{
	struct seen *s = arg;
	struct etcd_op ops[2] = {
		{ ETCD_OP_PUT, "/dyno/w/b", "2", 0, 0 },
		{ ETCD_OP_DELETE, "/dyno/w/a", NULL, 0, 0 },
	};

	if (ev->type == ETCD_EV_RESET) {
		/* the first reset: one txn of two changes for the watch */
		if (s->resets++ == 0) {
			s->count = ev->count;
			etcd_txn(s->writer, NULL, 0, ops, 2, NULL, 0, NULL, NULL,
			    NULL, 0);
		}
		return 0;
	}
	if (s->puts + s->dels < 4)
		s->left[s->puts + s->dels] = ev->left;
	if (ev->type == ETCD_EV_PUT)
		s->puts++;
	else
		s->dels++;
	snprintf(s->last, sizeof(s->last), "%s", ev->kv->key);
	return s->dels > 0;
}

static void
test_watch(struct etcd *e, const char *url)
{
	struct seen s = { 0 };
	struct etcd *w = etcd_open(url, NULL, 0);
	char err[256];

	s.writer = e;
	etcd_put(e, "/dyno/w/a", "1", 1, 0, NULL, 0);
	ok(etcd_watch(w, "/dyno/w/", 1, on_event, &s, NULL, 3, err,
	    sizeof(err)) == 0, "watch returns when fn says so");
	is_int(s.resets, 1, "one reset");
	is_int(s.count, 1, "the reset says one key follows");
	ok(s.left[1] == 1 && s.left[2] == 0, "a txn's two changes in one "
	    "response: 1 left after the first, 0 after the last");
	is_int(s.puts, 2, "the range's a, then the new b (no \"type\": a PUT)");
	is_int(s.dels, 1, "then the DELETE of a");
	is_str(s.last, "/dyno/w/a", "the delete names its key");
	etcd_close(w);
	w = etcd_open("http://127.0.0.1:1", NULL, 0);
	ok(etcd_watch(w, "/dyno/w/", 1, on_event, &s, NULL, 2, err,
	    sizeof(err)) == -1 && (errno == EHOSTUNREACH ||
	    errno == ECONNREFUSED),
	    "a watch with no member answering gives up after its tries");
	etcd_close(w);
	etcd_delete(e, "/dyno/w/", 1, NULL, NULL, 0);
}

static void
test_rotation(const char *url)
{
	char list[256], err[256];
	struct etcd_range r;
	struct etcd *e;

	/* a dead endpoint first: the live one answers, and stays chosen */
	snprintf(list, sizeof(list), "http://127.0.0.1:1,%s", url);
	e = etcd_open(list, err, sizeof(err));
	ok(e != NULL && etcd_range(e, "/dyno/", 1, &r, err, sizeof(err)) == 0,
	    "a dead endpoint is skipped");
	if (e != NULL) {
		etcd_range_free(&r);
		is_str(etcd_endpoint(e), url, "the live one is remembered");
		etcd_close(e);
	}
	e = etcd_open("http://127.0.0.1:1", NULL, 0);
	ok(etcd_put(e, "/dyno/x", "1", 1, 0, err, sizeof(err)) == -1 &&
	    errno == ECONNREFUSED, "every endpoint refused: ECONNREFUSED (%s)",
	    err);
	etcd_close(e);
}

int
main(void)
{
	char url[64];
	struct etcd *e;

	test_b64();
	if (system("command -v etcd >/dev/null 2>&1") != 0) {
		printf("# SKIP etcd is not installed (etcd-server)\n");
		return done_testing();
	}
	if (start_etcd(url, sizeof(url)) == -1) {
		ok(0, "etcd starts");
		stop_etcd();
		return done_testing();
	}
	e = etcd_open(url, NULL, 0);
	if (!ok(e != NULL && wait_ready(e) == 0, "etcd answers")) {
		stop_etcd();
		return done_testing();
	}
	test_kv(e);
	test_txn(e);
	test_lease(e);
	test_watch(e, url);
	test_rotation(url);
	etcd_close(e);
	stop_etcd();
	return done_testing();
}
