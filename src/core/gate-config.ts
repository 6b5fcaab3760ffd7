// One gate as users write it in YAML (kebab-case keys of the contract), parsed into a normalised GateSpec.
import { parse as parseYaml } from 'yaml';
import './zod-config.js';
import * as z from 'zod';
import { didYouMean } from './suggest.js';

export const BUILTIN_GATES = [
  'error-rate',
  'latency-p50',
  'latency-p95',
  'latency-p99',
  'request-rate',
  'prediction-drift',
  'invalid-output-rate',
] as const;
export type BuiltinGate = (typeof BUILTIN_GATES)[number];

export const PLACEHOLDERS = ['selector', 'namespace', 'model', 'track', 'window'] as const;
const PLACEHOLDER = /\{\{\s*([A-Za-z_]+)\s*\}\}/g;
const PROM_DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Default PSI above which prediction scores are said to have drifted (the usual 0.2 rule of thumb). */
export const DEFAULT_DRIFT_MAX = 0.2;

export interface GateSpec {
  name: string;
  /** Set when `name` is a built-in and no `query` is given. */
  builtin?: BuiltinGate;
  /** Custom PromQL template (placeholders `{{ selector }}` ...). */
  query?: string;
  max?: number;
  min?: number;
  /** Canary may be at most this many times the baseline (`max-increase: 50%` -> 1.5). */
  maxRatio?: number;
  /** Fewer requests than this in the window (canary or baseline) -> inconclusive. */
  minRequests: number;
  /** Range of `rate`/`increase`; default: the analysis window. */
  window?: string;
  /** Overrides the built-in's main metric (counter or histogram base name). */
  metric?: string;
  /** Counter of requests used for sample sizes and denominators (default `http_requests_total`). */
  requestsMetric?: string;
  /** Extra label matchers added to the selector. */
  labels: Record<string, string>;
  /** Confidence of this gate's statistical test (default 1 - alpha shared among gates). */
  confidence?: number;
  /** Distance for `prediction-drift`. */
  method?: 'psi' | 'ks';
}

const number = (what: string) =>
  z.number({ error: `${what} must be a number, e.g. 0.01` }).refine(Number.isFinite, {
    message: `${what} must be a finite number`,
  });

const increase = z
  .union([z.number(), z.string()], { error: 'max-increase must be a percentage like 50% or a fraction like 0.5' })
  .transform((value, ctx) => {
    const text = String(value).trim();
    const match = /^([0-9]+(?:\.[0-9]+)?)\s*(%?)$/.exec(text);
    if (!match) {
      ctx.addIssue({
        code: 'custom',
        message: `max-increase must be a percentage like 50% or a fraction like 0.5, not '${text}'`,
      });
      return z.NEVER;
    }
    const amount = Number(match[1]);
    return 1 + (match[2] === '%' ? amount / 100 : amount);
  });

/** Every key a gate may have (the YAML form of the contract). */
export const GATE_KEYS = [
  'name',
  'query',
  'max',
  'min',
  'max-increase',
  'max-ratio',
  'min-requests',
  'window',
  'metric',
  'requests-metric',
  'labels',
  'confidence',
  'method',
] as const;

function unknownKeys(keys: string[]): string {
  const hints = keys.map((key) => `${key}${didYouMean(key, GATE_KEYS).replace(/^ (.*)$/, ' ($1)')}`);
  return `unknown key(s) ${hints.join(', ')}: allowed are ${GATE_KEYS.join(', ')}`;
}

// Loose, so that unknown keys reach the refinement below and get a "did you mean" (a strict object's
// unrecognized_keys issue is reported by the config as an unknown setting); still closed in the JSON Schema.
const rawGateSchema = z
  .looseObject(
    {
      name: z
        .string({ error: 'name must be a string: a built-in (error-rate, latency-p95, ...) or your own name' })
        .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'name must be letters, digits, dot, dash or underscore, e.g. error-rate'),
      query: z
        .string({ error: 'query must be a PromQL string, e.g. max(model_queue_depth{ {{ selector }} })' })
        .optional(),
      max: number('max').optional(),
      min: number('min').optional(),
      'max-increase': increase.optional(),
      'max-ratio': number('max-ratio')
        .refine((value) => value > 0, 'max-ratio must be above 0, e.g. 1.5 (canary at most 1.5x the baseline)')
        .optional(),
      'min-requests': z
        .number({ error: 'min-requests must be a whole number of requests, e.g. 200' })
        .int('min-requests must be a whole number of requests, e.g. 200')
        .nonnegative('min-requests must be 0 or more')
        .optional(),
      window: z
        .string({ error: 'window must be a Prometheus duration like 30s, 2m or 1h' })
        .regex(PROM_DURATION, 'window must be a Prometheus duration like 30s, 2m or 1h')
        .optional(),
      metric: z
        .string({ error: 'metric must be a metric name' })
        .regex(METRIC_NAME, 'metric must be a Prometheus metric name like http_requests_total')
        .optional(),
      'requests-metric': z
        .string()
        .regex(METRIC_NAME, 'requests-metric must be a counter name like http_requests_total')
        .optional(),
      labels: z
        .record(
          z.string().regex(LABEL_NAME, 'labels keys must be label names like route'),
          z.string({ error: 'labels values must be strings' }),
        )
        .optional(),
      confidence: number('confidence')
        .refine((value) => value > 0.5 && value < 1, 'confidence must be between 0.5 and 1, e.g. 0.99')
        .optional(),
      method: z.enum(['psi', 'ks'], { error: 'method must be psi or ks' }).optional(),
    },
    { error: 'a gate must be a mapping like {name: error-rate, max: 0.01}' },
  )
  .meta({ additionalProperties: false });

export const gateSpecSchema = rawGateSchema
  .superRefine((raw, ctx) => {
    const unknown = Object.keys(raw).filter((key) => !(GATE_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) {
      ctx.addIssue({ code: 'custom', path: [unknown[0] as string], message: unknownKeys(unknown) });
      return; // a mistyped key is likely the bound or the query the other checks would miss
    }
    const builtin = (BUILTIN_GATES as readonly string[]).includes(raw.name);
    if (!builtin && raw.query === undefined) {
      const near = didYouMean(raw.name, BUILTIN_GATES);
      ctx.addIssue({
        code: 'custom',
        path: near ? ['name'] : ['query'],
        message: near
          ? `gate '${raw.name}' is not a built-in:${near} (built-ins: ${BUILTIN_GATES.join(', ')}; a custom gate needs a query)`
          : `gate '${raw.name}' is not a built-in (${BUILTIN_GATES.join(', ')}), so it needs a query`,
      });
    }
    if (raw.query !== undefined) {
      for (const [, key] of raw.query.matchAll(PLACEHOLDER)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(key ?? '')) {
          ctx.addIssue({
            code: 'custom',
            path: ['query'],
            message: `unknown placeholder {{ ${key} }}: allowed are ${PLACEHOLDERS.map((p) => `{{ ${p} }}`).join(' ')}`,
          });
        }
      }
    }
    if (raw['max-increase'] !== undefined && raw['max-ratio'] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['max-ratio'],
        message: 'give either max-increase (e.g. 50%) or max-ratio (e.g. 1.5), not both',
      });
    }
    // A built-in gate's absolute bounds have a unit: a rate is a fraction of requests, a latency is seconds.
    if (raw.query === undefined) {
      const rate = raw.name === 'error-rate' || raw.name === 'invalid-output-rate';
      for (const key of ['max', 'min'] as const) {
        const bound = raw[key];
        if (bound === undefined) continue;
        const problem =
          rate && (bound < 0 || bound > 1)
            ? `is a fraction of requests between 0 and 1 (0.02 is 2%), not ${bound}`
            : raw.name.startsWith('latency-') && bound < 0
              ? `is in seconds and cannot be negative, not ${bound}`
              : undefined;
        if (problem) ctx.addIssue({ code: 'custom', path: [key], message: `${key} of gate '${raw.name}' ${problem}` });
      }
    }
    const bounded = [raw.max, raw.min, raw['max-increase'], raw['max-ratio']].some((bound) => bound !== undefined);
    if (!bounded && raw.name !== 'prediction-drift') {
      ctx.addIssue({
        code: 'custom',
        path: ['max'],
        message: `gate '${raw.name}' has no bound: give max, min, max-increase (e.g. 50%) or max-ratio (e.g. 1.5)`,
      });
    }
  })
  .transform((raw): GateSpec => {
    const builtin = raw.query === undefined ? (raw.name as BuiltinGate) : undefined;
    const spec: GateSpec = {
      name: raw.name,
      minRequests: raw['min-requests'] ?? (builtin && builtin !== 'request-rate' ? 100 : 0),
      labels: raw.labels ?? {},
    };
    if (builtin) spec.builtin = builtin;
    if (raw.query !== undefined) spec.query = raw.query;
    if (raw.max !== undefined) spec.max = raw.max;
    else if (builtin === 'prediction-drift') spec.max = DEFAULT_DRIFT_MAX;
    if (raw.min !== undefined) spec.min = raw.min;
    const ratio = raw['max-increase'] ?? raw['max-ratio'];
    if (ratio !== undefined) spec.maxRatio = ratio;
    if (raw.window !== undefined) spec.window = raw.window;
    if (raw.metric !== undefined) spec.metric = raw.metric;
    if (raw['requests-metric'] !== undefined) spec.requestsMetric = raw['requests-metric'];
    if (raw.confidence !== undefined) spec.confidence = raw.confidence;
    if (raw.method !== undefined) spec.method = raw.method;
    return spec;
  });

/** Used when the user gives no gates: error rate and p95 latency, each judged against the baseline. */
export const DEFAULT_GATES: GateSpec[] = [
  { name: 'error-rate', builtin: 'error-rate', maxRatio: 1.5, minRequests: 100, labels: {} },
  { name: 'latency-p95', builtin: 'latency-p95', maxRatio: 1.2, minRequests: 100, labels: {} },
];

function issuePath(index: number, path: PropertyKey[]): string {
  return [`gates[${index}]`, ...path.map(String)].join('.');
}

/** The `gates` input: an inline YAML list. Errors name the gate's index and field. */
export function parseGatesYaml(text: string): { gates: GateSpec[] } | { errors: string[] } {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    return { errors: [`gates is not valid YAML: ${(error as Error).message.split('\n')[0]}`] };
  }
  if (document === null || document === undefined) return { gates: [] };
  if (!Array.isArray(document)) return { errors: ['gates must be a YAML list, e.g. [{name: error-rate, max: 0.01}]'] };
  const gates: GateSpec[] = [];
  const errors: string[] = [];
  document.forEach((item, index) => {
    const parsed = gateSpecSchema.safeParse(item);
    if (parsed.success) gates.push(parsed.data);
    else for (const issue of parsed.error.issues) errors.push(`${issuePath(index, issue.path)}: ${issue.message}`);
  });
  const names = gates.map((gate) => gate.name);
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  for (const name of new Set(repeated))
    errors.push(`gates: '${name}' is given more than once; gate names must be unique`);
  return errors.length > 0 ? { errors } : { gates };
}
