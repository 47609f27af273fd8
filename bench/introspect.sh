#!/usr/bin/env bash
# bench/introspect.sh — load grantd's introspection endpoint (RFC 7662, Redis store) over a pool
# of distinct access tokens, with no revoked tokens and then with 1,000,000 revoked jtis in Redis;
# time a bulk revocation in both cases; and load the shared peer's introspection the same way.
#
#   bench/introspect.sh                          build, measure grantd twice, the peer, summary
#   NO_BUILD=1 DURATION=10 WARMUP=3 bench/introspect.sh
#   NO_BUILD=1 PEER=0 REVOKED=100000 bench/introspect.sh
#
# Steps: cargo build --release; redis-server and grantd on 127.0.0.1; tenant "bench", an app, a
# confidential client_credentials client with the app (the caller: it sees the tokens for its
# app), an unrelated client (the bulk-revocation target); then twice — (a) empty, (b) after
# loading REVOKED jtis with `redis-cli --pipe` under grantd's key `{prefix}:{tenant id}:jti:{jti}`
# (value 1, TTL 1 h; checked first: one real token whose jti is set that way introspects
# inactive) —: a fresh pool of POOL distinct access tokens (client_credentials, resource = the
# app's audience, collected with wrk), one checked introspection (200, active: true, our jti),
# WARMUP s of warm-up, then `wrk -t2 -c32 -d${DURATION}s --latency` with bench/wrk/pool.lua
# (round-robin over the pool; every answer must say active: true); REVOKE_SAMPLES bulk
# revocations (POST /admin/v1/tenants/bench/revocations {"client_id": <unrelated>}) timed with
# curl. Then grantd and Redis stop, and ../shared/peers/bench-peer.sh runs once with
# INTROSPECT=1 (its opaque-token introspection) under the same wrk settings.
# Results also go to bench/out/introspect-<time>.json (git-ignored).
#
# Knobs: DURATION=20 WARMUP=5 THREADS=2 CONNS=32 POOL=10000 REVOKED=1000000 REVOKE_SAMPLES=5
#        PEER=1 NO_BUILD=0 GRANTD_BIN= SHARED_DIR= KEEP_TMP=0 QUIET_WAIT=60 PERF=0 (see lib.sh)
#        STRICT=0 (STRICT=1: exit 2 when a target is missed)
# Exit: 0 = measured with no errors; 1 = set-up failed, or a run had non-2xx answers, answers
# without active: true, or socket errors (or the peer failed); 2 = STRICT=1 and a target missed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET_RPS=15000
TARGET_P99_MS=10
TARGET_RATIO=3
# "does not depend on the revoked jtis": with them, rps at least 85 % of the empty case's, p50 at
# most 1.25x (+0.5 ms) and p99 at most 1.5x (+2 ms) of it (p99 is the noisiest figure on a shared
# 2-core VM), and a bulk revocation no slower than twice the empty case plus 5 ms.
SAME_RPS=0.85
SAME_P50=1.25
SAME_P99=1.5
POOL=${POOL:-10000}
REVOKED=${REVOKED:-1000000}
REVOKE_SAMPLES=${REVOKE_SAMPLES:-5}
REDIS_PREFIX=${GRANTD_REDIS_PREFIX:-grantd}
REVOKED_TTL=3600
for v in POOL REVOKED REVOKE_SAMPLES; do
  [[ ${!v} =~ ^[0-9]+$ ]] || bench_die "$v must be a whole number"
done
((REVOKE_SAMPLES > 0)) || bench_die "REVOKE_SAMPLES must be at least 1"
# Access tokens live 600 s; each phase's pool is made just before its run.
((WARMUP + DURATION <= 480)) || bench_die "WARMUP + DURATION must fit in the tokens' 600 s lifetime (<= 480)"

bench_init
bench_log "grantd introspection bench: wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s), pool $POOL tokens, $REVOKED revoked jtis, $(nproc) cores, $(uname -r)"
bench_build

bench_section "start redis-server and grantd"
bench_start_redis
bench_start_grantd
rcli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

bench_section "create tenant, app and clients (admin API)"
bench_setup_tenant bench
INTROSPECTION_ENDPOINT=$(bench_metadata introspection_endpoint)
bench_loopback_only "$INTROSPECTION_ENDPOINT"
bench_log "introspection endpoint (from metadata): $INTROSPECTION_ENDPOINT"
bench_create_client bench-unrelated '["client_credentials"]'
UNRELATED_CLIENT=$CLIENT_ID
bench_create_client bench '["client_credentials"]'
CC_BODY="grant_type=client_credentials&scope=api%3Aread&resource=$(jq -rn --arg a "$APP_AUDIENCE" '$a | @uri')"

# introspect TOKEN — the introspection answer (200 checked) for TOKEN, as our client.
introspect() {
  bench_http 200 POST "$INTROSPECTION_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" \
    -H 'Accept: application/json' --data "token=$1&token_type_hint=access_token"
}

# time_bulk_revocations OUT_JSON — REVOKE_SAMPLES timed bulk revocations of the unrelated client.
time_bulk_revocations() {
  local i t times=()
  for ((i = 0; i < REVOKE_SAMPLES; i++)); do
    t=$(curl -s -m 10 -o "$BENCH_TMP/revocation.json" -w '%{http_code} %{time_total}' \
      -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
      --data "{\"client_id\":\"$UNRELATED_CLIENT\"}" "$BASE/admin/v1/tenants/$TENANT_SLUG/revocations") ||
      bench_die "bulk revocation: curl failed"
    [[ ${t%% *} == 200 ]] || bench_die "bulk revocation: HTTP ${t%% *}: $(cat "$BENCH_TMP/revocation.json")"
    times+=("${t#* }")
  done
  printf '%s\n' "${times[@]}" | jq -sc 'map(. * 1000) | sort |
    {samples_ms: map(. * 100 | round / 100), median_ms: (.[length / 2 | floor] * 100 | round / 100),
     max_ms: (max * 100 | round / 100)}' >"$1"
  bench_log "    bulk revocation (client_id = unrelated client), $REVOKE_SAMPLES samples: $(cat "$1")"
}

# phase NAME — a fresh token pool, one checked introspection, the wrk run, the bulk revocations.
phase() {
  local name=$1 pool=$BENCH_TMP/pool-$1.txt sample answer claims
  bench_log "  collecting $POOL access tokens (client_credentials, resource = the app)"
  bench_collect "$TOKEN_ENDPOINT" "$CC_BODY" "$BASIC" "$POOL" "$pool"
  sample=$(shuf -n 1 "$pool")
  answer=$(introspect "$sample")
  claims=$(bench_jwt_claims "$sample")
  jq -e --argjson c "$claims" '.active == true and .jti == $c.jti and .aud == $c.aud' <<<"$answer" >/dev/null ||
    bench_die "introspecting a pool token did not answer active: true with its claims: $answer"
  bench_log "  one pool token: 200 $(jq -c '{active, aud, scope, client_id, app_id}' <<<"$answer")"
  export WRK_TOKENS=$pool WRK_BODY_PREFIX='token=' WRK_BODY_SUFFIX='&token_type_hint=access_token'
  export WRK_EXPECT='"active":%s*true'
  bench_wrk_lua "$BENCH_REPO/bench/wrk/pool.lua" "grantd-introspect-$name" "$INTROSPECTION_ENDPOINT" \
    "" "$BASIC" "$BENCH_TMP/grantd-$name.json" "$GRANTD_PID"
  bench_alive "$GRANTD_PID" || bench_die "grantd died during the run: $(tail -n 20 "$GRANTD_LOG")"
  time_bulk_revocations "$BENCH_TMP/revocation-$name.json"
}

bench_section "(a) grantd: POST $INTROSPECTION_ENDPOINT, no revoked tokens"
phase empty
keys_empty=$(rcli dbsize)

bench_section "(b) load $REVOKED revoked jtis into Redis (redis-cli --pipe)"
# First prove the key format: a real token, its jti set the way the load sets them, is inactive.
victim=$(bench_field "$(bench_token "$CC_BODY")" access_token)
victim_jti=$(bench_jwt_claims "$victim" | jq -r .jti)
[[ $(introspect "$victim" | jq -r .active) == true ]] || bench_die "a fresh token is not active"
rcli set "$REDIS_PREFIX:$TENANT_ID:jti:$victim_jti" 1 EX "$REVOKED_TTL" >/dev/null
[[ $(introspect "$victim" | jq -r .active) == false ]] ||
  bench_die "the key $REDIS_PREFIX:$TENANT_ID:jti:<jti> did not revoke the token (prefix or format changed?)"
bench_log "key format checked: $REDIS_PREFIX:$TENANT_ID:jti:<jti> = 1 makes a token inactive"
keys_before_load=$(rcli dbsize)
t_load=$SECONDS
# RESP: SET <key> 1 EX <ttl>, with jtis shaped like grantd's (32 hex digits, simple UUID form).
awk -v n="$REVOKED" -v p="$REDIS_PREFIX:$TENANT_ID:jti:" -v ttl="$REVOKED_TTL" -v seed="$RANDOM$RANDOM" 'BEGIN {
  srand(seed); hi = sprintf("%08x%08x", int(rand() * 4294967295), int(rand() * 4294967295))
  for (i = 0; i < n; i++) {
    k = p hi sprintf("%016x", i)
    printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n$2\r\nEX\r\n$%d\r\n%s\r\n", length(k), k, length(ttl), ttl
  }
}' | timeout 300 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --pipe >"$BENCH_TMP/pipe.txt" ||
  bench_die "redis-cli --pipe failed: $(tail -n 3 "$BENCH_TMP/pipe.txt")"
grep -q 'errors: 0, replies: ' "$BENCH_TMP/pipe.txt" || bench_die "redis-cli --pipe: $(tail -n 2 "$BENCH_TMP/pipe.txt")"
keys_loaded=$(rcli dbsize)
jti_keys=$((keys_loaded - keys_before_load))
((jti_keys >= REVOKED)) || bench_die "only $jti_keys more keys in Redis after the load of $REVOKED"
redis_mib=$(($(rcli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p') / 1048576))
bench_log "    $(tail -n 1 "$BENCH_TMP/pipe.txt"); +$jti_keys keys ($keys_loaded in all), redis used_memory $redis_mib MiB, $((SECONDS - t_load)) s"

bench_section "(b) grantd: POST $INTROSPECTION_ENDPOINT, $REVOKED revoked jtis"
phase loaded
peak_kib=$(bench_peak_rss_kib "$GRANTD_PID")
bench_log "    grantd peak RSS (VmHWM): $((peak_kib / 1024)) MiB"
if grep -qE 'ERROR|panicked' "$GRANTD_LOG"; then
  bench_log "    grantd logged errors:"
  grep -E 'ERROR|panicked' "$GRANTD_LOG" | head -n 5 | sed 's/^/      /'
fi
# The peer gets the machine to itself, as grantd had it.
bench_stop_grantd
bench_stop_redis

peer_ok=1
if [[ $PEER != 0 ]]; then
  bench_section "peer (oidc-provider): token + introspection (opaque token), same wrk settings"
  bench_wait_quiet
  bench_run_peer "$BENCH_TMP/peer.json" INTROSPECT=1 || peer_ok=0
else
  bench_log "peer skipped (PEER=0)"
fi
if [[ $PEER != 0 ]] && jq -e '.median.introspect.rps > 0' "$BENCH_TMP/peer.json" >/dev/null 2>&1; then
  peer_json=$(jq -c '{peer, node, alg, rps: .median.introspect.rps, p50_ms: .median.introspect.p50_ms,
    p99_ms: .median.introspect.p99_ms, req_per_cpu_s: .median.introspect.req_per_peer_cpu_s,
    cpu_util: .median.introspect.peer_cpu_util, peak_rss_mib: .median.peak_rss_mib}' "$BENCH_TMP/peer.json")
else
  peer_json=null
fi

# --- summary -------------------------------------------------------------------------------------
result=$(jq -n \
  --argjson a "$(cat "$BENCH_TMP/grantd-empty.json")" --argjson b "$(cat "$BENCH_TMP/grantd-loaded.json")" \
  --argjson ra "$(cat "$BENCH_TMP/revocation-empty.json")" --argjson rb "$(cat "$BENCH_TMP/revocation-loaded.json")" \
  --argjson peer "$peer_json" --argjson rss_kib "$peak_kib" --arg when "$(date -u +%FT%TZ)" \
  --arg wrk "-t$THREADS -c$CONNS -d${DURATION}s" --argjson warmup "$WARMUP" --argjson cores "$(nproc)" \
  --argjson pool "$POOL" --argjson revoked "$REVOKED" --argjson keys_empty "$keys_empty" \
  --argjson keys_loaded "$keys_loaded" --argjson redis_mib "$redis_mib" \
  --argjson t_rps "$TARGET_RPS" --argjson t_p99 "$TARGET_P99_MS" --argjson t_ratio "$TARGET_RATIO" \
  --argjson same_rps "$SAME_RPS" --argjson same_p50 "$SAME_P50" --argjson same_p99 "$SAME_P99" '
  def errs: .non2xx + .socket_errors + .unexpected;
  ($a + {errors: ($a | errs), bulk_revocation: $ra, redis_keys: $keys_empty}) as $a
  | ($b + {errors: ($b | errs), bulk_revocation: $rb, redis_keys: $keys_loaded, redis_used_memory_mib: $redis_mib}) as $b
  | ([$a.rps, $b.rps] | min) as $worst
  | (if $peer != null and ($peer.rps // 0) > 0 then (($worst / $peer.rps) * 100 | round / 100) else null end) as $ratio
  | ([$a.server_us_per_req, $b.server_us_per_req] | max) as $us
  | (if $peer != null and ($peer.req_per_cpu_s // 0) > 0 and ($us // 0) > 0
     then ((1e6 / $us / $peer.req_per_cpu_s) * 100 | round / 100) else null end) as $cpu_ratio
  | {bench: "introspection", when: $when, wrk: $wrk, warmup_s: $warmup, cores: $cores,
     pool_tokens: $pool, revoked_jtis: $revoked,
     grantd: {empty: $a, loaded: $b, peak_rss_mib: (($rss_kib / 1024) * 10 | round / 10),
              loaded_vs_empty: {rps: (($b.rps / $a.rps) * 100 | round / 100),
                                p50: (($b.p50_ms / $a.p50_ms) * 100 | round / 100),
                                p99: (($b.p99_ms / $a.p99_ms) * 100 | round / 100),
                                bulk_revocation_ms: [$ra.median_ms, $rb.median_ms]}},
     peer: $peer, ratio: $ratio, ratio_per_cpu_s: $cpu_ratio,
     targets: {
       rps:        {want: ">= \($t_rps) (both cases)",   pass: ($worst >= $t_rps)},
       p99:        {want: "< \($t_p99) ms (both cases)", pass: (([$a.p99_ms, $b.p99_ms] | max) < $t_p99)},
       ratio:      {want: ">= \($t_ratio)",              pass: ($ratio != null and $ratio >= $t_ratio)},
       jti_independent: {want: "with the revoked jtis: rps >= \($same_rps) x, p50 <= \($same_p50) x + 0.5 ms, p99 <= \($same_p99) x + 2 ms, bulk revocation (median) <= 2 x + 5 ms of the empty case",
                         pass: ($b.rps >= $same_rps * $a.rps and $b.p50_ms <= $same_p50 * $a.p50_ms + 0.5
                                and $b.p99_ms <= $same_p99 * $a.p99_ms + 2
                                and $rb.median_ms <= 2 * $ra.median_ms + 5)},
       errors:     {want: "0", pass: ($a.errors + $b.errors == 0)}}}')
out_file=$(bench_save introspect "$result")

target() { jq -r ".targets.$1.pass" <<<"$result"; }
bench_section summary
jq -r --argjson n "$REVOKED" '.grantd | [["no revoked jtis", .empty], ["\($n) revoked jtis", .loaded]][] |
    "grantd introspection (\(.[0])): rps=\(.[1].rps) p50_ms=\(.[1].p50_ms) p90_ms=\(.[1].p90_ms) p99_ms=\(.[1].p99_ms) max_ms=\(.[1].max_ms) errors=\(.[1].errors) (non2xx=\(.[1].non2xx) not_active=\(.[1].unexpected) socket_errors=\(.[1].socket_errors)) server_us_per_req=\(.[1].server_us_per_req // "-") cpu=\(.[1].server_cpu_util // "-") other_cpu=\(.[1].other_cpu_util // "-") bulk_revocation_ms: median=\(.[1].bulk_revocation.median_ms) max=\(.[1].bulk_revocation.max_ms)"' <<<"$result"
jq -r '.grantd | "grantd peak_rss_mib=\(.peak_rss_mib); with/without the revoked jtis: rps x\(.loaded_vs_empty.rps), p50 x\(.loaded_vs_empty.p50), p99 x\(.loaded_vs_empty.p99), bulk revocation \(.loaded_vs_empty.bulk_revocation_ms[1]) vs \(.loaded_vs_empty.bulk_revocation_ms[0]) ms"' <<<"$result"
if [[ $peer_json != null ]]; then
  jq -r '.peer | "peer (oidc-provider) introspection (opaque token): rps=\(.rps) p50_ms=\(.p50_ms) p99_ms=\(.p99_ms) req_per_cpu_s=\(.req_per_cpu_s) cpu=\(.cpu_util) peak_rss_mib=\(.peak_rss_mib)"' <<<"$result"
  jq -r '"ratio grantd (lower of the two runs)/peer: \(.ratio)x rps; \(.ratio_per_cpu_s)x requests per CPU-second of the server"' <<<"$result"
elif [[ $PEER != 0 ]]; then
  echo "peer (oidc-provider) introspection: FAILED (see its output above)"
  echo "ratio grantd/peer: n/a"
else
  echo "peer (oidc-provider) introspection: skipped"
  echo "ratio grantd/peer: n/a"
fi
echo "targets: rps>=$TARGET_RPS $(bench_pf "$(target rps)")  p99<${TARGET_P99_MS}ms $(bench_pf "$(target p99)")  ratio>=$TARGET_RATIO $(bench_pf "$(target ratio)")  independent-of-revoked-jtis $(bench_pf "$(target jti_independent)")  errors=0 $(bench_pf "$(target errors)")"
echo "results: $out_file"

if [[ $(target errors) != true ]]; then
  echo "ERROR: grantd answered requests with non-2xx, not active: true, or socket errors" >&2
  exit 1
fi
if [[ $PEER != 0 ]] && ((peer_ok == 0)); then
  echo "ERROR: the peer run failed" >&2
  exit 1
fi
if [[ ${STRICT:-0} == 1 ]] && jq -e '[.targets[].pass] | all | not' <<<"$result" >/dev/null; then
  exit 2
fi
