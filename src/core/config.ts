// Raw settings (config file, then inputs or flags over it) -> one typed, validated RolloutConfig. Every error names
// the field, the value and the allowed form, and all of them are reported at once.
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Command, type ConfigFile, type ConfigKey, configFileSchema, SECRET_KEYS } from './config-schema.js';
import { formatDuration } from './duration.js';
import { parseImageRef, registryProblem, repositoryProblem, tagProblem } from './image-ref.js';
import type { GateSpec } from './gate-config.js';
import { parseModelSource } from './model-source.js';
import { baseImageProblem } from './serving-presets.js';
import { chooseMetrics, judgedGates, metricsProblems, type MetricsChoice } from './metrics-choice.js';
import type { RouterName } from './routers/index.js';
import { clearTextHost, hasUserinfo, redactUrls, urlSecrets } from './url-credentials.js';

export type { Command } from './config-schema.js';

export interface RolloutConfig {
  command: Command;
  model?: string;
  namespace?: string;
  manifests: string[];
  container?: string;
  image?: string;
  build: {
    builder: 'docker' | 'oci';
    registry?: string;
    repository?: string;
    tags: string[];
    context: string;
    dockerfile?: string;
    buildArgs: Record<string, string>;
    platforms: string[];
    modelPath?: string;
    baseImage?: string;
    /** `model-source`: where the model is fetched from before the build (Azure ML, MLflow, https, oci). */
    modelSource?: string;
  };
  azureml: { workspace?: string; resourceGroup?: string; subscription?: string };
  mlflow: { trackingUri?: string; token?: string; username?: string; password?: string };
  registryAuth: { method: 'azure' | 'basic' | 'docker-config' | 'none'; username?: string; password?: string };
  router: RouterName;
  steps: number[];
  intervalMs: number;
  weight: number;
  gates: GateSpec[];
  /** The metric preset the built-in gates read, and what chose it. */
  metrics: MetricsChoice;
  /** Default gates the preset cannot serve, left out (for plan and the log). */
  gateNotes: string[];
  analysis: {
    alpha: number;
    /** The model's request rate, for plan's expected time to detect (none: not estimated). */
    expectedRps?: number;
    failureLimit: number;
    inconclusiveLimit: number;
    consecutiveErrorLimit: number;
    onInconclusive: 'rollback' | 'hold';
    /** How often the live judge looks inside a step; never below the scrape interval. */
    lookEveryMs: number;
    /** Prometheus's scrape interval: no look comes faster, and no window is shorter than two scrapes. */
    scrapeIntervalMs: number;
    /** The power every relative gate must reach before promotion (off when undefined). */
    power?: number;
    minStepMs: number;
    maxStepMs: number;
    advanceOnEvidence: boolean;
  };
  prometheus: { url?: string; auth: 'none' | 'bearer' | 'basic' | 'azure'; token?: string };
  window?: { from: Date; to: Date };
  toRevision: 'previous' | number;
  kubeconfig?: string;
  readyTimeoutMs: number;
  waitForLease: boolean;
  github: { token?: string; comment: boolean; environment?: string };
  grafana: { url?: string; token?: string };
  dryRun: boolean;
  /** `show-objects` (CLI `plan` text only): every object at every step as YAML. */
  showObjects: boolean;
  failOnRollback: boolean;
  output: 'text' | 'json';
}

export type RawSettings = Record<string, unknown>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // Problems quote the values given, and a URL among them may carry its user:password or a token.
    const shown = problems.map(redactUrls);
    super(`invalid configuration:\n${shown.map((problem) => `  - ${problem}`).join('\n')}`);
    this.problems = shown;
    this.name = 'ConfigError';
  }
}

export const DEFAULTS = {
  steps: [10, 25, 50, 100],
  intervalMs: 60_000,
  readyTimeoutMs: 300_000,
  alpha: 0.01,
  failureLimit: 0,
  inconclusiveLimit: 3,
  consecutiveErrorLimit: 4,
  lookEveryMs: 15_000,
  scrapeIntervalMs: 15_000,
  minStepMs: 60_000,
  /** max-step-duration defaults to this many intervals. */
  maxStepIntervals: 3,
} as const;

/** Which settings each command cannot do without. */
const REQUIRED: Partial<Record<Command, { key: keyof ConfigFile; when?: (c: ConfigFile) => boolean; why: string }[]>> =
  {
    plan: [{ key: 'manifests', why: 'plan reads the manifests' }],
    deploy: [
      { key: 'manifests', why: 'deploy applies the manifests' },
      { key: 'prometheus-url', why: 'deploy judges the canary from Prometheus' },
    ],
    canary: [{ key: 'manifests', why: 'canary applies the manifests' }],
    build: [
      { key: 'registry', why: 'build pushes to a registry' },
      { key: 'repository', why: 'build pushes to a repository' },
    ],
    analyze: [{ key: 'prometheus-url', why: 'analyze queries Prometheus' }],
  };

function describeValue(key: string, raw: RawSettings): string {
  if ((SECRET_KEYS as readonly string[]).includes(key)) return '(secret)';
  const value = raw[key];
  if (value === undefined) return '(missing)';
  // Redacted before it is cut short: a URL cut inside its userinfo no longer looks like one.
  const shown = redactUrls(JSON.stringify(value) ?? String(value));
  return shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : (shown ?? String(value));
}

function issueText(issue: z.core.$ZodIssue, raw: RawSettings): string {
  const [key, ...rest] = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return `unknown setting ${issue.keys.map((k) => `'${k}'`).join(', ')}: see the inputs table in the README`;
  }
  const field = [key, ...rest].join('.');
  // A message that already quotes the value it refused needs no second copy of it.
  if (issue.message.includes('(got ')) return `${field}: ${issue.message}`;
  return `${field}: ${issue.message} (got ${describeValue(key ?? '', raw)})`;
}

/** The `gates` input is YAML text; the config file holds a YAML list. */
function normaliseGates(raw: RawSettings, problems: string[]): RawSettings {
  const gates = raw.gates;
  if (typeof gates !== 'string') return raw;
  if (gates.trim() === '') return { ...raw, gates: undefined };
  try {
    return { ...raw, gates: parseYaml(gates) };
  } catch (error) {
    problems.push(`gates: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return { ...raw, gates: undefined };
  }
}

/** Drops empty strings: an action input left blank means "not given", so the file or the default applies. */
function given(settings: RawSettings): RawSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined && value !== ''));
}

/**
 * Merges `overrides` (inputs or flags) over `file` (the config file) and validates the result. Throws ConfigError
 * with every problem found.
 */
export function buildConfig(file: RawSettings, overrides: RawSettings): RolloutConfig {
  const problems: string[] = [];
  const raw = normaliseGates(given({ ...given(file), ...given(overrides) }), problems);
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => issueText(issue, raw)));
  const settings: ConfigFile = parsed.success ? parsed.data : {};
  const command = settings.command ?? 'deploy';

  if (parsed.success) {
    for (const need of REQUIRED[command] ?? []) {
      if (settings[need.key] === undefined) problems.push(`${need.key}: required for '${command}' (${need.why})`);
    }
    problems.push(...crossChecks(command, settings));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return toRolloutConfig(command, settings);
}

function crossChecks(command: Command, s: ConfigFile): string[] {
  const problems: string[] = [];
  if ((s.from === undefined) !== (s.to === undefined)) {
    problems.push(`${s.from ? 'to' : 'from'}: 'from' and 'to' go together (a past window needs both ends)`);
  }
  if (s.from && s.to && s.from.getTime() >= s.to.getTime()) {
    problems.push(`to: must be after from (got from ${s.from.toISOString()}, to ${s.to.toISOString()})`);
  }
  if ((command === 'deploy' || command === 'canary') && !s.image && !(s.registry && s.repository)) {
    problems.push(`image: '${command}' needs an image to deploy, or registry and repository to build one`);
  }
  if (s['registry-auth'] === 'basic' && (!s['registry-username'] || !s['registry-password'])) {
    problems.push('registry-auth: basic needs registry-username and registry-password');
  }
  if ((s['prometheus-auth'] === 'bearer' || s['prometheus-auth'] === 'basic') && !s['prometheus-token']) {
    problems.push(`prometheus-auth: ${s['prometheus-auth']} needs prometheus-token`);
  }
  const builder = builderOf(s);
  if (builder === 'oci' && command === 'build' && !(s['model-path'] || s['model-source'])) {
    problems.push('builder: oci needs model-path or model-source (where the model files come from)');
  }
  if (builder === 'oci' && command === 'build' && !s['base-image']) {
    problems.push('builder: oci needs base-image (the serving image the model goes on)');
  }
  problems.push(...modelSourceChecks(s, builder));
  problems.push(...nameChecks(s));
  problems.push(...urlSchemeChecks(s));
  problems.push(...clearTextChecks(s));
  problems.push(...stepDurationChecks(s));
  const baseImage = s['base-image'] && baseImageProblem(s['base-image'].trim());
  if (baseImage) problems.push(`base-image: ${baseImage}`);
  else problems.push(...metricsProblems(metricsChoiceOf(s), s.router ?? 'replicas', s.gates, command !== 'analyze'));
  return problems;
}

/** Every URL input is fetched over HTTP: `prometheus:9090` parses as a URL (scheme `prometheus:`) but is none. */
function urlSchemeChecks(s: ConfigFile): string[] {
  const urls: Array<[ConfigKey, string | undefined, string]> = [
    ['prometheus-url', s['prometheus-url'], 'http://prometheus:9090'],
    ['grafana-url', s['grafana-url'], 'https://grafana.example.com'],
    ['mlflow-tracking-uri', s['mlflow-tracking-uri'], 'https://mlflow.example.com'],
  ];
  return urls.flatMap(([key, url, example]) => {
    if (url === undefined || /^https?:\/\//i.test(url.trim())) return [];
    return [`${key}: must be an http:// or https:// URL like ${example} (got ${JSON.stringify(redactUrls(url))})`];
  });
}

/** RFC 1123 label: what a namespace or a container is named. */
const DNS_LABEL = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain: what a Deployment or an InferenceService is named. */
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** The model's name is also the value of its pods' `app` label, which Kubernetes limits to 63 characters. */
const MAX_NAME = 63;
const PLATFORM = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;

function kubeNameProblem(value: string, pattern: RegExp, what: string): string | undefined {
  const form = `${what}: lowercase letters, digits and -${pattern === DNS_SUBDOMAIN ? ' or .' : ''}, starting and ending with a letter or digit, at most ${MAX_NAME} characters`;
  if (value.length > MAX_NAME) return `is ${value.length} characters long (expected ${form})`;
  if (pattern.test(value)) return undefined;
  if (pattern.test(value.toLowerCase()))
    return `has uppercase letters (expected ${form}; use '${value.toLowerCase()}')`;
  return `is not valid (expected ${form})`;
}

/**
 * What the cluster and the registry would refuse, refused before anything runs: image references (the OCI
 * distribution grammar), registry, repository and tags, and Kubernetes names.
 */
function nameChecks(s: ConfigFile): string[] {
  const problems: string[] = [];
  const got = (value: string) => `(got ${JSON.stringify(value)})`;
  if (s.image !== undefined) {
    try {
      parseImageRef(s.image);
    } catch (error) {
      problems.push(`image: ${(error as Error).message.replace(/^image reference /, '')}`);
    }
  }
  const registry = s.registry !== undefined ? registryProblem(s.registry) : undefined;
  if (registry) problems.push(`registry: ${registry} ${got(s.registry!)}`);
  const repository = s.repository !== undefined ? repositoryProblem(s.repository) : undefined;
  if (repository) problems.push(`repository: ${repository} ${got(s.repository!)}`);
  for (const tag of s.tags ?? []) {
    const problem = tagProblem(tag);
    if (problem) problems.push(`tags: '${tag}' is not a valid tag: ${problem}`);
  }
  const names: Array<[ConfigKey, string | undefined, RegExp, string]> = [
    ['namespace', s.namespace, DNS_LABEL, 'a namespace name (RFC 1123 label)'],
    ['model', s.model, DNS_SUBDOMAIN, 'the name of the Deployment or InferenceService (RFC 1123)'],
    ['container', s.container, DNS_LABEL, 'a container name (RFC 1123 label)'],
  ];
  for (const [key, value, pattern, what] of names) {
    const problem = value !== undefined ? kubeNameProblem(value, pattern, what) : undefined;
    if (problem) problems.push(`${key}: '${value}' ${problem}`);
  }
  for (const platform of s.platforms ?? []) {
    if (!PLATFORM.test(platform)) {
      problems.push(
        `platforms: '${platform}' is not a platform (expected os/architecture[/variant], e.g. linux/amd64)`,
      );
    }
  }
  return problems;
}

/**
 * A credential goes over plain http only to this machine: on any other network path it can be read and replayed.
 * Each client with the credential it would send (none: the client sends nothing secret, any scheme will do).
 */
function clearTextChecks(s: ConfigFile): string[] {
  const clients: Array<{ key: ConfigKey; url?: string; credential?: string }> = [
    {
      key: 'prometheus-url',
      url: s['prometheus-url'],
      credential: axiosCredential(s['prometheus-url'], prometheusToken(s)),
    },
    // Without a token the Grafana URL is only a link in the comment: no client is made, nothing is sent to it.
    {
      key: 'grafana-url',
      url: s['grafana-url'],
      credential: s['grafana-token'] && axiosCredential(s['grafana-url'], 'grafana-token'),
    },
    // The MLflow client talks to the URL's origin: a user:password in it is never sent.
    { key: 'mlflow-tracking-uri', url: s['mlflow-tracking-uri'], credential: mlflowCredential(s) },
  ];
  return clients.flatMap(({ key, url, credential }) => {
    const host = url && credential ? clearTextHost(url) : undefined;
    if (!host) return [];
    return [
      `${key}: would send ${credential} over plain http to ${host}: use https (plain http is allowed only for ` +
        `localhost, 127.0.0.1 and ::1) (got ${JSON.stringify(redactUrls(url!))})`,
    ];
  });
}

/** What an axios client sends: a URL's own user:password as Basic auth, in place of any token header; else the token. */
function axiosCredential(url: string | undefined, token: string | undefined): string | undefined {
  return url && hasUserinfo(url) ? 'the user:password in the URL' : token;
}

function prometheusToken(s: ConfigFile): string | undefined {
  const auth = s['prometheus-auth'] ?? (s['prometheus-token'] ? 'bearer' : 'none');
  if (auth === 'azure') return 'the Azure AD token of prometheus-auth azure';
  return auth === 'none' ? undefined : 'prometheus-token';
}

function mlflowCredential(s: ConfigFile): string | undefined {
  if (s['mlflow-token']) return 'mlflow-token';
  return s['mlflow-username'] || s['mlflow-password'] ? 'mlflow-username and mlflow-password' : undefined;
}

function stepDurationChecks(s: ConfigFile): string[] {
  const problems: string[] = [];
  const interval = s.interval ?? DEFAULTS.intervalMs;
  const shown = (ms: number) => formatDuration(ms);
  const max = s['max-step-duration'];
  if (max !== undefined && max < interval) {
    problems.push(`max-step-duration: must be at least interval ${shown(interval)} (got ${shown(max)})`);
  }
  const min = s['min-step-duration'];
  if (min !== undefined && max !== undefined && min > max) {
    problems.push(`min-step-duration: must not exceed max-step-duration ${shown(max)} (got ${shown(min)})`);
  }
  return problems;
}

/** oci when the model files come with a base image and no Dockerfile is named, else docker. */
function builderOf(s: ConfigFile): 'docker' | 'oci' {
  if (s.builder) return s.builder;
  return (s['model-path'] || s['model-source']) && s['base-image'] && !s.dockerfile ? 'oci' : 'docker';
}

function modelSourceChecks(s: ConfigFile, builder: 'docker' | 'oci'): string[] {
  const source = s['model-source'];
  if (!source) return [];
  const problems: string[] = [];
  let kind: string | undefined;
  try {
    kind = parseModelSource(source).kind;
  } catch (error) {
    problems.push(`model-source: ${(error as Error).message.replace(/^model-source /, '')}`);
  }
  if (s.image)
    problems.push(`model-source: goes into a built image; drop image (got image ${JSON.stringify(s.image)})`);
  if (builder === 'oci' && s['model-path']) {
    problems.push(
      `model-path: with builder oci, give model-source or model-path, not both (got model-path ${JSON.stringify(s['model-path'])})`,
    );
  }
  if (kind === 'azureml-workspace') {
    for (const key of ['azureml-workspace', 'azureml-resource-group', 'azureml-subscription'] as const) {
      if (!s[key]) problems.push(`${key}: required for the Azure ML workspace model ${source}`);
    }
  }
  if (kind === 'mlflow' && !s['mlflow-tracking-uri']) {
    problems.push(`mlflow-tracking-uri: required for the MLflow model ${source}`);
  }
  if (Boolean(s['mlflow-username']) !== Boolean(s['mlflow-password'])) {
    problems.push('mlflow-username: mlflow-username and mlflow-password go together (basic auth)');
  }
  return problems;
}

function metricsChoiceOf(s: ConfigFile): MetricsChoice {
  return chooseMetrics({ metrics: s.metrics, router: s.router, baseImage: s['base-image'] });
}

function toRolloutConfig(command: Command, s: ConfigFile): RolloutConfig {
  const steps = s.steps ?? [...DEFAULTS.steps];
  const metrics = metricsChoiceOf(s);
  const judged = judgedGates(metrics, s.gates);
  return {
    command,
    model: s.model,
    namespace: s.namespace,
    manifests: s.manifests ?? [],
    container: s.container,
    image: s.image,
    build: {
      builder: builderOf(s),
      registry: s.registry,
      repository: s.repository,
      tags: s.tags ?? [],
      context: s.context ?? '.',
      dockerfile: s.dockerfile,
      buildArgs: s['build-args'] ?? {},
      platforms: s.platforms ?? [],
      modelPath: s['model-path'],
      baseImage: s['base-image'],
      modelSource: s['model-source'],
    },
    azureml: {
      workspace: s['azureml-workspace'],
      resourceGroup: s['azureml-resource-group'],
      subscription: s['azureml-subscription'],
    },
    mlflow: {
      trackingUri: s['mlflow-tracking-uri'],
      token: s['mlflow-token'],
      username: s['mlflow-username'],
      password: s['mlflow-password'],
    },
    registryAuth: {
      method: s['registry-auth'] ?? (s['registry-username'] ? 'basic' : 'none'),
      username: s['registry-username'],
      password: s['registry-password'],
    },
    router: s.router ?? 'replicas',
    steps,
    intervalMs: s.interval ?? DEFAULTS.intervalMs,
    weight: s.weight ?? (steps[0] as number),
    gates: judged.gates,
    metrics,
    gateNotes: judged.notes,
    analysis: {
      alpha: s.alpha ?? DEFAULTS.alpha,
      expectedRps: s['expected-rps'],
      failureLimit: s['failure-limit'] ?? DEFAULTS.failureLimit,
      inconclusiveLimit: s['inconclusive-limit'] ?? DEFAULTS.inconclusiveLimit,
      consecutiveErrorLimit: s['consecutive-error-limit'] ?? DEFAULTS.consecutiveErrorLimit,
      onInconclusive: s['on-inconclusive'] ?? 'rollback',
      lookEveryMs: Math.max(s['look-every'] ?? DEFAULTS.lookEveryMs, s['scrape-interval'] ?? DEFAULTS.scrapeIntervalMs),
      scrapeIntervalMs: s['scrape-interval'] ?? DEFAULTS.scrapeIntervalMs,
      power: s.power,
      minStepMs: s['min-step-duration'] ?? DEFAULTS.minStepMs,
      maxStepMs: s['max-step-duration'] ?? DEFAULTS.maxStepIntervals * (s.interval ?? DEFAULTS.intervalMs),
      advanceOnEvidence: s['advance-on-evidence'] ?? false,
    },
    prometheus: {
      url: s['prometheus-url'],
      auth: s['prometheus-auth'] ?? (s['prometheus-token'] ? 'bearer' : 'none'),
      token: s['prometheus-token'],
    },
    window: s.from && s.to ? { from: s.from, to: s.to } : undefined,
    toRevision: s['to-revision'] ?? 'previous',
    kubeconfig: s.kubeconfig,
    readyTimeoutMs: s.timeout ?? DEFAULTS.readyTimeoutMs,
    waitForLease: s['wait-for-lease'] ?? false,
    github: { token: s['github-token'], comment: s.comment ?? true, environment: s.environment },
    grafana: { url: s['grafana-url'], token: s['grafana-token'] },
    dryRun: s['dry-run'] ?? false,
    showObjects: s['show-objects'] ?? false,
    failOnRollback: s['fail-on-rollback'] ?? true,
    output: s.output ?? 'text',
  };
}

/** The secret values of a raw settings object, for masking before anything is logged. */
export function secretValues(settings: RawSettings): string[] {
  const named = SECRET_KEYS.map((key) => settings[key]).filter((v): v is string => typeof v === 'string' && v !== '');
  // A password or token inside a URL (prometheus-url, grafana-url, model-source, ...) is as secret as a named one.
  const inUrls = Object.values(settings).flatMap((value) => (typeof value === 'string' ? urlSecrets(value) : []));
  return [...new Set([...named, ...inUrls])];
}
