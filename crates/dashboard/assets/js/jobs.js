// @ts-check
// Jobs: `jobs.list` with its filter and `before` paging, kept live by `jobs.subscribe`, and
// the form that submits a job and opens it.

import { badge, byId, formatTime, h, replace, say } from './dom.js';
import { RpcError, UNAUTHORIZED } from './rpc.js';

/** Jobs seen in a listing or submitted from this tab, by id: the detail page reads their
 * payload here, as the API has no call that returns one job's payload. At most
 * `KNOWN_MAX`, the least recently seen going first: a tab left open on a busy supervisor
 * must not keep every payload it ever listed.
 * @type {Map<string, any>} */
export const known = new Map();
const KNOWN_MAX = 2000;

/**
 * Keeps `record` in `known`, as the most recently seen.
 * @param {any} record a `jobs.list` entry
 */
export function remember(record) {
  known.delete(record.id);
  known.set(record.id, record);
  while (known.size > KNOWN_MAX) {
    const oldest = known.keys().next().value;
    if (oldest === undefined) break;
    known.delete(oldest);
  }
}

/** Final statuses: nothing changes a job in one of them but `job.retry` and `job.delete`. */
export const FINAL = ['completed', 'failed', 'stopped'];

/** @type {{close: () => void} | null} */
let events = null;
/** Ids of the last job of each newer page: the `before` of the page shown is the last one. */
/** @type {string[]} */
let cursors = [];
/** @type {ReturnType<typeof setTimeout> | null} */
let pendingRefresh = null;
/** @type {import('./main.js').Context | null} */
let shown = null;

/**
 * @param {import('./main.js').Context} context
 */
export function show(context) {
  shown = context;
  byId('jobs-filter', HTMLFormElement).onsubmit = (event) => {
    event.preventDefault();
    cursors = [];
    refresh(context);
  };
  byId('jobs-newest', HTMLElement).onclick = () => { cursors = []; refresh(context); };
  byId('jobs-older', HTMLElement).onclick = () => {
    const rows = byId('jobs-table', HTMLTableElement).tBodies[0].rows;
    const last = rows[rows.length - 1]?.dataset.job;
    if (last) { cursors.push(last); refresh(context); }
  };
  byId('submit-form', HTMLFormElement).onsubmit = (event) => {
    event.preventDefault();
    submit(context);
  };
  events = context.rpc.subscribe('jobs.subscribe', { secret: context.secret }, onEvent,
    (error) => {
      say(byId('jobs-message', HTMLElement), `Live updates paused (${error.message}); ` +
        'the list is read again.', 'error');
      later(context);
    });
  refresh(context);
  fillRunnerNames(context);
}

export function hide() {
  events?.close();
  events = null;
  shown = null;
  if (pendingRefresh !== null) clearTimeout(pendingRefresh);
  pendingRefresh = null;
}

/** The filter the form describes, for `jobs.list`. */
function filter() {
  /** @type {Record<string, unknown>} */
  const f = { limit: Number(byId('filter-limit', HTMLSelectElement).value) };
  const status = byId('filter-status', HTMLSelectElement).value;
  const runner = byId('filter-runner', HTMLInputElement).value.trim();
  if (status) f.status = status;
  if (runner) f.runner = runner;
  if (cursors.length) f.before = cursors[cursors.length - 1];
  return f;
}

/** @param {import('./main.js').Context} context */
async function refresh(context) {
  const message = byId('jobs-message', HTMLElement);
  const f = filter();
  try {
    const list = await context.rpc.call('jobs.list', { secret: context.secret, filter: f });
    if (shown !== context) return;
    for (const record of list) remember(record);
    render(list, Number(f.limit));
    say(message, cursors.length ? `Page ${cursors.length + 1}, older jobs.` : '');
  } catch (error) {
    context.fail(message, error);
  }
}

/**
 * @param {any[]} list
 * @param {number} limit
 */
function render(list, limit) {
  const body = byId('jobs-table', HTMLTableElement).tBodies[0];
  replace(body, list.length ? list.map(row) : h('tr', {}, h('td', { colspan: 5 }, 'No jobs match.')));
  byId('jobs-older', HTMLButtonElement).disabled = list.length < limit;
  byId('jobs-newest', HTMLButtonElement).disabled = cursors.length === 0;
}

/** @param {any} record */
function row(record) {
  return h('tr', { 'data-job': record.id },
    h('th', { scope: 'row' }, h('a', { href: `#/jobs/${encodeURIComponent(record.id)}`, class: 'mono' }, record.id)),
    h('td', { class: 'job-status' }, badge(record.status)),
    h('td', {}, record.runner),
    h('td', {}, record.executor),
    h('td', {}, formatTime(record.created_at)));
}

/** @param {any} event a `jobs.event` result */
function onEvent(event) {
  const record = known.get(event.job_id);
  if (record) record.status = event.status;
  const tr = byId('jobs-table', HTMLTableElement).querySelector(`tr[data-job="${CSS.escape(event.job_id)}"]`);
  if (tr) {
    if (event.status === 'deleted') tr.remove();
    else tr.querySelector('.job-status')?.replaceChildren(badge(event.status));
    return;
  }
  const f = filter();
  const wanted = !f.before && event.status !== 'deleted' &&
    (!f.runner || f.runner === event.runner) && (!f.status || f.status === event.status);
  if (wanted && shown) later(shown);
}

/**
 * Reads the list again soon, once for a burst of events.
 * @param {import('./main.js').Context} context
 */
function later(context) {
  if (pendingRefresh !== null) return;
  pendingRefresh = setTimeout(() => {
    pendingRefresh = null;
    if (shown === context) refresh(context);
  }, 500);
}

/** @param {import('./main.js').Context} context */
async function submit(context) {
  const message = byId('submit-message', HTMLElement);
  const job = {
    caller_id: 'dashboard',
    context_id: 'dashboard',
    payload: byId('submit-payload', HTMLTextAreaElement).value,
    executor: byId('submit-executor', HTMLInputElement).value.trim(),
    runner: byId('submit-runner', HTMLInputElement).value.trim(),
    timeout: Number(byId('submit-timeout', HTMLInputElement).value),
  };
  say(message, 'Submitting…');
  try {
    const [id] = await context.rpc.call('jobs.create_many', { secret: context.secret, jobs: [job] });
    remember({ ...job, id, status: 'queued', created_at: new Date().toISOString() });
    say(message, `Submitted ${id}.`);
    location.hash = `#/jobs/${encodeURIComponent(id)}`;
  } catch (error) {
    // Here -32001 refuses this runner to this secret (an admin-only runner), not the secret.
    if (error instanceof RpcError && error.code === UNAUTHORIZED) say(message, error.message, 'error');
    else context.fail(message, error);
  }
}

/**
 * Offers the runners' names in the runner fields: every runner for an admin, the runners of
 * the jobs listed for a user (who may not list runners).
 * @param {import('./main.js').Context} context
 */
async function fillRunnerNames(context) {
  /** @type {string[]} */
  let names = [];
  try {
    if (context.level === 'admin') {
      const runners = await context.rpc.call('list_runners', { secret: context.secret });
      names = runners.map((/** @type {any} */ r) => r.queue);
    } else {
      const list = await context.rpc.call('jobs.list', { secret: context.secret, filter: { limit: 200 } });
      names = list.map((/** @type {any} */ j) => j.runner);
    }
  } catch {
    return; // only suggestions: the fields still take any name
  }
  const unique = [...new Set(names)].sort();
  replace(byId('runner-names', HTMLElement), unique.map((name) => h('option', { value: name })));
  const runner = byId('submit-runner', HTMLInputElement);
  if (!runner.value && unique.length) runner.value = unique[0];
}
