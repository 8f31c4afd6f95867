// Browsers and bundlers: fetches the .wasm next to this file once, at import, so the classes
// work as soon as the import resolves, with no separate init step.
import init, { WasmSubscription } from './hero_supervisor_openrpc_client.js';

export * from './hero_supervisor_openrpc_client.js';

// wasm-bindgen cannot name a method by a symbol; a subscription is its own async iterator.
WasmSubscription.prototype[Symbol.asyncIterator] = function () { return this; };

await init();
