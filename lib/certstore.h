/* SPDX-License-Identifier: ISC */
/* An app's custom domains and TLS certificates under DYNO_ROOT/apps/APP/. */
#ifndef DYNO_CERTSTORE_H
#define DYNO_CERTSTORE_H

#include <stddef.h>
#include <time.h>

/*
 * The format, owned here and nowhere else:
 *
 *   apps/APP/domains            one lower-case host name per line (may be
 *                               "*.example.com"); replaced by rename(2)
 *   apps/APP/certs/NAME/chain.pem   leaf first, then intermediates (0644)
 *   apps/APP/certs/NAME/key.pem     the leaf's private key (0600)
 *
 * A certificate folder is written whole under a temp name (certs/.tmp-*)
 * and renamed into place (exchanged with the old one, which is then
 * removed), so a reader that opens certs/NAME first and reads both files
 * beneath that fd sees one chain with its own key.  A name is listed by
 * at most one app: changes to any app's domains take DYNO_ROOT/
 * .domains.lock.  ACM installs under NAME "acm-DOMAIN".
 */

#define CERTSTORE_DOMAINS_FILE	"domains"
#define CERTSTORE_CERTS_DIR	"certs"
#define CERTSTORE_CHAIN_FILE	"chain.pem"
#define CERTSTORE_KEY_FILE	"key.pem"
#define CERTSTORE_LOCK_FILE	".domains.lock"	/* in DYNO_ROOT */

#define CERTSTORE_PEM_MAX	(64 * 1024)	/* chain.pem, key.pem */
#define CERTSTORE_MAX_CERTS	100		/* per app */
#define CERTSTORE_MAX_DOMAINS	1000		/* per app (Heroku's limit) */
#define CERTSTORE_MAX_CHAIN	10		/* certificates in a chain */
#define CERTSTORE_DOMAIN_MAX	253		/* a DNS name */
#define CERTSTORE_NAME_MAX	255		/* a certificate folder */
#define CERTSTORE_MAX_SANS	100		/* names kept per certificate */

/*
 * Whether `name` is a domain an app may add: lower-case letters, digits,
 * '-' and '.', labels of 1 to 63 characters not starting or ending with
 * '-', at least two labels, 253 characters at most, no trailing dot; a
 * wildcard only as a whole leading label "*." followed by two labels or
 * more.  NULL when valid, else a static reason for "prog: NAME: reason".
 * Upper case is refused: callers lower-case a user's input first.
 */
const char *certstore_check_domain(const char *name);

/*
 * Whether `name` may name a certificate folder: 1 to 255 of [a-z0-9._-],
 * starting with a letter or digit.  NULL or a static reason.
 */
const char *certstore_check_name(const char *name);

/*
 * Whether a certificate name `pattern` (a SAN or CN, any case, "*." allowed
 * as the whole first label) covers the host `host`: equal ignoring case,
 * or a wildcard pattern standing for exactly one label.  A wildcard domain
 * "*.example.com" is covered only by the same wildcard.  1 or 0.
 */
int	certstore_covers(const char *pattern, const char *host);

/* An app's domains: v[0..n) malloc'd strings, in the file's order. */
struct certstore_domains {
	char		**v;
	size_t		  n;
};

/*
 * Read apps/APP/domains (absent: no domains).  Lines that fail
 * certstore_check_domain() are skipped (a hand edit never reaches the
 * router).  0, or -1 with err filled; free with certstore_domains_free().
 */
int	certstore_domains_read(const char *root, const char *app,
	    struct certstore_domains *d, char *err, size_t errlen);
void	certstore_domains_free(struct certstore_domains *d);

/*
 * Add `name` (checked, lower-cased) to APP's domains under the lock.
 * Returns 0 added, 1 APP already had it, -1 with err filled: a bad name,
 * another app has it ("www.example.com: already added to app OTHER"),
 * APP is at CERTSTORE_MAX_DOMAINS, or a system error.  *owner (if not
 * NULL, of ownerlen bytes) gets the other app's name when that was why.
 */
int	certstore_domain_add(const char *root, const char *app,
	    const char *name, char *owner, size_t ownerlen, char *err,
	    size_t errlen);

/* Remove `name` from APP's domains.  0, 1 it was not there, -1 with err. */
int	certstore_domain_remove(const char *root, const char *app,
	    const char *name, char *err, size_t errlen);

/*
 * Which app lists `name` (exactly, lower case).  1 and its name in app
 * (of applen bytes), 0 none, -1 with err.
 */
int	certstore_domain_owner(const char *root, const char *name,
	    char *app, size_t applen, char *err, size_t errlen);

/* What certstore_info() reads from a certificate's leaf. */
struct certstore_cert {
	char		 name[CERTSTORE_NAME_MAX + 1];	/* its folder */
	char		 subject[256];	/* one line, RFC 2253 */
	char		 issuer[256];	/* the issuer's CN, else its line */
	time_t		 not_before, not_after;
	char		*sans[CERTSTORE_MAX_SANS];	/* DNS names, malloc'd */
	size_t		 nsans;
	int		 self_signed;
};
void	certstore_cert_free(struct certstore_cert *c);

/*
 * Check a chain and key before they are stored, as certstore_install()
 * does: both PEM, each at most CERTSTORE_PEM_MAX; the chain 1 to
 * CERTSTORE_MAX_CHAIN certificates, each one's issuer the subject of the
 * next (leaf first); the key the leaf's; every certificate valid at `now`
 * (not expired, not yet valid); the leaf's names cover at least one of
 * the domains of APP.  0 with *info filled (if not NULL; free it), or -1
 * with err saying what is wrong, e.g. "the key does not match the
 * certificate", "certificate expired on 2025-01-01 00:00:00 UTC", "chain
 * out of order: certificate 2 did not issue certificate 1", "the
 * certificate's names (a.example, b.example) cover none of app APP's
 * domains (www.example.com)".  *uncovered (if not NULL) gets a malloc'd,
 * comma-separated list of the app's domains the certificate does not
 * cover ("" when all are), for a warning.
 */
int	certstore_check(const char *root, const char *app, const char *chain_pem,
	    size_t chainlen, const char *key_pem, size_t keylen, time_t now,
	    struct certstore_cert *info, char **uncovered, char *err,
	    size_t errlen);

/*
 * certstore_check() at the present time, then install the pair as
 * apps/APP/certs/NAME atomically (replacing a certificate of that name).
 * At most CERTSTORE_MAX_CERTS per app.  0, or -1 with err filled.
 */
int	certstore_install(const char *root, const char *app, const char *name,
	    const char *chain_pem, size_t chainlen, const char *key_pem,
	    size_t keylen, char *err, size_t errlen);

/* Remove apps/APP/certs/NAME.  0, 1 none such, -1 with err. */
int	certstore_remove(const char *root, const char *app, const char *name,
	    char *err, size_t errlen);

/*
 * APP's certificate names, sorted: *names a malloc'd array of malloc'd
 * strings (free each, then the array).  Temp folders are not listed.
 * 0 (n may be 0), or -1 with err.
 */
int	certstore_list(const char *root, const char *app, char ***names,
	    size_t *n, char *err, size_t errlen);

/*
 * Read certs/NAME's chain and key, both from one opened folder and
 * beneath it (RESOLVE_BENEATH: a link never leads out), each at most
 * CERTSTORE_PEM_MAX: malloc'd, NUL-terminated; *key may be NULL when the
 * caller does not want it.  0, or -1 with err (errno kept).
 */
int	certstore_read(const char *root, const char *app, const char *name,
	    char **chain, size_t *chainlen, char **key, size_t *keylen,
	    char *err, size_t errlen);

/*
 * Of n parsed leaves, the index of the one served for `host` at `now`:
 * one valid now before an expired or not yet valid one, then a name equal
 * to host before a wildcard, then the latest expiry.  -1 when none covers
 * host.  The router and dyno-certs both choose by it.
 */
int	certstore_pick(const struct certstore_cert *v, size_t n,
	    const char *host, time_t now);

/*
 * Parse the first certificate of a PEM chain into *info.  0, or -1 with
 * err.  Free with certstore_cert_free().
 */
int	certstore_leaf_parse(const char *pem, size_t len,
	    struct certstore_cert *info, char *err, size_t errlen);

/*
 * The leaf of certs/NAME, parsed (no checks beyond parsing).  0, or -1
 * with err.  Free with certstore_cert_free().
 */
int	certstore_info(const char *root, const char *app, const char *name,
	    struct certstore_cert *info, char *err, size_t errlen);

#endif
