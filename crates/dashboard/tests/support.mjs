// Shared by the dashboard tests: Chromium through playwright-core, the supervisor's address
// and secrets from scripts/test-dashboard, screenshots, and a guard that the page made no
// request to another origin and logged no error (a Content-Security-Policy violation is one).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** @param {string} name */
function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with scripts/test-dashboard`);
  return value;
}

export const URL = env('DASHBOARD_URL').replace(/\/?$/, '/');
export const ADMIN = env('HERO_ADMIN_SECRET');
export const USER = env('HERO_USER_SECRET');
export const REGISTER = env('HERO_REGISTER_SECRET');
export const RUNNER = env('HERO_RUNNER');
/** What a test needs to start a supervisor of its own on the same store. */
export const SUPERVISOR_BIN = env('SUPERVISOR_BIN');
export const REDIS_URL = env('REDIS_URL');
export const NAMESPACE = env('HERO_NAMESPACE');
const SCREENSHOTS = env('SCREENSHOT_DIR');

/** Long enough for a debug build on a busy machine; every wait below is bounded by it. */
export const TIMEOUT = 30000;

// playwright-core is installed under the tools directory, not beside these files.
const require = createRequire(path.join(env('PLAYWRIGHT_DIR'), 'node_modules', 'index.js'));
const { chromium } = require('playwright-core');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: TIMEOUT,
  });
}

/**
 * A fresh tab (its own sessionStorage) at 1280×800 that records what it asked for and every
 * error it logged; `done()` asserts it stayed on `base`'s origin and logged no error but
 * those `expected` matches.
 * @param {import('playwright-core').Browser} browser
 */
export async function openTab(browser, { base = URL, expected = /^$/ } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const errors = [];
  const elsewhere = [];
  const origin = new globalThis.URL(base).host;
  page.on('console', (m) => { if (m.type() === 'error' && !expected.test(m.text())) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (new globalThis.URL(r.url()).host !== origin) elsewhere.push(r.url()); });
  page.on('websocket', (w) => { if (new globalThis.URL(w.url()).host !== origin) elsewhere.push(w.url()); });
  return {
    page,
    context,
    async done() {
      await context.close();
      assert.deepEqual(elsewhere, [], 'the page only talks to its own origin');
      assert.deepEqual(errors, [], 'the page logs no error');
    },
  };
}

/**
 * Opens the dashboard of `base` at `hash` and signs in with `secret`.
 * @param {import('playwright-core').Page} page
 * @param {string} secret
 */
export async function signIn(page, secret, hash = '', base = URL) {
  await page.goto(base + hash);
  await page.getByLabel('Secret').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/**
 * Saves a screenshot of the page as `<name>.png` for the CI artifacts.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/**
 * Calls the supervisor over HTTP, as another client would; returns the whole answer.
 * @param {string} method
 * @param {Record<string, unknown>} params
 */
export async function rpc(method, params) {
  const response = await fetch(URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  return response.json();
}

/** A job for the test runner. */
export function job(payload, timeout = 60) {
  return { caller_id: 'dashboard-tests', context_id: 'tests', payload, executor: 'osis', runner: RUNNER, timeout };
}

/** A marker no other test prints. */
export function unique(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
