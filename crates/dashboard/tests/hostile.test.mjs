// Job content is untrusted: whatever a job's payload, output, progress message or log lines
// hold, the dashboard shows it as text and runs none of it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ADMIN, job, launch, openTab, rpc, signIn, unique } from './support.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('markup in a job payload, result, progress and logs is shown as text and never runs', async () => {
  const marker = unique('hostile');
  const markup = `<img src=x onerror="window.__hostile='${marker}'">`;
  // The same markup in the payload (as a string literal), the printed log line, the progress
  // message and the result.
  const payload = `let m = ${JSON.stringify(markup)};\nprint(m);\nprogress(100, m);\nm`;
  const answer = await rpc('job.run', { secret: ADMIN, job: job(payload) });
  assert.deepEqual(answer.result, { success: `${markup}\n${markup}` });
  const [listed] = (await rpc('jobs.list', { secret: ADMIN, filter: { limit: 1 } })).result;
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, ADMIN, `#/jobs/${listed.id}`);
  await page.locator('#job-status', { hasText: 'completed' }).waitFor();
  await page.locator('#job-result', { hasText: markup }).waitFor();
  await page.locator('#job-progress-text', { hasText: markup }).waitFor();
  await page.locator('#job-logs', { hasText: markup }).waitFor();
  assert.match(await page.locator('#job-payload').innerText(), /<img src=x onerror=/);
  await page.goto(page.url().replace(/#.*$/, '#/jobs'));
  await page.locator(`#jobs-table tr[data-job="${listed.id}"]`).waitFor();
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no element made of job content');
  assert.equal(await page.evaluate(() => /** @type {any} */ (window).__hostile), undefined);
  await tab.done();
});
