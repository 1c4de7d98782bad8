#!/usr/bin/env bash
# Smoke-test installed Varnish builds: start varnishd on loopback with a dead
# backend, expect HTTP 503, and check varnishlog -d -g raw shows records.
# Usage: smoke.sh [VERSION ...]   (default: every /tmp/varnish/*/sbin/varnishd)
set -uo pipefail
PREFIX_ROOT=${PREFIX_ROOT:-/tmp/varnish}
if [[ $# -gt 0 ]]; then VERS=("$@"); else
  VERS=(); for d in "$PREFIX_ROOT"/*/sbin/varnishd; do d=${d%/sbin/varnishd}; VERS+=("${d##*/}"); done
fi
free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'; }
rc=0
for v in "${VERS[@]}"; do
  p=$PREFIX_ROOT/$v; n=/tmp/vtest-$v
  port=$(free_port); tport=$(free_port)
  rm -rf "$n"
  "$p/sbin/varnishd" -F -n "$n" -a 127.0.0.1:"$port" -T 127.0.0.1:"$tport" \
      -b 127.0.0.1:9 -s malloc,16m >"/tmp/vtest-$v.out" 2>&1 &
  pid=$!
  code=000
  for _ in $(seq 1 50); do
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$port/") && [[ $code != 000 ]] && break
    sleep 0.2
  done
  sleep 1   # let the log records land
  lines=$("$p/bin/varnishlog" -n "$n" -d -g raw 2>&1 | head -20)
  nlines=$(printf '%s' "$lines" | grep -c . || true)
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [[ $code == 503 && $nlines -gt 0 ]]; then res=PASS; else res=FAIL; rc=1; fi
  echo "== $v: $res (http=$code, varnishlog raw lines=$nlines, port=$port)"
  printf '%s\n' "$lines" | head -10 | sed 's/^/   /'
  [[ $res == FAIL ]] && sed 's/^/   varnishd: /' "/tmp/vtest-$v.out" | tail -20
done
exit $rc
