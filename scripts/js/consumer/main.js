// What an app does with the published package: import, init once, use like a WebSocket.
import init, { ReconnectingWebSocket } from 'ws-tether';

await init();
const server = new URLSearchParams(location.search).get('server');
const ws = new ReconnectingWebSocket(`ws://${server}/echo`);
ws.onopen = () => ws.send('from the package');
ws.onmessage = (event) => {
  document.title = `echo: ${event.data}`;
  ws.close();
};
