#!/usr/bin/env bash
# Bytes PostgreSQL stores per cell: a 99,900-cell job (111 questions x 3 models x 3 regions x 100
# runs, sim at zero latency, receipts on) on a fresh embedded cluster of a release node, then the
# total size (heap, TOAST, indexes) of the executions table and of the transparency log's tables.
# Needs build/release/beacon, curl and psql.
# Usage: bench/bytes-per-cell.sh   (prints one line per table and the bytes per cell)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/beacon
state=bench/out/bytes-state
port=${PORT:-18788}
base=http://127.0.0.1:$port
rm -rf "$state"
"$bin" --state-dir "$state" --http-host 127.0.0.1 --http-port "$port" --log-level warn \
  --sim-latency-ms 0 serve >/dev/null 2>&1 &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null' EXIT
until curl -sf "$base/health" >/dev/null; do sleep 0.2; done
qs=$(seq 1 111 | sed 's/.*/"bytes-q&"/' | paste -sd,)
curl -sf -X POST "$base/api/v1/jobs" -H 'Content-Type: application/json' -d \
  '{"id":"bytes-1","version":"v1","benchmark":{"name":"bias-detection"},"constraints":{"regions":["US","EU","ASIA"],"min_regions":1,"min_success_rate":0.67},"metadata":{"models":["llama3.2-1b","mistral-7b","qwen2.5-1.5b"]},"questions":['"$qs"'],"runs":100}' \
  >/dev/null
until curl -s "$base/api/v1/jobs/bytes-1" | grep -q '"stored_status":"completed"'; do sleep 1; done
sql() {
  PGPASSFILE=$(realpath "$state/postgres/pgpass") psql -h "$(realpath "$state/postgres/run")" \
    -p 5432 -U beacon -d beacon -Atc "$1"
}
sql "CHECKPOINT" >/dev/null
sql "SELECT t, s FROM (VALUES ('executions'), ('log_leaf_runs'), ('log_leaves'), ('log_heads'),
       ('log_tiles'), ('transparency_logs')) AS v(t), LATERAL (SELECT pg_total_relation_size(t) AS s) x"
sql "SELECT 'bytes per cell', round((pg_total_relation_size('executions') + pg_total_relation_size('log_leaf_runs')
       + pg_total_relation_size('log_leaves') + pg_total_relation_size('log_heads')
       + pg_total_relation_size('log_tiles') + pg_total_relation_size('transparency_logs'))::numeric
       / (SELECT count(*) FROM executions))"
