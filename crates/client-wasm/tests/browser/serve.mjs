// Serves the browser test: the page at `/`, the installed npm package under `/pkg/`, and
// `POST /rpc` forwarded to the supervisor, so the page calls the supervisor from its own
// origin (the supervisor sends no CORS headers).
//
// Usage: node serve.mjs PORT SUPERVISOR_URL PACKAGE_DIR
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
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

createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  try {
    if (request.method === 'POST' && path === '/rpc') {
      await forward(request, response);
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
}).listen(Number(port), '127.0.0.1');
