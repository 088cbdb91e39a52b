#!/usr/bin/env bash
# The largest job the node accepts next to a small one, on a release node with its embedded
# PostgreSQL: the admission time of a job of QUESTIONS x 3 models x 3 regions x 100 runs cells
# (QUESTIONS=1111: 999,900 cells, under the default max-cells-per-job of 1,000,000;
# QUESTIONS=2222: 1,999,800, the earlier default), how long a 10-cell job submitted right after
# it takes to complete, /health and /health/live while the big job runs, and how long the big
# job's cancel takes. Needs build/release/beacon and curl.
# Usage: [QUESTIONS=n] bench/big-job.sh [runs]   (prints one line per run)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/beacon
runs=${1:-3}
questions=${QUESTIONS:-1111}
cells=$((questions * 900))
port=${PORT:-18787}
base=http://127.0.0.1:$port
ms() { date +%s%3N; }
status_of() { curl -s "$base/api/v1/jobs/$1" | grep -o '"stored_status":"[a-z]*"' | cut -d'"' -f4; }
wait_for() {  # job, wanted status, limit in s
  local deadline=$(($(date +%s) + $3))
  until [ "$(status_of "$1")" = "$2" ]; do
    [ "$(date +%s)" -lt $deadline ] || { echo "timed out waiting for $1 to be $2" >&2; exit 1; }
    sleep 0.05
  done
}
spec() {  # id, questions, runs
  local qs
  qs=$(seq 1 "$2" | sed 's/.*/"big-q&"/' | paste -sd,)
  printf '{"id":"%s","version":"v1","benchmark":{"name":"bias-detection"},"constraints":{"regions":["US","EU","ASIA"],"min_regions":1,"min_success_rate":0.67},"metadata":{"models":["llama3.2-1b","mistral-7b","qwen2.5-1.5b"]},"questions":[%s],"runs":%s}' "$1" "$qs" "$3"
}
for run in $(seq 1 "$runs"); do
  state=$(mktemp -d /tmp/beacon-big-job.XXXXXX)
  "$bin" --state-dir "$state" --http-port "$port" --sim-latency-ms 2 --sim-max-concurrency 256 \
    --max-in-flight-per-job 256 --max-cells-per-job "$cells" serve >"$state/node.log" 2>&1 &
  node=$!
  until curl -sf "$base/health/live" >/dev/null; do sleep 0.2; done
  spec big "$questions" 100 >"$state/big.json"
  printf '{"id":"small","constraints":{"regions":["US","EU"]},"metadata":{"models":["llama3.2-1b"]},"questions":["math_basic"],"runs":5}' >"$state/small.json"
  t0=$(ms)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$state/big.json" "$base/api/v1/jobs")
  t1=$(ms)
  [ "$code" = 202 ] || { echo "big job refused: $code" >&2; exit 1; }
  curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary @"$state/small.json" \
    "$base/api/v1/jobs"
  wait_for small completed 120
  t2=$(ms)
  health=$(curl -s -o /dev/null -w '%{http_code}' "$base/health")
  live=$(curl -s -o /dev/null -w '%{time_total}' "$base/health/live")
  t3=$(ms)
  curl -s -o /dev/null -X POST "$base/api/v1/jobs/big/cancel"
  wait_for big cancelled 300
  t4=$(ms)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$node/status")
  echo "run $run: admitted $cells cells in $((t1 - t0)) ms; 10-cell job done $((t2 - t1)) ms later;" \
    "/health $health, /health/live ${live}s; cancel to cancelled $((t4 - t3)) ms; node RSS ${rss} kB"
  kill "$node"
  wait "$node" 2>/dev/null || true
  rm -rf "$state"
done
