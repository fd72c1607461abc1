#!/usr/bin/env bats
# SPDX-License-Identifier: ISC
# dyno-domains and dyno-certs: names, ownership, certificate checks, the store.
bats_require_minimum_version 1.5.0
load helper/common
load helper/certs

setup() {
	dyno_setup
	require_cmd openssl
	D=$DYNO_TEST_DIR
	mkdir -p "$DYNO_ROOT/apps/app-a" "$DYNO_ROOT/apps/app-b"
	certs_ca "$D"
}
teardown() { dyno_teardown; }

@test "domains: add, list, remove; lower case; one app per name" {
	run --separate-stderr dyno-domains app-a add WWW.Example.COM.
	assert_success
	dyno-domains app-a add '*.example.com'
	run --separate-stderr dyno-domains app-a
	assert_output $'www.example.com\n*.example.com'
	run --separate-stderr dyno-domains app-a add www.example.com
	assert_success
	[[ $stderr == *"already a domain of app-a"* ]]
	run --separate-stderr dyno-domains app-b add www.example.com
	assert_failure 1
	assert_equal "$stderr" "dyno-domains: www.example.com: already added to app app-a"
	run --separate-stderr dyno-domains app-b list
	assert_output ""
	dyno-domains app-a remove www.example.com
	run --separate-stderr dyno-domains app-a remove www.example.com
	assert_failure 1
	dyno-domains app-b add www.example.com
	run --separate-stderr dyno-domains app-b list
	assert_output www.example.com
	run --separate-stderr dyno-domains nope add a.example.com
	assert_failure 66
}

@test "domains: hostile names are refused" {
	local long
	long=$(printf 'a%.0s' {1..63})
	for name in "" "example" "a..example.com" "-a.example.com" \
		"a-.example.com" "x.*.example.com" "*.com" "**.example.com" \
		"a b.example.com" "ex_ample.com" "../../etc/passwd" \
		$'a.com\nb.com' "a.com/x" "$long$long.$long$long.com" \
		"$long.$long.$long.$long.com" "é.example.com"; do
		run --separate-stderr dyno-domains app-a add "$name"
		[ "$status" -eq 65 ] || { echo "accepted: $name"; false; }
	done
	run --separate-stderr dyno-domains app-a
	assert_output ""
}

@test "domains: two adds of one name at once: one app gets it" {
	for i in 1 2 3 4 5 6; do
		dyno-domains app-a add "n$i.example.com" 2>/dev/null &
		dyno-domains app-b add "n$i.example.com" 2>/dev/null &
	done
	wait
	for i in 1 2 3 4 5 6; do
		n=$(cat "$DYNO_ROOT"/apps/*/domains | grep -c "^n$i.example.com$")
		[ "$n" -eq 1 ]
	done
}

@test "certs: a good chain installs; the status table names it" {
	certs_leaf "$D" ok -1 30 www.a.test '*.a.test'
	dyno-domains app-a add www.a.test
	dyno-domains app-a add other.test
	run --separate-stderr dyno-certs app-a add "$D/ok.chain" "$D/ok.key"
	assert_success
	assert_output www.a.test
	[[ $stderr == *"does not cover other.test"* ]]
	d=$DYNO_ROOT/apps/app-a/certs/www.a.test
	[ "$(stat -c %a "$d/key.pem")" = 600 ]
	cmp "$d/chain.pem" "$D/ok.chain"
	run --separate-stderr dyno-certs app-a
	assert_success
	assert_line --index 0 --regexp '^Domain +Certificate +Status +Expires +Issuer$'
	assert_line --regexp '^www.a.test +www.a.test +OK +20[0-9-]+ [0-9:]+ UTC dynotest-ca$'
	assert_line --regexp '^other.test +- +None +- +-$'
	run --separate-stderr dyno-certs app-a info
	assert_line "Common Name(s): www.a.test, *.a.test"
	assert_line "Issuer:         dynotest-ca"
	ls -A "$DYNO_ROOT/apps/app-a/certs" >"$D/ls"
	run cat "$D/ls"
	assert_output www.a.test
}

@test "certs: refused with the reason, nothing stored" {
	dyno-domains app-a add www.a.test
	certs_leaf "$D" ok -1 30 www.a.test
	certs_leaf "$D" other -1 30 www.a.test
	certs_leaf "$D" old -60 -1 www.a.test
	certs_leaf "$D" soon 2 30 www.a.test
	certs_leaf "$D" elsewhere -1 30 www.b.test
	cat "$D/ca.pem" "$D/ok.crt" >"$D/reversed.chain"
	head -c 70000 /dev/zero | tr '\0' 'A' >"$D/huge.pem"
	run --separate-stderr dyno-certs app-a add "$D/ok.chain" "$D/other.key"
	assert_failure 65
	[[ $stderr == *"the key does not match the certificate"* ]]
	run --separate-stderr dyno-certs app-a add "$D/old.chain" "$D/old.key"
	assert_failure 65
	[[ $stderr == *"certificate 1 of the chain expired on "* ]]
	run --separate-stderr dyno-certs app-a add "$D/soon.chain" "$D/soon.key"
	assert_failure 65
	[[ $stderr == *"is not valid before"* ]]
	run --separate-stderr dyno-certs app-a add "$D/reversed.chain" "$D/ok.key"
	assert_failure 65
	[[ $stderr == *"chain out of order"* ]]
	run --separate-stderr dyno-certs app-a add "$D/elsewhere.chain" "$D/elsewhere.key"
	assert_failure 65
	[[ $stderr == *"names (www.b.test) cover none of app app-a's domains (www.a.test)"* ]]
	run --separate-stderr dyno-certs app-a add "$D/huge.pem" "$D/ok.key"
	assert_failure 65
	[[ $stderr == *"over 65536 bytes"* ]]
	run --separate-stderr dyno-certs app-a add "$D/ok.key" "$D/ok.key"
	assert_failure 65
	run --separate-stderr dyno-certs app-a add "$D/ok.chain" "$D/ok.chain"
	assert_failure 65
	run --separate-stderr dyno-certs app-a add "$D/ok.chain" "$D/ok.key" --name ../x
	assert_failure 65
	[ ! -e "$DYNO_ROOT/apps/app-a/certs" ] ||
		[ -z "$(ls -A "$DYNO_ROOT/apps/app-a/certs")" ]
}

@test "certs: replace by name, remove, at most 100 per app" {
	dyno-domains app-a add www.a.test
	certs_leaf "$D" one -1 30 www.a.test
	certs_leaf "$D" two -1 30 www.a.test
	dyno-certs app-a add "$D/one.chain" "$D/one.key" --name main
	dyno-certs app-a add --name main "$D/two.chain" "$D/two.key"
	cmp "$DYNO_ROOT/apps/app-a/certs/main/chain.pem" "$D/two.chain"
	for i in $(seq 2 100); do
		dyno-certs app-a add "$D/one.chain" "$D/one.key" --name "c$i" >/dev/null
	done
	run --separate-stderr dyno-certs app-a add "$D/one.chain" "$D/one.key" --name c101
	assert_failure 1
	[[ $stderr == *"has 100 certificates, the most allowed"* ]]
	dyno-certs app-a add "$D/one.chain" "$D/one.key" --name c50
	dyno-certs app-a remove main
	run --separate-stderr dyno-certs app-a remove main
	assert_failure 1
	[ ! -e "$DYNO_ROOT/apps/app-a/certs/main" ]
}

@test "certs: what a crashed add or remove left behind is swept by the next" {
	dyno-domains app-a add www.a.test
	certs_leaf "$D" one -1 30 www.a.test
	dyno-certs app-a add "$D/one.chain" "$D/one.key" --name main
	local c="$DYNO_ROOT/apps/app-a/certs"
	mkdir -p "$c/.tmp-4242-deadbeef" "$c/.tmp-rm-4243/sub"
	cp "$D/one.key" "$c/.tmp-4242-deadbeef/key.pem"
	ln -s /etc "$c/.tmp-rm-4243/sub/etc"
	dyno-certs app-a add "$D/one.chain" "$D/one.key" --name other
	[ ! -e "$c/.tmp-4242-deadbeef" ] && [ ! -e "$c/.tmp-rm-4243" ]
	[ -f /etc/passwd ]
	mkdir "$c/.tmp-4244-cafecafe"
	dyno-certs app-a remove other
	[ ! -e "$c/.tmp-4244-cafecafe" ]
	run ls -A "$c"
	assert_output main
}

@test "certs: a stored file that leads outside the app is not read" {
	dyno-domains app-a add www.a.test
	certs_leaf "$D" ok -1 30 www.a.test
	dyno-certs app-a add "$D/ok.chain" "$D/ok.key" --name x
	ln -sf /etc/passwd "$DYNO_ROOT/apps/app-a/certs/x/chain.pem"
	run --separate-stderr dyno-certs app-a info
	assert_success
	assert_output ""
	[[ $stderr == *"certs/x: "* ]]
}

@test "certs: a tenant's control characters never reach the terminal" {
	dyno-domains app-a add www.a.test
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj "/CN=evil$(printf '\033')[2J" \
		-addext "subjectAltName=DNS:www.a.test,DNS:x$(printf '\033')y.a.test" \
		-keyout "$D/evil.key" -out "$D/evil.crt" 2>/dev/null
	dyno-certs app-a add "$D/evil.crt" "$D/evil.key" --name evil
	run --separate-stderr dyno-certs app-a
	assert_success
	assert_line --partial 'evil?[2J'
	run --separate-stderr dyno-certs app-a info
	assert_line "Common Name(s): www.a.test"
	! grep -q "$(printf '\033')" <<<"$output"
}
