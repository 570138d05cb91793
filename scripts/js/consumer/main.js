// What an app does with the published package: import it and use it like a WebSocket (no
// init step: the first socket loads the wasm, through Vite's build or the import map).
import { ReconnectingWebSocket } from 'ws-tether';

const server = new URLSearchParams(location.search).get('server');
const ws = new ReconnectingWebSocket(`ws://${server}/echo`);
ws.onopen = () => ws.send('from the package');
ws.onmessage = (event) => {
  document.title = `echo: ${event.data}`;
  ws.close();
};
