/* SPDX-License-Identifier: ISC */
/* dyno-logs: an app's recent log and live tail from logplexd; its drains. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "diag.h"
#include "drains.h"
#include "linebuf.h"
#include "logowner.h"
#include "logtokens.h"
#include "names.h"
#include "num.h"
#include "state.h"
#include "tailproto.h"

#define HISTORY_MAX	1500
#define LINE_MAX_OUT	16384	/* a display line: 10000-byte message + header */

static struct conf conf;

/* --escape, --raw, or by whether stdout is a terminal. */
static enum { ESCAPE_AUTO, ESCAPE_ALWAYS, ESCAPE_NEVER } escape_mode;

#define USAGE \
	"usage: dyno-logs app [-t] [-d dyno] [-n num] [-p type] [-s source]" \
	" [--escape | --raw]\n" \
	"       dyno-logs drains app\n" \
	"       dyno-logs drains add app url\n" \
	"       dyno-logs drains remove app url | token\n" \
	"       dyno-logs tokens app\n" \
	"       dyno-logs tokens add app app | heroku\n" \
	"       dyno-logs tokens remove app token\n"

static void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EXIT_USAGE);
}

static void
help(void)
{
	fputs(USAGE "\noptions:\n"
	    "  -d, --dyno=NAME, --dyno-name=NAME\n"
	    "                           only this dyno; a type matches its dynos\n"
	    "  -n, --num=N              the last N lines, up to 1500 (100)\n"
	    "  -p, --ps=TYPE, --process-type=TYPE\n"
	    "                           only dynos of this process type\n"
	    "  -s, --source=SOURCE      only app or heroku lines\n"
	    "  -t, --tail               then follow the stream\n"
	    "      --escape             show control characters as \\r, \\x1b\n"
	    "      --raw                write the lines' bytes as they are\n"
	    "  -h, --help               this text\n", stdout);
	exit(0);
}

/* A filter value: no spaces or '=', shorter than the protocol allows. */
static void
set_filter(char *dst, const char *v, const char *what)
{
	if (v[0] == '\0' || strlen(v) >= TAILPROTO_FIELD_MAX ||
	    strpbrk(v, " \t\n=") != NULL)
		diag_die(EXIT_USAGE, "%s: bad %s", v, what);
	strcpy(dst, v);
}

static int
tail_connect(void)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (state_pathf(sa.sun_path, sizeof(sa.sun_path), "%s/logplexd.tail",
	    conf.rundir) == -1)
		diag_die_errno(EXIT_USAGE, "%s", conf.rundir);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		diag_die_errno(EXIT_OSERR, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			diag_die(EXIT_UNAVAILABLE, "logplexd is not running "
			    "(no %s)", sa.sun_path);
		diag_die_errno(EXIT_UNAVAILABLE, "%s", sa.sun_path);
	}
	return fd;
}

static int	tokens_load(const char *path, struct logtoken *t);

/*
 * Another host keeps the app's log (the log-owner file names it): ask
 * that host's logplexd directly, on its --listen port, with one of the
 * app's input tokens.  The local logplexd only forwards; relaying a tail
 * through it would add a hop and a second queue for nothing.
 */
static int
owner_connect(const struct logowner *o, struct tailreq *rq)
{
	struct logtoken t[LOGTOKENS_MAX];
	struct addrinfo hints, *res;
	struct timeval tv = { 10, 0 };
	char path[PATH_MAX], port[8], addr[64];
	int fd, rc;

	if (state_pathf(path, sizeof(path), "%s/apps/%s/" LOGTOKENS_FILE,
	    conf.root, rq->app) == -1 || tokens_load(path, t) < 1)
		diag_die(EXIT_CONFIG, "%s: the log is kept on %s, and the app "
		    "has no input token to reach it (dyno-logs tokens add %s "
		    "app)", rq->app, o->host, rq->app);
	memcpy(rq->token, t[0].token, sizeof(t[0].token));
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", o->port);
	logowner_addr(addr, sizeof(addr), o);
	if ((rc = getaddrinfo(o->addr, port, &hints, &res)) != 0)
		diag_die(EXIT_CONFIG, "%s: %s", addr, gai_strerror(rc));
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		diag_die_errno(EXIT_OSERR, "socket");
	/* A host gone silent must not hang the command for good. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1)
		diag_die_errno(EXIT_UNAVAILABLE, "log owner %s (%s)", o->host,
		    addr);
	freeaddrinfo(res);
	return fd;
}

/* The local logplexd, or the log owner's when another host keeps it. */
static int
log_connect(struct tailreq *rq)
{
	struct logowner o;
	const char *why = NULL;
	int rc;

	if (names_check_app(rq->app) != NULL)
		return tail_connect();	/* logplexd says what is wrong */
	if ((rc = logowner_read(conf.root, rq->app, &o, &why)) == -1)
		diag_die(EXIT_DATAERR, "%s/apps/%s/" LOGOWNER_FILE ": %s",
		    conf.root, rq->app, why != NULL ? why : strerror(errno));
	return rc == 1 ? owner_connect(&o, rq) : tail_connect();
}

static void
write_out(const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE)
				exit(0);
			diag_die_errno(EXIT_OSERR, "stdout");
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * A valid UTF-8 sequence at p (the lead byte is p[0] >= 0xc2): its length,
 * or 0.  Overlong forms are refused, so none can spell a C1 control.
 */
static size_t
utf8_len(const unsigned char *p, size_t len)
{
	size_t n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0, i;

	if (n == 0 || n > len || (p[0] == 0xe0 && p[1] < 0xa0) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	for (i = 1; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* One control byte as "\r" (the C names) or "\x1b"; its length. */
static size_t
put_escape(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	const char *named = c >= '\a' && c <= '\r' ? &"abtnvfr"[c - '\a'] : NULL;

	out[0] = '\\';
	if (named != NULL && c != '\t') {
		out[1] = *named;
		return 2;
	}
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

/*
 * What a terminal would act on, made visible: C0 controls but TAB, DEL,
 * and C1, both as raw bytes 0x80-0x9f (outside UTF-8 sequences) and as
 * U+0080-U+009F.  A tenant's "\r" could otherwise draw a line of its own
 * over the ones before, "heroku[router]" and all.  out holds 4 * len.
 */
static size_t
escape(const char *in, size_t len, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, n;

	while (i < len) {
		if (p[i] >= 0xc2 && (n = utf8_len(p + i, len - i)) != 0) {
			if (n == 2 && p[i] == 0xc2 && p[i + 1] <= 0x9f) {
				o += put_escape(out + o, p[i]);
				o += put_escape(out + o, p[i + 1]);
			} else {
				memcpy(out + o, p + i, n);
				o += n;
			}
			i += n;
		} else if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f ||
		    (p[i] >= 0x80 && p[i] <= 0x9f))
			o += put_escape(out + o, p[i++]);
		else
			out[o++] = (char)p[i++];
	}
	return o;
}

/* Heroku's CLI colours each dyno's "source[dyno]:" prefix; so do we. */
static void
write_colour(const char *line, size_t len)
{
	static const char *colours[] = { "36", "33", "32", "35", "34", "31" };
	const char *sp = memchr(line, ' ', len), *colon;
	char pre[16];
	unsigned h = 0;
	const char *c;

	colon = sp ? memmem(sp, len - (size_t)(sp - line), "]: ", 3) : NULL;
	if (colon == NULL) {
		write_out(line, len);
		write_out("\n", 1);
		return;
	}
	for (c = sp + 1; c < colon; c++)
		h = h * 31 + (unsigned char)*c;
	write_out(line, (size_t)(sp + 1 - line));
	snprintf(pre, sizeof(pre), "\033[%sm", strncmp(sp + 1, "heroku[", 7) ==
	    0 ? "90" : colours[h % 6]);
	write_out(pre, strlen(pre));
	write_out(sp + 1, (size_t)(colon + 2 - sp - 1));
	write_out("\033[0m", 4);
	write_out(colon + 2, len - (size_t)(colon + 2 - line));
	write_out("\n", 1);
}

/* The answer's first line: "ok", or "error WHY". */
static void
check_answer(struct linebuf *lb, int fd)
{
	const char *line;
	size_t len;
	ssize_t n;

	while (!linebuf_next(lb, &line, &len)) {
		if ((n = linebuf_read(lb, fd)) == -1 && errno != EINTR)
			diag_die_errno(EXIT_UNAVAILABLE, "logplexd");
		if (n == 0)
			diag_die(EXIT_UNAVAILABLE, "logplexd closed the session");
	}
	if (len == 2 && memcmp(line, "ok", 2) == 0)
		return;
	if (len == 17 && memcmp(line, "error no such app", 17) == 0)
		diag_die(EXIT_NOINPUT, "logplexd refused the request: no such "
		    "app");
	if (len > 6 && memcmp(line, "error ", 6) == 0)
		diag_die(EXIT_USAGE, "logplexd refused the request: %.*s",
		    (int)len - 6, line + 6);
	diag_die(EXIT_UNAVAILABLE, "logplexd: unexpected answer");
}

static int
run_logs(const struct tailreq *rq)
{
	struct tailreq r = *rq;
	char req[TAILPROTO_REQ_MAX];
	struct linebuf lb;
	const char *line;
	size_t len;
	ssize_t n;
	static char esc[4 * LINE_MAX_OUT];
	int fd, colour, rlen, escaping;

	/* no-color.org: only a non-empty NO_COLOR turns colour off */
	colour = isatty(STDOUT_FILENO) && (getenv("NO_COLOR") == NULL ||
	    *getenv("NO_COLOR") == '\0');
	escaping = escape_mode == ESCAPE_ALWAYS ||
	    (escape_mode == ESCAPE_AUTO && isatty(STDOUT_FILENO));
	fd = log_connect(&r);
	if ((rlen = tailproto_format(req, sizeof(req), &r)) == -1 ||
	    write(fd, req, (size_t)rlen) != rlen)
		diag_die_errno(EXIT_UNAVAILABLE, "logplexd: request");
	if (linebuf_init(&lb, LINE_MAX_OUT) == -1)
		diag_die_errno(EXIT_OSERR, "linebuf");
	check_answer(&lb, fd);
	for (;;) {
		while (linebuf_next(&lb, &line, &len)) {
			if (escaping) {
				len = escape(line, len, esc);
				line = esc;
			}
			if (colour)
				write_colour(line, len);
			else {
				write_out(line, len);
				write_out("\n", 1);
			}
		}
		if ((n = linebuf_read(&lb, fd)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if (n == -1)
		diag_die_errno(EXIT_UNAVAILABLE, "logplexd");
	/* A follow session only ends when logplexd stops. */
	if (rq->follow)
		diag_die(EXIT_UNAVAILABLE, "logplexd ended the tail session");
	linebuf_free(&lb);
	close(fd);
	return 0;
}

static int
logs_main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dyno", required_argument, NULL, 'd' },
		{ "dyno-name", required_argument, NULL, 'd' },
		{ "num", required_argument, NULL, 'n' },
		{ "ps", required_argument, NULL, 'p' },
		{ "process-type", required_argument, NULL, 'p' },
		{ "source", required_argument, NULL, 's' },
		{ "tail", no_argument, NULL, 't' },
		{ "escape", no_argument, NULL, 'E' },
		{ "raw", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tailreq rq;
	int ch;

	memset(&rq, 0, sizeof(rq));
	rq.lines = 100;
	while ((ch = getopt_long(argc, argv, "d:hn:p:s:t", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			set_filter(rq.dyno, optarg, "dyno name");
			break;
		case 'n':
			if (num_parse_uint(optarg, 0, HISTORY_MAX, &rq.lines) == -1)
				diag_die(EXIT_USAGE, "%s: lines must be 0 to %d",
				    optarg, HISTORY_MAX);
			break;
		case 'p':
			set_filter(rq.ps, optarg, "process type");
			break;
		case 's':
			if (strcmp(optarg, "app") != 0 &&
			    strcmp(optarg, "heroku") != 0)
				diag_die(EXIT_USAGE, "%s: source is app or heroku",
				    optarg);
			strcpy(rq.source, optarg);
			break;
		case 't':
			rq.follow = 1;
			break;
		case 'E':
			escape_mode = ESCAPE_ALWAYS;
			break;
		case 'R':
			escape_mode = ESCAPE_NEVER;
			break;
		case 'h':
			help();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	set_filter(rq.app, argv[optind], "app name");
	return run_logs(&rq);
}

/* Read the app's drains; a missing file is no drains. */
static int
drains_load(const char *path, struct drain_entry *e, size_t max)
{
	char *text, err[256];
	int n;

	if (state_read(path, DRAINS_FILE_MAX, &text, NULL) == -1) {
		if (errno == ENOENT)
			return 0;
		diag_die_errno(diag_exit_for_errno(errno), "%s", path);
	}
	n = drains_parse(text, e, max, err, sizeof(err));
	free(text);
	if (n == -1)
		diag_die(EXIT_DATAERR, "%s:%s", path, err);
	return n;
}

static void
drains_save(const char *path, const struct drain_entry *e, int n)
{
	char *buf;
	size_t len = drains_format(NULL, 0, e, (size_t)n);

	if ((buf = malloc(len + 1)) == NULL)
		diag_die_errno(EXIT_OSERR, "malloc");
	drains_format(buf, len + 1, e, (size_t)n);
	/* 0600: drain URLs may carry credentials. */
	if (state_replace(path, buf, len, 0600, STATE_FSYNC) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", path);
	free(buf);
}

/* Tell a running logplexd; the file is the truth when it starts later. */
static void
notify(void)
{
	char path[PATH_MAX];
	pid_t pid;

	if (state_pathf(path, sizeof(path), "%s/logplexd.pid", conf.rundir) == -1)
		return;
	if ((pid = state_read_pid(path)) > 0 && kill(pid, SIGHUP) == 0)
		return;
	diag_warn("logplexd is not running; the change applies when it starts");
}

static void
print_drains(const struct drain_entry *e, int n)
{
	int i;

	for (i = 0; i < n; i++)
		printf("%s (%s)\n", e[i].url, e[i].token);
}

/* Find a drain by URL or token: its index, or -1. */
static int
drains_find(const struct drain_entry *e, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i].url, key) == 0 || strcmp(e[i].token, key) == 0)
			return i;
	return -1;
}

/* Change the drains file under a lock: add (key is a URL) or remove. */
static int
drains_change(const char *app, const char *path, int add, const char *key)
{
	struct drain_entry *e;
	size_t max = conf.max_drains + 1;
	int n, i;

	if ((e = calloc(max, sizeof(*e))) == NULL)
		diag_die_errno(EXIT_OSERR, "calloc");
	n = drains_load(path, e, max);
	i = drains_find(e, n, key);
	if (add && i != -1)
		diag_die(EXIT_NO, "%s: %s is already a drain", app, key);
	if (!add && i == -1)
		diag_die(EXIT_NO, "%s: no drain %s", app, key);
	if (add && (unsigned)n >= conf.max_drains)
		diag_die(EXIT_NO, "%s: already has %u drains, the most allowed",
		    app, conf.max_drains);
	if (add) {
		if (drains_new_token(e[n].token) == -1)
			diag_die_errno(EXIT_OSERR, "getrandom");
		snprintf(e[n].url, sizeof(e[n].url), "%s", key);
		print_drains(&e[n++], 1);
	} else {
		print_drains(&e[i], 1);
		memmove(&e[i], &e[i + 1], (size_t)(n - i - 1) * sizeof(*e));
		n--;
	}
	drains_save(path, e, n);
	free(e);
	return 0;
}

/*
 * The app's folder and the paths of FILE and its lock in it, for the
 * drains and tokens subcommands; dies when the app does not exist.
 */
static void
app_paths(const char *app, const char *file, char *path, char *lock)
{
	char dir[PATH_MAX];
	const char *why;

	if ((why = names_check_app(app)) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", app, why);
	if (state_pathf(dir, sizeof(dir), "%s/apps/%s", conf.root, app) == -1 ||
	    state_pathf(path, PATH_MAX, "%s/%s", dir, file) == -1 ||
	    state_pathf(lock, PATH_MAX, "%s/.%s.lock", dir, file) == -1)
		diag_die_errno(EXIT_USAGE, "%s", app);
	if (access(dir, F_OK) == -1)
		diag_die(EXIT_NOINPUT, "%s: no such app (no %s)", app, dir);
}

/* dyno-logs drains APP */
static int
drains_list(char **av)
{
	char path[PATH_MAX], lock[PATH_MAX];
	struct drain_entry e[101];

	app_paths(av[0], "drains", path, lock);
	print_drains(e, drains_load(path, e, sizeof(e) / sizeof(e[0])));
	return 0;
}

/* dyno-logs drains add|remove APP URL|TOKEN, under the app's lock. */
static int
drains_edit(char **av, int add)
{
	char path[PATH_MAX], lock[PATH_MAX];
	struct drainurl u;
	const char *why;
	int lockfd;

	app_paths(av[0], "drains", path, lock);
	if (add && drains_parse_url(av[1], &u, &why) == -1)
		diag_die(EXIT_DATAERR, "%s: %s", av[1], why);
	if ((lockfd = state_lock(lock, 1)) == -1)
		diag_die_errno(EXIT_TEMPFAIL, "%s", lock);
	drains_change(av[0], path, add, av[1]);
	close(lockfd);
	notify();
	return 0;
}

static int
drains_add(char **av)
{
	return drains_edit(av, 1);
}

static int
drains_remove(char **av)
{
	return drains_edit(av, 0);
}

/* Read the app's input tokens; a missing file is none. */
static int
tokens_load(const char *path, struct logtoken *t)
{
	char *text, err[256];
	int n;

	if (state_read(path, LOGTOKENS_FILE_MAX, &text, NULL) == -1) {
		if (errno == ENOENT)
			return 0;
		diag_die_errno(diag_exit_for_errno(errno), "%s", path);
	}
	n = logtokens_parse(text, t, LOGTOKENS_MAX, err, sizeof(err));
	free(text);
	if (n == -1)
		diag_die(EXIT_DATAERR, "%s:%s", path, err);
	return n;
}

/* Add a fresh token for source, or remove one; under the app's lock. */
static void
tokens_change(const char *path, int add, const char *key)
{
	struct logtoken t[LOGTOKENS_MAX], shown;
	char buf[LOGTOKENS_MAX * (LOGTOKENS_LEN + 9) + 1];
	int n, i;

	n = tokens_load(path, t);
	for (i = 0; !add && i < n && strcmp(t[i].token, key) != 0; i++)
		;
	if (!add && i == n)
		diag_die(EXIT_NO, "no token %s", key);
	if (add && n == LOGTOKENS_MAX)
		diag_die(EXIT_NO, "already %d tokens, the most allowed",
		    LOGTOKENS_MAX);
	if (add) {
		if (logtokens_new(t[n].token) == -1)
			diag_die_errno(EXIT_OSERR, "getrandom");
		strcpy(t[n].source, key);
		i = n++;
	}
	shown = t[i];
	if (!add)
		memmove(&t[i], &t[i + 1], (size_t)(n-- - i - 1) * sizeof(*t));
	/* 0600: a token lets its holder write the app's log. */
	if (state_replace(path, buf, logtokens_format(buf, sizeof(buf), t,
	    (size_t)n), 0600, STATE_FSYNC) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", path);
	printf("%s %s\n", shown.token, shown.source);
}

/* dyno-logs tokens APP: logplexd --listen's input tokens. */
static int
tokens_list(char **av)
{
	struct logtoken t[LOGTOKENS_MAX];
	char path[PATH_MAX], lock[PATH_MAX];
	int n, i;

	app_paths(av[0], LOGTOKENS_FILE, path, lock);
	n = tokens_load(path, t);
	for (i = 0; i < n; i++)
		printf("%s %s\n", t[i].token, t[i].source);
	return 0;
}

/* dyno-logs tokens add APP app|heroku, tokens remove APP TOKEN. */
static int
tokens_edit(char **av, int add)
{
	char path[PATH_MAX], lock[PATH_MAX];
	const char *why;
	int lockfd;

	/* A bad name first, then a bad source, then a missing app. */
	if ((why = names_check_app(av[0])) != NULL)
		diag_die(EXIT_USAGE, "%s: %s", av[0], why);
	if (add && strcmp(av[1], "app") != 0 && strcmp(av[1], "heroku") != 0)
		diag_die(EXIT_USAGE, "%s: source is app or heroku", av[1]);
	app_paths(av[0], LOGTOKENS_FILE, path, lock);
	if ((lockfd = state_lock(lock, 1)) == -1)
		diag_die_errno(EXIT_TEMPFAIL, "%s", lock);
	tokens_change(path, add, av[1]);
	close(lockfd);
	notify();
	return 0;
}

static int
tokens_add(char **av)
{
	return tokens_edit(av, 1);
}

static int
tokens_remove(char **av)
{
	return tokens_edit(av, 0);
}

/*
 * The subcommands, as space-net and release keep theirs: a verb is the
 * word after the name, an entry with one before the same name without;
 * operands count from APP.  No option applies to them.  A first word that
 * is no subcommand is the app of `dyno-logs APP [options]`.
 */
struct cmd {
	const char	*name, *verb;
	int		(*run)(char **av);
	int		 minargs, maxargs;
};

static const struct cmd cmds[] = {
	{ "drains", "add", drains_add, 2, 2 },
	{ "drains", "remove", drains_remove, 2, 2 },
	{ "drains", NULL, drains_list, 1, 1 },
	{ "tokens", "add", tokens_add, 2, 2 },
	{ "tokens", "remove", tokens_remove, 2, 2 },
	{ "tokens", NULL, tokens_list, 1, 1 },
};

/* The subcommand argv names, or NULL; sets *first to its first operand. */
static const struct cmd *
lookup(int argc, char **argv, int *first)
{
	size_t i;

	for (i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		*first = 2;
		if (cmds[i].verb == NULL)
			return &cmds[i];
		if (argc >= 3 && strcmp(argv[2], cmds[i].verb) == 0) {
			*first = 3;
			return &cmds[i];
		}
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	const struct cmd *c;
	char err[512];
	int first;

	diag_start(argc, argv);
	if (conf_load(&conf, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if ((c = lookup(argc, argv, &first)) == NULL)
		return logs_main(argc, argv);
	if (strcmp(argv[argc - 1], "--help") == 0)
		help();
	if (argc - first < c->minargs || argc - first > c->maxargs)
		usage();
	return c->run(argv + first);
}
