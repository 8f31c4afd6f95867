// Who gets in, and where the secret is kept: refused secrets, a user secret's narrower
// dashboard, and a secret that stays in its tab.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ADMIN, REGISTER, URL, USER, RUNNER, launch, openTab, rpc, screenshot, signIn, unique } from './support.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('an unknown secret is refused with a clear message and nothing else is shown', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, 'not-a-secret-at-all');
  await page.locator('#signin-message', { hasText: 'Sign-in refused' }).waitFor();
  assert.equal(await page.locator('#nav').isVisible(), false);
  assert.equal(await page.locator('#page-overview').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused secret is not kept');
  await screenshot(page, 'signin-refused');
  await tab.done();
});

test('a register secret is refused: it may only register runners', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, REGISTER);
  await page.locator('#signin-message', { hasText: 'Sign-in refused' }).waitFor();
  assert.equal(await page.locator('#nav').isVisible(), false);
  await tab.done();
});

test('a user secret sees and submits its jobs but not the admin pages', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  const theirs = (await rpc('jobs.create_many', {
    secret: ADMIN, jobs: [{ payload: '1', executor: 'osis', runner: RUNNER, timeout: 30 }],
  })).result[0];
  await signIn(page, USER);
  // The user lands on the jobs page; the admin pages are not offered.
  await page.locator('#page-jobs').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Overview' }).isVisible(), false);
  assert.equal(await page.getByRole('link', { name: 'Runners' }).isVisible(), false);
  await page.goto(`${URL}#/runners`);
  await page.locator('#page-jobs').waitFor();
  assert.equal(await page.locator('#page-runners').isVisible(), false);

  const marker = unique('user-job');
  const form = page.locator('#submit-form');
  await form.getByLabel('Payload').fill(`print("${marker}")`);
  await form.getByLabel('Runner').fill(RUNNER);
  await form.getByRole('button', { name: 'Submit' }).click();
  await page.locator('#job-status', { hasText: 'completed' }).waitFor();
  await page.locator('#job-result', { hasText: marker }).waitFor();
  // No runner logs for a user secret.
  assert.equal(await page.locator('#job-logs-card').isVisible(), false);
  await page.getByRole('link', { name: '← All jobs' }).click();
  await page.locator('#jobs-table tbody tr', { hasText: 'completed' }).first().waitFor();
  assert.equal(await page.locator(`#jobs-table tr[data-job="${theirs}"]`).count(), 0,
    "an admin's job is not listed to a user");
  await screenshot(page, 'user-jobs');
  await tab.done();
});

test('the secret is kept in the tab only: not in the URL, cookies or localStorage', async () => {
  const tab = await openTab(browser);
  const { page, context } = tab;
  await signIn(page, ADMIN);
  await page.locator('#page-overview').waitFor();
  assert.ok(!page.url().includes(ADMIN));
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(await page.evaluate(() => document.cookie), '');
  const kept = await page.evaluate(() => Object.values(sessionStorage));
  assert.deepEqual(kept, [ADMIN]);

  // Another tab of the same browser profile starts signed out.
  const other = await context.newPage();
  await other.goto(URL);
  await other.locator('#page-signin').waitFor();
  assert.equal(await other.locator('#nav').isVisible(), false);

  // Signing out forgets it.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('#page-signin').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await screenshot(page, 'signin');
  await tab.done();
});

test('a user submitting to an admin-only runner sees the refusal and stays signed in', async () => {
  const registered = await rpc('register_runner', { secret: REGISTER, name: 'admin_only_runner', access: 'admin' });
  assert.equal(registered.result, 'admin_only_runner');
  const tab = await openTab(browser);
  const { page } = tab;
  await signIn(page, USER);
  await page.locator('#page-jobs').waitFor();
  const form = page.locator('#submit-form');
  await form.getByLabel('Payload').fill('1');
  await form.getByLabel('Runner').fill('admin_only_runner');
  await form.getByRole('button', { name: 'Submit' }).click();
  await page.locator('#submit-message', { hasText: 'admin' }).waitFor();
  assert.equal(await page.locator('#submit-message').getAttribute('class'), 'message error');
  assert.equal(await page.locator('#nav').isVisible(), true, 'still signed in');
  await rpc('unregister_runner', { secret: ADMIN, name: 'admin_only_runner' });
  await tab.done();
});
