// The gate table as Markdown (PR comment, job summary) or plain text (terminal). Pure. Values that come from
// outside (gate names, reasons quoting metric labels or Prometheus errors) are escaped.
import type { GateReport } from './ports.js';

const ICON: Record<GateReport['result'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  inconclusive: '⚠️ inconclusive',
};

/** Escapes text for a Markdown table cell: pipes, HTML, backticks, emphasis and line breaks. */
export function markdownCell(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/([`*_[\]])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
}

export function numberCell(value: number | null): string {
  return value === null ? '—' : String(Number(value.toPrecision(4)));
}

function rows(reports: GateReport[]): string[][] {
  return reports.map((r) => [
    r.name,
    r.result,
    numberCell(r.canary),
    numberCell(r.baseline),
    r.threshold,
    r.samples === null ? '—' : String(r.samples),
    r.looks === undefined ? '—' : String(r.looks),
    r.power === undefined ? '—' : r.power.toFixed(2),
    r.reason,
  ]);
}

const HEADER = ['gate', 'result', 'canary', 'baseline', 'threshold', 'samples', 'looks', 'power', 'reason'];

export function renderGatesMarkdown(reports: GateReport[]): string {
  if (reports.length === 0) return '_No gates were measured._';
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const row of rows(reports)) {
    const [name, result, ...rest] = row;
    const cells = [
      markdownCell(name ?? ''),
      ICON[result as GateReport['result']],
      ...rest.map((cell) => markdownCell(cell)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Aligned columns for a terminal; control characters from outside are replaced so they cannot move the cursor. */
export function renderGatesText(reports: GateReport[]): string {
  if (reports.length === 0) return 'No gates were measured.';
  // eslint-disable-next-line no-control-regex
  const clean = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  const table = [HEADER, ...rows(reports).map((row) => row.map(clean))];
  const widths = HEADER.map((_, column) =>
    Math.max(...table.slice(0).map((row) => (column === HEADER.length - 1 ? 0 : (row[column] ?? '').length))),
  );
  return table
    .map((row) =>
      row
        .map((cell, column) => (column === HEADER.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
