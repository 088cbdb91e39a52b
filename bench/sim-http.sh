#!/usr/bin/env bash
# The sim provider's HTTP server side by side with nginx answering a fixed completion: wrk
# POSTs the same OpenAI chat body (bench/post.lua) to each in turn, RUNS times, and prints every
# run, both medians and the sim's share of nginx. Needs build/release/beacon; nginx and wrk
# (Debian packages) are installed by scripts/install-deps.sh --bench, which it runs first.
# Usage: [RUNS=5] [SECONDS_PER_RUN=5] [CONNECTIONS=64] [SIM_THREADS=1] bench/sim-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --bench
runs=${RUNS:-5}
seconds=${SECONDS_PER_RUN:-5}
connections=${CONNECTIONS:-64}
dir=$(mktemp -d /tmp/beacon-sim-http.XXXXXX)
sim_port=${SIM_PORT:-18788}
nginx_port=${NGINX_PORT:-18790}
mkdir -p "$dir/tmp"
cat >"$dir/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      return 200 '{"id":"fixed","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"A fixed answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}';
    }
  }
}
EOF
nginx -p "$dir/" -e error.log -c "$dir/nginx.conf" &
nginx_pid=$!
build/release/beacon --sim-latency-ms 0 sim-provider --port "$sim_port" \
  --threads "${SIM_THREADS:-1}" 2>"$dir/sim.log" &
sim_pid=$!
trap 'kill $sim_pid 2>/dev/null; kill -QUIT $nginx_pid 2>/dev/null; wait; rm -rf "$dir"' EXIT
until curl -sf "http://127.0.0.1:$sim_port/health" >/dev/null &&
  curl -sf "http://127.0.0.1:$nginx_port/" >/dev/null; do sleep 0.1; done
rate() {  # url -> requests/s
  wrk -t1 -c"$connections" -d"${seconds}s" -s bench/post.lua "$1" | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
: >"$dir/sim" && : >"$dir/nginx"
for run in $(seq 1 "$runs"); do
  s=$(rate "http://127.0.0.1:$sim_port/v1/chat/completions")
  n=$(rate "http://127.0.0.1:$nginx_port/v1/chat/completions")
  echo "$s" >>"$dir/sim" && echo "$n" >>"$dir/nginx"
  echo "run $run: sim $s requests/s, nginx $n requests/s"
done
s=$(median <"$dir/sim")
n=$(median <"$dir/nginx")
echo "median of $runs: sim $s requests/s, nginx $n requests/s, sim at $(awk -v s="$s" -v n="$n" 'BEGIN {printf "%.0f", 100 * s / n}')% of nginx"
