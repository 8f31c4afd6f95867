// jobs_subscribe against the real supervisor: a job's changes as they happen, with its
// progress and result, the filter, and another secret's jobs kept out.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admin, client, eventually, job, live, rejectsWith, runner, user } from './support.mjs';

/** A job with an id of its own, so a subscription can name it before it exists. */
function named(id, payload) {
  const submitted = job(payload);
  submitted.id = id;
  return submitted;
}

test('jobs_subscribe follows a job from queued to completed with its result; another secret\'s jobs stay out', async () => {
  const other = `events-other-${Date.now()}`;
  await client.add_secret(admin, 'user', other);
  const events = [];
  const subscription = await live.jobs_subscribe(user, null, (event) => events.push(event));
  try {
    const theirs = `events-theirs-${Date.now()}`;
    assert.deepEqual(await client.job_run(other, named(theirs, '"not yours"')), { success: 'not yours' });
    const mine = `events-mine-${Date.now()}`;
    assert.deepEqual(
      await client.job_run(user, named(mine, 'progress(50, "half way"); 40 + 2')),
      { success: '42' },
    );
    await eventually('the completed event', () =>
      events.some((e) => e.job_id === mine && e.status === 'completed'));

    const own = events.filter((e) => e.job_id === mine);
    const statuses = own.filter((e) => !e.progress).map((e) => e.status);
    assert.deepEqual(statuses, ['queued', 'running', 'completed'], JSON.stringify(own));
    const progress = own.find((e) => e.progress);
    assert.deepEqual(progress?.progress, { percent: 50, message: 'half way' }, JSON.stringify(own));
    assert.equal(progress.status, 'running');
    const completed = own.at(-1);
    assert.deepEqual(completed.result, { success: '42' });
    assert.equal(completed.runner, runner);
    assert.ok(own.every((e) => !Number.isNaN(Date.parse(e.at))), 'each event has its time');
    assert.ok(own.slice(0, -1).every((e) => e.result === undefined), 'a result only once final');
    assert.ok(!events.some((e) => e.job_id === theirs), 'the other secret\'s job is not seen');
  } finally {
    await subscription.close();
    await client.remove_secret(admin, 'user', other);
  }
});

test('a jobs_subscribe filter selects the jobs and statuses, and deletion is an event', async () => {
  const id = `events-filtered-${Date.now()}`;
  const final = await live.jobs_subscribe(user, { job_ids: [id], status: ['failed', 'deleted'] });
  const everything = await live.jobs_subscribe(admin, { runner });
  try {
    const failed = await client.job_run(user, named(id, 'throw "no"'));
    assert.ok('error' in failed, JSON.stringify(failed));
    const { value: first } = await final.next();
    assert.equal(first.job_id, id);
    assert.equal(first.status, 'failed');
    assert.ok(first.result.error.includes('no'), JSON.stringify(first.result));

    await client.job_delete(user, id);
    const { value: second } = await final.next();
    assert.deepEqual([second.job_id, second.status], [id, 'deleted']);

    // An admin secret sees every job of the runner, this one among them.
    for await (const event of everything) {
      assert.equal(event.runner, runner);
      if (event.job_id === id && event.status === 'deleted') break;
    }
  } finally {
    await final.close();
    await everything.close();
  }
});

test('a refused jobs_subscribe rejects with the supervisor error', async () => {
  await rejectsWith(live.jobs_subscribe('wrong-secret'), 'unauthorized', -32001);
  await rejectsWith(live.jobs_subscribe(user, { status: 'done' }), 'invalid_params', -32602);
  await rejectsWith(live.jobs_subscribe(user, { state: 'queued' }), 'invalid_params', -32602);
});

test('a subscription the supervisor ends rejects with its error: here, a removed secret', async () => {
  const fresh = `events-revoked-${Date.now()}`;
  await client.add_secret(admin, 'user', fresh);
  const events = await live.jobs_subscribe(fresh);
  await client.remove_secret(admin, 'user', fresh);
  await rejectsWith(events.closed, 'unauthorized', -32001);
  await rejectsWith(events.next(), 'unauthorized', -32001);
  assert.equal(await events.close(), undefined, 'closing an ended subscription is harmless');
});
