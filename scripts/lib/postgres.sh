# Sourced by the project's scripts. `ensure_postgres` makes DATABASE_URL point at a running
# PostgreSQL: the one given, else a private cluster on NEXUS_PG_PORT (reused if already up,
# created with initdb and started with pg_ctl if not). `stop_postgres_if_started` stops only a
# cluster this script started: nothing that was already running is torn down.

NEXUS_PG_PORT=${NEXUS_PG_PORT:-54329}
NEXUS_PG_DIR=${NEXUS_PG_DIR:-/tmp/nexus-pg-$NEXUS_PG_PORT}
NEXUS_PG_STARTED=0

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$dir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "PostgreSQL not found; installing it with apt-get" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib) >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  echo "$dir"
}

# PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts the (initialised) cluster in NEXUS_PG_DIR on NEXUS_PG_PORT. fsync off: a throwaway
# development/test cluster trades durability for speed.
start_postgres_cluster() {
  as_pg "$(pg_bin)/pg_ctl" -D "$NEXUS_PG_DIR" -l "$NEXUS_PG_DIR/server.log" -w -s \
    -o "-p $NEXUS_PG_PORT -k $NEXUS_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start
}

ensure_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    return 0
  fi
  local bin
  bin=$(pg_bin) || return 1
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$NEXUS_PG_PORT"; then
    if [ ! -s "$NEXUS_PG_DIR/PG_VERSION" ]; then
      mkdir -p "$NEXUS_PG_DIR"
      [ "$(id -u)" = 0 ] && chown postgres: "$NEXUS_PG_DIR"
      chmod 700 "$NEXUS_PG_DIR"
      as_pg "$bin/initdb" -D "$NEXUS_PG_DIR" -U postgres --auth=trust -N -E UTF8 >/dev/null
    fi
    start_postgres_cluster
    NEXUS_PG_STARTED=1
    echo "PostgreSQL started on 127.0.0.1:$NEXUS_PG_PORT (data in $NEXUS_PG_DIR)" >&2
  else
    echo "PostgreSQL already running on 127.0.0.1:$NEXUS_PG_PORT; reusing it" >&2
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$NEXUS_PG_PORT/postgres"
}

stop_postgres_if_started() {
  if [ "$NEXUS_PG_STARTED" = 1 ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$NEXUS_PG_DIR" -m fast -w -s stop || true
    NEXUS_PG_STARTED=0
  fi
}
