// @ts-check
// The page's entry point: the connection, sign-in, and which page shows for the URL's hash
// (`#/overview`, `#/runners`, `#/jobs`, `#/jobs/<id>`).

import { byId, say } from './dom.js';
import { Rpc, RpcError, UNAUTHORIZED, ownOrigin } from './rpc.js';
import { forget, keep, levelOf, storedSecret } from './session.js';
import * as overview from './overview.js';
import * as runners from './runners.js';
import * as jobs from './jobs.js';
import * as job from './job.js';

/**
 * What every page gets: the connection, the secret and its level, and `fail` to report an
 * error (a refused secret signs the tab out).
 * @typedef {{rpc: Rpc, secret: string, level: import('./session.js').Level,
 *   fail: (region: HTMLElement, error: unknown) => void}} Context
 * @typedef {{show: (context: Context, arg: string) => void, hide: () => void}} Page
 */

/** @type {Record<string, {page: Page, admin: boolean}>} */
const PAGES = {
  overview: { page: overview, admin: true },
  runners: { page: runners, admin: true },
  jobs: { page: jobs, admin: false },
  job: { page: job, admin: false },
};

/** @type {Context | null} */
let context = null;
/** @type {Page | null} */
let current = null;
/** Whether a sign-in call is under way. */
let signingIn = false;

const connection = byId('connection', HTMLElement);
let lost = false;
const rpc = new Rpc(ownOrigin(), (state) => {
  const words = { connecting: 'connecting…', open: 'connected', closed: 'disconnected, retrying…' };
  connection.textContent = words[state];
  connection.dataset.state = state;
  if (state === 'closed') lost = true;
  if (state !== 'open' || !lost) return;
  lost = false;
  // Changes made while the connection was down sent no events: show the page afresh. A
  // sign-in the outage interrupted is tried again.
  const stored = storedSecret();
  if (context) route();
  else if (stored && !signingIn) signIn(stored);
});

/** @param {string} message */
function signOut(message) {
  forget();
  context = null;
  byId('nav', HTMLElement).hidden = true;
  byId('sign-out', HTMLElement).hidden = true;
  byId('level', HTMLElement).textContent = '';
  say(byId('signin-message', HTMLElement), message, message ? 'error' : 'ok');
  route();
}

/**
 * @param {HTMLElement} region
 * @param {unknown} error
 */
function fail(region, error) {
  if (error instanceof RpcError && error.code === UNAUTHORIZED) {
    signOut(`The supervisor no longer accepts this secret: ${error.message}`);
    return;
  }
  say(region, error instanceof Error ? error.message : String(error), 'error');
}

/** @param {string} secret */
async function signIn(secret) {
  const message = byId('signin-message', HTMLElement);
  say(message, 'Checking the secret…');
  signingIn = true;
  try {
    const level = await levelOf(rpc, secret);
    keep(secret);
    context = { rpc, secret, level, fail };
    say(message, '');
    byId('level', HTMLElement).textContent = `signed in: ${level}`;
    byId('sign-out', HTMLElement).hidden = false;
    const nav = byId('nav', HTMLElement);
    nav.hidden = false;
    for (const link of nav.querySelectorAll('a')) {
      link.hidden = link.dataset.level === 'admin' && level !== 'admin';
    }
    route();
  } catch (error) {
    if (error instanceof RpcError && error.code === UNAUTHORIZED) {
      forget();
      say(message, 'Sign-in refused: the supervisor does not accept this secret for the ' +
        'dashboard (it is unknown, or a register secret).', 'error');
    } else {
      // Not a verdict on the secret: a secret this tab signed in with before is kept, and
      // tried again when the connection is back.
      say(message, `Could not sign in: ${error instanceof Error ? error.message : error}`, 'error');
    }
  } finally {
    signingIn = false;
  }
}

/** Shows the page the hash names, or the sign-in page. */
function route() {
  const [, name = '', ...rest] = location.hash.split('/');
  let key = name === 'jobs' && rest.length ? 'job' : name;
  if (context && !(key in PAGES)) key = context.level === 'admin' ? 'overview' : 'jobs';
  if (context && PAGES[key].admin && context.level !== 'admin') key = 'jobs';
  current?.hide();
  current = null;
  for (const section of document.querySelectorAll('main > section')) {
    if (section instanceof HTMLElement) section.hidden = true;
  }
  if (!context) {
    byId('page-signin', HTMLElement).hidden = false;
    byId('signin-secret', HTMLInputElement).focus();
    return;
  }
  for (const link of document.querySelectorAll('#nav a')) {
    if (!(link instanceof HTMLElement)) continue;
    const here = link.dataset.page === key || (key === 'job' && link.dataset.page === 'jobs');
    if (here) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  byId(`page-${key}`, HTMLElement).hidden = false;
  current = PAGES[key].page;
  current.show(context, decodeURIComponent(rest.join('/')));
}

byId('signin-form', HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId('signin-secret', HTMLInputElement);
  const secret = input.value.trim();
  input.value = '';
  if (secret) signIn(secret);
});
byId('sign-out', HTMLElement).addEventListener('click', () => signOut(''));
window.addEventListener('hashchange', route);

const stored = storedSecret();
if (stored) signIn(stored);
else route();
