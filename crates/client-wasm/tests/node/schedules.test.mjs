// schedules_create, schedules_list and schedules_delete against a real supervisor.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admin, client, eventually, job, rejectsWith, runner, user } from './support.mjs';

test('a schedule ticks every second until it is deleted', async () => {
  const name = `node-every-second-${process.pid}`;
  const tag = `${name}-jobs`;
  const template = job('1');
  template.caller_id = tag;
  const created = await client.schedules_create(user, { name, cron: '* * * * * *', job: template });
  assert.equal(created.name, name);
  assert.equal(created.cron, '* * * * * *');
  assert.ok(created.next_tick, 'the next tick is given');
  assert.equal(created.last_tick, undefined, 'no tick yet');

  const ticked = await eventually(`${name} to create a job`, async () => {
    const jobs = await client.jobs_list(user, { caller_id: tag });
    return jobs.length > 0 && jobs;
  });
  assert.equal(ticked[0].runner, runner);
  const listed = await client.schedules_list(user);
  const ours = listed.find((s) => s.name === name);
  assert.ok(ours?.last_tick, 'the listing shows the last tick');

  await client.schedules_delete(user, name);
  assert.ok((await client.schedules_list(admin)).every((s) => s.name !== name));
  await rejectsWith(client.schedules_delete(user, name), 'not_found', -32002);
});

test('a plain object job is accepted and a bad cron is refused naming it', async () => {
  const name = `node-plain-${process.pid}`;
  const plain = { payload: '2', executor: 'osis', runner };
  const created = await client.schedules_create(user, { name, cron: '0 0 1 1 *', job: plain });
  assert.equal(created.job.payload, '2');
  await rejectsWith(
    client.schedules_create(user, { name, cron: '0 0 1 1 *', job: plain }),
    'conflict',
    -32003,
  );
  await client.schedules_delete(admin, name);
  await assert.rejects(
    client.schedules_create(user, { name, cron: '* * *', job: plain }),
    (error) => {
      assert.equal(error.code, -32602, error.message);
      assert.match(error.message, /cron/);
      return true;
    },
  );
  await rejectsWith(client.schedules_create(user, 'not an object'), 'invalid_params', null);
});
