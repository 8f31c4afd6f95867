// The WebSocket subscriptions against the real supervisor: runner_logs_subscribe (callback and
// async iterator), refusals, a lost connection, and the WebSocket constructor.
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { test } from 'node:test';

import { WasmSupervisorClient } from 'hero-supervisor-openrpc-client';
import { WebSocket } from 'ws';

import { admin, client, eventually, job, live, rejectsWith, runner, url, user } from './support.mjs';

/** Runs a job that prints a line nobody printed before, and resolves to that line. */
async function printMarker(name) {
  const marker = `${name}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  assert.deepEqual(await client.job_run(user, job(`print("${marker}")`)), { success: marker });
  return marker;
}

/**
 * A TCP relay to the supervisor whose connections can be cut, as a network failure would:
 * the client talks to the real supervisor through it. `silent` accepts and never relays.
 */
async function relay({ silent = false } = {}) {
  const target = new URL(url);
  const sockets = new Set();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    if (silent) return;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => {});
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    cut() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      this.cut();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

test('runner_logs_subscribe delivers the lines the runner writes, and close stops them', async () => {
  const lines = [];
  const subscription = await live.runner_logs_subscribe(admin, runner, (line) => lines.push(line), 1);
  assert.equal(typeof subscription.id, 'string');
  const marker = await printMarker('follow');
  await eventually('the printed line', () => lines.some((line) => line.includes(marker)));
  assert.ok(lines.every((line) => typeof line === 'string'));

  const id = subscription.id;
  assert.equal(await subscription.close(), undefined);
  await subscription.closed;
  await subscription.close();
  assert.equal(subscription.id, id, 'the id outlives the subscription');
  const count = lines.length;

  // A second subscription sees the next line; the closed one never does.
  const witness = await live.runner_logs_subscribe(admin, runner, null, 1);
  const after = await printMarker('after-close');
  for await (const line of witness) {
    if (line.includes(after)) break;
  }
  assert.equal(lines.length, count, `nothing after close: ${lines.slice(count)}`);
});

test('a subscription is an async iterator, and leaving the loop closes it', async () => {
  const subscription = await live.runner_logs_subscribe(admin, runner);
  const printed = printMarker('iterate');
  let seen = false;
  for await (const line of subscription) {
    assert.equal(typeof line, 'string');
    if (line.includes('iterate-')) {
      seen = true;
      break;
    }
  }
  await printed;
  assert.ok(seen);
  await subscription.closed;
  assert.deepEqual(await subscription.next(), { value: undefined, done: true });
});

test('a refused subscription rejects with the supervisor error', async () => {
  await rejectsWith(live.runner_logs_subscribe(user, runner, () => {}), 'unauthorized', -32001);
  await rejectsWith(live.runner_logs_subscribe('wrong-secret', runner), 'unauthorized', -32001);
  await rejectsWith(live.runner_logs_subscribe(admin, 'no_such_runner'), 'not_found', -32002);
  await rejectsWith(live.jobs_subscribe(user, 'not an object'), 'invalid_params', null);
});

test('a lost connection ends the subscription with a transport error', async () => {
  const network = await relay();
  try {
    const remote = new WasmSupervisorClient(network.url).with_websocket(WebSocket);
    const subscription = await remote.runner_logs_subscribe(admin, runner, null, 1);
    assert.equal(typeof (await subscription.next()).value, 'string', 'the connection works');
    network.cut();
    await rejectsWith(subscription.closed, 'transport', null);
    await rejectsWith(subscription.next(), 'transport', null);
    await subscription.close();
  } finally {
    await network.close();
  }
});

test('a subscription the supervisor does not accept in time is refused', async () => {
  const network = await relay({ silent: true });
  try {
    const remote = new WasmSupervisorClient(network.url).with_websocket(WebSocket).with_timeout(300);
    const started = Date.now();
    await assert.rejects(remote.runner_logs_subscribe(admin, runner), (error) => {
      assert.equal(error.kind, 'transport', error.message);
      assert.match(error.message, /300 ms/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  } finally {
    await network.close();
  }
});

test('without a WebSocket a subscription says how to give one; the global one is used', async () => {
  const had = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  try {
    delete globalThis.WebSocket;
    await assert.rejects(client.runner_logs_subscribe(admin, runner), (error) => {
      assert.equal(error.name, 'SupervisorError');
      assert.equal(error.code, null);
      assert.match(error.message, /with_websocket/);
      return true;
    });
    globalThis.WebSocket = WebSocket;
    const subscription = await client.runner_logs_subscribe(admin, runner, null, 1);
    await subscription.close();
  } finally {
    delete globalThis.WebSocket;
    if (had) Object.defineProperty(globalThis, 'WebSocket', had);
  }
});
