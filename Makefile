# SPDX-License-Identifier: ISC
# dyno: build, test, lint, benchmark and install every tool.  GNU make.

PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
# Daemons and administrator tools (the section-8 pages) go to sbin.
SBINDIR       ?= $(PREFIX)/sbin
DOCDIR        ?= $(PREFIX)/share/doc/dyno
MANDIR        ?= $(PREFIX)/share/man
DATADIR       ?= $(PREFIX)/share/dyno
SYSCONFDIR    ?= /etc
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
# zsh searches PREFIX/share/zsh/site-functions, but Debian's zsh, for /usr,
# only vendor-completions.
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/$(if $(and $(filter /usr,$(PREFIX)),\
                 $(wildcard /etc/debian_version)),vendor-completions,site-functions)
# Where systemd's pkg-config file says, under PREFIX (so /usr/local/lib/...
# by default, /usr/lib/... for a package).
systemd_var    = $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) \
                 --define-variable=rootprefix=$(PREFIX) --variable=$(1) systemd 2>/dev/null)
SYSTEMDDIR    ?= $(or $(call systemd_var,systemdsystemunitdir),$(PREFIX)/lib/systemd/system)
TMPFILESDIR   ?= $(or $(call systemd_var,tmpfilesdir),$(PREFIX)/lib/tmpfiles.d)
SYSUSERSDIR   ?= $(or $(call systemd_var,sysusersdir),$(PREFIX)/lib/sysusers.d)
DESTDIR       ?=

CC            ?= cc
AR            ?= ar
PKG_CONFIG    ?= pkg-config
INSTALL       ?= install
PROVE         ?= prove
# Tests are written to run side by side (private temp dirs, dynotest- names).
JOBS          ?= 2

# Packagers override CFLAGS; the warnings and hardening below always stay.
CFLAGS        ?= -O2 -g
WERROR        ?= -Werror
WARNINGS       = -Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes
HARDEN         = -fstack-protector-strong
# _FORTIFY_SOURCE=2 unless the packager chose a level (dpkg-buildflags' 3):
# ours comes before CPPFLAGS and is left out then, never overriding it.
FORTIFY        = $(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,\
                 -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
HARDEN_LDFLAGS = -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),1)
HARDEN         = -fstack-protector-strong -fsanitize=address,undefined \
                 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FORTIFY        =
SAN_LDFLAGS    = -fsanitize=address,undefined
endif

# What --version prints in every tool: the VERSION file, or in a git
# checkout `git describe` from the nearest v* tag.
VERSION       := $(or $(if $(wildcard .git),$(patsubst v%,%,$(shell \
                 git describe --tags --match 'v[0-9]*' 2>/dev/null))),$(shell cat VERSION))

# Every tool, and the folder of its sources: bin/<folder>/<tool>.c and
# bin/<folder>/<tool>-<part>.c build bin/<tool>.  A missing main file is an
# error, never a tool silently left out.
TOOLS          = dyno-run dyno-manager dyno-cycle logplexd dyno-logs dyno-route \
                 release space-net dyno-build dyno-image dyno-agent \
                 dyno-domains dyno-certs
SRCDIR_dyno-run     = bin/run
SRCDIR_dyno-manager = bin/manager
SRCDIR_dyno-cycle   = bin/manager
SRCDIR_logplexd     = bin/logs
SRCDIR_dyno-logs    = bin/logs
SRCDIR_dyno-route   = bin/route
SRCDIR_release      = bin/releases
# dyno-slugd serves the slug store release fetch fills (issue 21).
TOOLS              += dyno-slugd
SRCDIR_dyno-slugd   = bin/releases
SRCDIR_space-net    = bin/net
SRCDIR_dyno-build   = bin/build
SRCDIR_dyno-image   = bin/image
SRCDIR_dyno-agent   = bin/cluster
SRCDIR_dyno-domains = bin/certs
SRCDIR_dyno-certs   = bin/certs
# uacme's challenge hook for dyno-certs' ACM (bin/certs/dyno-acm-hook.c).
TOOLS         += dyno-acm-hook
SRCDIR_dyno-acm-hook = bin/certs
SRC_DIRS       = $(sort $(foreach t,$(TOOLS),$(SRCDIR_$(t))))
$(foreach t,$(TOOLS),$(if $(wildcard $(SRCDIR_$(t))/$(t).c),,\
  $(error $(SRCDIR_$(t))/$(t).c: missing: the main file of $(t))))
PROGS         := $(addprefix bin/,$(TOOLS))

# pkg-config modules each tool links, and nothing more.
PKGS_dyno-manager = inih libcurl jansson
# lib/cgstat's load averages (log-runtime-metrics) use exp(3).
LIBS_dyno-manager = -lm
LIBS_dyno-agent   = -pthread
# dyno-run attaches its dyno to a space itself (lib/space*.c): libnl.
PKGS_dyno-run     = inih libcap-ng libnl-3.0 libnl-route-3.0
# dyno-run links inih, libcap-ng and libnl as shared libraries, so their
# security updates reach it; STATIC=1 links them in (README: what it saves
# per start).
ifeq ($(STATIC),1)
PKGS_dyno-run     =
STATIC_dyno-run   = -linih -lcap-ng -lnl-route-3 -lnl-3
endif
PKGS_release      = inih libcurl libarchive libcrypto jansson
PKGS_dyno-slugd   = inih
PKGS_logplexd     = inih libcurl gnutls
PKGS_dyno-logs    = inih
PKGS_dyno-route   = inih openssl libnghttp2
PKGS_dyno-cycle   = inih
# libnftables is dlopen'ed when rules change (lib/spacenft.c): not linked.
PKGS_space-net    = inih libnl-3.0 libnl-route-3.0
PKGS_dyno-build   = inih libcurl libarchive yaml-0.1
PKGS_dyno-image   = inih libarchive libcrypto
PKGS_dyno-agent   = inih libcurl jansson
PKGS_dyno-domains = inih libcrypto
PKGS_dyno-certs   = inih libcrypto
PKGS_dyno-acm-hook = inih
ALL_PKGS       = inih libcap-ng libseccomp libcurl gnutls openssl libnl-3.0 libnl-route-3.0 \
                 jansson libnghttp2

# Deferred: on a fresh machine `deps` installs pkg-config and the -dev
# packages after this file is read.
PKG_CFLAGS     = $(shell $(PKG_CONFIG) --cflags $(ALL_PKGS) 2>/dev/null)
DYNO_CPPFLAGS  = -D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -MMD -MP $(FORTIFY)
DYNO_CFLAGS    = -std=gnu11 $(WARNINGS) $(WERROR) $(HARDEN) $(CFLAGS)
ALL_LDFLAGS    = $(SAN_LDFLAGS) $(HARDEN_LDFLAGS) $(LDFLAGS)

# Debian packages: to build, to test, to benchmark.
DEPS_BUILD     = gcc make pkg-config libcap-ng-dev libseccomp-dev libnl-3-dev \
                 libnl-route-3-dev libcurl4-openssl-dev libinih-dev libgnutls28-dev \
                 libssl-dev libarchive-dev libnftables-dev libyaml-dev \
                 libjansson-dev libnghttp2-dev
DEPS_TEST      = bats bats-assert bats-support mandoc shellcheck curl python3 procps \
                 psmisc iproute2 util-linux zsh bash-completion rsyslog nftables \
                 netcat-openbsd openssl bsdextrautils user-mode-linux kmod attr etcd-server \
                 git openssh-server openssh-client umoci skopeo nghttp2-client strace
# ACM: uacme runs it (also at run time), pebble is the test ACME server.
DEPS_TEST     += uacme pebble
DEPS_BENCH     = ruby-foreman time bc hyperfine wrk haproxy nginx-light rsyslog bubblewrap \
                 crun runc podman

LIB_SRCS      := $(wildcard lib/*.c)
LIB_OBJS      := $(LIB_SRCS:.c=.o)
LIB            = lib/libdyno.a
UNIT_SRCS     := $(wildcard t/unit/*.c)
UNIT_TESTS    := $(UNIT_SRCS:.c=.t)
HELPER_SRCS   := $(wildcard t/helper/*.c)
HELPERS       := $(HELPER_SRCS:.c=)
MANPAGES      := $(wildcard man/*.[1-8])
BASHCOMP      := $(wildcard completions/bash/*)
ZSHCOMP       := $(wildcard completions/zsh/_*)
SHELL_SCRIPTS := $(wildcard .ci/run t/helper/*.sh t/bench/*.sh examples/*/*.sh \
                 share/*.sh t/*.uml share/buildpacks/*/bin/*)
# The cgroup suites again on a pure cgroup v2 kernel (user-mode-linux);
# first in prove's list, as they take longest.
UML_TESTS     := $(wildcard t/*.uml)
# Each guest is one slow CPU-bound process: the other tests keep their JOBS.
PROVE_JOBS     = $(shell echo $$(($(JOBS) + $(words $(UML_TESTS)))))

.PHONY: all check unit lint deps bench bench-deps demo install clean FORCE
.DEFAULT_GOAL := all
# Keep object files of unit tests and helpers between runs (naming them:
# a bare .SECONDARY: would make FORCE secondary too, and .build-flags stale).
.SECONDARY: $(UNIT_SRCS:.c=.o) $(HELPER_SRCS:.c=.o)

all: $(PROGS)

# Objects are rebuilt whenever the flags change (SANITIZE=1 and back), and
# lib/version.o when the version does.  A stamp has a rule only when its
# content differs, so `make -q` is true and `make -n` writes nothing.
FLAGS_ID := $(shell echo '$(STATIC) $(CC) $(DYNO_CPPFLAGS) $(CPPFLAGS) $(DYNO_CFLAGS) $(ALL_LDFLAGS)' | cksum | cut -d' ' -f1)
define stamp
ifneq ($$(shell cat $(1) 2>/dev/null),$(2))
.PHONY: $(1)
$(1):
	@echo '$(2)' >$$@
endif
endef
$(eval $(call stamp,.build-flags,$(FLAGS_ID)))
$(eval $(call stamp,.build-version,$(VERSION)))
lib/version.o: .build-version
lib/version.o: DYNO_CPPFLAGS += -DDYNO_VERSION='"$(VERSION)"'

%.o: %.c .build-flags
	$(CC) $(DYNO_CPPFLAGS) $(CPPFLAGS) $(DYNO_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

comma := ,
define tool_rule
bin/$(1): $(patsubst %.c,%.o,$(wildcard $(SRCDIR_$(1))/$(1).c $(SRCDIR_$(1))/$(1)-*.c)) $(LIB)
	$$(CC) $$(DYNO_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) \
		$$(if $$(STATIC_$(1)),-Wl$$(comma)-Bstatic $$(STATIC_$(1)) -Wl$$(comma)-Bdynamic) \
		$$(if $$(PKGS_$(1)),$$(shell $$(PKG_CONFIG) --libs $$(PKGS_$(1)))) \
		$$(LIBS_$(1)) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# dyno-run: the seccomp filter is compiled once, here, by a generator linked
# with libseccomp; dyno-run only loads the BPF (compiling costs ~16 ms/start).
bin/run/dyno-run-secure.o: bin/run/dyno-run.bpf.inc
bin/run/dyno-run.bpf.inc: bin/run/dyno-run.bpfgen
	./bin/run/dyno-run.bpfgen $(SECCOMP_ARCH) >$@.tmp && mv $@.tmp $@
# Cross builds: the generator runs on the build machine, so it is built
# with BUILD_CC (and that machine's libseccomp) and told the target's
# architecture: make CC=aarch64-linux-gnu-gcc BUILD_CC=cc SECCOMP_ARCH=aarch64
BUILD_CC      ?= $(CC)
SECCOMP_ARCH  ?=
bin/run/dyno-run.bpfgen.o: bin/run/dyno-run.bpfgen.c .build-flags
	$(BUILD_CC) $(DYNO_CPPFLAGS) $(CPPFLAGS) $(DYNO_CFLAGS) -c -o $@ $<
bin/run/dyno-run.bpfgen: bin/run/dyno-run.bpfgen.o
	$(BUILD_CC) $(DYNO_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs libseccomp) $(LDLIBS)
.PHONY: clean-dyno-run
clean: clean-dyno-run
clean-dyno-run:
	rm -f bin/run/dyno-run.bpfgen bin/run/dyno-run.bpf.inc

# A unit test of a tool's own file links that file's object too.
t/unit/dyno-manager-life.t: bin/manager/dyno-manager-life.o
t/unit/%.t: t/unit/%.o $(LIB)
	$(CC) $(DYNO_CFLAGS) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) \
		$(shell $(PKG_CONFIG) --libs $(ALL_PKGS)) -lm $(LDLIBS)

# A unit test of a tool's module links that module's object.
t/unit/dyno-route-http.t: bin/route/dyno-route-http.o

t/helper/%: t/helper/%.o $(LIB)
	$(CC) $(DYNO_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit: $(UNIT_TESTS)

# The packages come before anything compiles: GNU make builds the
# prerequisites of `check: all ...` first, so naming `deps` there is not
# enough.  Every object depends on .build-flags, and that waits for deps.
ifeq ($(NODEPS),)
ifneq ($(filter check demo,$(MAKECMDGOALS)),)
.build-flags: | deps
endif
ifneq ($(filter bench,$(MAKECMDGOALS)),)
.build-flags: | bench-deps
endif
check demo: deps
endif
check: all unit $(HELPERS) lint
	$(PROVE) -j$(PROVE_JOBS) --failures --comments --exec t/helper/tap-exec $(UML_TESTS) $(UNIT_TESTS) $(sort $(wildcard t/*.bats))

lint:
	mandoc -Tlint -Wwarning $(MANPAGES)
	shellcheck -s bash $(BASHCOMP) t/helper/tap-exec t/helper/*.bash
	shellcheck -x $(SHELL_SCRIPTS)

# Installs only the missing Debian packages; elsewhere it names them and stops.
deps:
	@sh t/helper/deps.sh $(DEPS_BUILD) $(DEPS_TEST)

bench-deps:
	@sh t/helper/deps.sh $(DEPS_BUILD) $(DEPS_BENCH)

ifeq ($(NODEPS),)
bench: bench-deps
endif
bench: all $(HELPERS)
	@for b in t/bench/*.sh; do echo "== $$b"; bash "$$b" || exit 1; done

demo: all
	bash examples/demo.sh

# For maintainers, before a release: the README's two commands on a
# throw-away Debian 12 root (mmdebstrap), as a newcomer would type them.
.PHONY: fresh-check
fresh-check:
	@sh t/helper/deps.sh mmdebstrap
	bash t/helper/fresh-machine.sh

# Section-8 tools go to SBINDIR; units and the cron line name the installed
# paths (/usr/sbin/ and /usr/bin/ in share/ are rewritten).
SBIN_TOOLS     = logplexd dyno-route dyno-manager space-net dyno-agent
SBIN_TOOLS    += dyno-slugd
SBIN_PROGS     = $(addprefix bin/,$(filter $(SBIN_TOOLS),$(TOOLS)))
BIN_PROGS      = $(filter-out $(SBIN_PROGS),$(PROGS))
REWRITE        = sed -e 's|/usr/sbin/|$(SBINDIR)/|g' -e 's|/usr/bin/|$(BINDIR)/|g'
UNITS         := $(wildcard share/systemd/*)

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 755 $(BIN_PROGS) $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(SBIN_PROGS) $(DESTDIR)$(SBINDIR)
	for m in $(MANPAGES); do s=$${m##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s; \
		$(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 644 $(BASHCOMP) $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 644 $(ZSHCOMP) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -d $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/dyno
	$(INSTALL) -m 644 share/dyno.conf $(DESTDIR)$(DATADIR)/dyno.conf.example
	for b in share/buildpacks/*/; do b=$${b%/}; \
		$(INSTALL) -d $(DESTDIR)$(DATADIR)/buildpacks/$${b##*/}/bin; \
		$(INSTALL) -m 755 $$b/bin/* $(DESTDIR)$(DATADIR)/buildpacks/$${b##*/}/bin/; done
	[ -e $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf ] || \
		$(INSTALL) -m 644 share/dyno.conf $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/cron.d $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do $(REWRITE) "$$u" >$(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; \
		chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; done
	$(INSTALL) -m 644 share/tmpfiles.d/dyno.conf $(DESTDIR)$(TMPFILESDIR)/dyno.conf
	$(INSTALL) -m 644 share/sysusers.d/dyno.conf $(DESTDIR)$(SYSUSERSDIR)/dyno.conf
	$(REWRITE) share/cron.d/dyno-cycle >$(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-cycle
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-cycle
	$(REWRITE) share/cron.d/dyno-certs-acm >$(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-certs-acm
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-certs-acm
	$(INSTALL) -m 644 LICENSE $(DESTDIR)$(DOCDIR)/LICENSE

.PHONY: uninstall
# Removes what install put there; dyno.conf only if it was never edited.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BIN_PROGS))) \
		$(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(SBIN_PROGS))) \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(BASHCOMP))) \
		$(addprefix $(DESTDIR)$(ZSHCOMPDIR)/,$(notdir $(ZSHCOMP))) \
		$(addprefix $(DESTDIR)$(SYSTEMDDIR)/,$(notdir $(UNITS))) \
		$(DESTDIR)$(TMPFILESDIR)/dyno.conf $(DESTDIR)$(SYSUSERSDIR)/dyno.conf \
		$(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-cycle \
		$(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-certs-acm \
		$(DESTDIR)$(DATADIR)/dyno.conf.example $(DESTDIR)$(DOCDIR)/LICENSE
	rm -rf $(DESTDIR)$(DATADIR)/buildpacks
	for m in $(MANPAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	! cmp -s share/dyno.conf $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf || \
		rm -f $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf
	-rmdir $(DESTDIR)$(SYSCONFDIR)/dyno $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) \
		2>/dev/null

# libFuzzer on dyno-route's parser (clang); never part of make check.
# The corpus in t/fuzz/corpus/ is replayed by t/unit/dyno-route-http.t.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	mkdir -p t/fuzz/out
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -Ibin/route \
		-fsanitize=fuzzer,address,undefined \
		-o t/fuzz/out/dyno-route-request t/fuzz/dyno-route-request.c \
		bin/route/dyno-route-http.c
	t/fuzz/out/dyno-route-request -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 -artifact_prefix=t/fuzz/out/ \
		t/fuzz/corpus/dyno-route

clean:
	rm -f $(PROGS) $(addsuffix /*.o,$(SRC_DIRS)) $(addsuffix /*.d,$(SRC_DIRS)) lib/*.o lib/*.d $(LIB) t/unit/*.o t/unit/*.d \
		$(UNIT_TESTS) $(HELPERS) t/helper/*.o t/helper/*.d .build-flags \
		.build-version

-include $(wildcard $(addsuffix /*.d,$(SRC_DIRS)) lib/*.d t/unit/*.d t/helper/*.d)
