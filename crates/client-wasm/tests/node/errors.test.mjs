// Failures reject with a SupervisorError: the contract's code and the server's message for
// server errors, a kind and no code for local ones, and never the secret.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';

import { WasmJob, WasmSupervisorClient } from 'hero-supervisor-openrpc-client';

import { admin, client, job, rejectsWith, user } from './support.mjs';

test('a wrong secret is unauthorized (-32001) and not echoed', async () => {
  const secret = 'not-a-secret-of-this-supervisor';
  await rejectsWith(client.jobs_list(secret), 'unauthorized', -32001);
  await assert.rejects(client.jobs_list(secret), (error) => {
    assert.ok(!error.message.includes(secret), error.message);
    assert.ok(!String(error.stack).includes(secret));
    assert.equal(error.retryable, false);
    return true;
  });
  await rejectsWith(client.job_run(secret, job('1')), 'unauthorized', -32001);
  await rejectsWith(client.job_run('', job('1')), 'unauthorized', -32001);
});

test('a secret of too low a level is unauthorized', async () => {
  await rejectsWith(client.list_runners(user), 'unauthorized', -32001);
  await rejectsWith(client.get_supervisor_info(user), 'unauthorized', -32001);
  await rejectsWith(client.add_secret(user, 'user', 'sneaky-secret-1'), 'unauthorized', -32001);
});

test('an unknown job is not found (-32002)', async () => {
  const id = 'no-such-job-0000';
  await rejectsWith(client.job_status(id), 'not_found', -32002);
  await rejectsWith(client.job_result(id), 'not_found', -32002);
  await rejectsWith(client.job_start(user, id), 'not_found', -32002);
  await rejectsWith(client.job_stop(user, id), 'not_found', -32002);
  await rejectsWith(client.job_delete(user, id), 'not_found', -32002);
});

test('an unknown runner is not found', async () => {
  await rejectsWith(client.get_runner_status(admin, 'no_such_runner'), 'not_found', -32002);
});

test('a taken job id or a second start is a conflict (-32003)', async () => {
  const id = `conflict-${Date.now()}`;
  const mine = new WasmJob(id, '1', 'osis', 'osis_runner_1');
  await client.create_job(user, mine);
  await rejectsWith(client.create_job(user, mine), 'conflict', -32003);
  await client.job_start(user, id);
  await rejectsWith(client.job_start(user, id), 'conflict', -32003);
});

test('an invalid job is refused before it is sent', async () => {
  const bad = new WasmJob('', '1', 'osis', '');
  await rejectsWith(client.job_run(user, bad), 'invalid_job', null);
  const slow = job('1');
  slow.timeout = 0;
  await rejectsWith(client.jobs_create(user, slow), 'invalid_job', null);
  assert.throws(() => {
    slow.env_vars = { A: 1 };
  }, { name: 'SupervisorError', kind: 'invalid_job' });
});

test('a bad secret type is invalid params (-32602)', async () => {
  await rejectsWith(client.add_secret(admin, 'superuser', 'whatever-secret-1'), 'invalid_params', -32602);
});

test('a URL the client cannot use throws invalid_url', () => {
  for (const url of ['localhost:3030', 'ftp://example.org', 'http://a:hunter2@example.org']) {
    assert.throws(() => new WasmSupervisorClient(url), (error) => {
      assert.equal(error.name, 'SupervisorError');
      assert.equal(error.kind, 'invalid_url');
      assert.equal(error.code, null);
      assert.ok(!error.message.includes('hunter2'), error.message);
      return true;
    });
  }
});

test('an unreachable supervisor is a transport failure', async () => {
  const port = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  const gone = new WasmSupervisorClient(`http://127.0.0.1:${port}`);
  await rejectsWith(gone.rpc_discover(), 'transport', null);
});

test('a call slower than with_timeout is a transport failure', async () => {
  // A listener that accepts and never answers.
  const sockets = new Set();
  const silent = createServer((socket) => sockets.add(socket)).listen(0, '127.0.0.1');
  await new Promise((resolve) => silent.once('listening', resolve));
  try {
    const { port } = silent.address();
    const quick = new WasmSupervisorClient(`http://127.0.0.1:${port}`).with_timeout(200);
    await rejectsWith(quick.jobs_list(user), 'transport', null);
  } finally {
    for (const socket of sockets) socket.destroy();
    silent.close();
  }
});
