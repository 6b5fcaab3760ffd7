// The small interfaces between the pure core and the world. Everything here is plain data or a
// promise-returning port; adapters implement the ports, and the engine runs the same against a real
// server, a test fake, or the CLI's local mode.
import type { ModelProvenance } from './model-source.js';

export type Track = 'stable' | 'canary' | 'baseline';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  [key: string]: unknown;
}

/** Any Kubernetes object, as plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface Clock {
  now(): Date;
  /** Milliseconds on a clock that only moves forward (not the wall clock): for measuring how long something took. */
  monotonicMs(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

// ---- metrics -------------------------------------------------------------------------------

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/** A query never throws inside the analysis loop: failure is a result in state `error`. */
export type MetricResult =
  | { state: 'ok'; samples: MetricSample[] }
  | { state: 'error'; kind: 'unreachable' | 'bad-query' | 'server' | 'auth'; error: string };

export interface MetricSource {
  query(promql: string, at: Date): Promise<MetricResult>;
}

// ---- images ----------------------------------------------------------------------------------

export interface BuiltImage {
  /** `registry/repository@sha256:...`: what gets deployed. */
  image: string;
  digest: string;
  /** Tags added after the push (git sha, model version, ...). */
  tags: string[];
  bytesUploaded: number;
}

export interface ImageBuilder<Request = unknown> {
  build(request: Request): Promise<BuiltImage>;
}

export interface ImageResolver {
  /** A tag or digest reference -> the manifest digest the registry serves for it. */
  resolveDigest(reference: string): Promise<string>;
  /** The labels of the image's config (model-canary's provenance labels among them). */
  imageLabels(reference: string): Promise<Record<string, string>>;
}

// ---- cluster ---------------------------------------------------------------------------------

export interface ObjectKey {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export interface ApplyOptions {
  /** Take over fields another manager owns (only for fields model-canary sets). */
  force?: boolean;
  /** Create only: fail with a 409 when the object exists (a Lease taken by whoever creates it first). */
  createOnly?: boolean;
}

export interface DeleteOptions {
  resourceVersion?: string;
}

export type ReadinessResult = { ready: true } | { ready: false; reason: string; detail: string };

export interface Cluster {
  apply(object: KubeObject, options?: ApplyOptions): Promise<KubeObject>;
  get(key: ObjectKey): Promise<KubeObject | undefined>;
  list(apiVersion: string, kind: string, namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  /** With a resourceVersion: only if the object is still as it was read then (a 409 ConflictError otherwise). */
  delete(key: ObjectKey, options?: DeleteOptions): Promise<void>;
  /** Waits as `kubectl rollout status` does; on failure says why, from the pods. */
  waitForDeployment(namespace: string, name: string, timeoutMs: number): Promise<ReadinessResult>;
}

export interface TrafficRouter {
  setWeight(percent: number): Promise<void>;
  /** All traffic to stable, router objects removed or neutral. */
  reset(): Promise<void>;
  describe(): string;
}

// ---- reporting -------------------------------------------------------------------------------

export type GateResult = 'pass' | 'fail' | 'inconclusive';

export interface GateReport {
  name: string;
  result: GateResult;
  canary: number | null;
  baseline: number | null;
  threshold: string;
  samples: number | null;
  reason: string;
  query?: string;
  /** The statistical evidence at the last look (likelihood ratio or p-value against what it needs). */
  evidence?: string;
  /** Relative statistical gates: the power the data had to tell the canary from one worse by the gate's bound. */
  power?: number;
  /** How many looks the live judge took at this gate. */
  looks?: number;
}

export interface StepReport {
  weight: number;
  startedAt?: string;
  endedAt?: string;
  result?: GateResult | 'running' | 'skipped';
  /** Looks the live judge took during the step. */
  looks?: number;
  /** Why the step ended: its interval passed with no decisive failure, evidence came early, ... */
  endReason?: StepEndReason;
  replicas?: { stable: number; canary: number };
  objects?: KubeObject[];
}

export type StepEndReason =
  | 'interval'
  | 'evidence'
  | 'power'
  | 'max-duration'
  | 'failed'
  | 'not-ready'
  | 'aborted'
  | 'promoted-by-hand'
  | 'error';

export type Verdict =
  | 'pass'
  | 'fail'
  | 'inconclusive'
  | 'promoted'
  | 'rolled-back'
  | 'aborted'
  | 'failed'
  | 'canary-running'
  | 'built'
  | 'planned';

/** The report of ../shared/CONTRACT.md: output `report` and `--output json`. */
export interface Report {
  command: string;
  model: string;
  namespace: string;
  verdict: Verdict;
  image?: string;
  digest?: string;
  revision?: number;
  /** Which registered model the image holds: source, name, version, content hash (the contract's `model` is the name). */
  modelSource?: ModelProvenance;
  reason?: string;
  gates: GateReport[];
  steps: StepReport[];
  [extra: string]: unknown;
}

export interface Reporter {
  /** Called while the rollout runs (`final: false`) and once at the end. */
  publish(report: Report, final: boolean): Promise<void>;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  debug(message: string): void;
}
