/* SPDX-License-Identifier: ISC */
/* dyno-route: TLS termination with OpenSSL; SNI picks the certificate. */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dyno-route.h"

/* One context per certificate; the first is the default. */
struct tls {
	SSL_CTX		**ctx;
	X509		**cert;
	int		 n;
};

static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s: %s", file, what, buf);
}

/* The certificate whose names cover the SNI host name, if any. */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls *t = arg;
	const char *name;
	int i;

	(void)alert;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL)
		return SSL_TLSEXT_ERR_NOACK;
	for (i = 0; i < t->n; i++)
		if (X509_check_host(t->cert[i], name, strlen(name), 0,
		    NULL) == 1) {
			if (i > 0)
				SSL_set_SSL_CTX(ssl, t->ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_OK;
}

/*
 * ALPN: h2 when the client offers it, else http/1.1; a client offering
 * neither goes on without ALPN (HTTP/1.x, as before ALPN).
 */
static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x02h2\x08http/1.1";
	unsigned char *sel;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
ctx_new(struct tls *t, const char *cert, const char *key, char *err,
    size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", cert);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_err(err, errlen, "certificate", cert);
		goto bad;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "private key", key);
		goto bad;
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, t);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select_cb, NULL);
	return ctx;
bad:
	SSL_CTX_free(ctx);
	return NULL;
}

struct tls *
tls_new(char *const *certs, char *const *keys, int n, char *err,
    size_t errlen)
{
	struct tls *t;
	int i;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->ctx = calloc((size_t)n, sizeof(*t->ctx))) == NULL ||
	    (t->cert = calloc((size_t)n, sizeof(*t->cert))) == NULL) {
		snprintf(err, errlen, "out of memory");
		tls_free(t);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((t->ctx[i] = ctx_new(t, certs[i], keys[i], err,
		    errlen)) == NULL) {
			tls_free(t);
			return NULL;
		}
		t->cert[i] = SSL_CTX_get0_certificate(t->ctx[i]);
		t->n = i + 1;
	}
	return t;
}

void
tls_free(struct tls *t)
{
	int i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		SSL_CTX_free(t->ctx[i]);
	free(t->ctx);
	free(t->cert);
	free(t);
}

void *
tls_accept(struct tls *t, int fd)
{
	SSL *ssl;

	if (t == NULL || (ssl = SSL_new(t->ctx[0])) == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

int
tls_handshake(void *ssl, int *wantw)
{
	int r;

	*wantw = 0;
	ERR_clear_error();
	if ((r = SSL_do_handshake(ssl)) == 1)
		return 1;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		*wantw = 1;
		return 0;
	case SSL_ERROR_WANT_READ:
		return 0;
	default:
		return -1;
	}
}

int
tls_alpn_h2(void *ssl)
{
	const unsigned char *p;
	unsigned int n;

	SSL_get0_alpn_selected(ssl, &p, &n);
	return n == 2 && memcmp(p, "h2", 2) == 0;
}
