#!/usr/bin/env bash
# run.sh checks the fake cloud against @azure/msal-node: it installs the
# pinned msal-node into a temporary directory, starts cmd/fakecloud, runs
# check.mjs and fails if any step fails. Needs node >= 20, npm and go.
set -euo pipefail
cd "$(dirname "$0")"
MSAL_NODE_VERSION=7.2.3
here="$(pwd)"
work="$(mktemp -d)"
fake_pid=""
cleanup() {
	if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "msal-node ${MSAL_NODE_VERSION} into ${work}"
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent "@azure/msal-node@${MSAL_NODE_VERSION}")
cp check.mjs "$work/"

go build -o "$work/fakecloud" ../
redirect="http://localhost:8080/auth/callback"
"$work/fakecloud" -users 20 -grant-consent -sign-in-as admin -ca-file "$work/ca.pem" \
	-redirect-uri "$redirect" >"$work/fakecloud.out" 2>&1 &
fake_pid=$!
for _ in $(seq 1 100); do
	grep -q "Press Ctrl-C" "$work/fakecloud.out" 2>/dev/null && break
	sleep 0.1
done
grep -q "Press Ctrl-C" "$work/fakecloud.out" || { cat "$work/fakecloud.out"; echo "fakecloud did not start"; exit 1; }
field() { sed -n "s/^ *$1: *\([^ ]*\).*/\1/p" "$work/fakecloud.out" | head -1; }
tls_url="$(field 'TLS listener (MSAL, Graph)')"
export FAKE_HOST="${tls_url#https://}"
export TENANT_ID="$(field 'ID')"
export CLIENT_ID="$(field 'Client ID')"
export CLIENT_SECRET="$(field 'Client secret')"
export REDIRECT_URI="$redirect"
export NODE_EXTRA_CA_CERTS="$work/ca.pem"
cd "$work"
node check.mjs
