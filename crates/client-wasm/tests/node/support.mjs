// What the Node tests share: the supervisor scripts/test-wasm started, its secrets, and
// polling with a deadline.
import assert from 'node:assert/strict';

import { WasmJob, WasmSupervisorClient } from 'hero-supervisor-openrpc-client';
import { WebSocket } from 'ws';

export const url = process.env.SUPERVISOR_URL;
export const admin = process.env.HERO_ADMIN_SECRET;
export const user = process.env.HERO_USER_SECRET;
export const register = process.env.HERO_REGISTER_SECRET;
export const runner = 'osis_runner_1';

assert.ok(url && admin && user && register, 'run through scripts/test-wasm');

export const client = new WasmSupervisorClient(url);

/** The client for subscriptions: Node 20 has no global WebSocket, so the `ws` package's. */
export const live = client.with_websocket(WebSocket);

/** A job for the osis runner, with an id the supervisor assigns. */
export function job(payload, timeout = 30) {
  const job = new WasmJob('', payload, 'osis', runner);
  job.timeout = timeout;
  return job;
}

/** Calls `probe` every 50 ms until it returns a truthy value; fails after `seconds`. */
export async function eventually(what, probe, seconds = 20) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) assert.fail(`gave up after ${seconds}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until job `id` reaches `status`. */
export function statusBecomes(id, status) {
  return eventually(`job ${id} to be ${status}`, async () => {
    const info = await client.job_status(id);
    return info.status === status;
  });
}

/** Asserts that `promise` rejects with a SupervisorError of `kind` and `code`. */
export async function rejectsWith(promise, kind, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof Error, 'a SupervisorError is an Error');
    assert.equal(error.name, 'SupervisorError');
    assert.equal(error.kind, kind, error.message);
    assert.equal(error.code, code, error.message);
    assert.equal(typeof error.message, 'string');
    assert.ok(error.message.length > 0, 'the message explains');
    return true;
  });
}
