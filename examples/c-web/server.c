/* SPDX-License-Identifier: ISC */
/* A small C web server for examples: one process, answers on $PORT. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void
on_term(int sig)
{
	(void)sig;
	done = 1;
}

static void
serve(int c)
{
	char req[4096], resp[512];
	const char *dyno = getenv("DYNO"), *msg = getenv("MESSAGE");
	ssize_t n = read(c, req, sizeof(req) - 1);
	int len;

	if (n <= 0)
		return;
	req[n] = '\0';
	len = snprintf(resp, sizeof(resp), "%s from %s\n", msg ? msg : "hello",
	    dyno ? dyno : "?");
	dprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len, resp);
	printf("%.*s\n", (int)strcspn(req, "\r\n"), req);
	fflush(stdout);
}

int
main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction act = { .sa_handler = on_term };
	const char *port = getenv("PORT");
	int s, c, one = 1;

	if (port == NULL)
		return 64;
	sigaction(SIGTERM, &act, NULL);
	sa.sin_port = htons((unsigned short)atoi(port));
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 || listen(s, 64) == -1) {
		perror("server: bind");
		return 71;
	}
	printf("Listening on %s\n", port);
	fflush(stdout);
	while (!done) {
		if ((c = accept(s, NULL, NULL)) == -1)
			continue;
		serve(c);
		close(c);
	}
	printf("server: stopping\n");
	return 0;
}
