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
  trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
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
  trap 'kill "$SERVER_PID" "$INTEROP_PID" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
  local ports
  ports=$(wait_for_line "$INTEROP_PID" "$INTEROP_LOG" "interop servers" "grep '^{'") || exit 1
  export WS_TETHER_INTEROP="$ports"
  echo "[server] interop servers: $WS_TETHER_INTEROP (log: $INTEROP_LOG)"
}
