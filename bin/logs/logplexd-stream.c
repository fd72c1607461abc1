/* SPDX-License-Identifier: ISC */
/* Log ingest on logplexd.stream: octet-counted messages on a unix stream socket. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "listener.h"
#include "logframe.h"
#include "logplexd.h"
#include "state.h"

/*
 * The datagram socket's queue is net.unix.max_dgram_qlen datagrams deep
 * (10 on Debian), so a busy producer (dyno-manager) wakes logplexd once
 * per few lines.  A stream carries the same RFC 5424 messages, RFC 6587
 * octet-counted ("LEN SP MSG"), as many per read(2) as fit, and is bounded
 * by the socket buffer, not by that sysctl.  The producer names the app
 * and the source, as on logplexd.sock: whoever may open the socket file
 * may log for any app.
 */
#define FRAME_MAX	65536		/* as on TCP: bigger is not a log line */
#define SCRATCH		(4 * FRAME_MAX)	/* one read(2) */
#define ROUNDS		16		/* reads before other fds get a turn */
#define CONN_MAX	256		/* at once; then the quietest goes */
#define WARN_STREAM	11		/* diag_warn_ratelimited slot */

struct sconn {
	struct sconn	*next, *prev;	/* most recently heard first */
	struct lpd	*lpd;
	int		 fd;
	size_t		 restlen;	/* an unfinished frame, kept here */
	char		*rest;		/* FRAME_MAX + 16 bytes when set */
};

struct lpd_stream {
	int		 fd;		/* the listener, -1 when closed */
	struct sconn	*head, *tail;
	unsigned	 n;
	unsigned long long evicted;
	char		 scratch[SCRATCH];
};

static void
unlink_conn(struct lpd_stream *s, struct sconn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->next = c->prev = NULL;
}

static void
push_front(struct lpd_stream *s, struct sconn *c)
{
	c->prev = NULL;
	if ((c->next = s->head) != NULL)
		s->head->prev = c;
	else
		s->tail = c;
	s->head = c;
}

/*
 * Every whole frame in buf to ingest; what is left of an unfinished one is
 * kept in c.  -1 when the bytes are not octet counting (counted).
 */
static int
frames(struct lpd *l, struct sconn *c, const char *buf, size_t len)
{
	const char *msg;
	size_t msglen, off = 0;
	ssize_t used;

	while ((used = logframe_unframe(buf + off, len - off, FRAME_MAX, &msg,
	    &msglen)) > 0) {
		ingest_message(l, msg, msglen);
		off += (size_t)used;
	}
	if (used == -1) {
		ingest_malformed(l, errno == EMSGSIZE ? "frame over 64 KiB" :
		    "not octet-counted framing");
		return -1;
	}
	if (off < len && c->rest == NULL &&
	    (c->rest = malloc(FRAME_MAX + 16)) == NULL) {
		ingest_malformed(l, "out of memory");
		return -1;
	}
	/* Never over FRAME_MAX + 6: unframe asks for more only below. */
	memcpy(c->rest, buf + off, len - off);
	c->restlen = len - off;
	return 0;
}

/*
 * One read(2) after the unfinished frame, its frames ingested.  2 when
 * the read filled the buffer (more waits), 1 when it read less, 0 when
 * the socket is empty, -1 at the end of the stream or on bad bytes.
 */
static int
read_once(struct lpd *l, struct sconn *c)
{
	struct lpd_stream *s = l->stream;
	size_t room = SCRATCH - c->restlen;
	ssize_t n;

	if (c->restlen > 0)
		memcpy(s->scratch, c->rest, c->restlen);
	n = read(c->fd, s->scratch + c->restlen, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (frames(l, c, s->scratch, c->restlen + (size_t)n) == -1)
		return -1;
	return (size_t)n == room ? 2 : 1;
}

static void
conn_free(struct lpd *l, struct sconn *c)
{
	struct lpd_stream *s = l->stream;

	evloop_del_fd(l->ev, c->fd);
	close(c->fd);
	unlink_conn(s, c);
	free(c->rest);
	free(c);
	s->n--;
}

/*
 * Close c without losing a line its producer was told went out: after
 * shutdown(SHUT_RD) its writes fail (EPIPE: it sends them again, on a new
 * connection), and what the kernel holds already is read to the end.  An
 * unfinished last frame is dropped: its producer sends it whole again.
 * Bounded: nothing more can come in after the shutdown.
 */
static void
conn_end(struct lpd *l, struct sconn *c)
{
	int i;

	(void)shutdown(c->fd, SHUT_RD);
	for (i = 0; i < 4096 && read_once(l, c) > 0; i++)
		;
	conn_free(l, c);
}

static void
on_conn(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct sconn *c = arg;
	struct lpd *l = c->lpd;
	int round, r = 2;

	(void)ev;
	(void)fd;
	for (round = 0; round < ROUNDS && r == 2; round++)
		r = read_once(l, c);
	/* Hung up with everything read: the next read says the end. */
	if (r == -1 || ((events & (EPOLLHUP | EPOLLERR)) && r != 2 &&
	    read_once(l, c) == -1)) {
		conn_free(l, c);
		return;
	}
	unlink_conn(l->stream, c);
	push_front(l->stream, c);
}

/*
 * A full table makes room: the connection heard from least recently is
 * ended, losslessly (conn_end); its producer connects again when it next
 * has lines.  A local process opening connections in a loop costs the
 * others reconnections, never lines.
 */
static void
make_room(struct lpd *l)
{
	struct lpd_stream *s = l->stream;

	s->evicted++;
	diag_warn_ratelimited(WARN_STREAM, 10000, "%u stream producers: the "
	    "quietest disconnected (%llu so far)", s->n, s->evicted);
	conn_end(l, s->tail);
}

static void
on_accept(struct evloop *ev, int fd, uint32_t events, void *arg)
{
	struct lpd *l = arg;
	struct lpd_stream *s = l->stream;
	struct sconn *c;
	int cfd;

	(void)events;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (s->n >= CONN_MAX)
			make_room(l);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(cfd);
			continue;
		}
		c->lpd = l;
		c->fd = cfd;
		if (evloop_add_fd(ev, cfd, EPOLLIN, on_conn, c) == -1) {
			close(cfd);
			free(c);
			continue;
		}
		push_front(s, c);
		s->n++;
	}
}

static int
stream_path(const struct lpd *l, char *buf, size_t size)
{
	return state_pathf(buf, size, "%s/logplexd.stream", l->conf.rundir);
}

int
stream_open(struct lpd *l)
{
	char path[PATH_MAX];
	struct lpd_stream *s;
	int fd;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->fd = -1;
	l->stream = s;
	/* Whoever connects names any app's lines: the host's tools alone. */
	if (stream_path(l, path, sizeof(path)) == -1 ||
	    (fd = listener_unix(path, SOCK_STREAM, 0600, 128)) == -1)
		return -1;
	if (evloop_add_fd(l->ev, fd, EPOLLIN, on_accept, l) == -1) {
		close(fd);
		return -1;
	}
	s->fd = fd;
	return 0;
}

/*
 * Stop taking lines (SIGTERM), every one already sent still taken: the
 * name goes first, so no producer connects any more, then the connections
 * waiting to be accepted and the open ones are ended losslessly.
 */
void
stream_close(struct lpd *l)
{
	struct lpd_stream *s = l->stream;
	char path[PATH_MAX];

	if (s == NULL)
		return;
	if (s->fd != -1) {
		if (stream_path(l, path, sizeof(path)) == 0)
			unlink(path);
		on_accept(l->ev, s->fd, EPOLLIN, l);
		evloop_del_fd(l->ev, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	while (s->head != NULL)
		conn_end(l, s->head);
}

void
stream_free(struct lpd *l)
{
	stream_close(l);
	free(l->stream);
	l->stream = NULL;
}

void
stream_dump(const struct lpd *l, FILE *fp)
{
	const struct lpd_stream *s = l->stream;

	if (s != NULL)
		fprintf(fp, "logplexd: stream producers=%u evicted=%llu\n",
		    s->n, s->evicted);
}
