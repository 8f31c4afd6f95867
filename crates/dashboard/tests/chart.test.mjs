// The chart module in Chromium, as served by the supervisor: one line per series, a gap where
// an interval has no value, and a legend stating the latest values as text.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { URL, launch, openTab } from './support.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a chart draws each series, breaks a line where a value is missing and states the latest values', async () => {
  const tab = await openTab(browser);
  const { page } = tab;
  await page.goto(URL);
  const drawn = await page.evaluate(async () => {
    const { lineChart } = await import('/assets/js/chart.js');
    const box = document.createElement('div');
    document.body.append(box);
    const times = [0, 10, 20, 30, 40].map((s) => 1_700_000_000_000 + s * 1000);
    lineChart(box, times, [
      { name: 'completed', key: 'completed', values: [1, 4, 2, 8, 3] },
      { name: 'wait p95', key: 'wait95', values: [5, null, 7, 9, null] },
    ], 'a test chart');
    return {
      label: box.querySelector('svg')?.getAttribute('aria-label'),
      completed: box.querySelectorAll('polyline.series-completed').length,
      // [5] then [7, 9]: a dot for the lone value, a line for the pair.
      waitLines: box.querySelectorAll('polyline.series-wait95').length,
      waitDots: box.querySelectorAll('circle.series-wait95').length,
      legend: [...box.querySelectorAll('.legend li')].map((li) => li.textContent),
      ticks: [...box.querySelectorAll('text.tick')].map((t) => t.textContent),
    };
  });
  assert.equal(drawn.label, 'a test chart');
  assert.equal(drawn.completed, 1);
  assert.equal(drawn.waitLines, 1);
  assert.equal(drawn.waitDots, 1);
  assert.deepEqual(drawn.legend, ['completed: 3', 'wait p95: 9']);
  // The scale ends on a round number above the largest value.
  assert.deepEqual(drawn.ticks.slice(0, 3), ['0', '5', '10']);
  await tab.done();
});
