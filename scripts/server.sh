# Prints the first line `filter` (a command reading the log on stdin) finds in `log`, waiting
# up to 30 s while process `pid` runs; on failure shows the log and returns 1.
wait_for_line() {
  local pid=$1 log=$2 name=$3 filter=$4 line=""
  for _ in $(seq 1 300); do
    line=$(sh -c "$filter" <"$log" | head -n1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "$name exited" >&2; return 1; }
    sleep 0.1
  done
  cat "$log" >&2
  echo "$name did not report its port" >&2
  return 1
}

# Processes the calling script started here; all are stopped when it exits (one trap, so
# starting one server does not forget another).
STARTED_PIDS=()
stop_on_exit() {
  STARTED_PIDS+=("$1")
  trap 'kill "${STARTED_PIDS[@]}" 2>/dev/null || true; wait "${STARTED_PIDS[@]}" 2>/dev/null || true' EXIT
}

# A free TCP port on 127.0.0.1 (for servers that cannot bind port 0 and report it).
free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Sourced by the other scripts: builds and starts the test server on a free port, exports
# WS_TETHER_SERVER=127.0.0.1:PORT and stops the server when the calling script exits.
# Extra arguments are passed to the server. With WS_TETHER_BUILT=1 (scripts/test, which builds
# everything before it runs steps side by side) it runs the server as built: a cargo command
# would wait for the build directory's lock while another step holds it.
start_test_server() {
  [ "${WS_TETHER_BUILT:-}" = 1 ] || cargo build -q -p test-server
  SERVER_LOG=$(mktemp)
  "${CARGO_TARGET_DIR:-target}"/debug/test-server --port 0 "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  stop_on_exit "$SERVER_PID"
  local port
  port=$(wait_for_line "$SERVER_PID" "$SERVER_LOG" test-server \
    "sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p'") || exit 1
  export WS_TETHER_SERVER="127.0.0.1:$port"
  echo "[server] test-server on http://$WS_TETHER_SERVER (log: $SERVER_LOG)"
}

# Starts the interop servers (scripts/interop: Node ws, graphql-ws, engine.io, Python
# websockets) and exports WS_TETHER_INTEROP, a JSON object of their ports and the control
# port. Stops them when the calling script exits (with the test server).
start_interop_servers() {
  INTEROP_LOG=$(mktemp)
  node scripts/interop/supervisor.mjs "$PWD/.venv-interop/bin/python" >"$INTEROP_LOG" 2>&1 &
  INTEROP_PID=$!
  stop_on_exit "$INTEROP_PID"
  local ports
  ports=$(wait_for_line "$INTEROP_PID" "$INTEROP_LOG" "interop servers" "grep '^{'") || exit 1
  export WS_TETHER_INTEROP="$ports"
  echo "[server] interop servers: $WS_TETHER_INTEROP (log: $INTEROP_LOG)"
}

# Starts a Redis server (Debian's redis-server, installed by scripts/setup) on a free
# loopback port, without persistence (its working directory is a temporary one), exports
# REDIS_URL=redis://127.0.0.1:PORT and stops it when the calling script exits.
start_redis() {
  local port dir
  port=$(free_port)
  dir=$(mktemp -d)
  REDIS_LOG="$dir/redis.log"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    >"$REDIS_LOG" 2>&1 &
  REDIS_PID=$!
  stop_on_exit "$REDIS_PID"
  wait_for_line "$REDIS_PID" "$REDIS_LOG" redis-server "grep -m1 'Ready to accept connections'" >/dev/null || exit 1
  export REDIS_URL="redis://127.0.0.1:$port"
  echo "[server] redis-server on $REDIS_URL (log: $REDIS_LOG)"
}
