/* SPDX-License-Identifier: ISC */
/* Log ingest: the unix datagram socket and the optional TCP syslog listener. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "diag.h"
#include "logframe.h"
#include "logplexd.h"
#include "state.h"

#define BATCH		32		/* datagrams per recvmmsg(2) */
#define DGRAM_MAX	65536		/* bigger ones are cut: malformed */
#define ROUNDS		16		/* batches before other fds get a turn */
#define FRAME_MAX	65536		/* octet-counted frames on TCP */
#define CONN_MAX	256		/* TCP producers at once */
#define WARN_MALFORMED	1		/* diag_warn_ratelimited slot */

struct conn {
	struct conn	*next, *prev;	/* every open producer connection */
	struct lpd	*lpd;
	int		 fd;
	size_t		 len;
	char		 buf[2 * FRAME_MAX];
};

static char	*dgram_bufs;
static unsigned	 nconns;
static struct conn *conns;

/* Count and drop; say so at most every 10 s. */
static void
malformed(struct lpd *l, const char *why)
{
	l->malformed++;
	diag_warn_ratelimited(WARN_MALFORMED, 10000,
	    "malformed log message dropped: %s (%llu so far)", why,
	    l->malformed);
}

/* App names as logplex channels: printable, no '/', 1 to 63 bytes. */
static int
app_ok(const struct logfield *f)
{
	size_t i;

	if (f->len == 0 || f->len > 63)
		return 0;
	for (i = 0; i < f->len; i++)
		if (f->p[i] <= ' ' || f->p[i] == '/' || f->p[i] == 0x7f)
			return 0;
	return 1;
}

void
ingest_message(struct lpd *l, const char *buf, size_t len)
{
	struct logmsg m;
	struct app *a;
	struct lmsg *lm;
	size_t off = 0, n;

	if (logmsg_parse(buf, len, &m) == -1)
		return malformed(l, "not \"<PRI>1 TS APP SOURCE DYNO - - MSG\"");
	if (!app_ok(&m.app))
		return malformed(l, "bad app name");
	if (m.ts.len > 64 || m.source.len > 64 || m.dyno.len > 64)
		return malformed(l, "field too long");
	if ((a = app_get(l, m.app.p, m.app.len, 1)) == NULL)
		return malformed(l, "out of memory");
	l->received++;
	/* Heroku splits long lines into line_max-byte messages (4.1). */
	do {
		n = m.msg.len - off;
		if (n > l->conf.line_max)
			n = l->conf.line_max;
		lm = lmsg_new(m.pri, &m.ts, &m.source, &m.dyno, m.msg.p + off, n);
		if (lm == NULL)
			return malformed(l, "out of memory");
		lpd_deliver(l, a, lm);
		off += n;
	} while (off < m.msg.len);
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
			iov[i].iov_base = dgram_bufs + (size_t)i * DGRAM_MAX;
			iov[i].iov_len = DGRAM_MAX;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		if ((n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				malformed(l, "datagram over 64 KiB");
			else
				ingest_message(l, iov[i].iov_base, mm[i].msg_len);
		}
		if (n < BATCH)
			break;
	}
	tail_flush_dirty(l);
}

int
ingest_open(struct lpd *l)
{
	struct sockaddr_un sa;
	int fd, size = 8 << 20;

	if (dgram_bufs == NULL &&
	    (dgram_bufs = malloc((size_t)BATCH * DGRAM_MAX)) == NULL)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (state_pathf(sa.sun_path, sizeof(sa.sun_path), "%s/logplexd.sock",
	    l->conf.rundir) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* A deep queue absorbs bursts; producers never block on a full one. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    evloop_add_fd(l->ev, fd, EPOLLIN, on_dgram, l) == -1) {
		close(fd);
		return -1;
	}
	l->dgram_fd = fd;
	return 0;
}

static void
conn_close(struct lpd *l, struct conn *c)
{
	evloop_del_fd(l->ev, c->fd);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	nconns--;
}

/* Take every complete frame off c's buffer; -1 when the stream is bad. */
static int
conn_frames(struct lpd *l, struct conn *c)
{
	const char *msg;
	size_t msglen, off = 0;
	ssize_t used;

	while ((used = logframe_unframe(c->buf + off, c->len - off, FRAME_MAX,
	    &msg, &msglen)) > 0) {
		ingest_message(l, msg, msglen);
		off += (size_t)used;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
	if (used == -1) {
		malformed(l, errno == EMSGSIZE ? "frame over 64 KiB" :
		    "not octet-counted framing");
		return -1;
	}
	return 0;
}

static void
on_conn(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct lpd *l = c->lpd;
	ssize_t n;
	int round;

	(void)ev;
	(void)events;
	for (round = 0; round < ROUNDS; round++) {
		n = read(fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0 || (c->len += (size_t)n, conn_frames(l, c) == -1)) {
			conn_close(l, c);
			break;
		}
	}
	tail_flush_dirty(l);
}

static void
on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd *l = arg;
	struct conn *c;
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (nconns >= CONN_MAX || (c = malloc(sizeof(*c))) == NULL) {
			diag_warn_ratelimited(2, 10000, "too many producers");
			close(cfd);
			continue;
		}
		c->lpd = l;
		c->fd = cfd;
		c->len = 0;
		if (evloop_add_fd(ev, cfd, EPOLLIN, on_conn, c) == -1) {
			close(cfd);
			free(c);
			continue;
		}
		c->prev = NULL;
		if ((c->next = conns) != NULL)
			conns->prev = c;
		conns = c;
		nconns++;
	}
}

/* "HOST:PORT" or "[V6]:PORT" into host and port. */
static int
split_addr(const char *addr, char *host, size_t size, const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t len;

	if (colon == NULL || colon[1] == '\0')
		return -1;
	len = (size_t)(colon - addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= size)
		return -1;
	memcpy(host, addr, len);
	host[len] = '\0';
	*port = colon + 1;
	return 0;
}

int
ingest_listen(struct lpd *l, const char *addr)
{
	struct addrinfo hints, *res;
	char host[256];
	const char *port;
	int fd, on = 1;

	if (split_addr(addr, host, sizeof(host), &port) == -1) {
		errno = EINVAL;
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1 ||
	    evloop_add_fd(l->ev, fd, EPOLLIN, on_accept, l) == -1) {
		freeaddrinfo(res);
		if (fd != -1)
			close(fd);
		return -1;
	}
	freeaddrinfo(res);
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
		if (dgram_bufs != NULL)
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
	while (conns != NULL)
		conn_close(l, conns);
	free(dgram_bufs);
	dgram_bufs = NULL;
}
