# SPDX-License-Identifier: ISC
# Shared by t/13*-*.bats: a test CA and certificates made with openssl.
# shellcheck shell=bash

# certs_ca DIR: a CA (DIR/ca.pem, DIR/ca.key) and its openssl ca config.
certs_ca() {
	local d=$1
	mkdir -p "$d/ca.db"
	: >"$d/ca.db/index.txt"
	echo 1000 >"$d/ca.db/serial"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 30 -subj /CN=dynotest-ca -keyout "$d/ca.key" \
		-out "$d/ca.pem" 2>/dev/null
	cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = dflt
[dflt]
database = $d/ca.db/index.txt
serial = $d/ca.db/serial
new_certs_dir = $d/ca.db
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
}

# certs_when DAYS: an openssl ca date DAYS from now (negative: before);
# "Ns" for N seconds.
certs_when() {
	case $1 in
	*s) date -u -d "${1%s} seconds" +%Y%m%d%H%M%SZ ;;
	*) date -u -d "$1 days" +%Y%m%d%H%M%SZ ;;
	esac
}

# certs_leaf DIR NAME FROM TO DNSNAME...: a leaf valid FROM..TO days from
# now, signed by DIR's CA: DIR/NAME.key, NAME.crt, NAME.chain (leaf, CA).
certs_leaf() {
	local d=$1 n=$2 from=$3 to=$4 san
	shift 4
	san=$(printf 'DNS:%s,' "$@")
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$1" -addext "subjectAltName=${san%,}" \
		-keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null
	openssl ca -batch -notext -config "$d/ca.cnf" -cert "$d/ca.pem" \
		-keyfile "$d/ca.key" -startdate "$(certs_when "$from")" \
		-enddate "$(certs_when "$to")" -in "$d/$n.csr" \
		-out "$d/$n.crt" 2>/dev/null
	cat "$d/$n.crt" "$d/ca.pem" >"$d/$n.chain"
}
