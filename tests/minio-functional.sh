#!/usr/bin/env bash
# Runs minio-go's own functional test suite (functional_tests.go from the
# github.com/minio/minio-go/v7 module this repository pins) against a fresh
# `ecstore server`, then prints how many test functions passed, failed and
# were not applicable (the server answered NotImplemented).
#
# Usage: tests/minio-functional.sh [-k]
#   -k          keep the work folder (suite binary, server log, suite log)
# Environment:
#   ECSTORE_BIN  an ecstore binary to test (default: built from this tree)
#   MINT_MODE    "full" (default: every test function) or "core" (two)
#   MINT_FUNCS   a space-separated subset of test functions to run (default all);
#                the suite is recompiled with a main that calls only those
#   WORK_DIR     where to put the work folder (default: mktemp)
#   ECSTORE_SERVER_ARGS  extra flags for `ecstore server` (say --upload-expiry 1h)
# Exit status: 0 when no function failed, 1 otherwise, 2 on setup errors.
set -euo pipefail

keep=0
if [ "${1:-}" = "-k" ]; then keep=1; fi

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${WORK_DIR:-$(mktemp -d -t ecstore-minio-functional-XXXXXX)}"
mkdir -p "$work"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 0 ]; then
    rm -rf "$work"
  else
    echo "work folder kept: $work" >&2
  fi
}
trap cleanup EXIT

# 1. The suite, from the module cache, at the version go.mod pins.
version="$(cd "$root" && go list -m -f '{{.Version}}' github.com/minio/minio-go/v7)"
moddir="$(cd "$root" && go mod download -json "github.com/minio/minio-go/v7@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ ! -f "$moddir/functional_tests.go" ]; then
  echo "minio-functional: functional_tests.go not found in $moddir" >&2
  exit 2
fi
suite="$work/suite"
mkdir -p "$suite"
cp "$moddir/functional_tests.go" "$suite/functional_tests.go"
chmod u+w "$suite/functional_tests.go"
# Drop its "mint" build constraint: building with -tags mint would also pull
# the file into the minio-go package itself and break that package.
sed -i '1{/^\/\/go:build mint$/d}' "$suite/functional_tests.go"
if [ -n "${MINT_FUNCS:-}" ]; then
  # Rename the suite's main and call only the named functions.
  sed -i 's/^func main() {$/func suiteMain() {/' "$suite/functional_tests.go"
  {
    echo 'package main'
    echo 'import ("log/slog"; "os")'
    echo 'var _ = suiteMain'
    echo 'func main() {'
    echo '  slog.SetDefault(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { if a.Key == slog.MessageKey || a.Value.String() == "" { return slog.Attr{} }; return a }})))'
    for f in $MINT_FUNCS; do echo "  $f()"; done
    echo '}'
  } >"$suite/main_subset.go"
fi
cat >"$suite/go.mod" <<EOF
module ecstore.test/miniofunctional

go 1.24

require github.com/minio/minio-go/v7 $version
EOF
cp "$moddir/go.sum" "$suite/go.sum"
chmod u+w "$suite/go.sum"
(
  cd "$suite"
  # The suite's own imports (uuid, go-humanize) are minio-go dependencies,
  # so they resolve from the module cache through minio-go's go.sum.
  GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true
  GOFLAGS=-mod=mod go build -o "$work/minio-functional" .
) || { echo "minio-functional: building the suite failed" >&2; exit 2; }

# 2. A fresh server on a free port, over HTTPS (certificates from
# `ecstore certs`), with a key ring: the suite's SSE-C and SSE-S3 functions
# run.
bin="${ECSTORE_BIN:-}"
if [ -z "$bin" ]; then
  bin="$work/ecstore"
  (cd "$root" && go build -o "$bin" ./cmd/ecstore) || { echo "minio-functional: building ecstore failed" >&2; exit 2; }
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))"
addr="127.0.0.1:$port"
drives=()
for i in 1 2 3 4 5 6; do drives+=("$work/drives/drive$i"); done
"$bin" certs --out "$work/tls" --host 127.0.0.1 >/dev/null
head -c 32 /dev/urandom | base64 >"$work/kms.key"
export ECSTORE_ACCESS_KEY="minio-functional-ak"
export ECSTORE_SECRET_KEY="minio-functional-sk-0123456789"
# shellcheck disable=SC2086 # the extra flags are words
"$bin" server --address "$addr" --tls-cert "$work/tls/127.0.0.1.pem" --tls-key "$work/tls/127.0.0.1-key.pem" \
  --kms-key-file "$work/kms.key" ${ECSTORE_SERVER_ARGS:-} "${drives[@]}" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  if curl -s -o /dev/null --cacert "$work/tls/ca.pem" "https://$addr/" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "minio-functional: ecstore exited at start:" >&2
    cat "$work/server.log" >&2
    exit 2
  fi
  sleep 0.1
done

# 3. The suite. RUN_ON_FAIL=1: a failing function is logged and the run
# goes on (by default the suite stops at the first failure). Over TLS
# (SSL_CERT_FILE: the CA), so the SSE-C functions run; ENABLE_KMS=1 runs
# the SSE-S3 ones.
# It runs in its own folder: some functions leave files in the working
# directory.
mkdir -p "$work/run"
set +e
cd "$work/run"
SERVER_ENDPOINT="$addr" ACCESS_KEY="$ECSTORE_ACCESS_KEY" SECRET_KEY="$ECSTORE_SECRET_KEY" \
  ENABLE_HTTPS=1 ENABLE_KMS=1 SSL_CERT_FILE="$work/tls/ca.pem" MINT_MODE="${MINT_MODE:-full}" RUN_ON_FAIL=1 \
  "$work/minio-functional" >"$work/suite.log" 2>&1
suite_rc=$?
cd "$root"
set -e

# 4. The tally: one JSON line per finished function, with a status.
summary="$(python3 - "$work/suite.log" <<'PY'
import json, sys
status = {}
order = []
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    st = rec.get("status")
    name = rec.get("name", "").removeprefix("minio-go: ")
    if not st or not name:
        continue
    if name not in status:
        order.append(name)
    # A function logs once; keep the worst status if it logged more.
    rank = {"PASS": 0, "NA": 1, "FAIL": 2}
    if rank.get(st, 2) >= rank.get(status.get(name, "PASS"), 0):
        status[name] = st
        if st == "FAIL":
            status[name + "\0msg"] = (rec.get("function", "") + ": " + rec.get("message", "") + ": " + str(rec.get("error", ""))).strip()
        if st == "NA":
            status[name + "\0msg"] = rec.get("alert", "")
counts = {"PASS": 0, "FAIL": 0, "NA": 0}
for n in order:
    counts[status[n]] = counts.get(status[n], 0) + 1
for n in order:
    if status[n] != "PASS":
        print(f"{status[n]:4} {n}: {status.get(n + chr(0) + 'msg', '')[:300]}")
print(f"minio-go functional suite: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['NA']} not applicable")
PY
)"
echo "$summary"
if [ "$suite_rc" -ne 0 ]; then
  echo "minio-functional: the suite exited with status $suite_rc; last lines of its log:"
  tail -n 15 "$work/suite.log" | cut -c1-400
fi
fails="$(echo "$summary" | sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p')"
if [ "$suite_rc" -ne 0 ] || [ "${fails:-1}" != 0 ]; then
  exit 1
fi
exit 0
