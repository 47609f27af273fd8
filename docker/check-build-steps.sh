#!/usr/bin/env bash
# docker/check-build-steps.sh — runs the build steps of docker/Dockerfile outside Docker, so that
# a change that breaks the image build (a file the build needs, a lockfile out of date, a binary
# that does not start) fails here too, on a machine without a Docker engine.
#
#   docker/check-build-steps.sh
#
# What it checks, as the Dockerfile's stages do:
#   1. every file the Dockerfile copies or the build reads is in the build context (not excluded
#      by docker/Dockerfile.dockerignore), and Cargo.lock is committed;
#   2. `cargo build --release --locked --bin grantd` (the builder stage; cargo-chef's dependency
#      layer is only a cache, so it is left out here);
#   3. the binary runs: `grantd --help` (the builder stage runs it too) and `grantd serve --help`
#      (the image's ENTRYPOINT + CMD);
#   4. the runtime stage's HEALTHCHECK target, /healthz on GRANTD_BIND=127.0.0.1:<free port>,
#      answers 200 when the binary serves with SQLite in a temporary directory, when curl is
#      present (skipped otherwise).
# Environment: CARGO_TARGET_DIR is honoured; SKIP_SERVE_CHECK=1 skips step 4.
set -euo pipefail

die() { printf 'check-build-steps: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*"; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

log "build context"
[[ -f Cargo.lock ]] || die "Cargo.lock is missing: --locked builds need it"
[[ -f docker/Dockerfile ]] || die "docker/Dockerfile is missing"
needed=(Cargo.toml Cargo.lock src entity migration openapi)
# compile-time inputs beside src/ (HTML templates), when the crate has them
[[ -d templates ]] && needed+=(templates)
for path in "${needed[@]}"; do
  [[ -e $path ]] || die "$path is missing from the build context"
  if [[ -f docker/Dockerfile.dockerignore ]]; then
    while IFS= read -r pattern; do
      [[ -z $pattern || $pattern == \#* ]] && continue
      pattern=${pattern%/}
      [[ $path == "$pattern" || $path == "$pattern"/* ]] &&
        die "$path is needed by the build but docker/Dockerfile.dockerignore excludes it ($pattern)"
    done <docker/Dockerfile.dockerignore
  fi
done
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files --error-unmatch Cargo.lock >/dev/null 2>&1 ||
    die "Cargo.lock is not tracked by git; the image is built from a clean checkout"
fi

log "cargo build --release --locked --bin grantd"
cargo build --release --locked --bin grantd

target_dir=${CARGO_TARGET_DIR:-$root/target}
bin=$target_dir/release/grantd
[[ -x $bin ]] || die "no binary at $bin"

log "grantd --help"
"$bin" --help >/dev/null || die "grantd --help failed"
"$bin" serve --help >/dev/null || die "grantd serve --help failed"

if [[ ${SKIP_SERVE_CHECK:-0} == 1 ]]; then
  log "serve check skipped (SKIP_SERVE_CHECK=1)"
elif ! command -v curl >/dev/null; then
  log "serve check skipped (no curl)"
else
  log "grantd serve answers /healthz (the HEALTHCHECK)"
  work=$(mktemp -d)
  pid=""
  cleanup() {
    if [[ -n $pid ]]; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$work"
  }
  trap cleanup EXIT
  port=""
  for _ in $(seq 1 50); do
    candidate=$((20000 + RANDOM % 10000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
      port=$candidate
      break
    fi
  done
  [[ -n $port ]] || die "no free port found"
  (
    cd "$work"
    exec env -u GRANTD_DATABASE_URL -u GRANTD_REDIS_URL -u GRANTD_PUBLIC_URL \
      -u GRANTD_ADMIN_TOKEN -u GRANTD_MASTER_KEY \
      GRANTD_BIND="127.0.0.1:$port" GRANTD_DATABASE_URL="sqlite://$work/grantd.db?mode=rwc" \
      "$bin" serve >"$work/grantd.log" 2>&1
  ) &
  pid=$!
  ok=0
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
      ok=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if ((ok == 0)); then
    tail -n 30 "$work/grantd.log" >&2 || true
    die "grantd serve did not answer /healthz on 127.0.0.1:$port"
  fi
fi

log "build steps OK"
