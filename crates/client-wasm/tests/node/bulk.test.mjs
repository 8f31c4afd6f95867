// jobs_create_many against a real supervisor and osis runner.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { client, job, rejectsWith, runner, user } from './support.mjs';

test('jobs_create_many resolves to the ids in order and every job runs', async () => {
  const plain = { payload: '3 + 3', executor: 'osis', runner, timeout: 30 };
  const first = job('1 + 1');
  const ids = await client.jobs_create_many(user, [first, job('2 + 2'), plain]);
  assert.equal(ids.length, 3);
  const results = await Promise.all(ids.map((id) => client.job_result(id)));
  assert.deepEqual(results, [{ success: '2' }, { success: '4' }, { success: '6' }]);
  assert.equal(first.payload, '1 + 1', 'the job object stays usable');
});

test('jobs_create_many with start false leaves the jobs created', async () => {
  const [id] = await client.jobs_create_many(user, [job('5')], false);
  assert.equal((await client.job_status(id)).status, 'created');
  await client.job_start(user, id);
  assert.deepEqual(await client.job_result(id), { success: '5' });
});

test('a refused job is named by its index and nothing is stored', async () => {
  const before = (await client.jobs_list(user)).length;
  const taken = await client.jobs_create(user, job('1'));
  const twin = job('2');
  twin.id = taken;
  await assert.rejects(client.jobs_create_many(user, [job('0'), twin]), (error) => {
    assert.equal(error.kind, 'conflict', error.message);
    assert.equal(error.code, -32003, error.message);
    assert.ok(error.message.startsWith('jobs[1]: '), error.message);
    return true;
  });
  await rejectsWith(client.jobs_create_many(user, [job('0'), { runner }]), 'invalid_job', null);
  assert.equal((await client.jobs_list(user)).length, before + 1);
});
