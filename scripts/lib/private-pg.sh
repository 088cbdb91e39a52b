# Sourced by scripts/cluster and scripts/chaos: a private PostgreSQL server for several nodes.
# pg_start DIR PORT starts one under DIR (initdb on first use) listening on 127.0.0.1:PORT and
# sets PG_URL; pg_stop stops it; pg_kill kills its postmaster (SIGKILL) and pg_restart starts it
# again (crash recovery). As root, the server runs as the postgres user.

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  PG_DIR="$1"
  PG_PORT="$2"
  local bin
  bin="$(pg_bin)"
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$PG_DIR"; fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -U beacon --auth=trust -E UTF8 >"$PG_DIR/initdb.log"
  fi
  pg_restart
  pg_as_owner "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U beacon beacon 2>/dev/null || true
  PG_URL="postgresql://beacon@127.0.0.1:$PG_PORT/beacon"
}

# Starts the server; after a kill its old backends may hold the lock file or shared memory for a
# moment, so it tries again for up to 20 s.
pg_restart() {
  for _ in $(seq 40); do
    pg_as_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w start \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" \
      >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "PostgreSQL under $PG_DIR did not start: see $PG_DIR/postgres.log" >&2
  return 1
}

pg_kill() { kill -9 "$(head -1 "$PG_DIR/data/postmaster.pid")"; }

pg_stop() {
  pg_as_owner "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
}

# node_wait PORT: until the node on PORT answers /health/live (30 s at most).
node_wait() {
  for _ in $(seq 300); do
    curl -fsS "http://127.0.0.1:$1/health/live" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the node on port $1 did not come up" >&2
  return 1
}
