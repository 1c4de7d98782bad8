#!/usr/bin/env bash
# Remakes the captures of every Varnish version vlogdump is proven on, and the -q expectations of each:
#   1. builds the releases from source into /tmp/varnish/<version> (build.sh; skipped when already there),
#   2. fixtures/varnish-<major.minor>/  the lab capture, seed 1 (what the tests are developed against),
#   3. fixtures/holdout/varnish-<major.minor>/  a second capture, seed 2 and 150 requests, kept out of development
#      and checked last (7.1 too, with the Debian package's varnishd),
#   4. test/query-cases/varnish-<major.minor>.json and holdout-<major.minor>.json: -q cases with that varnishlog.
# Loopback only. Never run in CI: CI uses the committed captures.
#
#   scripts/varnish-build/capture-all.sh [--holdout-only|--dev-only]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

TAGS=(varnish-6.0.16 varnish-6.6.2 varnish-7.7.3 varnish-8.0.0)
what=${1:-all}
bash scripts/varnish-build/build.sh "${TAGS[@]}"

capture() { # version-dir seed count out [prefix]
  local args=(--out "$4" --seed "$2" --count "$3")
  [[ -n ${5:-} ]] && args+=(--varnish "$5")
  node scripts/capture/make-captures.mjs "${args[@]}"
}

for tag in "${TAGS[@]}"; do
  full=${tag#varnish-}; short=${full%.*}; prefix=/tmp/varnish/$full
  if [[ $what != --holdout-only ]]; then
    capture "$short" 1 100 "fixtures/varnish-$short" "$prefix"
    node scripts/make-query-cases.mjs --version "$short" --varnish "$prefix"
  fi
  if [[ $what != --dev-only ]]; then
    capture "$short" 2 150 "fixtures/holdout/varnish-$short" "$prefix"
    node scripts/make-query-cases.mjs --version "$short" --varnish "$prefix" --dir "fixtures/holdout/varnish-$short" --out "test/query-cases/holdout-$short.json"
  fi
done
if [[ $what != --dev-only ]]; then
  capture 7.1 2 150 fixtures/holdout/varnish-7.1
  node scripts/make-query-cases.mjs --version 7.1 --varnish /usr --dir fixtures/holdout/varnish-7.1 --out test/query-cases/holdout-7.1.json
fi
