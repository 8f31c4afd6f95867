// @ts-check
// Overview (admin): the supervisor and its store, jobs and runners by status, and throughput
// and latency over the last hour from `metrics.history`; refreshed every 10 s while shown.

import { lineChart } from './chart.js';
import { badge, byId, formatDuration, h, replace, say } from './dom.js';
import { METHOD_NOT_FOUND, RpcError } from './rpc.js';

const REFRESH_MS = 10000;

/** @type {ReturnType<typeof setInterval> | null} */
let timer = null;

/**
 * @param {import('./main.js').Context} context
 */
export function show(context) {
  refresh(context);
  timer = setInterval(() => refresh(context), REFRESH_MS);
}

export function hide() {
  if (timer !== null) clearInterval(timer);
  timer = null;
}

/** @param {import('./main.js').Context} context */
async function refresh(context) {
  const message = byId('overview-message', HTMLElement);
  try {
    const info = await context.rpc.call('get_supervisor_info', { admin_secret: context.secret });
    renderInfo(info);
    say(message, '');
  } catch (error) {
    context.fail(message, error);
    return;
  }
  try {
    const history = await context.rpc.call('metrics.history', { admin_secret: context.secret });
    renderHistory(history.samples ?? [], Number(history.interval_secs) || 10);
  } catch (error) {
    if (error instanceof RpcError && error.code === METHOD_NOT_FOUND) renderHistory([], 10);
    else context.fail(message, error);
  }
}

/**
 * @param {any} info the answer of `get_supervisor_info`
 */
function renderInfo(info) {
  replace(byId('overview-backend', HTMLElement),
    h('dt', {}, 'Backend'), h('dd', {}, `${info.backend.kind} `, badge(info.backend.status)),
    h('dt', {}, 'Namespace'), h('dd', {}, info.namespace),
    h('dt', {}, 'Version'), h('dd', {}, info.version),
    h('dt', {}, 'Uptime'), h('dd', {}, formatDuration(info.uptime_secs)));
  renderCounts(byId('overview-jobs', HTMLElement), info.jobs, 'No jobs stored.');
  renderCounts(byId('overview-runners', HTMLElement), info.runners, 'No runners.');
}

/**
 * @param {HTMLElement} table
 * @param {{total: number, by_status: Record<string, number>}} counts
 * @param {string} none
 */
function renderCounts(table, counts, none) {
  const rows = Object.entries(counts.by_status).map(([status, n]) =>
    h('tr', {}, h('th', { scope: 'row' }, badge(status)), h('td', { class: 'num' }, n)));
  replace(table,
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 2 }, none))),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'total'), h('td', { class: 'num' }, counts.total))));
}

/**
 * @param {any[]} samples the `samples` of `metrics.history`, oldest first
 * @param {number} interval its `interval_secs`: the span each sample counts
 */
function renderHistory(samples, interval) {
  byId('throughput-every', HTMLElement).textContent = `jobs per ${interval} s, last hour`;
  const throughput = byId('chart-throughput', HTMLElement);
  const latency = byId('chart-latency', HTMLElement);
  if (!samples.length) {
    for (const chart of [throughput, latency]) {
      replace(chart, h('p', { class: 'empty' }, 'No history yet: the supervisor keeps a ' +
        `sample every ${interval} s from its start.`));
    }
    return;
  }
  const times = samples.map((s) => s.at_ms);
  /** @param {string} field */
  const column = (field) => samples.map((s) => (typeof s[field] === 'number' ? s[field] : null));
  lineChart(throughput, times, [
    { name: 'completed', key: 'completed', values: column('completed') },
    { name: 'failed', key: 'failed', values: column('failed') },
    { name: 'queued', key: 'queued', values: column('queued') },
  ], `Jobs completed, failed and queued per ${interval} seconds over the last hour`);
  lineChart(latency, times, [
    { name: 'wait p50', key: 'wait50', values: column('wait_p50_ms') },
    { name: 'wait p95', key: 'wait95', values: column('wait_p95_ms') },
    { name: 'run p50', key: 'run50', values: column('duration_p50_ms') },
    { name: 'run p95', key: 'run95', values: column('duration_p95_ms') },
  ], 'Wait (queued to claimed) and run (claimed to end) times in milliseconds, p50 and p95');
}
