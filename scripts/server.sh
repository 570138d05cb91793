# Sourced by the other scripts: builds and starts the test server on a free port, exports
# WS_TETHER_SERVER=127.0.0.1:PORT and stops the server when the calling script exits.
# Extra arguments are passed to the server.
start_test_server() {
  cargo build -q -p test-server
  SERVER_LOG=$(mktemp)
  ./target/debug/test-server --port 0 "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
  local port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$SERVER_LOG" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG"; echo "test-server exited"; exit 1; }
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$SERVER_LOG"; echo "test-server did not report its port"; exit 1; }
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
  local ports=""
  for _ in $(seq 1 300); do
    ports=$(grep -m1 '^{' "$INTEROP_LOG" || true)
    [ -n "$ports" ] && break
    kill -0 "$INTEROP_PID" 2>/dev/null || { cat "$INTEROP_LOG"; echo "interop servers exited"; exit 1; }
    sleep 0.1
  done
  [ -n "$ports" ] || { cat "$INTEROP_LOG"; echo "interop servers did not report their ports"; exit 1; }
  export WS_TETHER_INTEROP="$ports"
  echo "[server] interop servers: $WS_TETHER_INTEROP (log: $INTEROP_LOG)"
}
