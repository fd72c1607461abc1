/* SPDX-License-Identifier: ISC */
/* dyno-certs: Automated Certificate Management with Debian's uacme. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "certstore.h"
#include "diag.h"
#include "dyno-certs.h"
#include "logclient.h"
#include "names.h"
#include "num.h"
#include "state.h"

/*
 * Where ACM keeps its state, beside the certificate store:
 *
 *   apps/APP/acm/enabled          present while ACM is on
 *   apps/APP/acm/state/DOMAIN     the domain's state: status=, attempts=,
 *                                 next=, updated=, error= lines
 *   apps/APP/acm/.lock            one run per app at a time
 *   DYNO_ROOT/acme/               uacme's folder: the account key, and a
 *                                 key and certificate per domain (0700)
 *
 * Issued certificates go into the store as certs/acm-DOMAIN.
 */
#define ACM_DIR		"acm"
#define ACM_ENABLED	"enabled"
#define ACM_STATE	"state"
#define ACM_LOCK	".lock"
#define ACME_DIR	"acme"
#define STATE_MAX	4096
#define UACME_OUT_MAX	16384
#define REASON_MAX	400

/* A domain's life under ACM (Heroku's statuses). */
enum acm_st { AS_WAITING, AS_INPROGRESS, AS_OK, AS_FAILING, AS_FAILED,
	AS_N };
enum acm_ev {
	AE_START,	/* an attempt begins (due: new, renewal, retry) */
	AE_ISSUED,	/* the certificate is installed */
	AE_RETRY,	/* the attempt failed; another one will come */
	AE_GIVEUP,	/* failed for the last time, or cannot succeed */
	AE_REFRESH,	/* auto on, or auto refresh: ask again */
	AE_N
};

static const struct {
	const char	*word, *label;
} st_names[AS_N] = {
	[AS_WAITING] = { "waiting", "Waiting" },
	[AS_INPROGRESS] = { "in-progress", "In Progress" },
	[AS_OK] = { "ok", "OK" },
	[AS_FAILING] = { "failing", "Failing" },
	[AS_FAILED] = { "failed", "Failed" },
};

/*
 * The moves; -1 is a move that cannot happen.  START from In Progress is
 * a run that died half-way (the lock is ours now): it is begun again.
 * Failed waits for REFRESH: no timer ever takes it out.
 */
#define W	AS_WAITING
#define P	AS_INPROGRESS
static const signed char acm_next[AS_N][AE_N] = {
	/*		    START ISSUED  RETRY       GIVEUP     REFRESH */
	[AS_WAITING] =	  { P,    -1,     -1,         -1,        W },
	[AS_INPROGRESS] = { P,    AS_OK,  AS_FAILING, AS_FAILED, W },
	[AS_OK] =	  { P,    -1,     -1,         -1,        W },
	[AS_FAILING] =	  { P,    -1,     -1,         -1,        W },
	[AS_FAILED] =	  { -1,   -1,     -1,         -1,        W },
};
#undef W
#undef P

struct acm_dom {
	char		 name[CERTSTORE_DOMAIN_MAX + 1];
	enum acm_st	 st;
	unsigned	 attempts;
	time_t		 next, updated;
	char		 error[REASON_MAX + 1];
};

/* One run: the configuration, the log, the uacme account (made once). */
struct acm_run {
	const struct conf *c;
	struct logclient *lc;
	char		 acmedir[PATH_MAX];
	char		 hook[PATH_MAX];
	int		 account;	/* 1 made, -1 failed (reason below) */
	char		 account_err[REASON_MAX + 1];
	int		 failed;
};

static int
acm_move(struct acm_dom *d, enum acm_ev ev)
{
	int n = acm_next[d->st][ev];

	if (n < 0)
		return -1;
	d->st = (enum acm_st)n;
	return 0;
}

static int
acm_path(char *buf, size_t size, const struct conf *c, const char *app,
    const char *rest)
{
	return state_pathf(buf, size, "%s/apps/%s/%s%s%s", c->root, app,
	    ACM_DIR, rest[0] ? "/" : "", rest);
}

static int
acm_enabled(const struct conf *c, const char *app)
{
	char path[PATH_MAX];

	return acm_path(path, sizeof(path), c, app, ACM_ENABLED) == 0 &&
	    access(path, F_OK) == 0;
}

/*
 * The app's ACM lock, without waiting: one run, or one auto on|off|refresh,
 * at a time.  The fd to close, or -1 with errno (EWOULDBLOCK: held).
 */
static int
acm_lock(const struct conf *c, const char *app)
{
	char path[PATH_MAX];

	if (acm_path(path, sizeof(path), c, app, "") == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    acm_path(path, sizeof(path), c, app, ACM_LOCK) == -1)
		return -1;
	return state_lock(path, 0);
}

/* One line of the state file, untrusted: a hand edit reads as Waiting. */
static void
dom_field(struct acm_dom *d, const char *k, const char *v)
{
	long long n = strtoll(v, NULL, 10);
	int i;

	if (strcmp(k, "status") == 0) {
		for (i = 0; i < AS_N; i++)
			if (strcmp(v, st_names[i].word) == 0)
				d->st = (enum acm_st)i;
	} else if (strcmp(k, "attempts") == 0 && n >= 0 && n < 1000)
		d->attempts = (unsigned)n;
	else if (strcmp(k, "next") == 0 && n >= 0)
		d->next = (time_t)n;
	else if (strcmp(k, "updated") == 0 && n >= 0)
		d->updated = (time_t)n;
	else if (strcmp(k, "error") == 0)
		snprintf(d->error, sizeof(d->error), "%s", v);
}

/* The domain's state; none yet (or unreadable) is Waiting. */
static void
dom_load(const struct conf *c, const char *app, const char *name,
    struct acm_dom *d)
{
	char path[PATH_MAX], rel[CERTSTORE_DOMAIN_MAX + 16], *text, *line,
	    *save = NULL, *eq;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->st = AS_WAITING;
	snprintf(rel, sizeof(rel), "%s/%s", ACM_STATE, name);
	if (acm_path(path, sizeof(path), c, app, rel) == -1 ||
	    state_read(path, STATE_MAX, &text, NULL) == -1)
		return;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if ((eq = strchr(line, '=')) != NULL) {
			*eq = '\0';
			dom_field(d, line, eq + 1);
		}
	free(text);
}

static int
dom_save(const struct conf *c, const char *app, struct acm_dom *d)
{
	char path[PATH_MAX], rel[CERTSTORE_DOMAIN_MAX + 16], buf[STATE_MAX];
	int n;

	d->updated = time(NULL);
	snprintf(rel, sizeof(rel), "%s/%s", ACM_STATE, d->name);
	n = snprintf(buf, sizeof(buf), "status=%s\nattempts=%u\nnext=%lld\n"
	    "updated=%lld\nerror=%s\n", st_names[d->st].word, d->attempts,
	    (long long)d->next, (long long)d->updated, d->error);
	if (acm_path(path, sizeof(path), c, app, ACM_STATE) == -1 ||
	    state_mkdirs(path, 0755) == -1 ||
	    acm_path(path, sizeof(path), c, app, rel) == -1 ||
	    state_replace(path, buf, (size_t)n, 0644, STATE_FSYNC) == -1) {
		diag_warn_errno("%s: %s", app, path);
		return -1;
	}
	return 0;
}

/* ---- running uacme ---- */

/* Read the child's stderr into out until it closes or the deadline. */
static int
drain_child(int fd, uint64_t timeout_ms, char *out, size_t size)
{
	struct timespec t0, t;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	char junk[512];
	ssize_t n;
	int64_t left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = (int64_t)timeout_ms - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return -1;
		if (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) == -1 &&
		    errno != EINTR)
			return -1;
		/* Past the buffer the rest is read and dropped. */
		if (len + 1 < size)
			n = read(fd, out + len, size - 1 - len);
		else
			n = read(fd, junk, sizeof(junk));
		if (n == 0)
			return 0;
		if (n > 0 && len + 1 < size)
			len += (size_t)n;
		out[len] = '\0';
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

/*
 * Run uacme with argv, its stderr into out.  Returns its exit status,
 * or -1 with out saying why (it could not run, it was killed, it took
 * longer than [acm] timeout: then it is killed).
 */
static int
uacme_exec(const struct conf *c, char **argv, char *out, size_t size)
{
	int p[2], st, dn, rc;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		snprintf(out, size, "uacme: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dn = open("/dev/null", O_RDWR);
		if (dn == -1 || dup2(dn, 0) == -1 || dup2(dn, 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(EXIT_OSERR);
		execvp(argv[0], argv);
		dprintf(2, "%s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANTRUN);
	}
	close(p[1]);
	rc = drain_child(p[0], c->acm_timeout_ms, out, size);
	close(p[0]);
	if (rc == -1)
		kill(pid, SIGKILL);	/* ours: started just above */
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (rc == -1) {
		snprintf(out, size, "uacme did not finish within the timeout");
		return -1;
	}
	if (WIFSIGNALED(st)) {
		snprintf(out, size, "uacme killed by signal %d", WTERMSIG(st));
		return -1;
	}
	return WEXITSTATUS(st);
}

/*
 * The value of the last "key": "..." in text (uacme prints JSON pretty or
 * not), just after its opening quote; NULL when there is none.
 */
static const char *
json_last(const char *text, const char *key)
{
	const char *p, *v, *last = NULL;
	size_t kl = strlen(key);

	for (p = text; (p = strstr(p, key)) != NULL; p += kl) {
		v = p + kl;
		v += strspn(v, " \t\r\n");
		if (*v++ != ':')
			continue;
		v += strspn(v, " \t\r\n");
		if (*v == '"')
			last = v + 1;
	}
	return last;
}

/* Copy a JSON string value at p (after the quote) into buf, unescaped. */
static void
json_str(const char *p, char *buf, size_t size)
{
	size_t n = 0;

	for (; *p != '\0' && *p != '"' && n + 1 < size; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		buf[n++] = *p;
	}
	buf[n] = '\0';
}

/*
 * The user-facing reason of a failed uacme run: the ACME server's last
 * problem document ("unauthorized: ..." from its type and detail), else
 * uacme's last line.  Control characters become spaces.
 */
static void
uacme_reason(const char *out, char *why, size_t size)
{
	const char *d = NULL, *t = NULL, *p, *line = out;
	char type[64] = "", detail[REASON_MAX];
	static const char urn[] = "urn:ietf:params:acme:error:";

	d = json_last(out, "\"detail\"");
	for (p = out; (p = strstr(p, urn)) != NULL; p++)
		t = p + sizeof(urn) - 1;
	if (d != NULL) {
		json_str(d, detail, sizeof(detail));
		if (t != NULL)
			json_str(t, type, sizeof(type));
		if (snprintf(why, size, "%s%s%s", type, type[0] ? ": " : "",
		    detail) >= (int)size)
			why[size - 1] = '\0';	/* cut: still one line */
	} else {
		for (p = out; *p != '\0'; p++)
			if (p[0] == '\n' && p[1] != '\0' && p[1] != '\n')
				line = p + 1;
		snprintf(why, size, "%.*s", (int)strcspn(line, "\n"), line);
	}
	for (char *q = why; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	if (why[0] == '\0')
		snprintf(why, size, "uacme failed without a message");
}

/* The hook: [acm] hook, else dyno-acm-hook beside this program. */
static void
find_hook(const struct conf *c, char *buf, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (c->acm_hook[0] != '\0') {
		snprintf(buf, size, "%s", c->acm_hook);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(buf, size, "dyno-acm-hook");
		return;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	if (snprintf(buf, size, "%s/dyno-acm-hook", self) >= (int)size)
		snprintf(buf, size, "dyno-acm-hook");
}

/* uacme's account at the directory, registered once per run. */
static int
acm_account(struct acm_run *r)
{
	char *argv[12], out[UACME_OUT_MAX];
	int n = 0, rc;

	if (r->account != 0)
		return r->account == 1 ? 0 : -1;
	argv[n++] = (char *)r->c->acm_uacme;
	argv[n++] = "-c";
	argv[n++] = r->acmedir;
	argv[n++] = "-a";
	argv[n++] = (char *)r->c->acm_directory;
	argv[n++] = "-y";
	argv[n++] = "new";
	if (r->c->acm_contact[0] != '\0')
		argv[n++] = (char *)r->c->acm_contact;
	argv[n] = NULL;
	/*
	 * 0 registered now.  uacme 1.7 exits 2 for an account the server
	 * knows already, saying so: that is the account we want.  Asking
	 * every run keeps a server that forgot us (pebble restarts) working.
	 */
	rc = uacme_exec(r->c, argv, out, sizeof(out));
	if (rc == 0 || (rc == 2 && strstr(out, "ccount already exists"))) {
		r->account = 1;
		return 0;
	}
	uacme_reason(out, r->account_err, sizeof(r->account_err));
	r->account = -1;
	return -1;
}

/* uacme issue DOMAIN: 0 a certificate is there to install, -1 why. */
static int
acm_issue(struct acm_run *r, const char *domain, char *why, size_t size)
{
	char *argv[16], out[UACME_OUT_MAX], days[24];
	uint64_t d = r->c->acm_renew_before_ms / (24 * 3600000ULL);
	int n = 0, rc;

	if (acm_account(r) == -1) {
		snprintf(why, size, "%s", r->account_err);
		return -1;
	}
	snprintf(days, sizeof(days), "%llu", (unsigned long long)(d ? d : 1));
	argv[n++] = (char *)r->c->acm_uacme;
	argv[n++] = "-c";
	argv[n++] = r->acmedir;
	argv[n++] = "-a";
	argv[n++] = (char *)r->c->acm_directory;
	argv[n++] = "-h";
	argv[n++] = r->hook;
	argv[n++] = "-t";
	argv[n++] = "EC";
	argv[n++] = "-d";
	argv[n++] = days;
	argv[n++] = "issue";
	argv[n++] = (char *)domain;
	argv[n] = NULL;
	/* 1: uacme's certificate is valid for longer than -d days. */
	if ((rc = uacme_exec(r->c, argv, out, sizeof(out))) == 0 || rc == 1)
		return 0;
	if (rc == -1)
		snprintf(why, size, "%.*s", REASON_MAX, out);
	else
		uacme_reason(out, why, size);
	return -1;
}

/* uacme's certificate and key for domain into the store as acm-DOMAIN. */
static int
acm_install(struct acm_run *r, const char *app, const char *domain,
    char *why, size_t size)
{
	char cp[PATH_MAX], kp[PATH_MAX], name[CERTSTORE_NAME_MAX + 1];
	char *chain = NULL, *key = NULL;
	size_t cl, kl;
	int rc = -1;

	snprintf(name, sizeof(name), "acm-%s", domain);
	if (state_pathf(cp, sizeof(cp), "%s/%s/cert.pem", r->acmedir,
	    domain) == -1 || state_pathf(kp, sizeof(kp),
	    "%s/private/%s/key.pem", r->acmedir, domain) == -1 ||
	    state_read(cp, CERTSTORE_PEM_MAX, &chain, &cl) == -1 ||
	    state_read(kp, CERTSTORE_PEM_MAX, &key, &kl) == -1) {
		snprintf(why, size, "uacme's certificate: %s", strerror(errno));
		goto out;
	}
	rc = certstore_install(r->c->root, app, name, chain, cl, key, kl, why,
	    size);
out:
	free(chain);
	if (key != NULL)
		explicit_bzero(key, kl);
	free(key);
	return rc;
}

/* ---- one pass ---- */

static void
check_app(const struct conf *c, const char *app)
{
	char path[PATH_MAX];
	const char *why;

	if ((why = names_check_app(app)) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", app, why);
	if (state_pathf(path, sizeof(path), "%s/apps/%s", c->root, app) == -1 ||
	    access(path, F_OK) == -1)
		diag_die(EXIT_NOINPUT, "%s: no such app", app);
}

static void
fmt_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/*
 * Whether domain d needs an attempt now: Waiting, a run that died In
 * Progress, Failing past its next time, or OK with a certificate missing
 * or within renew_before of its expiry (a month by default).
 */
static int
acm_due(const struct conf *c, const char *app, const struct acm_dom *d,
    time_t now)
{
	struct certstore_cert ci;
	char name[CERTSTORE_NAME_MAX + 1], err[256];
	int due;

	switch (d->st) {
	case AS_WAITING:
	case AS_INPROGRESS:
		return 1;
	case AS_FAILING:
		return now >= d->next;
	case AS_FAILED:
	case AS_N:
		return 0;
	case AS_OK:
		break;
	}
	if (snprintf(name, sizeof(name), "acm-%s", d->name) >=
	    (int)sizeof(name))
		return 1;
	if (certstore_info(c->root, app, name, &ci, err, sizeof(err)) == -1)
		return 1;
	due = (int64_t)now >= (int64_t)ci.not_after -
	    (int64_t)(c->acm_renew_before_ms / 1000);
	certstore_cert_free(&ci);
	return due;
}

/* A failed attempt: Failing with a doubled wait, or Failed at the end. */
static void
acm_failed(struct acm_run *r, const char *app, struct acm_dom *d,
    const char *why, int final)
{
	char when[40], dur[32];
	uint64_t wait = r->c->acm_retry_ms;
	unsigned i;

	snprintf(d->error, sizeof(d->error), "%s", why);
	d->attempts++;
	r->failed = 1;
	if (final || d->attempts >= r->c->acm_attempts) {
		acm_move(d, AE_GIVEUP);
		d->next = 0;
		logclient_sendf(r->lc, app, "app", "api", "Certificate for %s "
		    "failed after %u attempt%s: %s; retry with: dyno-certs %s "
		    "auto refresh", d->name, d->attempts, d->attempts == 1 ?
		    "" : "s", why, app);
		return;
	}
	for (i = 1; i < d->attempts && wait < 24 * 3600000ULL; i++)
		wait *= 2;
	acm_move(d, AE_RETRY);
	d->next = time(NULL) + (time_t)(wait / 1000);
	fmt_time(d->next, when, sizeof(when));
	num_format_duration(wait, dur, sizeof(dur));
	logclient_sendf(r->lc, app, "app", "api", "Certificate for %s failing "
	    "(attempt %u): %s; next attempt in %s, at %s", d->name,
	    d->attempts, why, dur, when);
}

static void
acm_domain(struct acm_run *r, const char *app, const char *domain)
{
	struct acm_dom d;
	struct certstore_cert ci;
	char why[REASON_MAX + 1], exp[40];

	dom_load(r->c, app, domain, &d);
	if (!acm_due(r->c, app, &d, time(NULL)) || acm_move(&d, AE_START) == -1)
		return;
	dom_save(r->c, app, &d);
	logclient_sendf(r->lc, app, "app", "api", "Acquiring certificate for "
	    "%s (attempt %u)", domain, d.attempts + 1);
	/* HTTP-01 cannot prove a wildcard: that needs a manual certificate. */
	if (domain[0] == '*') {
		acm_failed(r, app, &d, "wildcard domains cannot be validated "
		    "over HTTP-01: add a certificate with dyno-certs add", 1);
	} else if (acm_issue(r, domain, why, sizeof(why)) == -1 ||
	    acm_install(r, app, domain, why, sizeof(why)) == -1) {
		acm_failed(r, app, &d, why, 0);
	} else {
		acm_move(&d, AE_ISSUED);
		d.attempts = 0;
		d.next = 0;
		d.error[0] = '\0';
		snprintf(exp, sizeof(exp), "unknown");
		snprintf(why, sizeof(why), "acm-%s", domain);
		if (certstore_info(r->c->root, app, why, &ci, why,
		    sizeof(why)) == 0) {
			fmt_time(ci.not_after, exp, sizeof(exp));
			certstore_cert_free(&ci);
		}
		logclient_sendf(r->lc, app, "app", "api", "Certificate issued "
		    "for %s, expires %s", domain, exp);
	}
	dom_save(r->c, app, &d);
}

/* The states (and ACM certificates) of domains the app no longer has. */
static void
acm_forget_gone(struct acm_run *r, const char *app,
    const struct certstore_domains *ds)
{
	char dir[PATH_MAX], path[PATH_MAX], err[256];
	struct dirent *e;
	size_t i;
	DIR *dp;

	if (acm_path(dir, sizeof(dir), r->c, app, ACM_STATE) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' || certstore_check_domain(e->d_name))
			continue;
		for (i = 0; i < ds->n && strcmp(ds->v[i], e->d_name) != 0; i++)
			;
		if (i < ds->n || state_pathf(path, sizeof(path), "%s/%s", dir,
		    e->d_name) == -1)
			continue;
		unlink(path);
		if (state_pathf(path, sizeof(path), "acm-%s", e->d_name) == 0)
			certstore_remove(r->c->root, app, path, err,
			    sizeof(err));
	}
	closedir(dp);
}

/* One app: 0, 1 an attempt failed, 75 another run holds its lock. */
static int
acm_app(struct acm_run *r, const char *app)
{
	struct certstore_domains ds;
	char err[512];
	size_t i;
	int lock;

	if (!acm_enabled(r->c, app))
		return 0;
	if ((lock = acm_lock(r->c, app)) == -1) {
		diag_warn_errno("%s: ACM lock", app);
		return errno == EWOULDBLOCK ? EXIT_TEMPFAIL : EXIT_OSERR;
	}
	if (certstore_domains_read(r->c->root, app, &ds, err,
	    sizeof(err)) == -1) {
		diag_warn("%s", err);
		close(lock);
		return EXIT_NO;
	}
	acm_forget_gone(r, app, &ds);
	for (i = 0; i < ds.n; i++)
		acm_domain(r, app, ds.v[i]);
	certstore_domains_free(&ds);
	close(lock);
	return 0;
}

/* Every app's name, for a pass over all of them. */
static int
acm_all(struct acm_run *r)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *dp;
	int rc, worst = 0;

	if (state_pathf(dir, sizeof(dir), "%s/apps", r->c->root) == -1 ||
	    (dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : EXIT_OSERR;
	while ((e = readdir(dp)) != NULL)
		if (e->d_name[0] != '.' &&
		    (rc = acm_app(r, e->d_name)) > worst)
			worst = rc;
	closedir(dp);
	return worst;
}

int
acm_run(const struct conf *c, int argc, char **argv)
{
	struct acm_run r;
	int i, rc, worst = 0;

	memset(&r, 0, sizeof(r));
	r.c = c;
	if (state_pathf(r.acmedir, sizeof(r.acmedir), "%s/%s", c->root,
	    ACME_DIR) == -1 || state_mkdirs(r.acmedir, 0700) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/%s", c->root, ACME_DIR);
	find_hook(c, r.hook, sizeof(r.hook));
	r.lc = logclient_open(c->rundir);
	if (argc == 0)
		worst = acm_all(&r);
	for (i = 0; i < argc; i++) {
		check_app(c, argv[i]);
		if (!acm_enabled(c, argv[i]))
			diag_warn("%s: automated certificate management is off",
			    argv[i]);
		if ((rc = acm_app(&r, argv[i])) > worst)
			worst = rc;
	}
	logclient_close(r.lc);
	if (worst == 0 && r.failed)
		worst = EXIT_NO;
	return worst;
}

/* ---- auto on|off|refresh, and the status ---- */

/* REFRESH every listed domain: Waiting, attempts and error forgotten. */
static int
acm_refresh_all(const struct conf *c, const char *app)
{
	struct certstore_domains ds;
	struct acm_dom d;
	char err[512];
	size_t i;
	int rc = 0;

	if (certstore_domains_read(c->root, app, &ds, err, sizeof(err)) == -1)
		diag_die(EXIT_NOINPUT, "%s", err);
	for (i = 0; i < ds.n; i++) {
		dom_load(c, app, ds.v[i], &d);
		acm_move(&d, AE_REFRESH);
		d.attempts = 0;
		d.next = 0;
		d.error[0] = '\0';
		if (dom_save(c, app, &d) == -1)
			rc = EXIT_CANTCREAT;
	}
	certstore_domains_free(&ds);
	return rc;
}

/* auto on|off|refresh under the lock: the files.  An exit code. */
static int
acm_switch(const struct conf *c, const char *app, const char *verb,
    const char *path, const char *state)
{
	if (strcmp(verb, "off") == 0) {
		/* Installed certificates stay, and are served until removed. */
		if ((unlink(path) == -1 && errno != ENOENT) ||
		    (state_remove_tree(state) == -1 && errno != ENOENT))
			diag_die_errno(EXIT_CANTCREAT, "%s", path);
	} else {
		if (strcmp(verb, "on") == 0 &&
		    (state_mkdirs(state, 0755) == -1 ||
		    state_replace(path, "", 0, 0644, STATE_FSYNC) == -1))
			diag_die_errno(EXIT_CANTCREAT, "%s", path);
		if (!acm_enabled(c, app)) {
			diag_error("%s: automated certificate management is "
			    "off: dyno-certs %s auto on", app, app);
			return EXIT_NO;
		}
		return acm_refresh_all(c, app);
	}
	return 0;
}

int
acm_auto(const struct conf *c, const char *app, const char *verb)
{
	char path[PATH_MAX], state[PATH_MAX];
	struct logclient *lc;
	int rc, lock;

	check_app(c, app);
	if (acm_path(path, sizeof(path), c, app, ACM_ENABLED) == -1 ||
	    acm_path(state, sizeof(state), c, app, ACM_STATE) == -1)
		diag_die(EXIT_USAGE, "%s: name too long", app);
	/* A run under way would write its states over ours. */
	if ((lock = acm_lock(c, app)) == -1) {
		if (errno != EWOULDBLOCK)
			diag_die_errno(EXIT_CANTCREAT, "%s: ACM lock", app);
		diag_error("%s: an ACM run is under way: try again", app);
		return EXIT_TEMPFAIL;
	}
	rc = acm_switch(c, app, verb, path, state);
	close(lock);
	if (rc != 0)
		return rc;
	lc = logclient_open(c->rundir);
	logclient_sendf(lc, app, "app", "api", "Automated certificate "
	    "management %s", strcmp(verb, "on") == 0 ? "enabled" :
	    strcmp(verb, "off") == 0 ? "disabled" : "refresh requested");
	logclient_close(lc);
	return 0;
}

int
acm_show(const struct conf *c, const char *app, int always)
{
	struct certstore_domains ds;
	struct acm_dom d;
	char err[512], when[40];
	size_t i;
	int failed = 0, failing = 0;

	check_app(c, app);
	if (!acm_enabled(c, app)) {
		if (!always)
			return 0;
		printf("=== Automated Certificate Management is disabled on "
		    "%s\n", app);
		return fflush(stdout) == 0 ? 0 : EXIT_OSERR;
	}
	if (certstore_domains_read(c->root, app, &ds, err, sizeof(err)) == -1)
		diag_die(EXIT_NOINPUT, "%s", err);
	printf("%s=== Automated Certificate Management is enabled on %s\n"
	    "%-32s %-12s %-24s %s\n", always ? "" : "\n", app, "Domain",
	    "Status", "Next Attempt", "Reason");
	for (i = 0; i < ds.n; i++) {
		dom_load(c, app, ds.v[i], &d);
		if (d.st == AS_FAILING)
			fmt_time(d.next, when, sizeof(when));
		printf("%-32s %-12s %-24s %s\n", d.name, st_names[d.st].label,
		    d.st == AS_FAILING ? when : "-",
		    d.error[0] ? d.error : "-");
		failed |= d.st == AS_FAILED;
		failing |= d.st == AS_FAILING;
	}
	certstore_domains_free(&ds);
	if (failed)
		printf("\nSome domains failed validation after multiple "
		    "attempts, retry by running: dyno-certs %s auto refresh\n",
		    app);
	else if (failing)
		printf("\nSome domains are failing validation, please verify "
		    "that your DNS matches: dyno-domains %s\n", app);
	return fflush(stdout) == 0 ? 0 : EXIT_OSERR;
}
