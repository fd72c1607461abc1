/* SPDX-License-Identifier: ISC */
/* dyno-acm-hook: uacme's hook; HTTP-01 answers into the router's store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acmechal.h"
#include "conf.h"
#include "diag.h"

static noreturn void
usage(void)
{
	fprintf(stderr, "usage: dyno-acm-hook method type ident token auth\n");
	exit(EXIT_USAGE);
}

/*
 * uacme runs HOOK METHOD TYPE IDENT TOKEN AUTH (uacme(1)).  "begin"
 * answers whether we take the challenge: only http-01, which dyno-route
 * serves from the store; a non-zero exit makes uacme try the next type.
 * "done" and "failed" take the answer away.  TOKEN and AUTH come from the
 * ACME server: lib/acmechal checks them before they name or fill a file.
 */
int
main(int argc, char **argv)
{
	struct conf c;
	char err[512];
	const char *method, *type, *token, *auth;

	diag_start(argc, argv);
	if (argc != 6)
		usage();
	method = argv[1];
	type = argv[2];
	token = argv[4];
	auth = argv[5];
	if (strcmp(method, "begin") != 0 && strcmp(method, "done") != 0 &&
	    strcmp(method, "failed") != 0)
		diag_die(EXIT_USAGE, "%s: unknown method", method);
	if (strcmp(type, "http-01") != 0)
		return EXIT_NO;
	if (!acmechal_token_valid(token, strlen(token)))
		diag_die(EXIT_DATAERR, "token: not 1 to %d of [A-Za-z0-9_-]",
		    ACMECHAL_TOKEN_MAX);
	if (conf_load(&c, err, sizeof(err)) == -1)
		diag_die(EXIT_CONFIG, "%s", err);
	if (strcmp(method, "begin") != 0) {
		if (acmechal_remove(c.rundir, token) == -1)
			diag_die_errno(EXIT_CANTCREAT, "%s/%s/%s", c.rundir,
			    ACMECHAL_DIR, token);
		return 0;
	}
	if (!acmechal_auth_valid(token, auth))
		diag_die(EXIT_DATAERR, "auth: not a key authorization of the "
		    "token");
	if (acmechal_put(c.rundir, token, auth) == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s/%s/%s", c.rundir,
		    ACMECHAL_DIR, token);
	return 0;
}
