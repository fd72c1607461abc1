#!/usr/bin/env bats
# make install as a packager runs it: the .deb through lintian, the units
# through systemd-analyze, sysusers/tmpfiles, uninstall, make -q, flags.
bats_require_minimum_version 1.5.0
load helper/common

setup() {
	dyno_setup
}

teardown() {
	dyno_teardown
}

# An install whose paths all lie under $DYNO_TEST_DIR/i (units name them).
install_tree() {
	I=$DYNO_TEST_DIR/i
	make -s -C "$TOP" install PREFIX="$I/usr" SYSCONFDIR="$I/etc" \
		SYSTEMDDIR="$I/units" TMPFILESDIR="$I/tmpfiles.d" \
		SYSUSERSDIR="$I/sysusers.d" "$@" >/dev/null
}

@test "a .deb of make install DESTDIR=... PREFIX=/usr has no lintian error or warning" {
	require_cmd lintian dpkg-deb dpkg-shlibdeps
	run -0 sh "$TOP/t/helper/deb.sh" "$DYNO_TEST_DIR/deb"
	deb=$output
	# initial-upload-closes-no-bugs is about the test's own changelog.
	run lintian --tag-display-limit 0 --suppress-tags initial-upload-closes-no-bugs "$deb"
	refute_output --regexp '^[EW]: '
	run dpkg-deb -c "$deb"
	assert_output --partial './usr/sbin/logplexd'
	assert_output --partial './usr/bin/dyno-run'
	assert_output --partial './usr/share/doc/dyno/copyright'
}

@test "the installed units name the installed programs and pass systemd-analyze verify" {
	require_cmd systemd-analyze
	install_tree
	run grep -h '^Exec' "$I"/units/*
	assert_output --partial "ExecStart=$I/usr/sbin/logplexd"
	assert_output --partial "ExecStart=$I/usr/sbin/dyno-manager %i"
	assert_output --partial "ExecStart=$I/usr/bin/dyno-cycle --daily --all-apps"
	refute_output --partial "/usr/bin/dyno-route"
	run grep -c "$I/usr/bin/dyno-cycle --daily" "$I/etc/cron.d/dyno-cycle"
	assert_output 1
	run -0 --separate-stderr env SYSTEMD_UNIT_PATH="$I/units:" \
		systemd-analyze verify --man=no "$I"/units/*
	assert_equal "$stderr" ""
	# /run/dyno is tmpfiles.d's (1775 root:_dyno): no unit resets it
	run grep -l '^RuntimeDirectory=' "$I"/units/*
	assert_output ""
	# a daemon a client can reach runs unprivileged, and says when it listens
	for u in logplexd dyno-route; do
		run grep -x -e 'User=_dyno' -e 'NoNewPrivileges=yes' -e 'Type=notify' \
			-e 'ProtectSystem=strict' -e 'PrivateTmp=yes' "$I/units/$u.service"
		assert_equal "${#lines[@]}" 5
	done
}

@test "sysusers.d makes _dyno and tmpfiles.d gives it /run/dyno (sticky)" {
	require_cmd systemd-sysusers systemd-tmpfiles
	install_tree
	R=$DYNO_TEST_DIR/r
	mkdir -p "$R/etc" "$R/run"
	run -0 systemd-sysusers --root="$R" "$I/sysusers.d/dyno.conf"
	run grep -c '^_dyno:' "$R/etc/passwd"
	assert_output 1
	run -0 systemd-tmpfiles --root="$R" --create "$I/tmpfiles.d/dyno.conf"
	gid=$(awk -F: '$1 == "_dyno" { print $3 }' "$R/etc/group")
	run stat -c '%a %u %g' "$R/run/dyno"
	assert_output "1775 0 $gid"
}

@test "the cron line does nothing while systemd runs dyno-cycle.timer" {
	install_tree
	mkdir -p "$DYNO_TEST_DIR/fake"
	printf '#!/bin/sh\n[ "$3" = dyno-cycle.timer ] && exit "${TIMER_ACTIVE:-1}"\nexit 1\n' \
		>"$DYNO_TEST_DIR/fake/systemctl"
	printf '#!/bin/sh\necho ran "$@"\n' >"$DYNO_TEST_DIR/fake/dyno-cycle"
	chmod +x "$DYNO_TEST_DIR/fake/systemctl" "$DYNO_TEST_DIR/fake/dyno-cycle"
	cmd=$(sed -n 's/^[^#].*\troot\t//p' "$I/etc/cron.d/dyno-cycle")
	cmd=${cmd//$I\/usr\/bin\/dyno-cycle/$DYNO_TEST_DIR/fake/dyno-cycle}
	run env PATH="$DYNO_TEST_DIR/fake:$PATH" TIMER_ACTIVE=0 sh -c "$cmd"
	assert_output ""
	run env PATH="$DYNO_TEST_DIR/fake:$PATH" TIMER_ACTIVE=3 sh -c "$cmd"
	assert_output "ran --daily --all-apps"
}

@test "uninstall removes every file install made, an edited dyno.conf aside" {
	install_tree
	run find "$I" -type f
	[ "${#lines[@]}" -gt 30 ]
	install_tree uninstall
	run find "$I" -type f
	assert_output ""
	install_tree
	echo '# edited' >>"$I/etc/dyno/dyno.conf"
	install_tree uninstall
	run find "$I" -type f
	assert_output "$I/etc/dyno/dyno.conf"
}

@test "make -q is true; a packager's _FORTIFY_SOURCE wins; BIND_NOW and RELRO" {
	run -0 make -s -C "$TOP" -q all
	run -1 make -s -C "$TOP" -q -W lib/num.c all
	run make -s -C "$TOP" -n -W bin/manager/dyno-cycle.c CPPFLAGS=-D_FORTIFY_SOURCE=3 bin/manager/dyno-cycle.o
	assert_output --partial "-D_FORTIFY_SOURCE=3"
	refute_output --partial "-D_FORTIFY_SOURCE=2"
	run make -s -C "$TOP" -n -W bin/manager/dyno-cycle.c bin/manager/dyno-cycle.o
	# (an ASan build, make check SANITIZE=1, has no _FORTIFY_SOURCE at all)
	if [ "${SANITIZE:-}" = 1 ]; then
		refute_output --partial "_FORTIFY_SOURCE"
	else
		assert_output --regexp "-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 .* -c "
	fi
	require_cmd readelf
	run readelf -d "$TOP/bin/dyno-run"
	assert_output --regexp 'FLAGS.*BIND_NOW'
	run readelf -l "$TOP/bin/dyno-run"
	assert_output --partial GNU_RELRO
	# dyno-run links libinih and libcap-ng dynamically: their updates reach it
	run readelf -d "$TOP/bin/dyno-run"
	assert_output --partial 'libcap-ng.so'
	assert_output --partial 'libinih.so'
}

@test "the seccomp generator makes a target's filter for a cross build" {
	run -0 "$TOP/bin/run/dyno-run.bpfgen" aarch64
	assert_output --partial "0xc00000b7 }"	# AUDIT_ARCH_AARCH64
	refute_output --partial "0xc000003e }"	# AUDIT_ARCH_X86_64
	run -0 "$TOP/bin/run/dyno-run.bpfgen"
	assert_equal "$output" "$(cat "$TOP/bin/run/dyno-run.bpf.inc")"
	run -64 "$TOP/bin/run/dyno-run.bpfgen" dynotest-arch
}
