// A KServe canary end to end, as a user runs it: `node dist/cli.js deploy --router kserve` against the fake API
// server, whose KServe controller makes Knative revisions and splits traffic between them by canaryTrafficPercent
// (test/support/fake-kube/controller.ts); the queue-proxy metrics of every revision that takes traffic
// (test/support/queue-proxy-exporter.ts), scraped by a real Prometheus; and the gates reading the `kserve` preset,
// which names the canary and the stable by the revisions in the InferenceService's status. One InferenceService, three
// rollouts in order: the first, a canary that fails the error-rate gate, a healthy canary.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startFakeKubeApiServer, type FakeKube } from './support/fake-kube-apiserver.js';
import { sleep, tempDir } from './support/local.js';
import { startQueueProxyExporter, type QueueProxyExporter } from './support/queue-proxy-exporter.js';
import { CLI_ENTRY } from './support/runner.js';
import {
  labelledScrapeConfig,
  startScrapingPrometheus,
  type ScrapingPrometheus,
} from './support/scraping-prometheus.js';

const NAMESPACE = 'ml';
const MODEL = 'churn-scorer';
const MANIFEST = 'workflows-examples/sample-model/kserve/inferenceservice.yaml';
const digest = (fill: string) => `sha256:${fill.repeat(64)}`;
const FIRST = `myacr.azurecr.io/models/churn-scorer@${digest('a')}`;
/** The queue-proxy exporter answers 5% of this image's requests with 500 (its reference contains `errors`). */
const BAD = `myacr.azurecr.io/models/churn-scorer-errors@${digest('b')}`;
const GOOD = `myacr.azurecr.io/models/churn-scorer@${digest('c')}`;
const revisionName = (n: number) => `${MODEL}-predictor-${String(n).padStart(5, '0')}`;

interface Isvc {
  metadata: { annotations?: Record<string, string> };
  spec: { predictor: { canaryTrafficPercent?: number; containers: { image: string }[] } };
  status?: {
    components?: {
      predictor?: {
        latestCreatedRevision?: string;
        latestReadyRevision?: string;
        latestRolledoutRevision?: string;
        previousRolledoutRevision?: string;
        traffic?: { revisionName?: string; percent: number; latestRevision: boolean; tag?: string }[];
      };
    };
  };
}

interface GateReport {
  name: string;
  result: string;
  query?: string;
  reason: string;
}
interface Report {
  verdict: string;
  reason?: string;
  gates: GateReport[];
  steps: { weight: number; result?: string }[];
}

let fake: FakeKube;
let exporter: QueueProxyExporter;
let prometheus: ScrapingPrometheus;
const home = tempDir('kserve-canary-home');

beforeAll(async () => {
  fake = await startFakeKubeApiServer({ readyDelayMs: 600, tickMs: 25 });
  exporter = await startQueueProxyExporter(fake, { rps: 200 });
  prometheus = await startScrapingPrometheus(labelledScrapeConfig([{ address: exporter.address, labels: {} }], 1));
}, 60_000);

afterAll(async () => {
  await Promise.all([prometheus?.stop(), exporter?.stop(), fake?.stop()]);
  home.remove();
});

const isvc = (): Isvc | undefined =>
  fake.object('serving.kserve.io/v1beta1', 'InferenceService', NAMESPACE, MODEL) as Isvc | undefined;
const predictorStatus = () => isvc()?.status?.components?.predictor ?? {};
const imageOfRevision = (name: string | undefined) =>
  name ? fake.controller.revision(NAMESPACE, name)?.images[0] : undefined;

/** Exit code and verdict, and the reason when it is not a promotion (so that a failure says why). */
const outcome = (run: { code: number | null; report: Report }) => ({
  code: run.code,
  verdict: run.report.verdict,
  ...(run.report.verdict === 'promoted' ? {} : { reason: run.report.reason }),
});

/** Polls until `done` holds: the test waits for states, never for durations. */
async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Prometheus has a rate for the revision's requests: the next rollout's preflight finds the stable's series. */
const scraped = (revision: string) =>
  until(`Prometheus to have a request rate for ${revision}`, async () => {
    const result = await prometheus.query(
      `sum(rate(revision_app_request_count{namespace_name="${NAMESPACE}",revision_name="${revision}"}[1m])) > 0`,
    );
    return result.length > 0;
  });

/** `model-canary deploy` as the README shows it, with the report as JSON on stdout. Async: the fake is in-process. */
function deploy(image: string): Promise<{ code: number | null; report: Report; stderr: string }> {
  const args = [
    CLI_ENTRY,
    'deploy',
    '--router',
    'kserve',
    '--manifests',
    MANIFEST,
    '--image',
    image,
    '--prometheus-url',
    prometheus.url,
    '--steps',
    '10,50,100',
    '--interval',
    '6s',
    '--look-every',
    '1s',
    '--scrape-interval',
    '1s',
    '--min-step-duration',
    '2s',
    '--gates',
    '[{name: error-rate, max-increase: 50%, min-requests: 50}, {name: latency-p99, max: 0.5, min-requests: 50}]',
    '--timeout',
    '30s',
    '--kubeconfig',
    fake.kubeconfigPath,
    '--output',
    'json',
  ];
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: resolve('.'),
      env: { PATH: process.env.PATH, HOME: home.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', fail);
    // 'close', not 'exit': output still in the pipes when the process exits would be lost on a busy machine.
    child.on('close', (code) => {
      try {
        done({ code, report: JSON.parse(stdout) as Report, stderr });
      } catch (error) {
        fail(new Error(`no JSON report (exit ${code}): ${String(error)}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }
    });
  });
}

describe('deploy --router kserve, judged from the queue-proxy metrics of the Knative revisions', () => {
  it('the first rollout creates the InferenceService: revision 1, rolled out with all traffic', async () => {
    const run = await deploy(FIRST);
    expect(outcome(run)).toEqual({ code: 0, verdict: 'promoted' });
    expect(isvc()?.spec.predictor.containers[0]?.image).toBe(FIRST);
    expect(predictorStatus()).toMatchObject({
      latestCreatedRevision: revisionName(1),
      latestReadyRevision: revisionName(1),
      latestRolledoutRevision: revisionName(1),
      traffic: [{ revisionName: revisionName(1), latestRevision: true, percent: 100 }],
    });
    await scraped(revisionName(1));
  }, 60_000);

  it('a canary with 5% errors fails the error-rate gate on its own revision and is rolled back', async () => {
    // Every traffic split the InferenceService reports while the rollout and its roll back run: the failed canary
    // must never get more than its step's share (a one-step restore would give it all traffic until the restored
    // revision is ready).
    let canaryShare = 0;
    const watch = setInterval(() => {
      const traffic = (predictorStatus().traffic ?? []) as { revisionName?: string; percent?: number }[];
      for (const entry of traffic) {
        if (entry.revisionName === revisionName(2)) canaryShare = Math.max(canaryShare, entry.percent ?? 0);
      }
    }, 20);
    const run = await deploy(BAD).finally(() => clearInterval(watch));
    expect(canaryShare).toBe(10);
    expect(outcome(run)).toMatchObject({ code: 3, verdict: 'rolled-back' });
    const gate = run.report.gates.find((g) => g.name === 'error-rate');
    expect(gate?.result).toBe('fail');
    // The canary is revision 2, the one KServe created for the new image; revision 1 was the stable.
    expect(imageOfRevision(revisionName(2))).toBe(BAD);
    expect(gate?.query).toContain(`revision_name="${revisionName(2)}"`);
    expect(gate?.query).toContain('response_code_class="5xx"');
    expect(run.report.steps[0]).toMatchObject({ weight: 10, result: 'fail' });
    // It took traffic: its queue-proxy counted the 500s.
    expect(exporter.requests(NAMESPACE, revisionName(2)).errors).toBeGreaterThan(0);
    // The previous predictor is back, with no canaryTrafficPercent; KServe made it a new revision (3) that took all
    // traffic once ready.
    const after = isvc()!;
    expect(after.spec.predictor).not.toHaveProperty('canaryTrafficPercent');
    expect(after.spec.predictor.containers[0]?.image).toBe(FIRST);
    const status = predictorStatus();
    // One revision for the restored predictor, none more: what model-canary writes on the InferenceService around
    // it (its annotations are part of the revision template) does not change at the end.
    expect(status.latestCreatedRevision).toBe(revisionName(3));
    expect(status.latestRolledoutRevision).toBe(revisionName(3));
    expect(imageOfRevision(status.latestRolledoutRevision)).toBe(FIRST);
    expect(status.traffic).toEqual([{ revisionName: revisionName(3), latestRevision: true, percent: 100 }]);
    await scraped(revisionName(3));
  }, 60_000);

  it('a healthy canary goes through 10, 50 and 100% and is promoted: its revision serves everything', async () => {
    const run = await deploy(GOOD);
    expect(outcome(run)).toEqual({ code: 0, verdict: 'promoted' });
    expect(run.report.steps.map((s) => [s.weight, s.result])).toEqual([
      [10, 'pass'],
      [50, 'pass'],
      [100, 'pass'],
    ]);
    // The canary was revision 4 (revision 3 is the stable the roll back made); the latency histogram is read in
    // milliseconds and judged in seconds.
    expect(imageOfRevision(revisionName(4))).toBe(GOOD);
    const gates = Object.fromEntries(run.report.gates.map((g) => [g.name, g]));
    expect(gates['error-rate']?.result).toBe('pass');
    expect(gates['latency-p99']?.result).toBe('pass');
    expect(gates['latency-p99']?.query).toContain(
      `revision_app_request_latencies_bucket{namespace_name="${NAMESPACE}",revision_name="${revisionName(4)}"}`,
    );
    expect(gates['latency-p99']?.query).toMatch(/\/ 1000$/);
    const after = isvc()!;
    expect(after.spec.predictor).not.toHaveProperty('canaryTrafficPercent');
    expect(after.spec.predictor.containers[0]?.image).toBe(GOOD);
    // Promoting drops canaryTrafficPercent and nothing else: no new revision (a changed annotation would make one).
    expect(predictorStatus()).toMatchObject({
      latestCreatedRevision: revisionName(4),
      latestRolledoutRevision: revisionName(4),
      traffic: [{ revisionName: revisionName(4), latestRevision: true, percent: 100 }],
    });
    // The rollout's number is kept in the history, the current one beside it (history 1: first, 2: rolled back).
    const history = fake.object('v1', 'ConfigMap', NAMESPACE, `model-canary-${MODEL}-history`);
    expect((history?.data as Record<string, string>).current).toBe('3');
    expect(after.metadata.annotations ?? {}).not.toHaveProperty(['model-canary.io/revision']);
  }, 90_000);
});
