// jobs_list with a filter: status, runner, context, limit and `before` paging, newest first,
// each job with its status.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admin, client, eventually, job, register, rejectsWith, user } from './support.mjs';

/**
 * Four jobs of one fresh context, each created in a later millisecond than the one before
 * (the listing orders by creation time): `completed`, `created`, `completed`, and `queued` on
 * a registered runner that never claims. Resolves to their ids, oldest first.
 */
async function fourJobs(context, idle) {
  const ids = [];
  const make = async (n, build) => {
    if (ids.length > 0) {
      const [last] = await client.jobs_list(user, { context_id: context, limit: 1 });
      const created = Date.parse(last.created_at);
      await eventually('the clock to pass the last job', () => Date.now() > created + 1);
    }
    const submitted = build();
    submitted.id = `${context}-${n}`;
    submitted.context_id = context;
    ids.push(submitted.id);
    return submitted;
  };
  assert.deepEqual(await client.job_run(user, await make(1, () => job('1'))), { success: '1' });
  await client.jobs_create(user, await make(2, () => job('2')));
  assert.deepEqual(await client.job_run(user, await make(3, () => job('3'))), { success: '3' });
  const queued = await make(4, () => job('4'));
  queued.runner = idle;
  await client.jobs_create(user, queued);
  await client.job_start(user, queued.id);
  return ids;
}

test('jobs_list filters by status, runner and context, newest first, each job with its status', async () => {
  const context = `list-${Date.now()}`;
  const idle = `idle_${Date.now()}`;
  await client.register_runner(register, idle);
  const [j1, j2, j3, j4] = await fourJobs(context, idle);

  const all = await client.jobs_list(user, { context_id: context });
  assert.deepEqual(all.map((j) => j.id), [j4, j3, j2, j1], 'newest first');
  assert.deepEqual(all.map((j) => j.status), ['queued', 'completed', 'created', 'completed']);
  for (const listed of all) {
    assert.equal(listed.context_id, context);
    assert.equal(typeof listed.payload, 'string');
    assert.ok(!Number.isNaN(Date.parse(listed.created_at)));
  }
  assert.notEqual(all[1].completed_at, null, 'a completed job has its end time');

  const ids = (filter) =>
    client.jobs_list(user, { context_id: context, ...filter }).then((jobs) => jobs.map((j) => j.id));
  assert.deepEqual(await ids({ status: 'completed' }), [j3, j1]);
  assert.deepEqual(await ids({ status: ['created', 'queued'] }), [j4, j2]);
  assert.deepEqual(await ids({ runner: idle }), [j4]);
  assert.deepEqual(await ids({ runner: idle, status: 'completed' }), []);
  assert.deepEqual(await ids({ limit: 3 }), [j4, j3, j2]);
  assert.deepEqual(await ids({ limit: 3, before: j2 }), [j1]);

  // Walking the pages one job at a time meets every job once, in order.
  const walked = [];
  let before;
  for (;;) {
    const page = await ids({ limit: 1, ...(before ? { before } : {}) });
    if (page.length === 0) break;
    walked.push(...page);
    before = page[0];
  }
  assert.deepEqual(walked, [j4, j3, j2, j1]);

  // Another user secret sees none of these jobs; an admin sees them all.
  const other = `list-other-${Date.now()}`;
  await client.add_secret(admin, 'user', other);
  assert.deepEqual(await client.jobs_list(other, { context_id: context }), []);
  assert.equal((await client.jobs_list(admin, { context_id: context })).length, 4);
  await client.remove_secret(admin, 'user', other);
  await client.job_stop(user, j4);
});

test('a filter that does not fit is refused with a clear error', async () => {
  await rejectsWith(client.jobs_list(user, { limit: 0 }), 'invalid_params', -32602);
  await rejectsWith(client.jobs_list(user, { limit: 10001 }), 'invalid_params', -32602);
  await rejectsWith(client.jobs_list(user, { before: 'no-such-job' }), 'not_found', -32002);
  await rejectsWith(client.jobs_list(user, { status: 'done' }), 'invalid_params', null);
  await rejectsWith(client.jobs_list(user, { stauts: 'created' }), 'invalid_params', null);
  assert.ok(Array.isArray(await client.jobs_list(user, null)), 'null is no filter');
  assert.ok(Array.isArray(await client.jobs_list(user, undefined)), 'nor is undefined');
});
