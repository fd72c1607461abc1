/* SPDX-License-Identifier: ISC */
/* dyno-run: a lone simple command exec'd as the dyno's shell would, without it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dyno-run.h"

/*
 * What a command line may hold to be run without the shell: words of
 * these bytes, '...' and \c.  Anything else ($, `, ", globs, ~, braces,
 * redirections, lists, comments, newlines) needs the shell's expansions
 * or grammar, and gets it.
 */
static const char safe[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "_./:,+-@%^=";

/* bash's builtins and reserved words (compgen -b -k): the shell runs them. */
static const char *const builtin[] = {
	".", ":", "[", "[[", "]]", "!", "{", "}", "alias", "bg", "bind",
	"break", "builtin", "caller", "case", "cd", "command", "compgen",
	"complete", "compopt", "continue", "coproc", "declare", "dirs",
	"disown", "do", "done", "echo", "elif", "else", "enable", "esac",
	"eval", "exec", "exit", "export", "false", "fc", "fg", "fi", "for",
	"function", "getopts", "hash", "help", "history", "if", "in", "jobs",
	"kill", "let", "local", "logout", "mapfile", "popd", "printf",
	"pushd", "pwd", "read", "readarray", "readonly", "return", "select",
	"set", "shift", "shopt", "source", "suspend", "test", "then", "time",
	"times", "trap", "true", "type", "typeset", "ulimit", "umask",
	"unalias", "unset", "until", "wait", "while", NULL
};

/*
 * One word from *p into *out (NUL-terminated), quotes removed.  1 for a
 * word, 0 at the end of the line, -1 when the shell is needed.
 */
static int
next_word(const char **p, char **out)
{
	const char *s = *p + strspn(*p, " \t");
	char *o = *out;

	if (*s == '\0')
		return 0;
	while (*s != '\0' && *s != ' ' && *s != '\t') {
		if (*s == '\'') {
			const char *q = strchr(s + 1, '\'');

			if (q == NULL)
				return -1;
			memcpy(o, s + 1, (size_t)(q - s - 1));
			o += q - s - 1;
			s = q + 1;
		} else if (*s == '\\') {
			/* \newline continues the line: the shell's business. */
			if (s[1] == '\0' || s[1] == '\n')
				return -1;
			*o++ = s[1];
			s += 2;
		} else if (strchr(safe, *s) != NULL)
			*o++ = *s++;
		else
			return -1;
	}
	*o++ = '\0';
	*p = s;
	*out = o;
	return 1;
}

/*
 * Split line into argv (words in buf, as long as line): the number of
 * words after a leading "exec", or 0 when the shell must run the line.
 * *exec says whether it said exec.
 */
static size_t
split(const char *line, char *buf, char **argv, size_t max, int *exec)
{
	size_t i, n = 0;
	char *o = buf;
	int rc = 0;

	while (n < max - 1 && (argv[n] = o, rc = next_word(&line, &o)) == 1)
		n++;
	if (rc != 0 || n == 0)
		return 0;
	argv[n] = NULL;
	*exec = strcmp(argv[0], "exec") == 0;
	if (*exec) {
		/* exec -a NAME, exec -c: options of the builtin. */
		if (n == 1 || argv[1][0] == '-')
			return 0;
		memmove(argv, argv + 1, n * sizeof(*argv));
		n--;
	}
	/* An assignment before the command, or a builtin. */
	if (strchr(argv[0], '=') != NULL)
		return 0;
	for (i = 0; builtin[i] != NULL; i++)
		if (strcmp(argv[0], builtin[i]) == 0)
			return 0;
	return n;
}

/* An executable regular file, as the shell's PATH search takes it. */
static int
runnable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

/*
 * The command's file: a word with a slash as it is, else the first
 * runnable PATH entry (an empty entry is the working directory).  NULL
 * when none is: the shell then says why, in its words, with its status.
 */
static char *
resolve(const char *word, const char *path)
{
	const char *p, *end;
	char *f;

	if (strchr(word, '/') != NULL)
		return strdup(word);
	if (path == NULL)
		return NULL;
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		if (asprintf(&f, "%.*s%s%s", (int)(end - p), p,
		    end == p ? "" : "/", word) == -1)
			return NULL;
		if (runnable(f))
			return f;
		free(f);
		if (*end == '\0')
			return NULL;
	}
}

/* Variables that change what bash does before the command, or that it
 * may drop (an OLDPWD that is no folder): it runs. */
static int
shell_env(const struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (strcmp(e->vars[i].key, "BASH_ENV") == 0 ||
		    strcmp(e->vars[i].key, "ENV") == 0 ||
		    strcmp(e->vars[i].key, "SHELLOPTS") == 0 ||
		    strcmp(e->vars[i].key, "BASHOPTS") == 0 ||
		    strcmp(e->vars[i].key, "OLDPWD") == 0 ||
		    strncmp(e->vars[i].key, "BASH_FUNC_", 10) == 0)
			return 1;
	return 0;
}

/*
 * What the shell adds to a command's environment, so the command sees
 * the same: PWD, and for bash SHLVL as it leaves it at an exec (0 when
 * unset) and, for a lone command without exec, _ = its path.  0, -1 on
 * ENOMEM, 1 when the shell alone should say what they become: a PWD
 * that is not the working directory, a SHLVL not 0..998.
 */
static int
shell_vars(struct env *e, int bash, int exec, const char *file)
{
	const char *v = env_get(e, "PWD");
	char cwd[PATH_MAX], *end;
	long lvl;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return 1;
	/* A PWD of its own (a config var): the shell decides what it keeps. */
	if (v != NULL && strcmp(v, cwd) != 0)
		return 1;
	if (v == NULL && env_set(e, "PWD", cwd) == -1)
		return -1;
	if (!bash)
		return 0;
	if ((v = env_get(e, "SHLVL")) != NULL) {
		errno = 0;
		lvl = strtol(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
		    lvl > 998 || (v[0] == '0' && v[1] != '\0'))
			return 1;
	} else if (env_set(e, "SHLVL", "0") == -1)
		return -1;
	return exec ? 0 : env_set(e, "_", file);
}

int
direct_command(const struct dyno *d, const char *line, int bash,
    char **filep, char ***argvp, char ***envpp)
{
	char **argv = NULL, *buf = NULL, *file = NULL;
	size_t max = strlen(line) / 2 + 2;
	struct env e;
	int exec, rc = 0;

	env_init(&e);
	*filep = NULL;
	*argvp = NULL;
	*envpp = NULL;
	if (shell_env(&d->env))
		return 0;
	if ((buf = malloc(strlen(line) + 1)) == NULL ||
	    (argv = calloc(max, sizeof(*argv))) == NULL) {
		rc = -1;
		goto out;
	}
	if (split(line, buf, argv, max, &exec) == 0 ||
	    (file = resolve(argv[0], env_get(&d->env, "PATH"))) == NULL)
		goto out;
	if (env_merge(&e, &d->env) == -1 ||
	    (rc = shell_vars(&e, bash, exec, file)) != 0) {
		rc = rc == 1 ? 0 : -1;
		goto out;
	}
	if ((*envpp = env_to_envp(&e)) == NULL) {
		rc = -1;
		goto out;
	}
	/* argv[0] stays the word, as the shell leaves it; file is exec'd. */
	*filep = file;
	*argvp = argv;
	env_free(&e);
	return 1;
out:
	env_free(&e);
	free(file);
	free(argv);
	free(buf);
	return rc;
}
