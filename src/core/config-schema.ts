// The config file (.github/model-canary.yml), the action inputs and the CLI flags share these keys. Inputs and flags
// arrive as strings and the file may hold native YAML values, so every field takes both forms. The JSON Schema for
// editors is generated from this same source (scripts/docs.ts).
import './zod-config.js';
import * as z from 'zod';
import { parseDuration } from './duration.js';
import { gateSpecSchema } from './gate-config.js';
import { ROUTERS } from './routers/index.js';
import { didYouMean } from './suggest.js';
import { METRICS_PRESETS } from './metric-presets.js';

export const COMMANDS = [
  'deploy',
  'build',
  'canary',
  'analyze',
  'promote',
  'abort',
  'rollback',
  'status',
  'plan',
] as const;
export type Command = (typeof COMMANDS)[number];

const splitList = (value: string | string[]): string[] =>
  (Array.isArray(value) ? value : value.split(/[,\n]/)).map((item) => item.trim()).filter((item) => item.length > 0);

const text = z.string().trim();
const list = z.union([z.string(), z.array(z.string())], { error: 'must be a list: a, b, c' }).transform(splitList);
const flag = z
  .union([z.boolean(), z.enum(['true', 'false', 'True', 'False', ''])], { error: 'must be true or false' })
  .transform((value) => value === true || String(value).toLowerCase() === 'true');

function numberIn(min: number, max: number, integer: boolean) {
  const form = `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`;
  return z.union([z.number(), z.string()], { error: `must be ${form}` }).transform((value, context) => {
    const parsed = typeof value === 'number' ? value : value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(parsed) || parsed < min || parsed > max || (integer && !Number.isInteger(parsed))) {
      context.addIssue({ code: 'custom', message: `must be ${form}` });
      return z.NEVER;
    }
    return parsed;
  });
}

const duration = z
  .union([z.string(), z.number()], { error: 'must be a duration like 30s, 2m or 1h' })
  .transform((value, context) => {
    const ms = typeof value === 'number' ? value * 1000 : parseDuration(value);
    if (ms === undefined || ms <= 0) {
      context.addIssue({ code: 'custom', message: 'must be a duration like 30s, 2m or 1h' });
      return z.NEVER;
    }
    return ms;
  });

const steps = z
  .union([z.string(), z.array(z.union([z.number(), z.string()]))], {
    error: 'must be rising weights in percent, e.g. 10,25,50,100',
  })
  .transform((value, context) => {
    const weights = (Array.isArray(value) ? value.map(String) : splitList(value)).map((item) =>
      Number(String(item).replace(/%$/, '')),
    );
    const form = 'rising whole percentages from 1 to 100, e.g. 10,25,50,100';
    if (weights.length === 0 || weights.some((w) => !Number.isInteger(w) || w < 1 || w > 100)) {
      context.addIssue({ code: 'custom', message: `must be ${form}` });
      return z.NEVER;
    }
    if (weights.some((w, i) => i > 0 && w <= (weights[i - 1] as number))) {
      context.addIssue({ code: 'custom', message: `must rise step by step: ${form}` });
      return z.NEVER;
    }
    return weights;
  });

const instant = z
  .union([z.string(), z.number(), z.date()], { error: 'must be RFC 3339 (2026-01-02T15:04:05Z) or unix seconds' })
  .transform((value, context) => {
    const date =
      value instanceof Date
        ? value
        : typeof value === 'number' || /^\d+(\.\d+)?$/.test(value.trim())
          ? new Date(Number(value) * 1000)
          : new Date(value);
    if (Number.isNaN(date.getTime())) {
      context.addIssue({ code: 'custom', message: 'must be RFC 3339 (2026-01-02T15:04:05Z) or unix seconds' });
      return z.NEVER;
    }
    return date;
  });

const revision = z
  .union([z.string(), z.number()], { error: "must be 'previous' or a revision number" })
  .transform((value, context): 'previous' | number => {
    const raw = String(value).trim();
    if (raw === 'previous') return 'previous';
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) {
      context.addIssue({ code: 'custom', message: "must be 'previous' or a revision number" });
      return z.NEVER;
    }
    return n;
  });

const keyValues = list.transform((items, context) => {
  const pairs: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf('=');
    if (at <= 0) {
      context.addIssue({ code: 'custom', message: `must be KEY=VALUE pairs (got "${item}")` });
      return z.NEVER;
    }
    pairs[item.slice(0, at)] = item.slice(at + 1);
  }
  return pairs;
});

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (issue) =>
      `must be one of ${values.join(', ')}` +
      (typeof issue.input === 'string' ? `;${didYouMean(issue.input, values)}`.replace(/;$/, '') : ''),
  });

/** Gates arrive inline as YAML text (action input, CLI flag) or as a YAML list (config file). */
export const gatesField = z.array(gateSpecSchema, { error: 'must be a YAML list of gates' });

/** Every key of the config file; each is also an action input `key` and a CLI flag `--key`. */
export const configFileSchema = z
  .object({
    command: oneOf(COMMANDS),
    config: text,
    model: text,
    namespace: text,
    manifests: list,
    container: text,
    image: text,
    registry: text,
    repository: text,
    tags: list,
    builder: oneOf(['docker', 'oci'] as const),
    context: text,
    dockerfile: text,
    'build-args': keyValues,
    platforms: list,
    'model-path': text,
    'base-image': text,
    'model-source': text,
    'azureml-workspace': text,
    'azureml-resource-group': text,
    'azureml-subscription': text,
    'mlflow-tracking-uri': z.url({ error: 'must be a URL like https://mlflow.example.com' }),
    'mlflow-token': text,
    'mlflow-username': text,
    'mlflow-password': text,
    'registry-auth': oneOf(['azure', 'basic', 'docker-config', 'none'] as const),
    'registry-username': text,
    'registry-password': text,
    router: oneOf(ROUTERS),
    metrics: oneOf(METRICS_PRESETS),
    steps,
    interval: duration,
    weight: numberIn(1, 100, true),
    gates: gatesField,
    alpha: numberIn(0.0001, 0.5, false),
    'expected-rps': numberIn(0.001, 1_000_000, false),
    'failure-limit': numberIn(0, 100, true),
    'inconclusive-limit': numberIn(0, 100, true),
    'consecutive-error-limit': numberIn(0, 100, true),
    'on-inconclusive': oneOf(['rollback', 'hold'] as const),
    'look-every': duration,
    'scrape-interval': duration,
    power: numberIn(0.5, 0.999, false),
    'min-step-duration': duration,
    'max-step-duration': duration,
    'advance-on-evidence': flag,
    'prometheus-url': z.url({ error: 'must be a URL like http://prometheus:9090' }),
    'prometheus-auth': oneOf(['none', 'bearer', 'basic', 'azure'] as const),
    'prometheus-token': text,
    from: instant,
    to: instant,
    'to-revision': revision,
    kubeconfig: text,
    timeout: duration,
    'wait-for-lease': flag,
    environment: text,
    'github-token': text,
    comment: flag,
    'grafana-url': z.url({ error: 'must be a URL like https://grafana.example.com' }),
    'grafana-token': text,
    'dry-run': flag,
    'show-objects': flag,
    'fail-on-rollback': flag,
    output: oneOf(['text', 'json'] as const),
  })
  .partial()
  .strict();

export type ConfigFile = z.output<typeof configFileSchema>;
export type ConfigKey = keyof ConfigFile;
export const CONFIG_KEYS = Object.keys(configFileSchema.shape) as ConfigKey[];

/** Keys whose values are secrets: masked in logs, never echoed in error messages. */
export const SECRET_KEYS: readonly ConfigKey[] = [
  'registry-password',
  'prometheus-token',
  'github-token',
  'grafana-token',
  'mlflow-token',
  'mlflow-password',
];
