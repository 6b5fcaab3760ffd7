// Reads the Prometheus text exposition format into samples, for asserting on a server's /metrics.
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`line ${index + 1} is not a Prometheus sample: ${line}`);
    const [, name, labelText = '', rawValue] = match;
    const labels: Record<string, string> = {};
    for (let at = 0; at < labelText.length; at = LABEL_PAIR.lastIndex) {
      LABEL_PAIR.lastIndex = at;
      const pair = LABEL_PAIR.exec(labelText);
      if (!pair) throw new Error(`line ${index + 1} has malformed labels: ${line}`);
      labels[pair[1] as string] = (pair[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`line ${index + 1} has a bad value: ${line}`);
    samples.push({ name: name as string, labels, value });
  });
  return samples;
}

/** The value of one series; labels must match exactly those given (others are ignored). Throws when absent. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (!found) throw new Error(`no sample ${name}${JSON.stringify(labels)} in the metrics`);
  return found.value;
}

/** Sum over every series of `name` (e.g. a counter split by code). */
export function sampleSum(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
}
