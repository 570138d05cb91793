import { ReconnectingWebSocket } from '/pkg/index.js';
import initShare from '/pkg/share.js';

const $ = (id) => document.getElementById(id);
const tab = `tab-${Math.random().toString(36).slice(2, 8)}`;
$('name').value = `guest-${tab.slice(4, 8)}`;

function log(text) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  $('events').prepend(li);
}

function badge(state, text) {
  $('badge').dataset.state = state;
  $('badge').textContent = text;
  $('send').disabled = state === 'closed';
}

function show(message, { mine = false, queued = false } = {}) {
  const li = document.createElement('li');
  li.className = `${mine ? 'mine' : ''} ${queued ? 'queued' : ''}`;
  li.dataset.key = message.key;
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = queued ? `${message.from} · queued` : message.from;
  li.append(from, document.createTextNode(message.text));
  $('messages').append(li);
  $('messages').scrollTop = $('messages').scrollHeight;
}

// Every message carries its tab and a number, so each page counts what it lost or got twice
// (with resume: none, however often the connection drops).
let sent = 0;
const last = new Map();
const counts = { lost: 0, duplicated: 0, received: 0 };
function count(message) {
  const before = last.get(message.tab) ?? 0;
  if (message.n <= before) counts.duplicated += 1;
  else {
    counts.lost += message.n - before - 1;
    last.set(message.tab, message.n);
  }
  counts.received += 1;
  $('lost').textContent = `${counts.received} received · ${counts.lost} lost · ${counts.duplicated} twice`;
  $('lost').dataset.lost = String(counts.lost + counts.duplicated);
}

// The tabs of this browser share one connection (`?share=0`: each tab its own). The tab
// holding it runs it for all; close that tab and another takes over the same session.
const sharing = new URLSearchParams(location.search).get('share') !== '0';
await initShare(); // loads the sharing code and the default wasm
// The connection's id at the server (its "drop" button's target): the browser's, stored for
// every tab of this origin, when they share; this tab's otherwise.
const connection = sharing
  ? (localStorage.chatConnection ??= `room-${Math.random().toString(36).slice(2, 8)}`)
  : tab;
// The chat room speaks the resume protocol (ws-tether-server): what is said while a tab is
// away reaches it when it comes back, and what it sent meanwhile goes out once.
const ws = new ReconnectingWebSocket(`ws://${location.host}/chat?id=${connection}`, [], {
  minDelay: 250,
  maxDelay: 5000,
  heartbeat: { interval: 2000, timeout: 5000 },
  resume: true,
  share: sharing && { name: 'chat' },
});

ws.addEventListener('holder', (e) => {
  const { tab: holder, self, shared } = e.detail;
  const text = !shared ? 'own connection' : self ? 'this tab holds the connection' : `tab ${holder.toString(36).slice(-4)} holds it`;
  $('holder').textContent = text;
  $('holder').dataset.self = String(self);
  log(shared ? text : 'not shared: this tab has a connection of its own');
});

ws.addEventListener('open', () => { badge('open', 'open'); log('open'); });
ws.addEventListener('resumed', (e) => {
  log(`session resumed: nothing lost (${e.detail.resent} of this tab's messages sent again)`);
});
ws.addEventListener('sessionlost', (e) => log(`session lost (${e.detail.reason})`));
ws.addEventListener('reconnecting', (e) => {
  const { attempt, delay, code } = e.detail;
  badge('reconnecting', `reconnecting ${attempt}`);
  log(`connection lost (code ${code}); retry ${attempt} in ${Math.round(delay)} ms`);
});
ws.addEventListener('reconnect', () => log('reconnected; queued messages sent'));
ws.addEventListener('close', (e) => {
  if (ws.readyState === ReconnectingWebSocket.CLOSED) {
    badge('closed', 'closed');
    log(`closed for good (code ${e.code})`);
  }
});
ws.addEventListener('rtt', (e) => { $('rtt').textContent = `rtt ${e.detail.toFixed(1)} ms`; });
ws.addEventListener('message', (e) => {
  let message;
  try { message = JSON.parse(e.data); } catch { return; }
  count(message);
  const pending = document.querySelector(`#messages li[data-key="${message.key}"]`);
  if (pending) pending.remove();
  show(message, { mine: message.tab === tab });
});

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  sent += 1;
  const message = { key: `${tab}-${sent}`, tab, n: sent, from: $('name').value || tab, text };
  try {
    const outcome = ws.send(JSON.stringify(message));
    if (outcome === 'queued') {
      show(message, { mine: true, queued: true });
      log('sent while down: queued, will go out on reconnect');
    }
    $('text').value = '';
  } catch (err) {
    log(`not sent: ${err.message}`);
  }
});

$('drop').addEventListener('click', async () => {
  log('asking the server to drop this connection');
  await fetch(`/control/drop-all?id=${connection}`);
});
$('restart').addEventListener('click', async () => {
  log('restarting the server: every connection closed, none accepted for 3 s');
  await fetch('/control/restart?ms=3000');
});
$('reconnect').addEventListener('click', () => ws.reconnect());
$('close').addEventListener('click', () => ws.close(1000, 'bye'));
window.chat = { ws, tab, connection };
