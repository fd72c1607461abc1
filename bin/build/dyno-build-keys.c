/* SPDX-License-Identifier: ISC */
/* dyno-build: the authorized_keys lines of pushers (forced command). */
#include <sys/stat.h>

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "dyno-build.h"
#include "envfile.h"
#include "state.h"

#define KEYS_MAX	(1U << 20)	/* an authorized_keys file */
#define KEY_MAX		(16U << 10)	/* one public key */

/* The key types sshd takes; a line starting otherwise carries options. */
static int
key_type_ok(const char *t, size_t n)
{
	static const char *const types[] = { "ssh-ed25519", "ssh-rsa",
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
	    "sk-ecdsa-sha2-nistp256@openssh.com" };
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strlen(types[i]) == n && strncmp(t, types[i], n) == 0)
			return 1;
	return 0;
}

/*
 * "TYPE BLOB" of the first key line of text, into key.  Its comment is
 * dropped (the line gets NAME instead); options of its own are refused:
 * the forced command is the only option a pusher's key gets.
 */
static int
parse_key(const char *text, char *key, size_t size)
{
	const char *l, *t, *b;
	size_t tn, bn;

	for (l = text; *l != '\0'; l += strcspn(l, "\n") + (l[strcspn(l,
	    "\n")] == '\n')) {
		t = l + strspn(l, " \t");
		if (*t == '\n' || *t == '#' || *t == '\0')
			continue;
		tn = strcspn(t, " \t\n");
		b = t + tn + strspn(t + tn, " \t");
		bn = strspn(b, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/=");
		if (!key_type_ok(t, tn))
			diag_die(EXIT_DATAERR, "public key: \"%.*s\" is not a "
			    "key type (a key with options of its own is "
			    "refused)", (int)(tn > 40 ? 40 : tn), t);
		/* strchr finds the '\0' too: the blob may end the text. */
		if (bn < 16 || strchr(" \t\n", b[bn]) == NULL)
			diag_die(EXIT_DATAERR, "public key: not base64 after "
			    "%.*s", (int)tn, t);
		if ((size_t)snprintf(key, size, "%.*s %.*s", (int)tn, t,
		    (int)bn, b) >= size)
			diag_die(EXIT_DATAERR, "public key: too long");
		return 0;
	}
	diag_die(EXIT_DATAERR, "public key: none found");
}

/* The forced command, with the DYNO_* variables this run has. */
static void
forced_command(const char *name, char *buf, size_t size)
{
	static const char *const vars[] = { "DYNO_ROOT", "DYNO_RUNDIR",
	    "DYNO_CONF" };
	char self[PATH_MAX], *q;
	const char *v;
	size_t i, n = 0;
	ssize_t len;

	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		diag_die_errno(EXIT_OSERR, "/proc/self/exe");
	self[len] = '\0';
	for (i = 0; i <= sizeof(vars) / sizeof(vars[0]); i++) {
		v = i < sizeof(vars) / sizeof(vars[0]) ? getenv(vars[i]) : self;
		if (v == NULL)
			continue;
		/* Inside command="...": no quote or backslash sshd would
		 * take, then quoted for the shell that runs it. */
		if (strpbrk(v, "\"\\\n") != NULL ||
		    (q = envfile_shell_quote(v)) == NULL)
			diag_die(EXIT_CONFIG, "%s: cannot be put in an "
			    "authorized_keys line", v);
		if (i < sizeof(vars) / sizeof(vars[0]))
			n += (size_t)snprintf(buf + n, size - n, "%s=%s ",
			    vars[i], q);
		else
			n += (size_t)snprintf(buf + n, size - n, "%s "
			    "--git-shell %s", q, name);
		free(q);
		if (n >= size)
			diag_die(EXIT_CONFIG, "forced command too long");
	}
}

/* Whether line is that of NAME (its forced command) or carries key. */
static int
line_is(const char *l, size_t n, const char *name, const char *key)
{
	char tag[160];
	const char *blob = key ? strchr(key, ' ') : NULL, *at;
	size_t tl;

	tl = (size_t)snprintf(tag, sizeof(tag), "--git-shell %s\"", name);
	if (memmem(l, n, tag, tl) != NULL)
		return 1;
	if (blob == NULL || (at = memmem(l, n, blob, strlen(blob))) == NULL)
		return 0;
	at += strlen(blob);
	return at == l + n || *at == ' ' || *at == '\t' || *at == '\n';
}

/* A pusher's name: as --git-shell takes it. */
static void
check_name(const char *name)
{
	if (*name == '\0' || strlen(name) > 100 || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789@._+-") != strlen(name))
		diag_die(EXIT_USAGE, "%s: not a user name (letters, digits, "
		    "@._+-)", name);
}

/*
 * Rewrite the authorized_keys file without NAME's line and key's (a key
 * moves to its new name), plus `add` when not NULL: read, filtered and
 * replaced whole, atomically; its folder made 0700 when missing.
 */
static int
rewrite_keys(const struct conf *c, const char *name, const char *key,
    const char *add)
{
	const char *path = c->build_authorized_keys;
	char dir[PATH_MAX], *data = NULL, *out, *l;
	size_t len = 0, n = 0, ll;
	int removed = 0, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if (path[0] != '/')
		diag_die(EXIT_CONFIG, "authorized_keys %s: not an absolute "
		    "path", path);
	if (state_read(path, KEYS_MAX, &data, &len) == -1 && errno != ENOENT)
		diag_die_errno(EXIT_NOINPUT, "%s", path);
	if ((out = malloc(len + (add ? strlen(add) : 0) + 2)) == NULL)
		diag_die(EXIT_OSERR, "out of memory");
	for (l = data; l != NULL && l < data + len; l += ll) {
		ll = (size_t)((char *)memchr(l, '\n', (size_t)(data + len - l)) ?
		    (char *)memchr(l, '\n', (size_t)(data + len - l)) - l + 1 :
		    data + len - l);
		if (line_is(l, ll, name, key)) {
			removed++;
			continue;
		}
		memcpy(out + n, l, ll);
		n += ll;
		if (out[n - 1] != '\n')
			out[n++] = '\n';
	}
	if (add != NULL)
		n += (size_t)sprintf(out + n, "%s\n", add);
	if (mkdir(dirname(dir), 0700) == -1 && errno != EEXIST)
		diag_die_errno(EXIT_CANTCREAT, "%s", dir);
	rc = state_replace(path, out, n, 0600, STATE_FSYNC);
	free(out);
	free(data);
	if (rc == -1)
		diag_die_errno(EXIT_CANTCREAT, "%s", path);
	return removed;
}

int
keys_authorize(const struct conf *c, const char *name, const char *keyfile)
{
	char key[KEY_MAX], cmd[PATH_MAX * 4], line[sizeof(key) +
	    sizeof(cmd) + 256], *text;
	size_t len;
	int rc;

	check_name(name);
	rc = keyfile == NULL || strcmp(keyfile, "-") == 0 ?
	    state_read_fd(STDIN_FILENO, KEY_MAX, &text, &len) :
	    state_read(keyfile, KEY_MAX, &text, &len);
	if (rc == -1)
		diag_die_errno(EXIT_NOINPUT, "%s", keyfile ? keyfile :
		    "standard input");
	parse_key(text, key, sizeof(key));
	free(text);
	forced_command(name, cmd, sizeof(cmd));
	snprintf(line, sizeof(line), "command=\"%s\",no-port-forwarding,"
	    "no-X11-forwarding,no-agent-forwarding,no-pty,no-user-rc %s %s",
	    cmd, key, name);
	(void)rewrite_keys(c, name, key, line);
	printf("%s\n", line);
	return 0;
}

int
keys_revoke(const struct conf *c, const char *name)
{
	check_name(name);
	if (rewrite_keys(c, name, NULL, NULL) == 0) {
		diag_error("%s: no key of %s", c->build_authorized_keys, name);
		return EXIT_NOINPUT;
	}
	return 0;
}
