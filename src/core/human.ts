// Numbers and times as people read them in a PR comment: percent, ms/s, counts, elapsed time. Pure and
// locale-independent (the same text on every runner).

export type GateUnit = 'ratio' | 'seconds' | 'per-second' | 'number';

/** The unit of a gate's values, from the built-in gate names of the contract; custom gates are plain numbers. */
export function gateUnit(gateName: string): GateUnit {
  if (gateName === 'error-rate' || gateName === 'invalid-output-rate') return 'ratio';
  if (gateName.startsWith('latency-')) return 'seconds';
  if (gateName === 'request-rate') return 'per-second';
  return 'number';
}

/** At most `digits` significant digits, without trailing zeros or exponent for everyday magnitudes. */
export function significant(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 10 ** digits) return groupThousands(Math.round(value));
  if (magnitude < 1e-6) return value.toExponential(digits - 1);
  return String(Number(value.toPrecision(digits)));
}

export function groupThousands(value: number): string {
  const [whole = '0', fraction] = String(Math.abs(value)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${value < 0 ? '-' : ''}${grouped}${fraction ? `.${fraction}` : ''}`;
}

export function formatPercent(ratio: number): string {
  return `${significant(ratio * 100)}%`;
}

export function formatSeconds(seconds: number): string {
  if (Math.abs(seconds) < 1) return `${significant(seconds * 1000)} ms`;
  return `${significant(seconds)} s`;
}

export function formatCount(count: number): string {
  return groupThousands(Math.round(count));
}

/** A gate value in its unit; `null` (no data) is an em dash. */
export function formatValue(value: number | null | undefined, unit: GateUnit): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  switch (unit) {
    case 'ratio':
      return formatPercent(value);
    case 'seconds':
      return formatSeconds(value);
    case 'per-second':
      return `${significant(value)}/s`;
    default:
      return significant(value);
  }
}

/**
 * A threshold such as `max 0.01` in the gate's unit (`max 1%`). Only numbers right after `max`/`min` are values of
 * the gate; relative parts (`max-increase 50%`, `max-ratio 1.5`) are left as they are.
 */
export function formatThreshold(threshold: string, unit: GateUnit): string {
  if (unit === 'number') return threshold;
  return threshold.replace(/\b(max|min)(:?\s+)(-?\d+(?:\.\d+)?(?:e-?\d+)?)(?![\d%x.])/gi, (_, word, gap, number) => {
    return `${word}${gap}${formatValue(Number(number), unit)}`;
  });
}

/** Elapsed milliseconds as `850 ms`, `42s`, `3m 05s`, `1h 02m`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(totalSeconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m`;
}

/** `2026-12-01 21:42:37 UTC`: one zone for everyone reading the PR. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A time parsed from a report field, or undefined when absent or not a date (outside data is not trusted). */
export function parseTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
