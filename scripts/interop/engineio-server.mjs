// An engine.io server (protocol 4) with the raw WebSocket transport only: it sends its open
// packet ("0{...}"), pings ("2") every second and expects the client's pong ("3") within a
// second; it echoes message packets ("4...").
import { createServer } from 'node:http';
import { Server } from 'engine.io';

const http = createServer();
// pingTimeout well above the interval: a client starved by a loaded machine is not cut off.
const server = new Server({ pingInterval: 1000, pingTimeout: 5000, transports: ['websocket'] });
server.attach(http);
server.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});
http.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(http.address().port));
