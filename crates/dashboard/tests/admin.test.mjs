// The dashboard signed in with an admin secret, in headless Chromium against a real
// supervisor with an osis runner: overview, runners and their logs, jobs submitted, followed,
// stopped, retried and deleted.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ADMIN, RUNNER, TIMEOUT, job, launch, openTab, rpc, screenshot, signIn, unique } from './support.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an admin signs in and sees the overview with the backend status and the charts', async () => {
  await rpc('job.run', { secret: ADMIN, job: job('40 + 2') });
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN);
  await page.locator('#page-overview').waitFor();
  await page.locator('#overview-backend', { hasText: 'ok' }).waitFor();
  assert.match(await page.locator('#overview-backend').innerText(), /redis/);
  await page.locator('#overview-jobs', { hasText: 'completed' }).waitFor();
  await page.locator('#overview-runners', { hasText: 'running' }).waitFor();
  // Either the charts, or the words saying there is no history yet: never an error.
  await page.locator('#chart-throughput svg, #chart-throughput .empty').first().waitFor();
  await page.locator('#chart-latency svg, #chart-latency .empty').first().waitFor();
  assert.equal(await page.locator('#overview-message').innerText(), '');
  assert.equal(await page.getByRole('link', { name: 'Runners' }).isVisible(), true);
  await screenshot(page, 'overview');
  await tab.done();
});

test('the runners page shows the osis runner running, and stop then start change its status', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN, '#/runners');
  const row = page.locator(`#runners-table tr[data-runner="${RUNNER}"]`);
  await row.locator('.runner-status', { hasText: 'running' }).waitFor();
  assert.match(await row.innerText(), /simple/);

  await row.getByRole('button', { name: `Stop ${RUNNER}` }).click();
  await row.locator('.runner-status', { hasText: 'stopped' }).waitFor();
  assert.equal(await row.getByRole('button', { name: `Start ${RUNNER}` }).isEnabled(), true);
  await row.getByRole('button', { name: `Start ${RUNNER}` }).click();
  await row.locator('.runner-status', { hasText: 'running' }).waitFor();
  await tab.done();
});

test('a runner\'s live logs show the line a job prints after they were opened', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN, '#/runners');
  const row = page.locator(`#runners-table tr[data-runner="${RUNNER}"]`);
  await row.getByRole('button', { name: `Logs of ${RUNNER}` }).click();
  const logs = page.locator('#runner-logs-lines');
  // The past lines come first: the runner said it started.
  await logs.locator('.line').first().waitFor();
  const marker = unique('live-log');
  const answer = await rpc('job.run', { secret: ADMIN, job: job(`print("${marker}")`) });
  assert.deepEqual(answer.result, { success: marker });
  await logs.locator('.line', { hasText: marker }).waitFor();
  await screenshot(page, 'runners');
  await page.getByRole('button', { name: 'Close logs' }).click();
  await page.locator('#runner-logs').waitFor({ state: 'hidden' });
  await tab.done();
});

test('a job submitted from the form is followed live until it completes with its result', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN, '#/jobs');
  const marker = unique('submitted');
  const form = page.locator('#submit-form');
  await form.getByLabel('Payload').fill(`print("${marker}");\nsleep(2);\nprogress(100, "all done");\n40 + 2`);
  await form.getByLabel('Runner').fill(RUNNER);
  await form.getByLabel('Timeout (seconds)').fill('30');
  await form.getByRole('button', { name: 'Submit' }).click();
  await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/).catch(async (error) => {
    // Say what the form said, so a failure here names its cause.
    await screenshot(page, 'submit-failed');
    const said = await page.locator('#submit-message').innerText().catch(() => '(no message)');
    throw new Error(`no job page after submitting; the form says "${said}" at ${page.url()}`, { cause: error });
  });
  const id = decodeURIComponent(page.url().split('/').pop());
  // Seen running first, then completed, without reloading the page.
  await page.locator('#job-status', { hasText: 'running' }).waitFor();
  await page.locator('#job-status', { hasText: 'completed' }).waitFor();
  await page.locator('#job-result', { hasText: `${marker}\n42` }).waitFor();
  assert.match(await page.locator('#job-payload').innerText(), new RegExp(marker));
  await page.locator('#job-progress-text', { hasText: '100% — all done' }).waitFor();
  await page.locator('#job-logs', { hasText: marker }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Stop' }).isDisabled(), true);
  await screenshot(page, 'job');

  await page.getByRole('link', { name: '← All jobs' }).click();
  const listed = page.locator(`#jobs-table tr[data-job="${id}"]`);
  await listed.locator('.job-status', { hasText: 'completed' }).waitFor();
  await screenshot(page, 'jobs');
  await tab.done();
});

test('a running job is stopped from its page, retried, stopped again and deleted', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  const created = await rpc('jobs.create_many', {
    secret: ADMIN, jobs: [job('progress(5, "waiting"); sleep(600)', 900)],
  });
  const id = created.result[0];
  await signIn(page, ADMIN, `#/jobs/${id}`);
  await page.locator('#job-status', { hasText: 'running' }).waitFor();
  await page.locator('#job-progress-text', { hasText: '5% — waiting' }).waitFor();
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('#job-status', { hasText: 'stopped' }).waitFor();
  assert.equal((await rpc('job.status', { job_id: id })).result.status, 'stopped');

  await page.getByRole('button', { name: 'Retry' }).click();
  await page.locator('#job-status', { hasText: 'running' }).waitFor();
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.locator('#job-status', { hasText: 'stopped' }).waitFor();

  await page.getByRole('button', { name: 'Delete' }).click();
  await page.locator('#job-status', { hasText: 'deleted' }).waitFor();
  assert.equal((await rpc('job.status', { job_id: id })).error.code, -32002);
  await tab.done();
});

test('the jobs list filters by status and pages back with Older and Newest', async () => {
  const many = Array.from({ length: 25 }, (_, i) => job(`${i}`));
  const ids = (await rpc('jobs.create_many', { secret: ADMIN, jobs: many, start: false })).result;
  assert.equal(ids.length, 25);
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN, '#/jobs');
  const form = page.locator('#jobs-filter');
  await form.getByLabel('Status').selectOption('created');
  await form.getByLabel('Runner').fill(RUNNER);
  await form.getByLabel('Per page').selectOption('20');
  await form.getByRole('button', { name: 'Apply' }).click();
  const rows = page.locator('#jobs-table tbody tr');
  await page.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length === 20);
  const first = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  assert.ok(first.every((id) => ids.includes(id)), 'only the created jobs are listed');
  for (const status of await page.locator('#jobs-table .job-status').allInnerTexts()) {
    assert.equal(status, 'created');
  }
  await page.getByRole('button', { name: 'Older' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#jobs-table tbody tr').length === 5);
  const second = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  assert.deepEqual([...first, ...second].sort(), [...ids].sort(), 'each job on exactly one page');
  assert.equal(await page.getByRole('button', { name: 'Older' }).isDisabled(), true);
  await page.getByRole('button', { name: 'Newest' }).click();
  await page.locator(`#jobs-table tr[data-job="${first[0]}"]`).waitFor();
  for (const id of ids) await rpc('job.delete', { secret: ADMIN, job_id: id });
  await tab.done();
});

test('the overview keeps its sign-in across a reload of the tab', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN);
  await page.locator('#page-overview').waitFor();
  await page.reload();
  await page.locator('#overview-backend', { hasText: 'ok' }).waitFor({ timeout: TIMEOUT });
  await tab.done();
});
