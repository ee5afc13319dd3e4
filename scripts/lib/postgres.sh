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

# `ensure_tls_postgres`: a second private cluster that, like RDS Proxy, requires TLS and SCRAM:
# `ssl = on`, scram-sha-256 passwords, pg_hba `hostssl` only for TCP (the local socket, trusted, is
# for setting it up). Its certificate, for localhost and 127.0.0.1, is signed by a CA made here
# (key and certificate kept in the cluster's directory). initdb and openssl run once; later calls
# reuse or restart it. Exports NEXUS_TLS_DATABASE_URL (role `nexus`, database `nexus`, no TLS
# parameters: the caller picks sslmode), NEXUS_TLS_CA (the CA certificate's path) and
# NEXUS_TLS_OTHER_CA (a CA that did not sign it, for the tests that must be refused). Connections
# are logged (log_connections) in $NEXUS_PG_TLS_DIR/server.log, so they can be counted.
NEXUS_PG_TLS_PORT=${NEXUS_PG_TLS_PORT:-$((NEXUS_PG_PORT + 1))}
NEXUS_PG_TLS_DIR=${NEXUS_PG_TLS_DIR:-/tmp/nexus-pg-tls-$NEXUS_PG_TLS_PORT}
NEXUS_PG_TLS_PASSWORD=nexus-tls-local-only
NEXUS_PG_TLS_STARTED=0

ensure_tls_postgres() {
  local bin dir=$NEXUS_PG_TLS_DIR
  bin=$(pg_bin) || return 1
  if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$NEXUS_PG_TLS_PORT"; then
    if [ ! -s "$dir/PG_VERSION" ]; then
      rm -rf "$dir" && mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      chmod 700 "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 -N -E UTF8 >/dev/null
      as_pg sh -ec "cd '$dir'
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=Nexus local test CA' \
          -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
          -extfile server.ext -out server.crt 2>/dev/null
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=Some other CA' \
          -keyout other-ca.key -out other-ca.crt 2>/dev/null
        chmod 600 ca.key server.key other-ca.key
        printf 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n' > pg_hba.conf
        printf \"ssl = on\npassword_encryption = 'scram-sha-256'\nlog_connections = on\n\" >> postgresql.conf"
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -s -o "-p $NEXUS_PG_TLS_PORT -k $dir -c listen_addresses=''" start
      as_pg "$bin/psql" -q -h "$dir" -p "$NEXUS_PG_TLS_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE nexus LOGIN CREATEDB PASSWORD '$NEXUS_PG_TLS_PASSWORD'" -c "CREATE DATABASE nexus OWNER nexus" >/dev/null
      as_pg "$bin/pg_ctl" -D "$dir" -m fast -w -s stop
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -s \
      -o "-p $NEXUS_PG_TLS_PORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start
    NEXUS_PG_TLS_STARTED=1
    echo "PostgreSQL (TLS + SCRAM only) started on 127.0.0.1:$NEXUS_PG_TLS_PORT (data in $dir)" >&2
  else
    echo "PostgreSQL (TLS + SCRAM only) already running on 127.0.0.1:$NEXUS_PG_TLS_PORT; reusing it" >&2
  fi
  export NEXUS_TLS_DATABASE_URL="postgres://nexus:$NEXUS_PG_TLS_PASSWORD@localhost:$NEXUS_PG_TLS_PORT/nexus"
  export NEXUS_TLS_CA="$dir/ca.crt" NEXUS_TLS_OTHER_CA="$dir/other-ca.crt"
}

stop_tls_postgres_if_started() {
  if [ "$NEXUS_PG_TLS_STARTED" = 1 ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$NEXUS_PG_TLS_DIR" -m fast -w -s stop || true
    NEXUS_PG_TLS_STARTED=0
  fi
}
