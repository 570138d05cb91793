// Servers this project did not write, for the interop suite: Node `ws` (a JSON ping/pong echo
// and an auth handshake), graphql-ws, engine.io, and Python `websockets` (a push-only feed).
// Each runs in its own process so a test can kill, restart or freeze it. Prints one JSON line
// with the ports, then serves controls on its own port:
//   /restart/<name>  kill -9 and start again on the same port
//   /stop/<name>     SIGSTOP (the server goes silent; its sockets stay open)
//   /cont/<name>     SIGCONT
// Loopback only. Stops its children when it exits.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const python = process.argv[2] ?? 'python3';

/** Starts a server process; it prints its port on its first line. */
async function start(name, cmd, args, port = 0) {
  const child = spawn(cmd, [...args, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  const [line] = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl >= 0) resolve([buffered.slice(0, nl)]);
    });
  });
  return { name, child, port: Number(line.trim()), cmd, args };
}

const servers = new Map();
for (const [name, cmd, args] of [
  ['ws', process.execPath, [join(here, 'ws-servers.mjs')]],
  ['graphql', process.execPath, [join(here, 'graphql-server.mjs')]],
  ['engineio', process.execPath, [join(here, 'engineio-server.mjs')]],
  ['feed', python, [join(here, 'feed.py')]],
]) {
  servers.set(name, await start(name, cmd, args));
}

const stopAll = () => { for (const s of servers.values()) s.child.kill('SIGKILL'); };
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));

const control = createServer(async (req, res) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  const [, action, name] = new URL(req.url, 'http://x').pathname.split('/');
  const server = servers.get(name);
  if (!server) { res.writeHead(404).end('no such server'); return; }
  try {
    if (action === 'restart') {
      server.child.kill('SIGKILL');
      await once(server.child, 'exit');
      servers.set(name, await start(name, server.cmd, server.args, server.port));
    } else if (action === 'stop') {
      server.child.kill('SIGSTOP');
    } else if (action === 'cont') {
      server.child.kill('SIGCONT');
    } else {
      res.writeHead(404).end('no such action');
      return;
    }
    res.writeHead(200).end('ok');
  } catch (e) {
    res.writeHead(500).end(String(e));
  }
});
control.listen(0, '127.0.0.1', () => {
  const ports = Object.fromEntries([...servers].map(([n, s]) => [n, s.port]));
  console.log(JSON.stringify({ control: control.address().port, ...ports }));
});
