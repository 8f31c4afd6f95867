// The page outlives its supervisor: a second supervisor on the same store serves the
// dashboard, is stopped and started again on the same port, and the page reconnects by
// itself and is live again, showing a job another supervisor ran meanwhile.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import {
  ADMIN, NAMESPACE, REDIS_URL, SUPERVISOR_BIN, TIMEOUT, job, launch, openTab, rpc, signIn, unique,
} from './support.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
const dir = mkdtempSync(path.join(tmpdir(), 'dashboard-reconnect-'));
before(async () => { browser = await launch(); });
after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A port nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts a supervisor without runners on the shared store; resolves once it listens.
 * @param {number} port
 */
function startSupervisor(port) {
  const config = path.join(dir, 'supervisor.toml');
  writeFileSync(config, [
    `redis_url = "${REDIS_URL}"`, `namespace = "${NAMESPACE}"`, 'bind_address = "127.0.0.1"',
    `port = ${port}`, `admin_secrets = ["${ADMIN}"]`, `data_dir = "${path.join(dir, 'data')}"`, '',
  ].join('\n'));
  const child = spawn(SUPERVISOR_BIN, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  child.stderr.on('data', (chunk) => { said = (said + chunk).slice(-4000); });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the second supervisor did not listen:\n${said}`)), TIMEOUT);
    child.on('exit', (code) => reject(new Error(`the second supervisor exited (${code}):\n${said}`)));
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('listening on')) { clearTimeout(timer); resolve(child); }
    });
  });
}

/** @param {import('node:child_process').ChildProcess} child */
function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', resolve);
    child.kill('SIGTERM');
  });
}

test('the page reconnects after its supervisor restarts and is live again', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}/`;
  let supervisor = await startSupervisor(port);
  // Chromium logs each refused reconnect attempt while the supervisor is down.
  const tab = await openTab(browser, { base, expected: /WebSocket connection to .* failed/ });
  const { page } = tab;
  try {
    await signIn(page, ADMIN, '#/jobs', base);
    const connection = page.locator('#connection');
    await page.locator('#page-jobs').waitFor();
    await connection.filter({ hasText: /^connected$/ }).waitFor();

    await stop(supervisor);
    await connection.filter({ hasText: 'disconnected' }).waitFor();
    supervisor = await startSupervisor(port);
    await connection.filter({ hasText: /^connected$/ }).waitFor();

    // Run through the suite's main supervisor: the page hears of it from the shared store.
    const marker = unique('after-reconnect');
    const created = await rpc('jobs.create_many', { secret: ADMIN, jobs: [job(`print("${marker}")`)] });
    const id = created.result[0];
    await page.locator(`#jobs-table tr[data-job="${id}"] .job-status`, { hasText: 'completed' }).waitFor();
    assert.equal(await page.locator('#page-signin').isVisible(), false, 'still signed in');
  } finally {
    await stop(supervisor);
  }
  await tab.done();
});
