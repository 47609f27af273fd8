#!/usr/bin/env bash
# bench/soak.sh — a bounded soak test with faults: two grantd nodes sharing one Redis and one
# PostgreSQL get a mixed workload (bench/soak.py: client credentials, authorization code with
# login and consent, refresh with rotation and reuse, token exchange, introspection, revocation)
# for SOAK_SECONDS while this script restarts Redis and one node; then it checks that
#   - no revoked token was ever reported active (nor a token of a killed refresh family),
#   - no refresh token was redeemed twice,
#   - no request got a 5xx other than 503, and 503s only during an outage (+ SOAK_GRACE s),
#   - the audit log holds every issuance (every 200 token answer's jti).
# It prints one summary line:
#   soak: requests=N ok=N errors={...} violations=0 (revoked_active=0 refresh_twice=0 bad_5xx=0 audit_missing=0) duration=300s
#
#   bench/soak.sh                        the full run (300 s)
#   SOAK_SECONDS=60 bench/soak.sh        a quick one
#
# Fault schedule (from the start of the traffic): at 30% Redis is stopped (SIGTERM) for
# SOAK_REDIS_DOWN s and started again on the same port; at 60% node 2 gets SIGTERM (it must flush
# its audit log and exit 0) and is started again on the same port SOAK_NODE_DOWN s after it exited.
# Redis runs with --save "" and, by default, AOF (appendonly yes, appendfsync everysec), as
# docs/operations.md asks of production: the restart keeps its data. SOAK_REDIS_PERSIST=0 runs it
# without any persistence, so the restart wipes it; docs/operations.md ("what losing Redis
# means") says revoked tokens then come back to life, and this soak reports them as violations.
#
# Services: PostgreSQL from scripts/test (pg_start: throwaway, as the postgres user, 127.0.0.1,
# free port), redis-server and two `grantd serve` on free ports of 127.0.0.1 with the same
# GRANTD_DATABASE_URL, GRANTD_REDIS_URL, GRANTD_MASTER_KEY, GRANTD_ADMIN_TOKEN and
# GRANTD_PUBLIC_URL (node 1's URL: one issuer per tenant whichever node signs). Everything is
# stopped by PID and the temp dirs removed on exit; every wait is bounded.
#
# Knobs: SOAK_SECONDS=300 SOAK_THREADS=8 SOAK_REDIS_DOWN=10 SOAK_NODE_DOWN=5 SOAK_GRACE=5
#        SOAK_REDIS_PERSIST=1 SOAK_LOGINS_PER_MIN=20 SOAK_KILL_INTERVAL=4 SOAK_SEED=
#        GRANTD_BIN= (default target/release/grantd, built when missing)
#        KEEP_TMP=1 (keep logs) RUST_LOG=warn
# Details go to bench/out/soak-<time>.json (git-ignored).
# Exit: 0 = no violations; 1 = violations; 2 = set-up failed; 3 = soak.py itself failed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# pg_start / pg_stop (PG_URL) and pg_bindir, without running the checks
# shellcheck source=scripts/test
source "$BENCH_REPO/scripts/test"

SOAK_SECONDS=${SOAK_SECONDS:-300}
SOAK_THREADS=${SOAK_THREADS:-8}
SOAK_REDIS_DOWN=${SOAK_REDIS_DOWN:-10}
SOAK_NODE_DOWN=${SOAK_NODE_DOWN:-5}
SOAK_GRACE=${SOAK_GRACE:-5}
SOAK_REDIS_PERSIST=${SOAK_REDIS_PERSIST:-1}

NODE_PORT=("" "" "")
NODE_PID=("" "" "")
SOAK_PY_PID=""
EVENTS=""

soak_die() {
  printf 'soak: %s\n' "$*" >&2
  exit 2
}

# soak_event NAME [ARGS...] — one line "<unix time> NAME ARGS" in the event file soak.py reads.
soak_event() {
  printf '%s %s\n' "$EPOCHREALTIME" "$*" >>"$EVENTS"
  bench_log "  [$(printf '%5.1f' "$(soak_since_start)")s] $*"
}

SOAK_T0=""
soak_since_start() {
  if [[ -z $SOAK_T0 ]]; then
    printf '0'
  else
    awk -v a="$EPOCHREALTIME" -v b="$SOAK_T0" 'BEGIN {print a - b}'
  fi
}

# soak_sleep_until OFFSET_S — sleeps until SOAK_T0 + OFFSET_S (not at all when that has passed).
soak_sleep_until() {
  local left
  left=$(awk -v t="$SOAK_T0" -v o="$1" -v now="$EPOCHREALTIME" 'BEGIN {d = t + o - now; print (d > 0 ? d : 0)}')
  sleep "$left"
}

# shellcheck disable=SC2317  # run by bench_cleanup, the EXIT trap
bench_extra_cleanup() {
  if [[ -n $SOAK_PY_PID ]]; then bench_stop_pid "$SOAK_PY_PID" soak.py; fi
  SOAK_PY_PID=""
  local n
  for n in 2 1; do
    if [[ -n ${NODE_PID[n]} ]]; then bench_stop_pid "${NODE_PID[n]}" "grantd node $n"; fi
    NODE_PID[n]=""
  done
  GRANTD_PID=""
  bench_stop_redis
  pg_stop >/dev/null 2>&1 || true
}

soak_init() {
  local v
  for v in SOAK_SECONDS SOAK_THREADS SOAK_REDIS_DOWN SOAK_NODE_DOWN SOAK_GRACE SOAK_REDIS_PERSIST; do
    [[ ${!v} =~ ^[0-9]+$ ]] || soak_die "$v must be a whole number, not '${!v}'"
  done
  ((SOAK_SECONDS >= 20 && SOAK_THREADS > 0)) || soak_die "need SOAK_SECONDS >= 20 and SOAK_THREADS > 0"
  [[ $SOAK_REDIS_PERSIST == [01] ]] || soak_die "SOAK_REDIS_PERSIST must be 0 or 1"
  bench_need curl redis-server redis-cli python3 awk
  if ! pg_bindir >/dev/null || ! command -v psql >/dev/null; then
    BENCH_APT_UPDATED=0
    bench_log "installing: postgresql postgresql-client"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
    pg_bindir >/dev/null || soak_die "no PostgreSQL server after apt-get install postgresql"
  fi
  if [[ $(id -u) == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/grantd-soak.XXXXXX")
  EVENTS=$BENCH_TMP/events
  : >"$EVENTS"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

soak_binary() {
  if [[ -n ${GRANTD_BIN:-} ]]; then
    [[ -x $GRANTD_BIN ]] || soak_die "GRANTD_BIN=$GRANTD_BIN is not an executable"
  else
    GRANTD_BIN=${CARGO_TARGET_DIR:-$BENCH_REPO/target}/release/grantd
    if [[ ! -x $GRANTD_BIN ]]; then
      bench_section "cargo build --release"
      (cd "$BENCH_REPO" && cargo build --release)
    fi
    [[ -x $GRANTD_BIN ]] || soak_die "no binary at $GRANTD_BIN"
    if [[ -n $(find "$BENCH_REPO/src" -newer "$GRANTD_BIN" -name '*.rs' -print -quit) ]]; then
      bench_log "note: $GRANTD_BIN is older than some of src/ (cargo build --release to test the tree)"
    fi
  fi
  bench_log "binary: $GRANTD_BIN"
}

# soak_start_redis [PORT] — redis-server on 127.0.0.1:PORT (a free one when not given), with AOF
# in the temp dir unless SOAK_REDIS_PERSIST=0; waits (<= 10 s) for PONG (after loading its data).
# Sets REDIS_PORT, REDIS_PID, REDIS_URL.
soak_start_redis() {
  local aof=no
  if [[ $SOAK_REDIS_PERSIST == 1 ]]; then aof=yes; fi
  REDIS_PORT=${1:-$(bench_free_port)}
  (cd "$BENCH_TMP" && exec redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly "$aof" --appendfsync everysec --maxmemory-policy noeviction \
    --daemonize no --dir "$BENCH_TMP") >>"$BENCH_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  local deadline=$((SECONDS + 10))
  until [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; do
    if ! bench_alive "$REDIS_PID" || ((SECONDS >= deadline)); then
      tail -n 20 "$BENCH_TMP/redis.log" >&2
      soak_die "redis-server did not answer PONG on 127.0.0.1:$REDIS_PORT"
    fi
    sleep 0.1
  done
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT
}

# soak_start_node N [PORT] — grantd node N on 127.0.0.1:PORT (free when not given); waits (<= 30 s)
# for /healthz = 200. Sets NODE_PORT[N], NODE_PID[N].
soak_start_node() {
  local n=$1 port=${2:-$(bench_free_port)} pid code deadline=$((SECONDS + 30))
  (cd "$BENCH_TMP" && exec env \
    GRANTD_BIND="127.0.0.1:$port" \
    GRANTD_PUBLIC_URL="$PUBLIC_URL" \
    GRANTD_DATABASE_URL="$PG_URL" \
    GRANTD_REDIS_URL="$REDIS_URL" \
    GRANTD_ADMIN_TOKEN="$ADMIN_TOKEN" \
    GRANTD_MASTER_KEY="$MASTER_KEY" \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$GRANTD_BIN" serve) >>"$BENCH_TMP/node$n.log" 2>&1 &
  pid=$!
  NODE_PORT[n]=$port
  NODE_PID[n]=$pid
  while :; do
    code=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" 2>/dev/null) || true
    [[ $code == 200 ]] && break
    if ! bench_alive "$pid"; then
      NODE_PID[n]=""
      tail -n 30 "$BENCH_TMP/node$n.log" >&2
      soak_die "grantd node $n exited during start-up (its log is above)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$BENCH_TMP/node$n.log" >&2
      soak_die "grantd node $n did not answer 200 on /healthz within 30 s"
    fi
    sleep 0.1
  done
}

# soak_sigterm_node N — SIGTERM, up to 20 s to exit by itself (then SIGKILL). Sets NODE_RC to its
# exit status (or "killed-after-20s").
NODE_RC=""
soak_sigterm_node() {
  local n=$1 pid=${NODE_PID[$1]} _
  NODE_RC=0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    bench_alive "$pid" || break
    sleep 0.1
  done
  if bench_alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    NODE_RC=killed-after-20s
  else
    wait "$pid" 2>/dev/null || NODE_RC=$?
  fi
  NODE_PID[n]=""
}

# --- run -------------------------------------------------------------------------------------------

soak_init
bench_log "grantd soak: ${SOAK_SECONDS}s, $SOAK_THREADS workers, 2 nodes, $(nproc) cores; Redis down ${SOAK_REDIS_DOWN}s at 30% (persist=$SOAK_REDIS_PERSIST), node 2 down ${SOAK_NODE_DOWN}s at 60%"
soak_binary

bench_section "start PostgreSQL, Redis and two grantd nodes"
pg_start
soak_start_redis
bench_log "redis-server pid $REDIS_PID on $REDIS_URL"
ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')
MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
NODE_PORT[1]=$(bench_free_port)
PUBLIC_URL=http://127.0.0.1:${NODE_PORT[1]}
soak_start_node 1 "${NODE_PORT[1]}" # first alone: it runs the migrations
GRANTD_PID=${NODE_PID[1]}
soak_start_node 2
bench_log "grantd node 1 pid ${NODE_PID[1]} on 127.0.0.1:${NODE_PORT[1]}, node 2 pid ${NODE_PID[2]} on 127.0.0.1:${NODE_PORT[2]} (public URL $PUBLIC_URL)"

bench_section "traffic (soak.py) with faults"
REPORT=$BENCH_TMP/report.json
SOAK_NODES="http://127.0.0.1:${NODE_PORT[1]},http://127.0.0.1:${NODE_PORT[2]}" \
  SOAK_ADMIN_TOKEN=$ADMIN_TOKEN SOAK_SECONDS=$SOAK_SECONDS SOAK_THREADS=$SOAK_THREADS \
  SOAK_GRACE=$SOAK_GRACE SOAK_REDIS_PERSIST=$SOAK_REDIS_PERSIST SOAK_EVENTS=$EVENTS SOAK_STARTED=$BENCH_TMP/started SOAK_REPORT=$REPORT \
  python3 "$BENCH_REPO/bench/soak.py" &
SOAK_PY_PID=$!

deadline=$((SECONDS + 120))
until [[ -s $BENCH_TMP/started ]]; do
  if ! bench_alive "$SOAK_PY_PID"; then
    rc=0
    wait "$SOAK_PY_PID" || rc=$?
    SOAK_PY_PID=""
    soak_die "soak.py stopped before the traffic started (status $rc)"
  fi
  ((SECONDS < deadline)) || soak_die "soak.py did not start the traffic within 120 s"
  sleep 0.2
done
SOAK_T0=$(cat "$BENCH_TMP/started")

# Fault 1: Redis away for SOAK_REDIS_DOWN s, back on the same port.
soak_sleep_until "$(awk -v s="$SOAK_SECONDS" 'BEGIN {print s * 0.3}')"
soak_event redis_down_begin
bench_stop_redis
soak_event redis_stopped
sleep "$SOAK_REDIS_DOWN"
soak_start_redis "$REDIS_PORT"
soak_event redis_down_end
keys=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize 2>/dev/null || echo '?')
bench_log "  redis-server is back (pid $REDIS_PID) with $keys keys"

# Fault 2: node 2 gets SIGTERM, and is started again on the same port.
soak_sleep_until "$(awk -v s="$SOAK_SECONDS" 'BEGIN {print s * 0.6}')"
soak_event node2_down_begin
soak_sigterm_node 2
soak_event node2_exit "$NODE_RC"
sleep "$SOAK_NODE_DOWN"
soak_start_node 2 "${NODE_PORT[2]}"
soak_event node2_down_end
soak_event schedule_done

# soak.py stops by itself (SOAK_SECONDS + its checks); bounded here as well.
deadline=$((SECONDS + SOAK_SECONDS + 600))
while bench_alive "$SOAK_PY_PID"; do
  if ((SECONDS >= deadline)); then
    bench_log "soak.py did not finish in time; stopping it"
    bench_stop_pid "$SOAK_PY_PID" soak.py
    SOAK_PY_PID=""
    exit 3
  fi
  sleep 1
done
rc=0
wait "$SOAK_PY_PID" || rc=$?
SOAK_PY_PID=""

# What the nodes logged at ERROR (or a panic), by message (colour codes, times and ids stripped).
for n in 1 2; do
  errs=$(sed 's/\x1b\[[0-9;]*m//g' "$BENCH_TMP/node$n.log" | grep -E 'panicked| ERROR |"level":"ERROR"' |
    sed -E 's/^[0-9TZ:.-]+ +//; s/[0-9a-f]{32}|[0-9a-f-]{36}/<id>/g' | cut -c1-200 | sort | uniq -c | sort -rn) || true
  if [[ -n $errs ]]; then
    bench_log "grantd node $n logged errors (count, message):"
    head -n 5 <<<"$errs" | sed 's/^/    /'
  fi
done
if [[ -s $REPORT ]]; then
  out=$(bench_save soak "$(cat "$REPORT")")
  bench_log "details: $out"
fi
case $rc in
  0 | 1) exit "$rc" ;;
  2) exit 2 ;;
  *) exit 3 ;;
esac
