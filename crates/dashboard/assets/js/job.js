// @ts-check
// One job: its status, times, progress, payload and result, kept live by a `jobs.subscribe`
// on its id; stop, retry and delete; for an admin, the runner's log lines that name the job.

import { badge, byId, formatTime, h, replace, say } from './dom.js';
import { FINAL, known, remember } from './jobs.js';
import { NOT_FOUND, RpcError } from './rpc.js';

/** How many of the runner's last lines are searched for the job's id. */
const LOG_LINES_SEARCHED = 2000;

/**
 * The job shown, the context it is shown in, and how many reads of it have begun.
 * @typedef {{context: import('./main.js').Context, id: string, reads: number,
 *   missed: boolean}} Shown
 */

/** @type {{close: () => void} | null} */
let events = null;
/** The job shown; null once hidden. */
/** @type {Shown | null} */
let shown = null;

/**
 * @param {import('./main.js').Context} context
 * @param {string} id
 */
export function show(context, id) {
  /** @type {Shown} */
  const current = { context, id, reads: 0, missed: false };
  shown = current;
  byId('job-title', HTMLElement).textContent = `Job ${id}`;
  for (const region of ['job-facts', 'job-payload', 'job-result', 'job-logs', 'job-progress-text']) {
    byId(region, HTMLElement).replaceChildren();
  }
  byId('job-progress', HTMLProgressElement).removeAttribute('value');
  byId('job-logs-card', HTMLElement).hidden = true;
  say(byId('job-message', HTMLElement), '');
  byId('job-stop', HTMLElement).onclick = () => act(current, 'job.stop', 'Stop asked.');
  byId('job-retry', HTMLElement).onclick = () => act(current, 'job.retry', 'Queued again.');
  byId('job-delete', HTMLElement).onclick = () => remove(current);
  // Subscribed before the first read, so no change falls between the two.
  events = context.rpc.subscribe('jobs.subscribe',
    { secret: context.secret, filter: { job_ids: [id] } },
    (event) => onEvent(current, event),
    () => load(current));
  load(current);
}

export function hide() {
  events?.close();
  events = null;
  shown = null;
}


/**
 * Reads the job again and shows it; of overlapping reads only the latest is shown.
 * @param {Shown} current
 */
async function load(current) {
  const { context, id } = current;
  const message = byId('job-message', HTMLElement);
  const read = ++current.reads;
  const stale = () => shown !== current || read !== current.reads;
  try {
    const status = await context.rpc.call('job.status', { job_id: id, secret: context.secret });
    const record = known.get(id) ?? await find(current);
    if (stale()) return;
    renderFacts(status, record);
    if (FINAL.includes(status.status)) await finished(current, record?.runner, stale);
  } catch (error) {
    if (stale()) return;
    if (error instanceof RpcError && error.code === NOT_FOUND) {
      say(message, 'No such job: it was deleted, its retention passed, or it is not yours.', 'error');
      setButtons('deleted');
    } else {
      context.fail(message, error);
    }
  }
}

/**
 * The job's record from the newest jobs, for a page opened by its link; looked for once per
 * page, as each look reads up to 1,000 jobs with their payloads.
 * @param {Shown} current
 */
async function find(current) {
  if (current.missed) return undefined;
  const { context, id } = current;
  const list = await context.rpc.call('jobs.list', { secret: context.secret, filter: { limit: 1000 } });
  const record = list.find((/** @type {any} */ r) => r.id === id);
  if (record) remember(record);
  else current.missed = true;
  return record;
}

/**
 * Shows the result, and for an admin the log lines about the job.
 * @param {Shown} current
 * @param {string | undefined} runner
 * @param {() => boolean} stale whether a later read has begun
 */
async function finished(current, runner, stale) {
  const { context, id } = current;
  const result = await context.rpc.call('job.result', { job_id: id, secret: context.secret });
  if (stale()) return;
  const pre = byId('job-result', HTMLElement);
  if ('success' in result) replace(pre, result.success);
  else replace(pre, h('span', { class: 'error' }, `error: ${result.error}`));
  if (context.level !== 'admin' || !runner) return;
  try {
    const lines = await context.rpc.call('get_runner_logs',
      { secret: context.secret, actor_id: runner, lines: LOG_LINES_SEARCHED });
    if (stale()) return;
    const mine = lines.filter((/** @type {string} */ line) => line.includes(id));
    byId('job-logs-card', HTMLElement).hidden = mine.length === 0;
    replace(byId('job-logs', HTMLElement), mine.join('\n'));
  } catch {
    // A remote runner's output is on its own host: there are no lines to show.
  }
}

/**
 * @param {any} status the answer of `job.status`
 * @param {any} record its `jobs.list` entry, if known
 */
function renderFacts(status, record) {
  /**
   * @param {string} term
   * @param {import('./dom.js').Child} value
   */
  const fact = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  replace(byId('job-facts', HTMLElement),
    h('dt', {}, 'Status'), h('dd', { id: 'job-status' }, badge(status.status)),
    fact('Created', formatTime(status.created_at)),
    fact('Started', formatTime(status.started_at)),
    fact('Finished', formatTime(status.completed_at)),
    fact('Attempt', status.attempt ?? ''),
    status.last_error && fact('Last error', status.last_error),
    status.reason && fact('Waiting because', status.reason),
    record && [
      fact('Runner', record.runner),
      fact('Executor', record.executor),
      fact('Timeout', `${record.timeout} s`),
      record.caller_id && fact('Caller', record.caller_id),
      record.context_id && fact('Context', record.context_id),
    ]);
  renderProgress(status.progress);
  setButtons(status.status);
  if (record) replace(byId('job-payload', HTMLElement), record.payload);
  else replace(byId('job-payload', HTMLElement), h('em', {}, 'Not among the newest 1,000 jobs listed.'));
}

/** @param {{percent: number, message?: string} | null | undefined} progress */
function renderProgress(progress) {
  const bar = byId('job-progress', HTMLProgressElement);
  if (!progress) return;
  bar.value = progress.percent;
  byId('job-progress-text', HTMLElement).textContent =
    `${progress.percent}%${progress.message ? ` — ${progress.message}` : ''}`;
}

/** @param {string} status */
function setButtons(status) {
  byId('job-stop', HTMLButtonElement).disabled = FINAL.includes(status) || status === 'deleted';
  byId('job-retry', HTMLButtonElement).disabled = !['failed', 'stopped'].includes(status);
  byId('job-delete', HTMLButtonElement).disabled = status === 'deleted';
}

/**
 * @param {Shown} current
 * @param {any} event a `jobs.event` result
 */
function onEvent(current, event) {
  if (shown !== current) return;
  const record = known.get(current.id);
  if (record) record.status = event.status;
  if (event.status === 'deleted') {
    replace(byId('job-status', HTMLElement), badge('deleted'));
    setButtons('deleted');
    return;
  }
  if (event.progress) renderProgress(event.progress);
  if (event.status === 'running' && event.progress) return;
  // Every other change moves a time, an attempt or the result: read them all again.
  load(current);
}

/**
 * @param {Shown} current
 * @param {'job.stop' | 'job.retry'} method
 * @param {string} done
 */
async function act(current, method, done) {
  const message = byId('job-message', HTMLElement);
  try {
    await current.context.rpc.call(method, { secret: current.context.secret, job_id: current.id });
    say(message, done);
    if (method === 'job.retry') byId('job-result', HTMLElement).replaceChildren();
  } catch (error) {
    current.context.fail(message, error);
  }
}

/** @param {Shown} current */
async function remove(current) {
  const message = byId('job-message', HTMLElement);
  try {
    await current.context.rpc.call('job.delete', { secret: current.context.secret, job_id: current.id });
    known.delete(current.id);
    say(message, 'Deleted.');
    setButtons('deleted');
  } catch (error) {
    current.context.fail(message, error);
  }
}
