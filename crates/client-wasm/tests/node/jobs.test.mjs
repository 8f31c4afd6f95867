// The job methods against a real supervisor and osis runner.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { WasmJob, WasmSupervisorClient } from 'hero-supervisor-openrpc-client';

import { client, eventually, job, statusBecomes, url, user } from './support.mjs';

test('the seed example creates the job under its own id', async () => {
  const client = new WasmSupervisorClient(url);
  const job = new WasmJob('job-id', 'print("Hello")', 'osis', 'osis_runner_1');
  const result = await client.create_job('user-secret', job);
  assert.equal(result, 'job-id');
  assert.equal((await client.job_status('job-id')).status, 'created');
  // The browser test runs the same example against this supervisor.
  await client.job_delete('user-secret', 'job-id');
});

test('job_run resolves to the output once the job finished', async () => {
  assert.deepEqual(await client.job_run(user, job('40 + 2')), { success: '42' });
  const failed = await client.job_run(user, job('throw "boom"'));
  assert.ok('error' in failed && failed.error.includes('boom'), JSON.stringify(failed));
});

test('one job object may be run twice: each run gets a fresh id', async () => {
  const once = job('print("again")');
  assert.deepEqual(await client.job_run(user, once), { success: 'again' });
  assert.deepEqual(await client.job_run(user, once), { success: 'again' });
  assert.equal(once.id, '', 'the object keeps its empty id');
});

test('jobs_create stores a job that waits for job_start', async () => {
  const id = await client.jobs_create(user, job('1 + 1'));
  assert.match(id, /^[0-9a-f-]{36}$/, 'a UUID');
  const created = await client.job_status(id);
  assert.equal(created.status, 'created');
  assert.equal(created.job_id, id);
  assert.equal(created.started_at, null);

  assert.equal(await client.job_start(user, id), undefined);
  assert.deepEqual(await client.job_result(id), { success: '2' });
  const done = await client.job_status(id);
  assert.equal(done.status, 'completed');
  assert.ok(Date.parse(done.completed_at) >= Date.parse(done.created_at));
});

test('reads accept the secret too', async () => {
  const id = await client.jobs_create(user, job('7'));
  await client.job_start(user, id);
  assert.deepEqual(await client.job_result_with_secret(id, user), { success: '7' });
  assert.deepEqual(await client.job_result(id, user), { success: '7' });
  assert.equal((await client.job_status_with_secret(id, user)).status, 'completed');
  assert.equal((await client.job_status(id, user)).status, 'completed');
});

test('job_stop interrupts a running job and leaves a final one as it is', async () => {
  const id = await client.jobs_create(user, job('sleep(30); "late"', 60));
  await client.job_start(user, id);
  await statusBecomes(id, 'running');
  assert.equal(await client.job_stop(user, id), undefined);
  await statusBecomes(id, 'stopped');
  const result = await client.job_result(id);
  assert.ok('error' in result, JSON.stringify(result));

  await client.job_stop(user, id);
  assert.equal((await client.job_status(id)).status, 'stopped');
});

test('job_retry queues a failed job again, and a delayed job waits scheduled', async () => {
  const id = await client.jobs_create(user, job('throw "boom"'));
  await assert.rejects(client.job_retry(user, id), { code: -32003, kind: 'conflict' });
  await client.job_start(user, id);
  await client.job_result(id);
  const failed = await client.job_status(id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.attempt, 1);
  assert.ok(failed.last_error.includes('boom'), failed.last_error);
  assert.equal(await client.job_retry(user, id), undefined);
  await client.job_result(id);
  assert.equal((await client.job_status(id)).status, 'failed');

  const delayed = job('1');
  delayed.delay = 3600;
  delayed.priority = 9;
  const later = await client.jobs_create(user, delayed);
  await client.job_start(user, later);
  assert.equal((await client.job_status(later)).status, 'scheduled');
  await client.job_delete(user, later);
});

test('job_delete removes the job and its result', async () => {
  const id = await client.jobs_create(user, job('3'));
  assert.equal(await client.job_delete(user, id), undefined);
  await assert.rejects(client.job_status(id), { code: -32002, kind: 'not_found' });
  await assert.rejects(client.job_result(id), { code: -32002 });
});

test('jobs_list returns the full jobs, with the fields set in JavaScript', async () => {
  const submitted = job('print(x)');
  submitted.caller_id = 'node-test';
  submitted.context_id = 'ctx-1';
  submitted.timeout = 45;
  submitted.env_vars = { A: '1' };
  submitted.env_var('B', '2');
  assert.deepEqual(submitted.env_vars, { A: '1', B: '2' });
  const id = await client.jobs_create(user, submitted);

  const jobs = await client.jobs_list(user);
  assert.ok(Array.isArray(jobs));
  const listed = jobs.find((j) => j.id === id);
  assert.ok(listed, 'the new job is listed');
  assert.equal(listed.payload, 'print(x)');
  assert.equal(listed.executor, 'osis');
  assert.equal(listed.runner, 'osis_runner_1');
  assert.equal(listed.caller_id, 'node-test');
  assert.equal(listed.context_id, 'ctx-1');
  assert.equal(listed.timeout, 45);
  assert.deepEqual(listed.env_vars, { A: '1', B: '2' });
  assert.ok(!Number.isNaN(Date.parse(listed.created_at)));
});

test('calls made at once all resolve', async () => {
  const results = await Promise.all(
    [1, 2, 3, 4, 5].map((n) => client.job_run(user, job(`${n} * 10`))),
  );
  assert.deepEqual(results.map((r) => r.success), ['10', '20', '30', '40', '50']);
});

test('with_wait_timeout bounds job_run; the job goes on', async () => {
  const impatient = client.with_wait_timeout(300);
  const slow = job('sleep(3); "slow"');
  const started = Date.now();
  await assert.rejects(impatient.job_run(user, slow), { kind: 'transport', code: null });
  assert.ok(Date.now() - started < 2500, 'gave up long before the job ended');
  // The original client keeps its unbounded wait.
  assert.deepEqual(await client.job_run(user, job('"patient"')), { success: 'patient' });
  const abandoned = await eventually('the abandoned job to be listed', async () => {
    const jobs = await client.jobs_list(user);
    return jobs.find((j) => j.payload === slow.payload);
  });
  await statusBecomes(abandoned.id, 'completed');
});
