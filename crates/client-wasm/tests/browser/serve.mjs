// Serves the browser test: the page at `/`, the installed npm package under `/pkg/`,
// `POST /rpc` and the WebSocket upgrade of `/rpc` forwarded to the supervisor, so the page
// calls the supervisor from its own origin (the supervisor sends no CORS headers), and the
// admin secret at `/admin-secret` for the page's log subscription, and `/hold`, answered only
// once the page asks `/release`.
//
// Usage: node serve.mjs PORT SUPERVISOR_URL PACKAGE_DIR
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { extname, join, normalize } from 'node:path';

const [port, supervisor, packageDir] = process.argv.slice(2);
const page = new URL('./index.html', import.meta.url);
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

async function forward(request, response) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  const answer = await fetch(supervisor, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: Buffer.concat(chunks),
  });
  response.writeHead(answer.status, { 'content-type': 'application/json' });
  response.end(Buffer.from(await answer.arrayBuffer()));
}

async function serveFile(path, response) {
  // normalize() resolves `..`, so a request cannot leave the package folder.
  const file = path === '/' ? page : join(packageDir, normalize(path.slice('/pkg/'.length)));
  const body = await readFile(file);
  const type = types[extname(typeof file === 'string' ? file : file.pathname)];
  response.writeHead(200, { 'content-type': type ?? 'application/octet-stream' });
  response.end(body);
}

// Relays a WebSocket upgrade of `/rpc` to the supervisor's `/`, byte for byte after the
// request head.
function upgrade(request, socket, head) {
  const target = new URL(supervisor);
  if (new URL(request.url, 'http://localhost').pathname !== '/rpc') {
    socket.destroy();
    return;
  }
  const upstream = connect(Number(target.port), target.hostname, () => {
    const headers = Object.entries(request.headers)
      .filter(([name]) => name !== 'host')
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    upstream.write(`GET / HTTP/1.1\r\nhost: ${target.host}\r\n${headers}\r\n`);
    upstream.write(head);
    socket.pipe(upstream).pipe(socket);
  });
  for (const end of [socket, upstream]) end.on('error', () => [socket, upstream].forEach((s) => s.destroy()));
}

// `/hold` is the page's image: its load event, on which Chromium dumps the page, waits for the
// image until the page's script is done and asks `/release`. (Chromium's virtual time, the
// other way to wait, fires timers at once and defers WebSocket events.)
const held = [];

const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  try {
    if (request.method === 'POST' && path === '/rpc') {
      await forward(request, response);
    } else if (request.method === 'GET' && path === '/hold') {
      held.push(response);
    } else if (request.method === 'GET' && path === '/release') {
      for (const waiting of held.splice(0)) waiting.writeHead(404).end();
      response.writeHead(204).end();
    } else if (request.method === 'GET' && path === '/admin-secret') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(process.env.HERO_ADMIN_SECRET);
    } else if (request.method === 'GET' && (path === '/' || path.startsWith('/pkg/'))) {
      await serveFile(path, response);
    } else {
      response.writeHead(404).end();
    }
  } catch (error) {
    console.error(`${request.method} ${path}: ${error}`);
    if (!response.headersSent) response.writeHead(error.code === 'ENOENT' ? 404 : 502);
    response.end();
  }
});
server.on('upgrade', upgrade);
server.listen(Number(port), '127.0.0.1');
