/* SPDX-License-Identifier: ISC */
/* dyno-route: TLS termination with OpenSSL; SNI picks the certificate. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dyno-route.h"

/*
 * Session tickets: every worker derives the keys of the hour from one
 * secret made before the fork, so any worker resumes any worker's session;
 * a ticket of the hour before still resumes (and is renewed).
 */
#define TICKET_PERIOD	3600

/* One context per certificate; the first is the default. */
struct tls {
	SSL_CTX		**ctx;
	X509		**cert;
	int		 n;
	struct sni	*sni;		/* the apps' certificates (a worker's) */
};

/* Set by tls_setup before the fork: the same in every worker. */
static struct {
	unsigned char	 secret[32];
	char		 ciphers[512];
	char		 suites[256];
} tset;

static void
ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s: %s", file, what, buf);
}

/*
 * An app's own certificate for the SNI host name (dyno-certs), else the
 * default certificate whose names cover it, if any.
 */
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
	if (sni_use(t->sni, ssl, name) == 1)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < t->n; i++)
		if (X509_check_host(t->cert[i], name, strlen(name), 0,
		    NULL) == 1) {
			if (i > 0)
				SSL_set_SSL_CTX(ssl, t->ctx[i]);
			return SSL_TLSEXT_ERR_OK;
		}
	return SSL_TLSEXT_ERR_OK;
}

/* The ticket keys of one period: AES-256 and HMAC-SHA256, and a name. */
struct tkeys {
	uint64_t	 epoch;
	int		 ok;
	unsigned char	 aes[32], mac[32], name[16];
};

/*
 * A worker's keys of the period and of the one before, derived once a
 * period and not per ticket (3 HMACs and their fetches each time showed
 * in the handshake profile); the cipher fetched once.
 */
static struct tkeys tkc[2];
static EVP_CIPHER *tk_aes;

static const struct tkeys *
ticket_keys(uint64_t epoch)
{
	struct tkeys *k = &tkc[epoch & 1];
	unsigned char msg[9], out[EVP_MAX_MD_SIZE];
	unsigned int len;
	int i;

	if (k->ok && k->epoch == epoch)
		return k;
	for (i = 0; i < 8; i++)
		msg[1 + i] = (unsigned char)(epoch >> (56 - 8 * i));
	k->epoch = epoch;
	msg[0] = 'a';
	k->ok = HMAC(EVP_sha256(), tset.secret, sizeof(tset.secret), msg,
	    sizeof(msg), k->aes, &len) != NULL;
	msg[0] = 'm';
	k->ok &= HMAC(EVP_sha256(), tset.secret, sizeof(tset.secret), msg,
	    sizeof(msg), k->mac, &len) != NULL;
	msg[0] = 'n';
	k->ok &= HMAC(EVP_sha256(), tset.secret, sizeof(tset.secret), msg,
	    sizeof(msg), out, &len) != NULL;
	/* The period in clear, so a ticket says which keys open it. */
	memcpy(k->name, msg + 1, 8);
	memcpy(k->name + 8, out, 8);
	OPENSSL_cleanse(out, sizeof(out));
	return k->ok ? k : NULL;
}

static int
ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	uint64_t now = (uint64_t)time(NULL) / TICKET_PERIOD, epoch = 0;
	const struct tkeys *k;
	OSSL_PARAM p[3];
	int i;

	if (tk_aes == NULL &&
	    (tk_aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL)
		return -1;
	if (enc) {
		epoch = now;
		if ((k = ticket_keys(epoch)) == NULL ||
		    RAND_bytes(iv, 16) != 1)
			return -1;
		memcpy(key_name, k->name, 16);
	} else {
		for (i = 0; i < 8; i++)
			epoch = epoch << 8 | key_name[i];
		if (epoch != now && epoch + 1 != now)
			return 0;	/* too old: a full handshake */
		if ((k = ticket_keys(epoch)) == NULL)
			return -1;
		if (CRYPTO_memcmp(k->name, key_name, 16) != 0)
			return 0;
	}
	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->mac, sizeof(k->mac));
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, p) != 1 || (enc ?
	    EVP_EncryptInit_ex(cctx, tk_aes, NULL, k->aes, iv) :
	    EVP_DecryptInit_ex(cctx, tk_aes, NULL, k->aes, iv)) != 1)
		return -1;
	/*
	 * A ticket of the period before resumes, and gets a fresh one; so
	 * does every TLS 1.3 ticket: a client uses one ticket once (RFC 8446
	 * C.4, OpenSSL's client does), and without a new one its next
	 * connection is a full handshake.
	 */
	return enc || (epoch == now && SSL_version(ssl) != TLS1_3_VERSION) ?
	    1 : 2;
}

int
tls_setup(const struct conf *cf, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int ok;

	snprintf(tset.ciphers, sizeof(tset.ciphers), "%s", cf->tls_ciphers);
	snprintf(tset.suites, sizeof(tset.suites), "%s",
	    cf->tls_ciphersuites);
	if (RAND_bytes(tset.secret, sizeof(tset.secret)) != 1) {
		ssl_err(err, errlen, "RAND_bytes", "session tickets");
		return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", "tls");
		return -1;
	}
	ok = SSL_CTX_set_cipher_list(ctx, tset.ciphers) == 1;
	if (!ok)
		ssl_err(err, errlen, "no cipher", "tls_ciphers");
	else if (!(ok = SSL_CTX_set_ciphersuites(ctx, tset.suites) == 1))
		ssl_err(err, errlen, "no cipher suite", "tls_ciphersuites");
	SSL_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The router's TLS settings on a new context, before its certificate. */
static SSL_CTX *
ctx_base(char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_err(err, errlen, "SSL_CTX_new", "tls");
		return NULL;
	}
	/* TLS 1.0 and 1.1 are refused, as browsers and Heroku do. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * A record in one read(2), not its header then its body: a third of
	 * the reads per HTTP/2 request.  Bytes read ahead are seen by
	 * SSL_has_pending, never by SSL_pending (proxy.c, h2.c).
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* Resumption by tickets only: a session cache is one worker's. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	if ((tset.ciphers[0] != '\0' &&
	    SSL_CTX_set_cipher_list(ctx, tset.ciphers) != 1) ||
	    (tset.suites[0] != '\0' &&
	    SSL_CTX_set_ciphersuites(ctx, tset.suites) != 1)) {
		ssl_err(err, errlen, "ciphers", "tls");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
tls_sni_reload(struct tls *t, struct apps *a, const char *root)
{
	if (t == NULL || (t->sni == NULL && (t->sni = sni_new()) == NULL))
		return;
	sni_reload(t->sni, a, root);
}

void
tls_sni_tick(struct tls *t, struct apps *a, const char *root)
{
	if (t != NULL && t->sni != NULL && sni_due(t->sni, time(NULL)))
		sni_reload(t->sni, a, root);
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

	if ((ctx = ctx_base(err, errlen)) == NULL)
		return NULL;
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
	sni_free(t->sni);
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

ssize_t
tls_read(void *ssl, char *p, size_t n, int *wantw)
{
	int r;

	if ((r = SSL_read(ssl, p, (int)n)) > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
		*wantw = 1;
		/* FALLTHROUGH */
	case SSL_ERROR_WANT_READ:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		errno = ECONNRESET;
		return -1;
	}
}

ssize_t
tls_write(void *ssl, const char *p, size_t n, int *wantw)
{
	int r;

	if ((r = SSL_write(ssl, p, (int)n)) > 0)
		return r;
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_WRITE:
	case SSL_ERROR_WANT_READ:
		*wantw = 1;
		errno = EAGAIN;
		return -1;
	default:
		errno = EPIPE;
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
