// @ts-check
// Runners (admin): every local and remote runner with its state, refreshed every 5 s, start
// and stop buttons, and one runner's output followed live through `runner_logs.subscribe`.

import { badge, byId, formatTime, h, replace, say } from './dom.js';

const REFRESH_MS = 5000;
/** The most log lines kept on the page; older ones scroll away. */
const MAX_LOG_LINES = 2000;

/** @type {ReturnType<typeof setInterval> | null} */
let timer = null;
/** @type {{close: () => void} | null} */
let logs = null;

/**
 * @param {import('./main.js').Context} context
 */
export function show(context) {
  refresh(context);
  timer = setInterval(() => refresh(context), REFRESH_MS);
  byId('runner-logs-close', HTMLElement).onclick = closeLogs;
}

export function hide() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  closeLogs();
}

/** @param {import('./main.js').Context} context */
async function refresh(context) {
  const message = byId('runners-message', HTMLElement);
  try {
    const list = await context.rpc.call('list_runners', { secret: context.secret });
    render(context, list);
  } catch (error) {
    context.fail(message, error);
  }
}

/**
 * @param {import('./main.js').Context} context
 * @param {any[]} list the answer of `list_runners`
 */
function render(context, list) {
  const body = byId('runners-table', HTMLTableElement).tBodies[0];
  if (!list.length) {
    replace(body, h('tr', {}, h('td', { colspan: 10 }, 'No runners are configured or registered.')));
    return;
  }
  replace(body, list.map((runner) => {
    const local = runner.kind === 'local';
    const up = ['running', 'starting', 'backoff'].includes(runner.status);
    return h('tr', { 'data-runner': runner.name },
      h('th', { scope: 'row' }, runner.name),
      h('td', {}, runner.kind),
      h('td', { class: 'runner-status' }, badge(runner.status)),
      h('td', {}, runner.queue),
      h('td', { class: 'num' }, runner.queue_length),
      h('td', { class: 'num' }, runner.restarts),
      h('td', { class: 'num' }, runner.pid ?? ''),
      h('td', {}, runner.process_manager ?? ''),
      h('td', {}, formatTime(runner.last_seen)),
      h('td', { class: 'actions' },
        local && h('button', {
          type: 'button', disabled: up, 'aria-label': `Start ${runner.name}`,
          onclick: () => act(context, 'start_runner', runner.name),
        }, 'Start'),
        local && h('button', {
          type: 'button', disabled: !up, 'aria-label': `Stop ${runner.name}`,
          onclick: () => act(context, 'stop_runner', runner.name),
        }, 'Stop'),
        local && h('button', {
          type: 'button', 'aria-label': `Logs of ${runner.name}`,
          onclick: () => openLogs(context, runner.name),
        }, 'Logs')));
  }));
}

/**
 * @param {import('./main.js').Context} context
 * @param {'start_runner' | 'stop_runner'} method
 * @param {string} name
 */
async function act(context, method, name) {
  const message = byId('runners-message', HTMLElement);
  const verb = method === 'start_runner' ? 'Starting' : 'Stopping';
  say(message, `${verb} ${name}…`);
  try {
    await context.rpc.call(method, { secret: context.secret, actor_id: name });
    say(message, `${method === 'start_runner' ? 'Started' : 'Stopped'} ${name}.`);
  } catch (error) {
    context.fail(message, error);
  }
  refresh(context);
}

/**
 * @param {import('./main.js').Context} context
 * @param {string} name
 */
function openLogs(context, name) {
  closeLogs();
  const card = byId('runner-logs', HTMLElement);
  const pre = byId('runner-logs-lines', HTMLElement);
  card.hidden = false;
  byId('runner-logs-title', HTMLElement).textContent = `Logs of ${name}`;
  pre.replaceChildren();
  logs = context.rpc.subscribe('runner_logs.subscribe',
    { secret: context.secret, actor_id: name, lines: 200 },
    (line) => addLine(pre, String(line)),
    (error) => addLine(pre, `[the log stream ended: ${error.message}]`));
  card.scrollIntoView({ block: 'nearest' });
}

function closeLogs() {
  logs?.close();
  logs = null;
  byId('runner-logs', HTMLElement).hidden = true;
}

/**
 * @param {HTMLElement} pre
 * @param {string} line
 */
function addLine(pre, line) {
  pre.append(h('span', { class: 'line' }, line, '\n'));
  while (pre.childElementCount > MAX_LOG_LINES) pre.firstElementChild?.remove();
  if (byId('runner-logs-follow', HTMLInputElement).checked) pre.scrollTop = pre.scrollHeight;
}
