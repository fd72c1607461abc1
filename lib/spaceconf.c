/* SPDX-License-Identifier: ISC */
/* Spaces: addresses, CIDRs and the space.conf file of each space. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "space.h"

int
addr_parse(const char *s, uint32_t *addr)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -1;
	*addr = ntohl(in.s_addr);
	return 0;
}

void
addr_format(uint32_t addr, char *buf, size_t size)
{
	struct in_addr in = { .s_addr = htonl(addr) };

	if (inet_ntop(AF_INET, &in, buf, size) == NULL)
		snprintf(buf, size, "?");
}

static uint32_t
cidr_mask(unsigned len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

/* "a.b.c.d/len" with no host bits set (a bare address is a /32). */
int
cidr_parse(const char *s, struct cidr *c)
{
	char buf[32], *slash;
	unsigned len = 32;
	uint32_t addr;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		if (num_parse_uint(slash + 1, 0, 32, &len) == -1)
			return -1;
	}
	if (addr_parse(buf, &addr) == -1 || (addr & ~cidr_mask(len)) != 0)
		return -1;
	c->net = addr;
	c->len = len;
	return 0;
}

void
cidr_format(const struct cidr *c, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	addr_format(c->net, a, sizeof(a));
	snprintf(buf, size, "%s/%u", a, c->len);
}

int
cidr_contains(const struct cidr *c, uint32_t addr)
{
	return (addr & cidr_mask(c->len)) == c->net;
}

int
cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	unsigned len = a->len < b->len ? a->len : b->len;

	return (a->net & cidr_mask(len)) == (b->net & cidr_mask(len));
}

/* The first address of the range is the space's gateway on its bridge. */
uint32_t
cidr_gateway(const struct cidr *c)
{
	return c->net + 1;
}

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* This DYNO_ROOT's real path, and its tag ("" for the default root). */
static char root_path[PATH_MAX];
static char root_tag[SPACE_TAG_LEN + 1];

/*
 * Bridges, veths and nftables tables are the host's, not a DYNO_ROOT's:
 * two roots naming the same space (a bench beside a test, two installs on
 * one host) took each other's bridge, swept each other's veths, rewrote
 * each other's rules, and failed on each other's veth names ("Object
 * exists").  Every root but the default marks its names with a tag: 20
 * bits of a hash of its real path, in base 32.  It is the root's for good,
 * so the runs after a restart find the links of the dynos still running;
 * the default root keeps the names the hosts already have.
 */
void
space_root(const char *root)
{
	static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
	char real[PATH_MAX];
	uint32_t h;
	int i;

	snprintf(root_path, sizeof(root_path), "%s",
	    realpath(root, real) != NULL ? real : root);
	root_tag[0] = '\0';
	if (strcmp(root_path, SPACE_DEFAULT_ROOT) == 0)
		return;
	h = fnv1a(root_path);
	for (i = 0; i < SPACE_TAG_LEN; i++, h >>= 5)
		root_tag[i] = b32[h & 31];
	root_tag[i] = '\0';
}

const char *
space_tag(void)
{
	return root_tag;
}

/*
 * Interface names have 15 characters; "dyno-" and the tag leave 10 or 6
 * for the space.  Longer names keep a few of their characters, for people
 * reading `ip link`, and a hash of the whole name.  The bridge's alias
 * (with the root's path, for a tagged root) says whose it is.
 */
void
space_bridge_name(const char *name, char *out)
{
	size_t room = IFNAMSIZ - 1 - strlen(SPACE_BRIDGE_PREFIX) -
	    strlen(root_tag);

	char full[64];

	if (strlen(name) <= room)
		snprintf(full, sizeof(full), SPACE_BRIDGE_PREFIX "%s%s",
		    root_tag, name);
	else
		snprintf(full, sizeof(full), SPACE_BRIDGE_PREFIX "%s%.*s-%05x",
		    root_tag, (int)(room - 6), name,
		    (unsigned)(fnv1a(name) & 0xfffff));
	/* it fits by the room taken out above */
	snprintf(out, IFNAMSIZ, "%.*s", IFNAMSIZ - 1, full);
}

/* dyno.conf's [cluster] index: which part of every space is this host's. */
static unsigned host_index;

void
space_host_index(unsigned index)
{
	host_index = index;
}

/*
 * Host N of a cluster takes the Nth /24 of each space, so a dyno's address
 * is unique across hosts and every host knows every other host's part from
 * its index alone; the other parts are reached through peers.  A space
 * needs a prefix of /23 or shorter to be split at all.
 */
int
space_split(struct space *sp)
{
	char c[32];
	unsigned parts;

	sp->cidr = sp->range;
	sp->split = 0;
	if (host_index == 0)
		return 0;
	cidr_format(&sp->range, c, sizeof(c));
	parts = sp->range.len <= 23 ? 1u << (24 - sp->range.len) : 1;
	if (host_index >= parts)
		return space_fail(EXIT_CONFIG, "%s: %s has %u parts of /24, "
		    "too few for host index %u", sp->name, c, parts,
		    host_index);
	sp->cidr.net = sp->range.net + (host_index << 8);
	sp->cidr.len = 24;
	sp->split = 1;
	return 0;
}

int
space_peer_name_ok(const char *host)
{
	size_t i, len = strlen(host);

	if (len < 1 || len > PEER_NAME_MAX || host[0] == '-' ||
	    host[len - 1] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') || host[i] == '-'))
			return 0;
	return 1;
}

/* "HOST ADDR SUBNET", as space_save writes it. */
int
space_peer_parse(const char *value, struct peer *p)
{
	char host[PEER_NAME_MAX + 2], addr[20], subnet[24], extra[2];

	memset(p, 0, sizeof(*p));
	if (sscanf(value, "%64s %19s %23s %1s", host, addr, subnet,
	    extra) != 3 || !space_peer_name_ok(host) ||
	    addr_parse(addr, &p->addr) == -1 ||
	    cidr_parse(subnet, &p->subnet) == -1)
		return -1;
	strcpy(p->host, host);
	return 0;
}

int
space_dir(const char *root, const char *name, struct space *sp)
{
	const char *why;

	memset(sp, 0, sizeof(*sp));
	if ((why = names_check_space(name)) != NULL)
		return space_fail(EXIT_USAGE, "%s: %s", name, why);
	strcpy(sp->name, name);
	if (state_pathf(sp->dir, sizeof(sp->dir), "%s/spaces/%s", root,
	    name) == -1)
		return space_fail_errno(EXIT_USAGE, "%s/spaces/%s", root, name);
	space_bridge_name(name, sp->bridge);
	snprintf(sp->table, sizeof(sp->table), "dyno-%s%s%s", name,
	    root_tag[0] ? "_" : "", root_tag);
	/* A root path too long for IFALIASZ is cut: its tag still differs. */
	if (snprintf(sp->alias, sizeof(sp->alias), "dyno space %s%s%s", name,
	    root_tag[0] ? " " : "", root_tag[0] ? root_path : "") < 0)
		sp->alias[0] = '\0';
	sp->common = strcmp(name, SPACE_COMMON) == 0;
	return 0;
}

int
space_exists(const struct space *sp)
{
	char path[PATH_MAX];
	struct stat st;

	if (state_pathf(path, sizeof(path), "%s/space.conf", sp->dir) == -1)
		return 0;
	return stat(path, &st) == 0;
}

static int
space_set_trusted(struct space *sp, const char *value)
{
	char buf[1024], *tok, *save = NULL;

	if (strlen(value) >= sizeof(buf))
		return -1;
	strcpy(buf, value);
	for (tok = strtok_r(buf, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (sp->ntrusted == SPACE_TRUST_MAX ||
		    cidr_parse(tok, &sp->trusted[sp->ntrusted]) == -1)
			return -1;
		sp->ntrusted++;
	}
	return 0;
}

static int
space_ini(void *user, const char *section, const char *key, const char *value)
{
	struct space *sp = user;

	if (strcmp(section, "space") != 0)
		return 0;
	if (strcmp(key, "mode") == 0) {
		if (strcmp(value, "common") != 0 && strcmp(value, "private") != 0)
			return 0;
		sp->common = strcmp(value, "common") == 0;
	} else if (strcmp(key, "cidr") == 0)
		return cidr_parse(value, &sp->range) == 0 && sp->range.len <= 30;
	else if (strcmp(key, "peer") == 0)
		return sp->npeers < SPACE_PEER_MAX &&
		    space_peer_parse(value, &sp->peers[sp->npeers++]) == 0;
	else if (strcmp(key, "outbound") == 0) {
		sp->outbound = 0;
		return *value == '\0' || addr_parse(value, &sp->outbound) == 0;
	} else if (strcmp(key, "trusted") == 0)
		return space_set_trusted(sp, value) == 0;
	else if (strcmp(key, "rules") == 0)
		return num_parse_uint(value, 0, 1000, &sp->rules) == 0;
	else
		return 0;
	return 1;
}

int
space_load(struct space *sp)
{
	char path[PATH_MAX];
	int line;

	if (state_pathf(path, sizeof(path), "%s/space.conf", sp->dir) == -1)
		return space_fail_errno(EXIT_USAGE, "%s", sp->dir);
	sp->range.len = 0;
	sp->ntrusted = 0;
	sp->npeers = 0;
	sp->rules = 1;		/* no `rules`: written before there were any */
	if ((line = ini_parse(path, space_ini, sp)) == -1)
		return space_fail(EXIT_NOINPUT, "%s: no such space", sp->name);
	if (line != 0)
		return space_fail(EXIT_CONFIG, "%s:%d: bad setting", path, line);
	if (sp->range.len == 0)
		return space_fail(EXIT_CONFIG, "%s: no cidr", path);
	if (sp->ntrusted == 0) {
		/* Heroku's default: every source is trusted. */
		sp->trusted[0].net = 0;
		sp->trusted[0].len = 0;
		sp->ntrusted = 1;
	}
	return space_split(sp);
}

int
space_save(const struct space *sp)
{
	char path[PATH_MAX], buf[2048 + SPACE_PEER_MAX * 112], c[32], a[20];
	char out[INET_ADDRSTRLEN] = "";
	size_t len;
	unsigned i;

	cidr_format(&sp->range, c, sizeof(c));
	if (sp->outbound != 0)
		addr_format(sp->outbound, out, sizeof(out));
	len = (size_t)snprintf(buf, sizeof(buf), "# written by space-net(8)\n"
	    "[space]\nmode = %s\ncidr = %s\noutbound = %s\nrules = %u\n",
	    sp->common ? "common" : "private", c, out, sp->rules);
	/* One line per range: inih reads lines of 200 bytes at most. */
	for (i = 0; i < sp->ntrusted; i++) {
		cidr_format(&sp->trusted[i], c, sizeof(c));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "trusted = %s\n", c);
	}
	for (i = 0; i < sp->npeers; i++) {
		addr_format(sp->peers[i].addr, a, sizeof(a));
		cidr_format(&sp->peers[i].subnet, c, sizeof(c));
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
		    "peer = %s %s %s\n", sp->peers[i].host, a, c);
	}
	if (state_mkdirs(sp->dir, 0755) == -1 ||
	    state_pathf(path, sizeof(path), "%s/space.conf", sp->dir) == -1 ||
	    state_replace(path, buf, len, 0644, STATE_FSYNC) == -1)
		return space_fail_errno(EXIT_CANTCREAT, "%s/space.conf", sp->dir);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of DYNO_ROOT/spaces/ folders holding a space.conf. */
int
space_names(const char *root, char ***names, size_t *n)
{
	char path[PATH_MAX], **v = NULL, **nv;
	struct dirent *de;
	struct space sp;
	DIR *d;

	*n = 0;
	if (state_pathf(path, sizeof(path), "%s/spaces", root) == -1 ||
	    (d = opendir(path)) == NULL) {
		*names = NULL;
		return errno == ENOENT ? 0 : -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (names_check_space(de->d_name) != NULL)
			continue;
		if (space_dir(root, de->d_name, &sp) != 0 || !space_exists(&sp))
			continue;
		if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL ||
		    (nv[*n] = strdup(de->d_name)) == NULL) {
			v = nv != NULL ? nv : v;
			closedir(d);
			space_names_free(v, *n);
			return -1;
		}
		v = nv;
		(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	*names = v;
	return 0;
}

void
space_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
