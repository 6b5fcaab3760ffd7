// The defaults of the action's inputs and the CLI's flags, as action.yml states them (`default:`) and the README's
// inputs table shows them: written from the same constants the config uses (DEFAULTS in config.ts), and checked
// against them by scripts/docs.ts and test/action-defaults.test.ts.
//
// A key is here only when leaving it empty does exactly what the default does. Keys whose emptiness means "work it
// out" have none: `builder` (oci or docker from the other inputs), `registry-auth` and `prometheus-auth` (from the
// credentials given), `dockerfile` (its absence helps pick the builder), `weight` (the first step),
// `max-step-duration` (3 x interval), `namespace` (the manifests'), `tags` (the commit SHA, found at build time),
// `gates` (the built-in error-rate and latency-p95 gates).
import { DEFAULTS } from './config.js';
import type { ConfigKey } from './config-schema.js';
import { formatDuration } from './duration.js';

export const INPUT_DEFAULTS = {
  command: 'deploy',
  context: '.',
  router: 'replicas',
  steps: DEFAULTS.steps.join(','),
  interval: formatDuration(DEFAULTS.intervalMs),
  alpha: String(DEFAULTS.alpha),
  'failure-limit': String(DEFAULTS.failureLimit),
  'inconclusive-limit': String(DEFAULTS.inconclusiveLimit),
  'consecutive-error-limit': String(DEFAULTS.consecutiveErrorLimit),
  'on-inconclusive': 'rollback',
  'look-every': formatDuration(DEFAULTS.lookEveryMs),
  'scrape-interval': formatDuration(DEFAULTS.scrapeIntervalMs),
  'min-step-duration': formatDuration(DEFAULTS.minStepMs),
  'advance-on-evidence': 'false',
  'to-revision': 'previous',
  timeout: formatDuration(DEFAULTS.readyTimeoutMs),
  'wait-for-lease': 'false',
  comment: 'true',
  'dry-run': 'false',
  'fail-on-rollback': 'true',
} as const satisfies Partial<Record<ConfigKey, string>>;

/** Defaults action.yml states as expressions the runner evaluates; not config values. */
export const EXPRESSION_DEFAULTS: Readonly<Record<string, string>> = { 'github-token': '${{ github.token }}' };

/**
 * The runner passes an input's `default:` when the workflow sets nothing, and inputs override the config file: so an
 * input that equals its default counts as not given, and the config file (or the same built-in default) applies.
 */
export function withoutActionDefaults<T extends Record<string, unknown>>(inputs: T): T {
  const defaults = INPUT_DEFAULTS as Record<string, string>;
  return Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => [
      key,
      typeof value === 'string' && key in defaults && value.trim() === defaults[key] ? '' : value,
    ]),
  ) as T;
}
