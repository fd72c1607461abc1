/* SPDX-License-Identifier: ISC */
/* Spaces: lease files (one per leased address) and the DNS hosts file. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "diag.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "space.h"

#define LEASE_MAX	512	/* bytes in one lease file */

void
veth_name(uint32_t addr, char *out)
{
	snprintf(out, IFNAMSIZ, SPACE_VETH_PREFIX "%08x%s", (unsigned)addr,
	    space_tag());
}

/*
 * The MAC address of the interface holding addr: fixed by the address
 * (locally administered, 02:64 then the four bytes), so a dyno that takes
 * a freed address over is reached at once by every neighbour that cached
 * the previous holder's, instead of after the host's ARP entry goes stale.
 */
void
addr_mac(uint32_t addr, unsigned char mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x64;
	mac[2] = (unsigned char)(addr >> 24);
	mac[3] = (unsigned char)(addr >> 16);
	mac[4] = (unsigned char)(addr >> 8);
	mac[5] = (unsigned char)addr;
}

/* A pid we may not signal still exists (EPERM): only ESRCH means dead. */
int
pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* "APP DYNO PID\n" and, for a web dyno, a second line "port PORT\n". */
static int
lease_parse(char *text, struct lease *l)
{
	char pid[16], port[8];
	int n;

	n = sscanf(text, "%63s %79s %15s\nport %7s", l->app, l->dyno, pid,
	    port);
	if (n < 3 || num_parse_uint(pid, 1, INT32_MAX, (unsigned *)&l->pid) == -1)
		return -1;
	l->port = 0;
	if (n == 4 && num_parse_uint(port, 1, 65535, &l->port) == -1)
		return -1;
	return 0;
}

static int
lease_read(const struct space *sp, const char *name, struct lease *l)
{
	char path[PATH_MAX], *text;
	int rc;

	memset(l, 0, sizeof(*l));
	if (addr_parse(name, &l->addr) == -1 ||
	    !cidr_contains(&sp->cidr, l->addr))
		return -1;
	if (state_pathf(path, sizeof(path), "%s/leases/%s", sp->dir,
	    name) == -1 || state_read(path, LEASE_MAX, &text, NULL) == -1)
		return -1;
	rc = lease_parse(text, l);
	free(text);
	if (rc == -1)
		space_warn("%s: not a lease file, ignored", path);
	return rc;
}

/* Every lease of the space; `live` is left for link_sweep() to decide. */
int
leases_scan(const struct space *sp, struct leases *ls)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct lease l, *nv;
	DIR *d;

	ls->v = NULL;
	ls->n = 0;
	if (state_pathf(path, sizeof(path), "%s/leases", sp->dir) == -1 ||
	    (d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return space_fail_errno(EXIT_OSERR, "%s/leases", sp->dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || lease_read(sp, de->d_name, &l) == -1)
			continue;
		if ((nv = reallocarray(ls->v, ls->n + 1, sizeof(l))) == NULL) {
			closedir(d);
			leases_free(ls);
			return space_fail_errno(EXIT_OSERR, "leases");
		}
		ls->v = nv;
		ls->v[ls->n++] = l;
	}
	closedir(d);
	return 0;
}

/*
 * Every lease's dyno still runs: all are marked live and 1, else 0 and
 * none is marked.  What a full link_sweep() would find in the common case,
 * for a kill(2) a lease instead of a dump of every link.
 */
int
leases_alive(struct leases *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (!pid_alive(ls->v[i].pid))
			return 0;
	for (i = 0; i < ls->n; i++)
		ls->v[i].live = 1;
	return 1;
}

void
leases_free(struct leases *ls)
{
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

/*
 * The live lease of APP's DYNO held by pid (0: any).  During a restart two
 * instances of one dyno briefly overlap (heroku.md 1.4), each with its own
 * lease, so the pid tells them apart.
 */
struct lease *
leases_find(struct leases *ls, const char *app, const char *dyno, pid_t pid)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (ls->v[i].live && strcmp(ls->v[i].app, app) == 0 &&
		    strcmp(ls->v[i].dyno, dyno) == 0 &&
		    (pid == 0 || ls->v[i].pid == pid))
			return &ls->v[i];
	return NULL;
}

/* The lowest free address after the gateway, before the broadcast one. */
int
lease_pick(const struct space *sp, const struct leases *ls, uint32_t *addr)
{
	uint32_t first = cidr_gateway(&sp->cidr) + 1;
	uint32_t last = sp->cidr.net + (uint32_t)((1ull << (32 - sp->cidr.len)) - 2);
	uint32_t a;
	size_t i;
	char c[32];

	for (a = first; a <= last; a++) {
		for (i = 0; i < ls->n; i++)
			if (ls->v[i].live && ls->v[i].addr == a)
				break;
		if (i == ls->n) {
			*addr = a;
			return 0;
		}
	}
	cidr_format(&sp->cidr, c, sizeof(c));
	return space_fail(EXIT_TEMPFAIL, "%s: no free address in %s: all %u "
	    "leased", sp->name, c, last >= first ? last - first + 1 : 0);
}

int
lease_write(const struct space *sp, const struct lease *l)
{
	char path[PATH_MAX], a[INET_ADDRSTRLEN], buf[LEASE_MAX];
	int len;

	addr_format(l->addr, a, sizeof(a));
	len = snprintf(buf, sizeof(buf), "%s %s %d\n", l->app, l->dyno,
	    (int)l->pid);
	if (l->port != 0)
		len += snprintf(buf + len, sizeof(buf) - (size_t)len,
		    "port %u\n", l->port);
	if (state_pathf(path, sizeof(path), "%s/leases", sp->dir) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/leases/%s", sp->dir, a) == -1 ||
	    state_replace(path, buf, (size_t)len, 0644, 0) == -1)
		return space_fail_errno(EXIT_CANTCREAT, "%s/leases/%s", sp->dir, a);
	return 0;
}

static int
lease_open(const struct space *sp, uint32_t addr)
{
	char path[PATH_MAX], a[INET_ADDRSTRLEN];

	addr_format(addr, a, sizeof(a));
	if (state_pathf(path, sizeof(path), "%s/leases/%s", sp->dir, a) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

/*
 * An attach holds its new lease's file locked (flock, LOCK_EX) from the
 * lease's writing to its veth's: a sweep meanwhile leaves it be, though
 * its veth is not there yet.  Its death lets go of the lock.
 */
int
lease_hold(const struct space *sp, uint32_t addr)
{
	int fd;

	if ((fd = lease_open(sp, addr)) == -1 || flock(fd, LOCK_EX) == -1) {
		(void)space_fail_errno(EXIT_OSERR, "%s: lease", sp->name);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* An attach is still making the veth of the lease at addr (lease_hold). */
int
lease_busy(const struct space *sp, uint32_t addr)
{
	int fd, busy;

	if ((fd = lease_open(sp, addr)) == -1)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

int
lease_remove(const struct space *sp, uint32_t addr)
{
	char path[PATH_MAX], a[INET_ADDRSTRLEN];

	addr_format(addr, a, sizeof(a));
	if (state_pathf(path, sizeof(path), "%s/leases/%s", sp->dir, a) == -1 ||
	    (unlink(path) == -1 && errno != ENOENT))
		return space_fail_errno(EXIT_OSERR, "%s/leases/%s", sp->dir, a);
	return 0;
}

/*
 * heroku.md 7.3: N.TYPE.APP.app.localspace is one dyno, TYPE.APP... every
 * dyno of the type, APP.app.localspace every dyno of the app.  One line
 * per address; the resolver collects every line naming a host.  The file
 * becomes the dyno's /etc/hosts, so localhost must stay in it.
 */
static size_t
dns_line(char *buf, size_t size, const struct lease *l)
{
	char a[INET_ADDRSTRLEN];
	const char *dot = strchr(l->dyno, '.');
	int n;

	addr_format(l->addr, a, sizeof(a));
	n = snprintf(buf, size, "%s\t%s.%.*s.%s.app.localspace "
	    "%.*s.%s.app.localspace %s.app.localspace\n", a, dot + 1,
	    (int)(dot - l->dyno), l->dyno, l->app, (int)(dot - l->dyno),
	    l->dyno, l->app, l->app);
	return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

/*
 * One line of a peer's names file, "ADDR DYNO APP", into *l: the address
 * inside the peer's part (a host names only its own dynos), the dyno and
 * app names as names.h checks them.  0, or -1.
 */
static int
dns_peer_parse(const char *line, const struct peer *p, struct lease *l)
{
	char a[32], dyno[80], app[64], rest[2];

	memset(l, 0, sizeof(*l));
	if (sscanf(line, "%31s %79s %63s %1s", a, dyno, app, rest) != 3 ||
	    addr_parse(a, &l->addr) == -1 || !cidr_contains(&p->subnet,
	    l->addr) || names_check_dyno(dyno, NULL, NULL) != NULL ||
	    names_check_app(app) != NULL)
		return -1;
	snprintf(l->dyno, sizeof(l->dyno), "%s", dyno);
	snprintf(l->app, sizeof(l->app), "%s", app);
	return 0;
}

static int
dns_peer_path(const struct space *sp, const char *host, char *buf,
    size_t size)
{
	return state_pathf(buf, size, "%s/dns/peer-%s", sp->dir, host);
}

/* The names of each peer's dynos (its dns/peer-HOST file) into f. */
static void
dns_peers(FILE *f, const struct space *sp)
{
	char path[PATH_MAX], line[512], *text, *p, *nl;
	struct lease l;
	unsigned i;

	for (i = 0; i < sp->npeers; i++) {
		if (dns_peer_path(sp, sp->peers[i].host, path, sizeof(path)) ==
		    -1 || state_read(path, DNS_PEER_MAX, &text, NULL) == -1)
			continue;
		for (p = text; *p != '\0'; p = nl) {
			nl = p + strcspn(p, "\n");
			if (*nl != '\0')
				*nl++ = '\0';
			if (dns_peer_parse(p, &sp->peers[i], &l) == 0 &&
			    dns_line(line, sizeof(line), &l) > 0)
				fputs(line, f);
		}
		free(text);
	}
}

int
dns_write(const struct space *sp, const struct leases *ls)
{
	static const char head[] = "# written by space-net(8)\n"
	    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
	char path[PATH_MAX], line[512], *buf = NULL;
	size_t i, len = 0;
	FILE *f;
	int rc = 0;

	if (sp->common)
		return 0;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return space_fail_errno(EXIT_OSERR, "dns");
	fputs(head, f);
	for (i = 0; i < ls->n; i++)
		if (ls->v[i].live && strcmp(ls->v[i].app, "-") != 0 &&
		    dns_line(line, sizeof(line), &ls->v[i]) > 0)
			fputs(line, f);
	if (sp->npeers > 0) {
		fputs(DNS_PEERS_MARK "\n", f);
		dns_peers(f, sp);
	}
	if (fclose(f) != 0) {
		free(buf);
		return space_fail_errno(EXIT_OSERR, "dns");
	}
	if (state_pathf(path, sizeof(path), "%s/dns", sp->dir) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/dns/hosts", sp->dir) == -1 ||
	    state_replace(path, buf, len, 0644, 0) == -1) {
		rc = space_fail_errno(EXIT_CANTCREAT, "%s/dns/hosts", sp->dir);
	}
	free(buf);
	return rc;
}

/*
 * peer names: the peer's dynos from `in` ("ADDR DYNO APP" a line, at most
 * DNS_PEER_MAX bytes), all checked before any is kept; none removes the
 * file.  Then the hosts file again.
 */
int
dns_peer_names(const struct space *sp, const struct leases *ls,
    const char *host, int fd)
{
	char path[PATH_MAX], a[INET_ADDRSTRLEN], *text = NULL, *p, *nl,
	    *out = NULL;
	const struct peer *pe = NULL;
	size_t len = 0, olen = 0;
	struct lease l;
	unsigned i, n = 0;
	FILE *f = NULL;
	int rc = EXIT_DATAERR;

	for (i = 0; i < sp->npeers; i++)
		if (strcmp(sp->peers[i].host, host) == 0)
			pe = &sp->peers[i];
	if (pe == NULL)
		return space_fail(EXIT_NOINPUT, "%s: no peer %.63s (peer add "
		    "first)", sp->name, host);
	if (state_read_fd(fd, DNS_PEER_MAX, &text, &len) == -1)
		return space_fail_errno(errno == EFBIG ? EXIT_DATAERR :
		    diag_exit_for_errno(errno), "stdin");
	if (strlen(text) != len || (f = open_memstream(&out, &olen)) == NULL)
		goto bad;
	for (p = text; *p != '\0'; p = nl) {
		nl = p + strcspn(p, "\n");
		if (*nl != '\0')
			*nl++ = '\0';
		n++;
		if (p[strspn(p, " \t")] == '\0' || p[strspn(p, " \t")] == '#')
			continue;
		if (dns_peer_parse(p, pe, &l) == -1) {
			space_fail(EXIT_DATAERR, "stdin:%u: expected ADDR DYNO APP, "
			    "ADDR in %s's part", n, host);
			goto bad;
		}
		addr_format(l.addr, a, sizeof(a));
		fprintf(f, "%s %s %s\n", a, l.dyno, l.app);
	}
	fclose(f);
	f = NULL;
	rc = 0;
	if (dns_peer_path(sp, host, path, sizeof(path)) == -1 ||
	    (olen == 0 ? unlink(path) == -1 && errno != ENOENT :
	    state_replace(path, out, olen, 0644, 0) == -1)) {
		rc = space_fail_errno(EXIT_CANTCREAT, "%s/dns/peer-%s", sp->dir,
		    host);
	}
	if (rc == 0)
		rc = dns_write(sp, ls);
bad:
	if (f != NULL)
		fclose(f);
	free(out);
	free(text);
	return rc;
}

/* A peer gone: its names go with it. */
void
dns_peer_forget(const struct space *sp, const char *host)
{
	char path[PATH_MAX];

	if (dns_peer_path(sp, host, path, sizeof(path)) == 0)
		(void)unlink(path);
}
