/* SPDX-License-Identifier: ISC */
/* Log ingest: the unix datagram socket and the optional TCP syslog listener. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "listener.h"
#include "logframe.h"
#include "logplexd.h"
#include "state.h"

#define BATCH		32		/* datagrams per recvmmsg(2) */
#define DGRAM_MAX	65536		/* bigger ones are cut: malformed */
#define ROUNDS		16		/* batches before other fds get a turn */
#define FRAME_MAX	65536		/* octet-counted frames on TCP */
#define CONN_MAX	256		/* TCP producers at once */
#define WARN_MALFORMED	1		/* diag_warn_ratelimited slots */
#define WARN_UNKNOWN	6
#define WARN_TOKEN	7
#define WARN_TS		8

struct ingest_conn {
	struct ingest_conn *next, *prev; /* every open producer connection */
	struct lpd	*lpd;
	int		 fd;
	int		 started;	/* its first bytes were looked at */
	size_t		 len;
	char		 buf[2 * FRAME_MAX];
};

/* Count and drop; say so at most every 10 s. */
void
ingest_malformed(struct lpd *l, const char *why)
{
	l->malformed++;
	diag_warn_ratelimited(WARN_MALFORMED, 10000,
	    "malformed log message dropped: %s (%llu so far)", why,
	    l->malformed);
}

/* Say, at most every 10 s, that lines for apps without a folder go. */
static void
unknown_app(struct lpd *l, const struct logmsg *m)
{
	l->unknown_app++;
	diag_warn_ratelimited(WARN_UNKNOWN, 10000, "line for %.*s dropped: no "
	    "such app (%llu so far)", (int)m->app.len, m->app.p, l->unknown_app);
}

/* The app a line names, or NULL when it was counted and dropped. */
static struct app *
app_of(struct lpd *l, const struct logmsg *m, const char *name, size_t len)
{
	struct app *a;

	if ((a = app_known(l, name, len)) != NULL)
		return a;
	if (errno == ENOENT)
		unknown_app(l, m);
	else
		ingest_malformed(l, errno == EINVAL ? "bad app name" : "out of memory");
	return NULL;
}

/* Parse and check what every input checks; -1 when counted and dropped. */
static int
parse(struct lpd *l, const char *buf, size_t len, struct logmsg *m)
{
	if (logmsg_parse(buf, len, m) == -1) {
		ingest_malformed(l, "not \"<PRI>1 TS APP SOURCE DYNO - - MSG\"");
		return -1;
	}
	if (m->ts.len > 64 || m->source.len > 64 || m->dyno.len > 64) {
		ingest_malformed(l, "field too long");
		return -1;
	}
	return 0;
}

/*
 * Store m as app a's, from source.  A timestamp that is not RFC 5424's is
 * replaced by the time it came, as the NILVALUE asks: the line matters
 * more than a producer's broken clock format, and drains must never get
 * a TIMESTAMP field their parsers refuse.
 */
static void
take(struct lpd *l, struct app *a, const struct logmsg *m,
    const struct logfield *source)
{
	char now[LOGMSG_TS_LEN + 1];
	struct logfield ts = m->ts;
	struct lmsg *lm;
	size_t off = 0, n;
	int rc;

	if ((rc = logmsg_ts_check(m->ts.p, m->ts.len)) != 0) {
		if (rc == -1) {
			l->bad_ts++;
			diag_warn_ratelimited(WARN_TS, 10000, "malformed "
			    "timestamp replaced by the time received (%llu so "
			    "far)", l->bad_ts);
		}
		logmsg_timestamp(now, NULL);
		ts.p = now;
		ts.len = strlen(now);
	}
	l->received++;
	/* Heroku splits long lines into line_max-byte messages (4.1). */
	do {
		n = m->msg.len - off;
		if (n > l->conf.line_max)
			n = l->conf.line_max;
		lm = lmsg_new(m->pri, &ts, source, &m->dyno, m->msg.p + off, n);
		if (lm == NULL)
			return ingest_malformed(l, "out of memory");
		deliver_msg(l, a, lm);
		off += n;
	} while (off < m->msg.len);
}

/* The unix socket: local producers name the app and source themselves. */
void
ingest_message(struct lpd *l, const char *buf, size_t len)
{
	struct logmsg m;
	struct app *a;

	if (parse(l, buf, len, &m) == -1 ||
	    (a = app_of(l, &m, m.app.p, m.app.len)) == NULL)
		return;
	take(l, a, &m, &m.source);
}

/*
 * A TCP frame, Logplex's way: "<PRI>1 TS HOST TOKEN DYNO - - MSG".  The
 * token alone says whose lines these are and from which source; HOST is
 * the sender's and not used.  -1 when the token is not one we know: the
 * frame is refused and counted, and the caller drops the connection.
 */
static int
ingest_token_message(struct lpd *l, const char *buf, size_t len)
{
	const struct token *t;
	struct logfield src;
	struct logmsg m;
	struct app *a;

	if (parse(l, buf, len, &m) == -1)
		return 0;
	if ((t = tokens_find(l, m.source.p, m.source.len)) == NULL) {
		l->unauthenticated++;
		diag_warn_ratelimited(WARN_TOKEN, 10000, "frame without a valid "
		    "token refused (%llu so far)", l->unauthenticated);
		return -1;
	}
	m.app.p = t->app;
	m.app.len = strlen(t->app);
	if ((a = app_of(l, &m, m.app.p, m.app.len)) == NULL)
		return 0;
	src.p = t->source;
	src.len = strlen(t->source);
	take(l, a, &m, &src);
	return 0;
}

static void
on_dgram(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd *l = arg;
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int i, n, round;

	(void)ev;
	(void)events;
	for (round = 0; round < ROUNDS; round++) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < BATCH; i++) {
			iov[i].iov_base = l->dgram_bufs + (size_t)i * DGRAM_MAX;
			iov[i].iov_len = DGRAM_MAX;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				ingest_malformed(l, "datagram over 64 KiB");
			else
				ingest_message(l, iov[i].iov_base, mm[i].msg_len);
		}
		if (n < BATCH)
			break;
	}
}

int
ingest_open(struct lpd *l)
{
	char path[PATH_MAX];
	int fd, size = 8 << 20;

	if (l->dgram_bufs == NULL &&
	    (l->dgram_bufs = malloc((size_t)BATCH * DGRAM_MAX)) == NULL)
		return -1;
	/* Whoever writes here names any app and source: the host's tools. */
	if (state_pathf(path, sizeof(path), "%s/logplexd.sock",
	    l->conf.rundir) == -1 ||
	    (fd = listener_unix(path, SOCK_DGRAM, 0600, 0)) == -1)
		return -1;
	/* A deep queue absorbs bursts; producers never block on a full one. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (evloop_add_fd(l->ev, fd, EPOLLIN, on_dgram, l) == -1) {
		close(fd);
		return -1;
	}
	l->dgram_fd = fd;
	return 0;
}

static void
conn_close(struct lpd *l, struct ingest_conn *c)
{
	if (c->fd != -1) {
		evloop_del_fd(l->ev, c->fd);
		close(c->fd);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	l->nconns--;
}

/* Take every complete frame off c's buffer; -1 when the stream is bad. */
static int
conn_frames(struct lpd *l, struct ingest_conn *c)
{
	const char *msg;
	size_t msglen, off = 0;
	ssize_t used;

	while ((used = logframe_unframe(c->buf + off, c->len - off, FRAME_MAX,
	    &msg, &msglen)) > 0) {
		if (ingest_token_message(l, msg, msglen) == -1)
			return -1;
		off += (size_t)used;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (used == -1) {
		ingest_malformed(l, errno == EMSGSIZE ? "frame over 64 KiB" :
		    "not octet-counted framing");
		return -1;
	}
	return 0;
}

/*
 * One port for both directions of a log across hosts: frames start with
 * a digit (octet counting), a tail request with "tail".  The tail code
 * takes the connection over, with the bytes read so far.
 */
static int
conn_tail(struct lpd *l, struct ingest_conn *c)
{
	int fd = c->fd;

	c->started = 1;
	if (c->buf[0] != 't')
		return 0;
	evloop_del_fd(l->ev, fd);
	c->fd = -1;
	tail_adopt(l, fd, c->buf, c->len < TAILPROTO_REQ_MAX ? c->len :
	    TAILPROTO_REQ_MAX + 1);
	return 1;
}

static void
on_conn(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct ingest_conn *c = arg;
	struct lpd *l = c->lpd;
	ssize_t n;
	int round;

	(void)ev;
	(void)events;
	for (round = 0; round < ROUNDS; round++) {
		n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n > 0)
			c->len += (size_t)n;
		if (n > 0 && !c->started && conn_tail(l, c)) {
			conn_close(l, c);	/* the fd is the tail's now */
			break;
		}
		if (n <= 0 || conn_frames(l, c) == -1) {
			conn_close(l, c);
			break;
		}
	}
}

static void
on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd *l = arg;
	struct ingest_conn *c;
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (l->nconns >= CONN_MAX || (c = malloc(sizeof(*c))) == NULL) {
			diag_warn_ratelimited(2, 10000, "too many producers");
			close(cfd);
			continue;
		}
		c->lpd = l;
		c->fd = cfd;
		c->len = 0;
		c->started = 0;
		if (evloop_add_fd(ev, cfd, EPOLLIN, on_conn, c) == -1) {
			close(cfd);
			free(c);
			continue;
		}
		c->prev = NULL;
		if ((c->next = l->conns) != NULL)
			l->conns->prev = c;
		l->conns = c;
		l->nconns++;
	}
}

int
ingest_listen(struct lpd *l, const char *addr)
{
	int fd;

	if ((fd = listener_tcp_addr(addr, 0, 128)) == -1)
		return -1;
	if (evloop_add_fd(l->ev, fd, EPOLLIN, on_accept, l) == -1) {
		close(fd);
		return -1;
	}
	l->listen_fd = fd;
	return 0;
}

/* Stop taking input (SIGTERM); producers fall back to stderr. */
void
ingest_close(struct lpd *l)
{
	char path[PATH_MAX];

	if (l->dgram_fd != -1) {
		/* Lines sent before the stop still reach history and drains. */
		if (l->dgram_bufs != NULL)
			on_dgram(l->ev, l->dgram_fd, EPOLLIN, l);
		evloop_del_fd(l->ev, l->dgram_fd);
		close(l->dgram_fd);
		l->dgram_fd = -1;
		if (state_pathf(path, sizeof(path), "%s/logplexd.sock",
		    l->conf.rundir) == 0)
			unlink(path);
	}
	if (l->listen_fd != -1) {
		evloop_del_fd(l->ev, l->listen_fd);
		close(l->listen_fd);
		l->listen_fd = -1;
	}
	while (l->conns != NULL)
		conn_close(l, l->conns);
	free(l->dgram_bufs);
	l->dgram_bufs = NULL;
}
