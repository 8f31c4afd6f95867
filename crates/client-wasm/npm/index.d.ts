// Both entry points (index.js for browsers, node.js for Node) export the same API.
export * from './hero_supervisor_openrpc_client.js';
