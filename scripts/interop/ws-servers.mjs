// Node `ws` servers on one port, by path:
//   /json-echo  echoes every message, answers {"type":"ping"} with {"type":"pong"}
//   /auth       expects {"type":"auth","token":"good"} first: answers {"type":"auth_ok"}, or
//               {"type":"auth_error"} for any other token; then echoes
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2] ?? 0) });
wss.on('connection', (socket, req) => {
  const path = new URL(req.url, 'http://x').pathname;
  let authed = path !== '/auth';
  socket.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    let msg = null;
    try { msg = text && JSON.parse(text); } catch { /* not JSON: plain data */ }
    if (msg?.type === 'ping') { socket.send(JSON.stringify({ type: 'pong' })); return; }
    if (!authed) {
      const ok = msg?.type === 'auth' && msg.token === 'good';
      socket.send(JSON.stringify({ type: ok ? 'auth_ok' : 'auth_error' }));
      authed = ok;
      return;
    }
    socket.send(data, { binary: isBinary });
  });
});
wss.on('listening', () => console.log(wss.address().port));
