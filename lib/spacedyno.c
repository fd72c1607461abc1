/* SPDX-License-Identifier: ISC */
/*
 * A space as a whole: the lock every change runs under, its definition,
 * bringing the kernel in line with its files, and a dyno's attach and
 * detach (space-net's commands, and dyno-run's own for its dyno).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "names.h"
#include "state.h"
#include "space.h"

int
space_lock(const char *root)
{
	char path[PATH_MAX];
	int fd;

	if (state_pathf(path, sizeof(path), "%s/spaces", root) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/spaces/.lock", root) == -1 ||
	    (fd = state_lock(path, 1)) == -1) {
		space_fail_errno(EXIT_TEMPFAIL, "%s/spaces/.lock", root);
		return -1;
	}
	return fd;
}

/* Heroku spaces take an RFC 1918 range (heroku.md 7.2). */
static int
check_cidr(const char *s, struct cidr *c)
{
	static const struct cidr rfc1918[] = {
		{ 0x0a000000, 8 }, { 0xac100000, 12 }, { 0xc0a80000, 16 },
	};
	size_t i;

	if (cidr_parse(s, c) == -1 || c->len < 8 || c->len > 30)
		return space_fail(EXIT_DATAERR, "%s: not a network address "
		    "with a prefix of 8 to 30", s);
	for (i = 0; i < sizeof(rfc1918) / sizeof(rfc1918[0]); i++)
		if (c->len >= rfc1918[i].len && cidr_contains(&rfc1918[i], c->net))
			return 0;
	return space_fail(EXIT_DATAERR, "%s: not inside an RFC 1918 private "
	    "range", s);
}

int
space_define(struct space *sp, const char *cidr, const char *outbound,
    const char *mode)
{
	struct cidr want;
	int rc, exists = space_exists(sp);

	if (exists && (rc = space_load(sp)) != 0)
		return rc;
	if (!exists && cidr == NULL)
		return space_fail(EXIT_USAGE, "%s: a new space needs --cidr",
		    sp->name);
	if (cidr != NULL && (rc = check_cidr(cidr, &want)) != 0)
		return rc;
	if (exists && cidr != NULL && (want.net != sp->range.net ||
	    want.len != sp->range.len))
		return space_fail(EXIT_CANTCREAT, "%s: exists with another "
		    "range; destroy it first", sp->name);
	if (!exists) {
		sp->range = want;
		sp->ntrusted = 1;	/* 0.0.0.0/0, Heroku's default */
		sp->trusted[0].net = 0;
		sp->trusted[0].len = 0;
	}
	if (mode != NULL && exists && sp->common != !strcmp(mode, "common"))
		return space_fail(EXIT_CANTCREAT, "%s: exists in another mode",
		    sp->name);
	if (mode != NULL)
		sp->common = strcmp(mode, "common") == 0;
	if (outbound != NULL && addr_parse(outbound, &sp->outbound) == -1)
		return space_fail(EXIT_DATAERR, "%s: not an IPv4 address",
		    outbound);
	return space_split(sp);
}

/*
 * The space's rules laid out whole: every dyno port of a common space
 * isolated, then the tables rebuilt (which drops the bridge table of
 * port sets older runs kept), then space.conf says so.  For a space made
 * now, a bridge made again (after a reboot) or a space.conf of an older
 * space-net.
 */
static int
space_rebuild(struct nl_sock *sk, struct space *sp, const struct leases *ls)
{
	char name[IFNAMSIZ];
	size_t i;
	int rc = 0;

	/* A veth still being made is isolated by its attach (ns_attach). */
	for (i = 0; i < ls->n && rc == 0 && sp->common; i++)
		if (ls->v[i].live && !lease_busy(sp, ls->v[i].addr)) {
			veth_name(ls->v[i].addr, name);
			rc = link_isolate(sk, name);
		}
	if (rc != 0 || (rc = nft_apply(sp, ls)) != 0 ||
	    sp->rules == SPACE_RULES)
		return rc;
	sp->rules = SPACE_RULES;
	return space_save(sp);
}

/*
 * Bring the kernel in line with the space's files: bridge and gateway,
 * forwarding, leases checked against live dynos, then the rules when
 * CONVERGE_RULES (create, trust) or when they are not laid out as this
 * space-net does.  CONVERGE_LAZY: while every lease's dyno runs on a
 * bridge that was there, they all hold, and no link is dumped.
 */
int
space_converge(struct nl_sock *sk, struct space *sp, struct leases *ls,
    int how)
{
	int rc, made = 0;

	if ((rc = link_bridge_ensure(sk, sp, &made)) != 0 ||
	    (rc = ns_forwarding()) != 0 ||
	    (rc = leases_scan(sp, ls)) != 0)
		return rc;
	if ((!(how & CONVERGE_LAZY) || made || !leases_alive(ls)) &&
	    (rc = link_sweep(sk, sp, ls)) != 0)
		return rc;
	if ((how & CONVERGE_RULES) || made || sp->rules != SPACE_RULES)
		return space_rebuild(sk, sp, ls);
	return 0;
}

/* A lease link_sweep dropped had a port: it leaves the web set. */
static int
web_swept(const struct leases *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (!ls->v[i].live && ls->v[i].port != 0)
			return 1;
	return 0;
}

/*
 * Rules and names after a dyno came or went.  nftables only holds the web
 * set (address . PORT) that changes: a worker's start or stop, most of a
 * scale-up, needs none of it (nor the cost of a libnftables run).
 */
int
space_publish(const struct space *sp, const struct leases *ls, int web)
{
	int rc;

	if ((web || web_swept(ls)) && (rc = nft_update(sp, ls)) != 0)
		return rc;
	return dns_write(sp, ls);
}

/* The dyno's namespace, refused when it is the host's own. */
static int
dyno_netns(pid_t pid, int *fd)
{
	char path[64];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return space_fail_errno(errno == ENOENT ? EXIT_NOINPUT :
		    diag_exit_for_errno(errno), "pid %d", (int)pid);
	if (fstat(*fd, &a) == -1 || stat("/proc/self/ns/net", &b) == -1)
		return space_fail_errno(EXIT_OSERR, "pid %d: network namespace",
		    (int)pid);
	if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
		return space_fail(EXIT_DATAERR, "pid %d: shares the host's "
		    "network namespace", (int)pid);
	return 0;
}

/* Drop a dyno's lease and veth; the caller republishes rules and names. */
int
space_unplug(struct nl_sock *sk, const struct space *sp, struct lease *l)
{
	char name[IFNAMSIZ];
	int rc;

	veth_name(l->addr, name);
	if ((rc = link_delete(sk, name)) != 0)
		return rc;
	l->live = 0;
	return lease_remove(sp, l->addr);
}

/*
 * A new lease, held (lease_hold: *hold) for the veth its caller makes
 * once the spaces lock is let go, and published with the others.
 */
static int
dyno_lease(struct space *sp, struct leases *ls, struct lease *want,
    int *hold)
{
	struct lease *nv;
	int rc;

	if ((rc = lease_pick(sp, ls, &want->addr)) != 0)
		return rc;
	if ((nv = reallocarray(ls->v, ls->n + 1, sizeof(*nv))) == NULL)
		return space_fail_errno(EXIT_OSERR, "leases");
	ls->v = nv;
	ls->v[ls->n++] = *want;
	if ((rc = lease_write(sp, want)) == 0 &&
	    (*hold = lease_hold(sp, want->addr)) == -1)
		rc = EXIT_OSERR;
	if (rc == 0 && (rc = space_publish(sp, ls, want->port != 0)) != 0) {
		close(*hold);
		*hold = -1;
	}
	if (rc != 0) {
		lease_remove(sp, want->addr);
		ls->n--;
	}
	return rc;
}


int
space_open(const char *root, const char *name, const char *common_range,
    struct nl_sock *sk, struct space *sp)
{
	int rc;

	if ((rc = space_dir(root, name, sp)) != 0)
		return rc;
	if (space_exists(sp) || strcmp(sp->name, SPACE_COMMON) != 0)
		return space_load(sp);
	if ((rc = space_define(sp, common_range, NULL, NULL)) != 0 ||
	    (rc = link_check_routes(sk, sp)) != 0)
		return rc;
	return space_save(sp);
}

static int
check_dyno(const struct space_dyno *w)
{
	const char *why;

	if ((why = names_check_dyno(w->dyno, NULL, NULL)) != NULL)
		return space_fail(EXIT_USAGE, "%s: %s", w->dyno, why);
	if (w->app != NULL && (why = names_check_app(w->app)) != NULL)
		return space_fail(EXIT_USAGE, "%s: %s", w->app, why);
	return 0;
}

/*
 * The address dyno_plug would take is free, and so is its veth's name.
 * When not, a lazy converge trusted a lease the links would refute (a
 * pid reused, a veth left by an attach that died): the caller sweeps.
 */
static int
pick_clear(struct nl_sock *sk, const struct space *sp,
    const struct leases *ls)
{
	char name[IFNAMSIZ];
	uint32_t a;

	if (lease_pick(sp, ls, &a) != 0)
		return 0;
	veth_name(a, name);
	return !link_exists(sk, name);
}

/*
 * Under the lock: the lease and the rules.  *hold is the new lease's, its
 * veth still to be made (outside the lock); -1 when attached already.
 */
static int
attach_locked(const struct space_dyno *w, struct nl_sock *sk,
    struct leases *ls, struct space *sp, struct lease *want, int *hold)
{
	struct lease *have;
	int rc;

	memset(want, 0, sizeof(*want));
	snprintf(want->app, sizeof(want->app), "%s", w->app ? w->app : "-");
	snprintf(want->dyno, sizeof(want->dyno), "%s", w->dyno);
	want->pid = w->pid;
	want->port = w->port;
	want->live = 1;
	if ((rc = space_open(w->root, w->space, w->common_range, sk, sp)) != 0 ||
	    (rc = space_converge(sk, sp, ls, CONVERGE_LAZY)) != 0)
		return rc;
	if ((have = leases_find(ls, want->app, want->dyno, want->pid)) != NULL) {
		/* Attached already: converge on the port asked for now. */
		have->port = want->port;
		want->addr = have->addr;
		if ((rc = lease_write(sp, have)) != 0)
			return rc;
		return space_publish(sp, ls, 1);
	}
	if (!pick_clear(sk, sp, ls) && (rc = link_sweep(sk, sp, ls)) != 0)
		return rc;
	return dyno_lease(sp, ls, want, hold);
}

/*
 * The spaces lock is held for what other runs see (leases, the rules) and
 * let go before the veth is made: a scale-up's attaches overlap there, the
 * new lease held meanwhile (lease_hold).  The host end comes up last, when
 * the dyno's end is up and addressed (ns_attach).  A dyno whose veth or
 * inside fails loses its veth; its lease, no longer holding once the dyno
 * is gone, goes at the next sweep.
 */
int
space_attach_dyno(const struct space_dyno *w, uint32_t *addr)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct space sp;
	struct lease want;
	char name[IFNAMSIZ];
	int rc, hold = -1, nsfd = -1, lock = -1;

	if ((rc = check_dyno(w)) != 0 ||
	    (rc = dyno_netns(w->pid, &nsfd)) != 0)
		goto out;
	if ((lock = space_lock(w->root)) == -1) {
		rc = EXIT_TEMPFAIL;
		goto out;
	}
	if ((rc = link_open(&sk)) == 0)
		rc = attach_locked(w, sk, &ls, &sp, &want, &hold);
	close(lock);
	lock = -1;
	if (rc == 0 && hold != -1 &&
	    (rc = ns_attach(sk, &sp, want.addr, nsfd)) == 0) {
		veth_name(want.addr, name);
		if ((rc = ns_configure(nsfd, &sp, want.addr)) != 0 ||
		    (rc = link_up(sk, name)) != 0)
			link_delete(sk, name);
	}
	if (rc == 0)
		*addr = want.addr;
out:
	leases_free(&ls);
	link_close(sk);
	if (hold != -1)
		close(hold);
	if (lock != -1)
		close(lock);
	if (nsfd != -1)
		close(nsfd);
	return rc;
}

int
space_detach_dyno(const struct space_dyno *w)
{
	struct nl_sock *sk = NULL;
	struct leases ls = { NULL, 0 };
	struct lease *l;
	struct space sp;
	int rc, lock = -1;

	if ((rc = check_dyno(w)) != 0 ||
	    (rc = space_dir(w->root, w->space, &sp)) != 0 ||
	    (rc = space_load(&sp)) != 0)
		return rc;
	if ((lock = space_lock(w->root)) == -1)
		return EXIT_TEMPFAIL;
	if ((rc = link_open(&sk)) != 0 ||
	    (rc = space_converge(sk, &sp, &ls, 0)) != 0)
		goto out;
	/* With a pid only that instance; without, every instance of the dyno. */
	while (rc == 0 && (l = leases_find(&ls, w->app ? w->app : "-",
	    w->dyno, w->pid)) != NULL) {
		rc = space_unplug(sk, &sp, l);
		l->live = 0;
	}
	/* The unplugged leases are not live: a web one leaves the set. */
	if (rc == 0)
		rc = space_publish(&sp, &ls, 0);
out:
	leases_free(&ls);
	link_close(sk);
	close(lock);
	return rc;
}
