import { describe, expect, it } from '@jest/globals';
import type { GateReport } from '../../src/core/ports.js';
import { markdownCell, renderGatesMarkdown, renderGatesText } from '../../src/core/render-gates.js';

const reports: GateReport[] = [
  {
    name: 'error-rate',
    result: 'fail',
    canary: 0.051,
    baseline: 0.004,
    threshold: 'max 0.01',
    samples: 1200,
    reason: 'canary 5.1% > 1%',
  },
  {
    name: 'queue',
    result: 'inconclusive',
    canary: null,
    baseline: null,
    threshold: 'max 5',
    samples: null,
    reason: 'no data for route="a|b" <script>\nnext',
  },
];

describe('gate table', () => {
  it.each([
    ['a|b', 'a\\|b'],
    ['<img src=x>', '&lt;img src=x&gt;'],
    ['`code` *bold* [link]', '\\`code\\` \\*bold\\* \\[link\\]'],
    ['two\nlines', 'two lines'],
  ])('escapes %j', (text, expected) => expect(markdownCell(text)).toBe(expected));

  it('renders Markdown', () => {
    expect(renderGatesMarkdown(reports)).toBe(
      [
        '| gate | result | canary | baseline | threshold | samples | looks | power | reason |',
        '|---|---|---|---|---|---|---|---|---|',
        '| error-rate | ❌ fail | 0.051 | 0.004 | max 0.01 | 1200 | — | — | canary 5.1% &gt; 1% |',
        '| queue | ⚠️ inconclusive | — | — | max 5 | — | — | — | no data for route="a\\|b" &lt;script&gt; next |',
      ].join('\n'),
    );
    expect(renderGatesMarkdown([])).toBe('_No gates were measured._');
  });

  it('renders aligned text without control characters', () => {
    const text = renderGatesText(reports);
    expect(text.split('\n')[1]).toBe(
      'error-rate  fail          0.051   0.004     max 0.01   1200     —      —      canary 5.1% > 1%',
    );
    expect(text).not.toMatch(/\n.*\n.*\n/);
  });
});
