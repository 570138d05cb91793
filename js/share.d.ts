// ws-tether/share: the `share` option's driver and its WebAssembly module, loaded only by
// applications that share a connection between tabs.

/**
 * Loads the shared socket's WebAssembly module (by default `ws_tether_share_bg.wasm` next
 * to this file) and enables the `share` option. Call (and await) it once, after `init()`.
 */
export default function initShare(source?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
export { initShare };
