// Browsers and bundlers: fetches the .wasm next to this file once, at import, so the classes
// work as soon as the import resolves, with no separate init step.
import init from './hero_supervisor_openrpc_client.js';

export * from './hero_supervisor_openrpc_client.js';

await init();
