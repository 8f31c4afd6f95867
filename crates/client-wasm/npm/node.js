// Node: Node's fetch cannot read file: URLs, so the .wasm is read from disk and compiled
// synchronously at import.
import { readFileSync } from 'node:fs';

import { initSync, WasmSubscription } from './hero_supervisor_openrpc_client.js';

export * from './hero_supervisor_openrpc_client.js';

// wasm-bindgen cannot name a method by a symbol; a subscription is its own async iterator.
WasmSubscription.prototype[Symbol.asyncIterator] = function () { return this; };

initSync({
  module: readFileSync(new URL('./hero_supervisor_openrpc_client_bg.wasm', import.meta.url)),
});
