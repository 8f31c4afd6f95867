// The runner and admin methods, rpc_discover, and the promise that every method of the
// supervisor has a JavaScript counterpart.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { WasmSubscription, WasmSupervisorClient } from 'hero-supervisor-openrpc-client';

import { admin, client, eventually, job, register, rejectsWith, runner, url, user } from './support.mjs';

const runnerIs = (status) =>
  eventually(`${runner} to be ${status}`, async () => {
    const info = await client.get_runner_status(admin, runner);
    return info.status === status;
  });

test('list_runners and get_runner_status describe the local runner', async () => {
  await runnerIs('running');
  const runners = await client.list_runners(admin);
  const local = runners.find((r) => r.name === runner);
  assert.ok(local, JSON.stringify(runners));
  assert.equal(local.kind, 'local');
  assert.equal(local.queue, runner);
  assert.equal(local.process_manager, 'simple');
  const status = await client.get_runner_status(admin, runner);
  assert.equal(status.name, runner);
  assert.equal(typeof status.pid, 'number');
  assert.equal(typeof status.queue_length, 'number');
});

test('get_runner_logs returns lines as strings', async () => {
  const lines = await client.get_runner_logs(admin, runner, 5);
  assert.ok(Array.isArray(lines));
  assert.ok(lines.length <= 5);
  assert.ok(lines.every((line) => typeof line === 'string'));
  assert.ok(Array.isArray(await client.get_runner_logs(admin, runner)));
});

test('stop_runner and start_runner stop and restart the local runner', async () => {
  assert.equal(await client.stop_runner(admin, runner), undefined);
  await runnerIs('stopped');
  assert.equal(await client.start_runner(admin, runner), undefined);
  await runnerIs('running');
  assert.deepEqual(await client.job_run(user, job('"back"')), { success: 'back' });
  await client.stop_runner(admin, runner, true);
  await runnerIs('stopped');
  await client.start_runner(admin, runner);
  await runnerIs('running');
});

test('register_runner registers a remote runner once', async () => {
  const name = `remote_${Date.now()}`;
  assert.equal(await client.register_runner(register, name), name);
  const listed = (await client.list_runners(admin)).find((r) => r.name === name);
  assert.equal(listed?.kind, 'remote');
  assert.equal(listed.queue, name);
  await rejectsWith(client.register_runner(register, name), 'conflict', -32003);
  const queued = `remote_q_${Date.now()}`;
  assert.equal(await client.register_runner(admin, queued, 'some_queue'), queued);
  assert.equal((await client.get_runner_status(admin, queued)).queue, 'some_queue');
  assert.equal(await client.unregister_runner(admin, queued), undefined);
  await rejectsWith(client.unregister_runner(admin, queued), 'not_found', -32002);
});

test('add_secret grants at once and remove_secret revokes at once', async () => {
  const fresh = `fresh-user-${Date.now()}`;
  await rejectsWith(client.jobs_list(fresh), 'unauthorized', -32001);
  assert.equal(await client.add_secret(admin, 'user', fresh), undefined);
  assert.ok(Array.isArray(await client.jobs_list(fresh)));
  assert.equal(await client.remove_secret(admin, 'user', fresh), undefined);
  await rejectsWith(client.jobs_list(fresh), 'unauthorized', -32001);
  await rejectsWith(client.remove_secret(admin, 'admin', admin), 'conflict', -32003);
});

test('get_supervisor_info reports version, backend and counts', async () => {
  const info = await client.get_supervisor_info(admin);
  assert.equal(typeof info.version, 'string');
  assert.equal(info.backend.status, 'ok');
  assert.equal(info.namespace, 'wasm-test');
  assert.ok(info.jobs.total >= 1, JSON.stringify(info.jobs));
  assert.ok(info.runners.total >= 1);
  assert.equal(typeof info.uptime_secs, 'number');
});

test('metrics_history answers its interval and samples, for admins only', async () => {
  const history = await client.metrics_history(admin);
  assert.equal(typeof history.interval_secs, 'number');
  assert.ok(Array.isArray(history.samples), JSON.stringify(history));
  await rejectsWith(client.metrics_history(user), 'unauthorized', -32001);
});

test('rpc_discover returns the OpenRPC document', async () => {
  const doc = await client.rpc_discover();
  assert.match(doc.openrpc, /^1\./);
  assert.ok(doc.methods.some((m) => m.name === 'job.run'));
});

test('every method of the supervisor has a JavaScript counterpart', async () => {
  const doc = await client.rpc_discover();
  const renamed = { 'rpc.discover': 'rpc_discover' };
  const names = doc.methods.map((m) => m.name);
  assert.ok(names.length >= 20, names.join(', '));
  assert.ok(names.includes('runner_logs.subscribe'), 'the subscriptions are listed too');
  for (const name of names) {
    if (name.endsWith('.unsubscribe')) {
      // A subscription ends with its own close().
      assert.equal(typeof WasmSubscription.prototype.close, 'function', name);
      continue;
    }
    const js = renamed[name] ?? name.replace('.', '_');
    assert.equal(typeof WasmSupervisorClient.prototype[js], 'function', `${name} -> ${js}`);
  }
  assert.equal(typeof client.create_job, 'function', 'the seed name');
  assert.equal(typeof client.jobs_subscribe, 'function', 'jobs.subscribe');
  assert.equal(client.url, new URL(url).href);
});
