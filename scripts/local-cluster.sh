#!/usr/bin/env bash
# local-cluster.sh: the docker-compose topology as plain processes on
# 127.0.0.1, for machines without Docker: 6 storage nodes in 3 zones (2
# drives each), erasure coding 4+2, and 2 S3 gateways.
#
#   scripts/local-cluster.sh start    build ecstore, write the cluster map, start everything
#   scripts/local-cluster.sh status   which processes run
#   scripts/local-cluster.sh stop     stop them (data is kept; start again to resume)
#   scripts/local-cluster.sh clean    stop them and delete the data
#
# Settings (environment):
#   ECSTORE_CLUSTER_DIR     where the binary, map, drives, logs and pids go (./ecstore-cluster)
#   ECSTORE_GATEWAY_PORTS   the gateways' S3 ports (9000 9001)
#   ECSTORE_NODE_BASE_PORT  node i listens on BASE+i (9100: 9101..9106)
#   ECSTORE_CLUSTER_SECRET  internode secret (a local-only default)
#   ECSTORE_ACCESS_KEY, ECSTORE_SECRET_KEY   S3 credentials
#                           (ecstoreadmin / ecstoreadmin-secret, local use only)
#   ECSTORE_TLS             1 (default): TLS on every S3, internode and metadata port, with a
#                           private CA from `ecstore certs` in DIR/tls (clients
#                           trust DIR/tls/ca.pem); 0: plain HTTP
#   ECSTORE_PPROF_BASE_PORT unset (default): no profiles; else node i serves Go profiles
#                           (--pprof-address) on 127.0.0.1:BASE+i, gateway j on BASE+10+j
set -euo pipefail

cd "$(dirname "$0")/.."
dir=${ECSTORE_CLUSTER_DIR:-./ecstore-cluster}
gateway_ports=(${ECSTORE_GATEWAY_PORTS:-9000 9001})
base_port=${ECSTORE_NODE_BASE_PORT:-9100}
export ECSTORE_CLUSTER_SECRET=${ECSTORE_CLUSTER_SECRET:-ecstore-local-only-cluster-secret}
export ECSTORE_ACCESS_KEY=${ECSTORE_ACCESS_KEY:-ecstoreadmin}
export ECSTORE_SECRET_KEY=${ECSTORE_SECRET_KEY:-ecstoreadmin-secret}
nodes=6 zones=3 drives=2
tls=${ECSTORE_TLS:-1}
scheme=https
[ "$tls" = 1 ] || scheme=http

# alive PIDFILE: the process of PIDFILE still runs (and is an ecstore).
alive() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && grep -qa ecstore "/proc/$pid/cmdline" 2>/dev/null
}

# answers URL: something answers HTTP at URL.
answers() {
  curl -s -o /dev/null --max-time 2 --cacert "$dir/tls/ca.pem" "$1"
}

names() {
  for i in $(seq 1 $nodes); do echo "node$i"; done
  for i in "${!gateway_ports[@]}"; do echo "gateway$((i + 1))"; done
}

start() {
  for n in $(names); do
    if alive "$dir/pids/$n.pid"; then
      echo "local-cluster: $n already runs (pid $(cat "$dir/pids/$n.pid")); '$0 stop' first" >&2
      exit 1
    fi
  done
  mkdir -p "$dir/logs" "$dir/pids"
  echo "building ecstore into $dir/ecstore"
  go build -o "$dir/ecstore" ./cmd/ecstore

  map="$dir/cluster.yaml"
  {
    echo "# written by scripts/local-cluster.sh"
    echo "epoch: 1"
    echo "ec: 4+2"
    echo "nodes:"
    for i in $(seq 1 $nodes); do
      echo "  - id: node$i"
      echo "    address: 127.0.0.1:$((base_port + i))"
      echo "    zone: zone$(((i - 1) / (nodes / zones) + 1))" # as deploy/cluster.yaml
      echo "    drives: [{id: node$i-d1}, {id: node$i-d2}]"
    done
  } >"$map"

  # tls_args NAME: the TLS flags of process NAME (none without TLS).
  tls_args=()
  set_tls_args() {
    tls_args=()
    if [ "$tls" = 1 ]; then
      tls_args=(--tls-cert "$dir/tls/$1.pem" --tls-key "$dir/tls/$1-key.pem" --internode-ca "$dir/tls/ca.pem")
    fi
  }
  if [ "$tls" = 1 ]; then
    hosts=()
    for i in "${!gateway_ports[@]}"; do hosts+=(--host "gateway$((i + 1))"); done
    "$dir/ecstore" certs --out "$dir/tls" --cluster "$map" "${hosts[@]}" >/dev/null
  fi

  # pprof_args OFFSET: --pprof-address BASE+OFFSET when ECSTORE_PPROF_BASE_PORT is set.
  pprof_args=()
  set_pprof_args() {
    pprof_args=()
    if [ -n "${ECSTORE_PPROF_BASE_PORT:-}" ]; then
      pprof_args=(--pprof-address "127.0.0.1:$((ECSTORE_PPROF_BASE_PORT + $1))")
    fi
  }

  for i in $(seq 1 $nodes); do
    drive_dirs=()
    for d in $(seq 1 $drives); do drive_dirs+=("$dir/node$i/drive$d"); done
    set_tls_args "node$i"
    set_pprof_args "$i"
    "$dir/ecstore" node --id "node$i" --address "127.0.0.1:$((base_port + i))" --cluster "$map" \
      ${tls_args[@]+"${tls_args[@]}"} ${pprof_args[@]+"${pprof_args[@]}"} "${drive_dirs[@]}" >>"$dir/logs/node$i.log" 2>&1 &
    echo $! >"$dir/pids/node$i.pid"
  done
  for i in $(seq 1 $nodes); do
    wait_for "node$i" "$scheme://127.0.0.1:$((base_port + i))/health/live"
  done
  for i in "${!gateway_ports[@]}"; do
    set_tls_args "gateway$((i + 1))"
    set_pprof_args "$((10 + i + 1))"
    "$dir/ecstore" gateway --address "127.0.0.1:${gateway_ports[$i]}" --cluster "$map" \
      ${tls_args[@]+"${tls_args[@]}"} ${pprof_args[@]+"${pprof_args[@]}"} >>"$dir/logs/gateway$((i + 1)).log" 2>&1 &
    echo $! >"$dir/pids/gateway$((i + 1)).pid"
  done
  for i in "${!gateway_ports[@]}"; do
    wait_for "gateway$((i + 1))" "$scheme://127.0.0.1:${gateway_ports[$i]}/"
  done
  ca_opt=""
  [ "$tls" = 1 ] && ca_opt=" --ca-bundle $dir/tls/ca.pem"

  cat <<EOF

ecstore cluster up: $nodes nodes in $zones zones ($((nodes * drives)) drives, EC 4+2), S3 gateways on
$(for p in "${gateway_ports[@]}"; do echo "  $scheme://127.0.0.1:$p"; done)
Data, logs and pids are under $dir.

Use it with the aws CLI (either gateway; both see the same objects at once):

  export AWS_ACCESS_KEY_ID=$ECSTORE_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$ECSTORE_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url $scheme://127.0.0.1:${gateway_ports[0]}$ca_opt s3 mb s3://photos
  aws --endpoint-url $scheme://127.0.0.1:${gateway_ports[0]}$ca_opt s3 cp ./holiday.jpg s3://photos/
  aws --endpoint-url $scheme://127.0.0.1:${gateway_ports[-1]}$ca_opt s3 ls s3://photos/

Lose any 2 nodes and everything stays readable and writable, for example
node1 (zone1) and node3 (zone2):

  kill -9 \$(cat $dir/pids/node1.pid) \$(cat $dir/pids/node3.pid)

Stop it with '$0 stop' (data kept) or '$0 clean' (data deleted).
EOF
}

# wait_for NAME URL: wait up to 30s for NAME to answer at URL.
wait_for() {
  for _ in $(seq 1 150); do
    if answers "$2"; then return 0; fi
    if ! alive "$dir/pids/$1.pid"; then
      echo "local-cluster: $1 exited; the end of $dir/logs/$1.log:" >&2
      tail -n 20 "$dir/logs/$1.log" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
  echo "local-cluster: $1 does not answer at $2 after 30s; see $dir/logs/$1.log" >&2
  stop
  exit 1
}

stop() {
  local pidfile pid n
  # Gateways first, then nodes; SIGTERM, then SIGKILL after 10s.
  for n in $(names | tac); do
    pidfile="$dir/pids/$n.pid"
    if alive "$pidfile"; then
      kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    fi
  done
  for n in $(names | tac); do
    pidfile="$dir/pids/$n.pid"
    for _ in $(seq 1 50); do
      alive "$pidfile" || break
      sleep 0.2
    done
    if alive "$pidfile"; then
      pid=$(cat "$pidfile")
      echo "local-cluster: $n (pid $pid) ignored SIGTERM for 10s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  echo "local-cluster: stopped"
}

status() {
  local n pidfile
  for n in $(names); do
    pidfile="$dir/pids/$n.pid"
    if alive "$pidfile"; then
      echo "$n: running (pid $(cat "$pidfile"))"
    else
      echo "$n: not running"
    fi
  done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
clean)
  stop
  rm -rf "$dir"
  echo "local-cluster: removed $dir"
  ;;
*)
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
