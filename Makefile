# SPDX-License-Identifier: ISC
# dyno: build, test, lint, benchmark and install every tool.  GNU make.

PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man
DATADIR       ?= $(PREFIX)/share/dyno
SYSCONFDIR    ?= /etc
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/vendor-completions
SYSTEMDDIR    ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR   ?= $(PREFIX)/lib/tmpfiles.d
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
HARDEN         = -fstack-protector-strong -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
ifeq ($(SANITIZE),1)
HARDEN         = -fstack-protector-strong -fsanitize=address,undefined \
                 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS    = -fsanitize=address,undefined
endif

# Every tool that may exist; a tool is built once bin/<tool>.c exists.
ALL_TOOLS      = dyno-manager dyno-run release logplexd dyno-logs dyno-route \
                 dyno-cycle space-net
TOOLS         := $(filter $(ALL_TOOLS),$(basename $(notdir $(wildcard bin/*.c))))
PROGS         := $(addprefix bin/,$(TOOLS))

# pkg-config modules each tool links, and nothing more.
PKGS_dyno-manager = inih
# lib/cgstat's load averages (log-runtime-metrics) use exp(3).
LIBS_dyno-manager = -lm
PKGS_dyno-run     = inih libcap-ng
# dyno-run starts every dyno: its two small libraries are linked in, which
# saves ~0.2 ms of dynamic loading per start (measured); DYNAMIC=1 for not.
ifeq ($(DYNAMIC),)
PKGS_dyno-run     =
STATIC_dyno-run   = -linih -lcap-ng
endif
PKGS_release      = inih libcurl libarchive libcrypto
PKGS_logplexd     = inih libcurl gnutls
PKGS_dyno-logs    = inih
PKGS_dyno-route   = inih openssl
PKGS_dyno-cycle   = inih
PKGS_space-net    = inih libnl-3.0 libnl-route-3.0 libnftables
ALL_PKGS       = inih libcap-ng libseccomp libcurl gnutls openssl libnl-3.0 libnl-route-3.0

# Deferred: on a fresh machine `deps` installs pkg-config and the -dev
# packages after this file is read.
PKG_CFLAGS     = $(shell $(PKG_CONFIG) --cflags $(ALL_PKGS) 2>/dev/null)
DYNO_CPPFLAGS  = -D_GNU_SOURCE -Ilib $(PKG_CFLAGS) -MMD -MP
DYNO_CFLAGS    = -std=gnu11 $(WARNINGS) $(WERROR) $(HARDEN) $(CFLAGS)
ALL_LDFLAGS    = $(SAN_LDFLAGS) $(LDFLAGS)

# Debian packages: to build, to test, to benchmark.
DEPS_BUILD     = gcc make pkg-config libcap-ng-dev libseccomp-dev libnl-3-dev \
                 libnl-route-3-dev libcurl4-openssl-dev libinih-dev libgnutls28-dev \
                 libssl-dev libarchive-dev libnftables-dev
DEPS_TEST      = bats bats-assert bats-support mandoc shellcheck curl python3 procps \
                 psmisc iproute2 util-linux zsh bash-completion rsyslog nftables \
                 netcat-openbsd openssl bsdextrautils user-mode-linux kmod attr
DEPS_BENCH     = ruby-foreman time bc hyperfine wrk haproxy nginx-light rsyslog bubblewrap \
                 crun runc

LIB_SRCS      := $(wildcard lib/*.c)
LIB_OBJS      := $(LIB_SRCS:.c=.o)
LIB            = lib/libdyno.a
BIN_OBJS      := $(patsubst %.c,%.o,$(wildcard bin/*.c))
UNIT_SRCS     := $(wildcard t/unit/*.c)
UNIT_TESTS    := $(UNIT_SRCS:.c=.t)
HELPER_SRCS   := $(wildcard t/helper/*.c)
HELPERS       := $(HELPER_SRCS:.c=)
MANPAGES      := $(wildcard man/*.[1-8])
BASHCOMP      := $(wildcard completions/bash/*)
ZSHCOMP       := $(wildcard completions/zsh/_*)
SHELL_SCRIPTS := $(wildcard .ci/run t/helper/*.sh t/bench/*.sh examples/*/*.sh \
                 share/*.sh t/*.uml)
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

# Objects are rebuilt whenever the flags change (SANITIZE=1 and back).
FLAGS_ID := $(shell echo '$(DYNAMIC) $(CC) $(DYNO_CPPFLAGS) $(CPPFLAGS) $(DYNO_CFLAGS) $(ALL_LDFLAGS)' | cksum | cut -d' ' -f1)
.build-flags: FORCE
	@[ "$$(cat $@ 2>/dev/null)" = "$(FLAGS_ID)" ] || echo "$(FLAGS_ID)" > $@
FORCE:

%.o: %.c .build-flags
	$(CC) $(DYNO_CPPFLAGS) $(CPPFLAGS) $(DYNO_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

comma := ,
define tool_rule
bin/$(1): $(patsubst %.c,%.o,$(wildcard bin/$(1).c bin/$(1)-*.c)) $(LIB)
	$$(CC) $$(DYNO_CFLAGS) $$(ALL_LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) \
		$$(if $$(STATIC_$(1)),-Wl$$(comma)-Bstatic $$(STATIC_$(1)) -Wl$$(comma)-Bdynamic) \
		$$(if $$(PKGS_$(1)),$$(shell $$(PKG_CONFIG) --libs $$(PKGS_$(1)))) \
		$$(LIBS_$(1)) $$(LDLIBS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

# dyno-run: the seccomp filter is compiled once, here, by a generator linked
# with libseccomp; dyno-run only loads the BPF (compiling costs ~16 ms/start).
bin/dyno-run-secure.o: bin/dyno-run.bpf.inc
bin/dyno-run.bpf.inc: bin/dyno-run.bpfgen
	./bin/dyno-run.bpfgen >$@.tmp && mv $@.tmp $@
bin/dyno-run.bpfgen: bin/dyno-run.bpfgen.o
	$(CC) $(DYNO_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(shell $(PKG_CONFIG) --libs libseccomp) $(LDLIBS)
.PHONY: clean-dyno-run
clean: clean-dyno-run
clean-dyno-run:
	rm -f bin/dyno-run.bpfgen bin/dyno-run.bpf.inc

t/unit/%.t: t/unit/%.o $(LIB)
	$(CC) $(DYNO_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIB) \
		$(shell $(PKG_CONFIG) --libs $(ALL_PKGS)) -lm $(LDLIBS)

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

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	for m in $(MANPAGES); do s=$${m##*.}; \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$s; \
		$(INSTALL) -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 644 $(BASHCOMP) $(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 644 $(ZSHCOMP) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -d $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)/dyno
	$(INSTALL) -m 644 share/dyno.conf $(DESTDIR)$(DATADIR)/dyno.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf ] || \
		$(INSTALL) -m 644 share/dyno.conf $(DESTDIR)$(SYSCONFDIR)/dyno/dyno.conf
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDDIR)
	for u in share/systemd/*; do \
		sed 's|/usr/bin/|$(BINDIR)/|g' "$$u" >$(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; \
		chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$${u##*/}; done
	if [ -d share/tmpfiles.d ]; then $(INSTALL) -d $(DESTDIR)$(TMPFILESDIR); \
		$(INSTALL) -m 644 share/tmpfiles.d/dyno.conf $(DESTDIR)$(TMPFILESDIR)/dyno.conf; fi
	$(INSTALL) -d $(DESTDIR)$(SYSCONFDIR)/cron.d
	sed 's|/usr/bin/|$(BINDIR)/|g' share/cron.d/dyno-cycle \
		>$(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-cycle
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/cron.d/dyno-cycle

# libFuzzer on dyno-route's parser (clang); never part of make check.
# The corpus in t/fuzz/corpus/ is replayed by t/unit/dyno-route-http.t.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	mkdir -p t/fuzz/out
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE -Ilib -Ibin \
		-fsanitize=fuzzer,address,undefined \
		-o t/fuzz/out/dyno-route-request t/fuzz/dyno-route-request.c \
		bin/dyno-route-http.c
	t/fuzz/out/dyno-route-request -max_total_time=$(FUZZ_SECONDS) \
		-max_len=4096 -artifact_prefix=t/fuzz/out/ \
		t/fuzz/corpus/dyno-route

clean:
	rm -f $(PROGS) bin/*.o bin/*.d lib/*.o lib/*.d $(LIB) t/unit/*.o t/unit/*.d \
		$(UNIT_TESTS) $(HELPERS) t/helper/*.o t/helper/*.d .build-flags

-include $(wildcard bin/*.d lib/*.d t/unit/*.d t/helper/*.d)
