#!/usr/bin/env bash
# bench/token.sh — load grantd's token endpoint with the client-credentials grant, and the shared
# reference peer (panva/oidc-provider, ../shared/peers) the same way in the same run.
#
#   bench/token.sh                       build, measure grantd, measure the peer, print a summary
#   DURATION=5 WARMUP=2 bench/token.sh   a quick run
#   NO_BUILD=1 PEER=0 bench/token.sh     reuse target/release/grantd, skip the peer
#
# Steps: cargo build --release; redis-server and grantd on 127.0.0.1 (free ports, SQLite in a
# temp dir); tenant "bench", an app and a confidential client through the admin API; the token
# endpoint from the tenant's RFC 8414 metadata; one checked request; WARMUP s of warm-up, then
# `wrk -t2 -c32 -d${DURATION}s --latency` with ../shared/peers/wrk/form-post.lua; grantd's peak
# RSS (VmHWM); then one run of ../shared/peers/bench-peer.sh with the same settings.
# Results also go to bench/out/token-<time>.json (git-ignored).
#
# Knobs: DURATION=20 WARMUP=5 THREADS=2 CONNS=32 PEER=1 NO_BUILD=0 GRANTD_BIN= SHARED_DIR=
#        KEEP_TMP=0 STRICT=0 (STRICT=1: exit 2 when a target is missed)
# Exit: 0 = measured with no errors; 1 = set-up failed or a run had non-2xx answers or socket
# errors (or the peer failed); 2 = STRICT=1 and a target was missed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET_RPS=20000
TARGET_P99_MS=5
TARGET_RSS_MIB=64
TARGET_RATIO=5
CC_BODY='grant_type=client_credentials&scope=api%3Aread'

# jwt_part TOKEN N — the N-th (0-based) part of a compact JWS, base64url-decoded.
jwt_part() {
  local p
  p=$(cut -d. -f"$(($2 + 1))" <<<"$1" | tr '_-' '/+')
  while ((${#p} % 4)); do p+='='; done
  base64 -d <<<"$p" 2>/dev/null
}

bench_init
bench_log "grantd token bench: wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s), $(nproc) cores, $(uname -r)"
bench_build

bench_section "start redis-server and grantd"
bench_start_redis
bench_start_grantd

bench_section "create tenant, app and client (admin API)"
bench_setup_tenant bench
bench_create_client bench '["client_credentials"]'

bench_section "check one client_credentials request"
answer=$(bench_token "$CC_BODY")
access_token=$(bench_field "$answer" access_token)
token_type=$(bench_field "$answer" token_type)
[[ ${token_type,,} == bearer ]] || bench_die "token_type is '$token_type', expected Bearer"
[[ $access_token =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] ||
  bench_die "access_token is not a compact JWS: $access_token"
header=$(jwt_part "$access_token" 0)
claims=$(jwt_part "$access_token" 1)
bench_log "200: token_type=$token_type expires_in=$(jq -r '.expires_in // "-"' <<<"$answer") scope=$(jq -r '.scope // "-"' <<<"$answer")"
bench_log "JWT header: $(jq -c . <<<"$header" 2>/dev/null || printf '%s' "$header")"
bench_log "JWT claims: $(jq -c '{iss, aud, scope, client_id, exp}' <<<"$claims" 2>/dev/null || printf '%s' "$claims")"
[[ $(jq -r .iss <<<"$claims" 2>/dev/null) == "$ISSUER" ]] || bench_die "token iss is not the tenant issuer $ISSUER"

bench_section "grantd: POST $TOKEN_ENDPOINT (client_credentials)"
bench_wrk grantd-token "$TOKEN_ENDPOINT" "$CC_BODY" "$BASIC" "$BENCH_TMP/grantd.json" "$GRANTD_PID"
bench_alive "$GRANTD_PID" || bench_die "grantd died during the run: $(tail -n 20 "$GRANTD_LOG")"
peak_kib=$(bench_peak_rss_kib "$GRANTD_PID")
bench_log "    grantd peak RSS (VmHWM): $((peak_kib / 1024)) MiB; redis-server RSS $(($(bench_rss_kib "$REDIS_PID") / 1024)) MiB"
if grep -qiE '(^| )(ERROR|panicked)' "$GRANTD_LOG"; then
  bench_log "    grantd logged errors:"
  grep -iE '(^| )(ERROR|panicked)' "$GRANTD_LOG" | head -n 5 | sed 's/^/      /'
fi
# The peer gets the machine to itself, as grantd had it.
bench_stop_grantd
bench_stop_redis

peer_ok=1
if [[ $PEER != 0 ]]; then
  bench_section "peer (oidc-provider): same load"
  bench_run_peer "$BENCH_TMP/peer.json" || peer_ok=0
else
  bench_log "peer skipped (PEER=0)"
fi
# numbers are kept even when the peer script failed (it exits 1 on any non-2xx), but flagged
if [[ $PEER != 0 ]] && jq -e '.median.token.rps > 0' "$BENCH_TMP/peer.json" >/dev/null 2>&1; then
  peer_json=$(jq -c '{peer, node, alg, rps: .median.token.rps, p50_ms: .median.token.p50_ms,
    p99_ms: .median.token.p99_ms, peak_rss_mib: .median.peak_rss_mib}' "$BENCH_TMP/peer.json")
else
  peer_json=null
fi

# --- summary -------------------------------------------------------------------------------------
result=$(jq -n \
  --argjson g "$(cat "$BENCH_TMP/grantd.json")" --argjson peer "$peer_json" \
  --argjson rss_kib "$peak_kib" --arg when "$(date -u +%FT%TZ)" \
  --arg wrk "-t$THREADS -c$CONNS -d${DURATION}s" --argjson warmup "$WARMUP" --argjson cores "$(nproc)" \
  --argjson t_rps "$TARGET_RPS" --argjson t_p99 "$TARGET_P99_MS" \
  --argjson t_rss "$TARGET_RSS_MIB" --argjson t_ratio "$TARGET_RATIO" '
  ($g + {peak_rss_mib: (($rss_kib / 1024) * 10 | round / 10)}) as $g
  | (if $peer != null and ($peer.rps // 0) > 0 then (($g.rps / $peer.rps) * 100 | round / 100) else null end) as $ratio
  | {bench: "token client_credentials", when: $when, wrk: $wrk, warmup_s: $warmup, cores: $cores,
     grantd: $g, peer: $peer, ratio: $ratio,
     targets: {
       rps:   {want: ">= \($t_rps)",     pass: ($g.rps >= $t_rps)},
       p99:   {want: "< \($t_p99) ms",   pass: ($g.p99_ms < $t_p99)},
       rss:   {want: "< \($t_rss) MiB",  pass: ($g.peak_rss_mib < $t_rss)},
       ratio: {want: ">= \($t_ratio)",   pass: ($ratio != null and $ratio >= $t_ratio)}}}')

mkdir -p "$BENCH_REPO/bench/out"
out_file=$BENCH_REPO/bench/out/token-$(date -u +%Y%m%dT%H%M%SZ).json
printf '%s\n' "$result" >"$out_file"

pf() { if [[ $1 == true ]]; then printf PASS; else printf FAIL; fi; }
target() { jq -r ".targets.$1.pass" <<<"$result"; }
bench_section summary
jq -r '.grantd | "grantd client_credentials: rps=\(.rps) p50_ms=\(.p50_ms) p90_ms=\(.p90_ms) p99_ms=\(.p99_ms) non2xx=\(.non2xx) socket_errors=\(.socket_errors) peak_rss_mib=\(.peak_rss_mib) cpu=\(.server_cpu_util // "-")"' <<<"$result"
if [[ $peer_json != null ]]; then
  jq -r '.peer | "peer (oidc-provider) client_credentials: rps=\(.rps) p50_ms=\(.p50_ms) p99_ms=\(.p99_ms) peak_rss_mib=\(.peak_rss_mib)"' <<<"$result"
  jq -r '"ratio grantd/peer: \(.ratio)x"' <<<"$result"
elif [[ $PEER != 0 ]]; then
  echo "peer (oidc-provider) client_credentials: FAILED (see its output above)"
  echo "ratio grantd/peer: n/a"
else
  echo "peer (oidc-provider) client_credentials: skipped"
  echo "ratio grantd/peer: n/a"
fi
echo "targets: rps>=$TARGET_RPS $(pf "$(target rps)")  p99<${TARGET_P99_MS}ms $(pf "$(target p99)")  rss<${TARGET_RSS_MIB}MiB $(pf "$(target rss)")  ratio>=$TARGET_RATIO $(pf "$(target ratio)")"
echo "results: $out_file"

errors=$(jq '.grantd.non2xx + .grantd.socket_errors' <<<"$result")
if ((errors > 0)); then
  echo "ERROR: grantd answered $errors requests with non-2xx or socket errors" >&2
  exit 1
fi
if [[ $PEER != 0 ]] && ((peer_ok == 0)); then
  echo "ERROR: the peer run failed" >&2
  exit 1
fi
if [[ ${STRICT:-0} == 1 ]] && jq -e '[.targets[].pass] | all | not' <<<"$result" >/dev/null; then
  exit 2
fi
