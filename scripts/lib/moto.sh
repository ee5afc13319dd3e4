# Sourced by the project's scripts. `ensure_moto` starts moto's server (S3 and Secrets Manager
# on one port, from PyPI: installed with pip when absent) on loopback and points the AWS SDK at
# it; `stop_moto_if_started` stops only a server this script started.

NEXUS_MOTO_PORT=${NEXUS_MOTO_PORT:-54500}
NEXUS_MOTO_PID=

ensure_moto() {
  # Run as a module, not through the `moto_server` entry point: a fresh pip install under
  # pyenv has no shim for the entry point until `pyenv rehash`.
  if ! python3 -c "import moto.server, flask" >/dev/null 2>&1; then
    echo "moto not found; installing moto[server] with pip" >&2
    python3 -m pip install --quiet "moto[server]" >&2
  fi
  export AWS_ENDPOINT_URL="http://127.0.0.1:$NEXUS_MOTO_PORT"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=ap-southeast-3
  export NEXUS_S3_FORCE_PATH_STYLE=true
  if curl -fs "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1; then
    echo "moto already running on 127.0.0.1:$NEXUS_MOTO_PORT; reusing it" >&2
    return 0
  fi
  python3 -m moto.server -H 127.0.0.1 -p "$NEXUS_MOTO_PORT" >/tmp/nexus-moto-$NEXUS_MOTO_PORT.log 2>&1 &
  NEXUS_MOTO_PID=$!
  for _ in $(seq 1 100); do
    curl -fs "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && { echo "moto started on 127.0.0.1:$NEXUS_MOTO_PORT" >&2; return 0; }
    sleep 0.1
  done
  echo "moto_server did not start; see /tmp/nexus-moto-$NEXUS_MOTO_PORT.log" >&2
  return 1
}

stop_moto_if_started() {
  if [ -n "$NEXUS_MOTO_PID" ]; then
    kill "$NEXUS_MOTO_PID" 2>/dev/null || true
    # Should the interpreter have been started through a wrapper, stop the one on our port too.
    pkill -f "moto.server -H 127.0.0.1 -p $NEXUS_MOTO_PORT" 2>/dev/null || true
    NEXUS_MOTO_PID=
  fi
}
