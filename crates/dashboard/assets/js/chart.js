// @ts-check
// A small line chart drawn as SVG: time on x, one polyline per series, gaps where a value is
// null, three gridlines with labels, and a legend that also states the latest values as text.

import { h, replace } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 48, right: 12, top: 10, bottom: 24 };

/**
 * @typedef {{name: string, key: string, values: (number | null)[]}} Series
 */

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [text]
 */
function svg(tag, attrs, text) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** @param {number} value */
function round(value) {
  return value >= 100 ? Math.round(value).toString() : String(Math.round(value * 10) / 10);
}

/**
 * Draws `series` over `times` (unix ms) into `container`, replacing what was there.
 * @param {HTMLElement} container
 * @param {number[]} times
 * @param {Series[]} series
 * @param {string} label what the chart shows, for screen readers
 */
export function lineChart(container, times, series, label) {
  const values = series.flatMap((s) => s.values).filter((v) => v !== null);
  const max = niceMax(Math.max(1, ...values.map(Number)));
  const first = times[0] ?? Date.now();
  const last = times[times.length - 1] ?? first;
  const span = Math.max(1, last - first);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (/** @type {number} */ t) => PAD.left + ((t - first) / span) * plotW;
  const y = (/** @type {number} */ v) => PAD.top + plotH - (v / max) * plotH;

  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': label });
  for (const v of [0, max / 2, max]) {
    chart.append(svg('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }));
    chart.append(svg('text', { class: 'tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, round(v)));
  }
  for (const [t, anchor] of /** @type {const} */ ([[first, 'start'], [last, 'end']])) {
    const text = new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    chart.append(svg('text', { class: 'tick', x: x(t), y: HEIGHT - 6, 'text-anchor': anchor }, text));
  }
  for (const s of series) {
    for (const run of runs(times, s.values)) {
      const points = run.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      const shape = run.length === 1
        ? svg('circle', { class: `series-${s.key}`, cx: x(run[0][0]), cy: y(run[0][1]), r: 2.5 })
        : svg('polyline', { class: `series-${s.key}`, points });
      chart.append(shape);
    }
  }
  const legend = h('ul', { class: 'legend' }, series.map((s) => {
    const latest = [...s.values].reverse().find((v) => v !== null);
    return h('li', { class: `key-${s.key}` }, `${s.name}: `,
      h('strong', {}, latest === undefined || latest === null ? '—' : round(latest)));
  }));
  replace(container, chart, legend);
}

/**
 * The unbroken stretches of non-null values, as `[time, value]` pairs.
 * @param {number[]} times
 * @param {(number | null)[]} values
 * @returns {[number, number][][]}
 */
function runs(times, values) {
  /** @type {[number, number][][]} */
  const all = [];
  /** @type {[number, number][]} */
  let current = [];
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      if (current.length) all.push(current);
      current = [];
    } else {
      current.push([times[i], v]);
    }
  });
  if (current.length) all.push(current);
  return all;
}

/**
 * The smallest of 1, 2 or 5 times a power of ten that is at least `value`.
 * @param {number} value
 */
function niceMax(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}
