import { describe, expect, it } from '@jest/globals';
import {
  formatElapsed,
  formatThreshold,
  formatValue,
  gateUnit,
  significant,
  type GateUnit,
} from '../../src/core/human.js';
import { codeBlock, codeSpan, escapeText, hiddenMarker, link, table } from '../../src/core/markdown.js';

describe('escapeText', () => {
  it.each([
    ['plain words', 'plain words'],
    ['a|b', 'a\\|b'],
    ['<script>alert(1)</script>', '&lt;script&gt;alert\\(1\\)&lt;/script&gt;'],
    ['<!-- model-canary:ml/x -->', '&lt;\\!-- model-canary:ml/x --&gt;'],
    ['@octocat', '@\u200boctocat'],
    ['@org/team', '@\u200borg/team'],
    ['fixes #123', 'fixes \\#\u200b123'],
    ['line one\nline two\r\n', 'line one line two'],
    ['`code` *bold* _it_ [x](y)', '\\`code\\` \\*bold\\* \\_it\\_ \\[x\\]\\(y\\)'],
    ['a\\|b', 'a\\\\\\|b'],
    ['&lt;', '&amp;lt;'],
  ])('%j -> %j', (input, expected) => {
    expect(escapeText(input)).toBe(expected);
  });

  it('cuts long outside values', () => {
    const text = escapeText('x'.repeat(1000), 10);
    expect(text).toBe(`${'x'.repeat(9)}…`);
  });
});

describe('codeSpan', () => {
  it.each([
    ['sha256:abc', '`sha256:abc`'],
    ['a`b', '``a`b``'],
    ['``x``', '``` ``x`` ```'],
    ['a|b', '`a\\|b`'],
    ['two\nlines', '`two lines`'],
    ['', '` `'],
    // An HTML comment delimiter would stay in the raw body: `<code>` with references instead, read and copied alike.
    ['<!-- model-canary:ml/x -->', '<code>&#60;&#33;&#45;&#45; model&#45;canary&#58;ml&#47;x &#45;&#45;&#62;</code>'],
    ['a|`b` -->', '<code>a&#124;&#96;b&#96; &#45;&#45;&#62;</code>'],
  ])('%j -> %j', (input, expected) => {
    expect(codeSpan(input)).toBe(expected);
  });
});

describe('other blocks', () => {
  it('fences a code block longer than any fence inside', () => {
    expect(codeBlock('````\nx')).toBe('`````text\n````\nx\n`````');
    expect(codeBlock('ls', 10, 'sh')).toBe('```sh\nls\n```');
  });
  it('writes a code block holding an HTML comment delimiter as <pre>, with &, < and > as references', () => {
    expect(codeBlock('a <!-- b\n\n& c --> ```')).toBe('<pre><code>a &lt;!-- b\n\n&amp; c --&gt; ```</code></pre>');
  });
  it('links only http(s) URLs, with the URL unable to end the link early', () => {
    expect(link('run', 'https://e.com/a b)c')).toBe('[run](https://e.com/a%20b%29c)');
    expect(link('run', 'javascript:alert(1)')).toBe('run');
  });
  it('builds an aligned table', () => {
    expect(table(['a', 'b'], [['1', '2']], ['left', 'right'])).toBe('| a | b |\n| --- | ---: |\n| 1 | 2 |');
  });
  it('keeps a marker a single HTML comment whatever the id', () => {
    expect(hiddenMarker('model-canary:ml/x --> <b>')).toBe('<!-- model-canary:ml/x_--___b_ -->');
  });
});

describe('human values', () => {
  it.each<[string, GateUnit]>([
    ['error-rate', 'ratio'],
    ['invalid-output-rate', 'ratio'],
    ['latency-p95', 'seconds'],
    ['request-rate', 'per-second'],
    ['queue-depth', 'number'],
  ])('gate %s is in %s', (name, unit) => expect(gateUnit(name)).toBe(unit));

  it.each<[number | null, GateUnit, string]>([
    [0.051, 'ratio', '5.1%'],
    [0.0004, 'ratio', '0.04%'],
    [0, 'ratio', '0%'],
    [0.1234, 'seconds', '123 ms'],
    [2.5, 'seconds', '2.5 s'],
    [12.345, 'per-second', '12.3/s'],
    [123456, 'number', '123,456'],
    [null, 'ratio', '—'],
    [Number.NaN, 'seconds', 'NaN'],
  ])('%p in %s is %s', (value, unit, text) => expect(formatValue(value, unit)).toBe(text));

  it.each<[string, GateUnit, string]>([
    ['max 0.01', 'ratio', 'max 1%'],
    ['max 0.5, max-increase 50%', 'seconds', 'max 500 ms, max-increase 50%'],
    ['max-ratio 1.5', 'seconds', 'max-ratio 1.5'],
    ['min 10', 'per-second', 'min 10/s'],
    ['max 50', 'number', 'max 50'],
  ])('threshold %j in %s reads %j', (threshold, unit, text) => expect(formatThreshold(threshold, unit)).toBe(text));

  it.each<[number, string]>([
    [850, '850 ms'],
    [42_000, '42s'],
    [185_000, '3m 05s'],
    [3_720_000, '1h 02m'],
    [-1, '—'],
  ])('%d ms elapsed reads %s', (ms, text) => expect(formatElapsed(ms)).toBe(text));

  it('keeps three significant digits', () => {
    expect(significant(0.000123456)).toBe('0.000123');
    expect(significant(99.95)).toBe('100');
  });
});
