import init, { TetherSocket } from '/pkg/ws_tether.js';

const $ = (id) => document.getElementById(id);
const STATES = ['connecting', 'open', 'closing', 'closed'];
let socket = null;

function add(list, text, cls) {
  const li = document.createElement('li');
  li.textContent = text;
  if (cls) li.className = cls;
  $(list).prepend(li);
}

function render() {
  const state = socket ? socket.readyState : 3;
  $('state').textContent = STATES[state];
  $('state').dataset.state = String(state);
  $('send').disabled = state !== 1;
  $('disconnect').disabled = state > 1;
  $('connect').disabled = state < 2;
}

function onEvent(event) {
  switch (event.type) {
    case 'open': add('events', `open${event.protocol ? ` (protocol ${event.protocol})` : ''}`); break;
    case 'message': {
      const text = typeof event.data === 'string' ? event.data : `<${event.data.byteLength} bytes>`;
      add('messages', text, 'received');
      add('events', `message (${text.length} chars)`);
      break;
    }
    case 'error': add('events', 'error'); break;
    case 'close': add('events', `close code=${event.code} reason="${event.reason}" clean=${event.wasClean}`); break;
  }
  render();
}

$('connect-form').addEventListener('submit', (e) => {
  e.preventDefault();
  try {
    socket = new TetherSocket($('url').value, [], onEvent);
    add('events', 'connecting');
  } catch (err) {
    add('events', `error: ${err.message}`);
  }
  render();
});

$('disconnect').addEventListener('click', () => { socket?.close(); render(); });

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('message').value;
  if (!socket || !text) return;
  try {
    socket.send(text);
    add('messages', text, 'sent');
    $('message').value = '';
  } catch (err) {
    add('events', `error: ${err.message}`);
  }
});

await init();
$('url').value = `ws://${location.host}/echo`;
$('connect-form').requestSubmit();
