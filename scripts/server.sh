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
