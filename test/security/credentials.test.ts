// Credentials stay on their host. A user:password in prometheus-url, grafana-url, an MLflow artifact URI or a
// model-source, or a SAS signature in a query, reaches no message, error, comment, summary, log, annotation or report;
// and no credential goes over plain http to another machine. Each test is an attack or accident that leaked before:
// "cannot reach Prometheus at http://admin:S3cretPass@..." was a gate reason in the PR comment, the comment's Grafana
// link carried admin:GrafPass@, and bearer, Basic and Azure AD tokens went in clear to any http:// host.
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { GrafanaAnnotator } from '../../src/adapters/grafana.js';
import { JobSummaryReporter } from '../../src/adapters/github-summary.js';
import { resolveMlflow } from '../../src/adapters/model-sources/mlflow.js';
import { PrometheusClient } from '../../src/adapters/prometheus.js';
import { analyzeNow } from '../../src/engine/measure.js';
import { systemClock } from '../../src/commands/context.js';
import { EXIT, exitCodeForError, runCommand } from '../../src/commands/run.js';
import { buildConfig, ConfigError, type RawSettings } from '../../src/core/config.js';
import { parseModelSource, type ModelSourceRef } from '../../src/core/model-source.js';
import type { Logger, Report } from '../../src/core/ports.js';
import { renderComment } from '../../src/core/render-comment.js';
import { readInputs } from '../../src/inputs.js';
import { createServices, localRunInfo } from '../../src/wiring.js';
import { startFakeGrafana, type FakeGrafana } from '../support/fake-grafana.js';
import { startFakeMlflow, type FakeMlflow } from '../support/fake-mlflow.js';
import { freePort, LOOPBACK, tempDir } from '../support/local.js';

const PROMETHEUS_PASSWORD = 'S3cretPass';
const GRAFANA_PASSWORD = 'GrafPass';
const NOW = new Date('2026-12-01T21:10:00Z');

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(m),
    warn: (m) => lines.push(m),
    debug: (m) => lines.push(m),
  };
}

function problemsOf(settings: RawSettings): string[] {
  try {
    buildConfig({}, settings);
  } catch (error) {
    if (error instanceof ConfigError) {
      // Refused as bad input: exit 2, as the contract gives configuration errors.
      expect(exitCodeForError(error)).toBe(EXIT.badInput);
      expect(error.message).toContain(error.problems[0]);
      return error.problems;
    }
    throw error;
  }
  return [];
}

/** A local server that answers every request with `status` and records the headers it was sent. */
async function answering(status: number, body: string): Promise<{ url: string; seen: IncomingHttpHeaders[] } & Closer> {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((request, response) => {
    seen.push(request.headers);
    request.resume();
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(body);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return {
    url: `http://${LOOPBACK}:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
interface Closer {
  close(): Promise<void>;
}

describe('Prometheus URL with user:password', () => {
  it('Prometheus down: no gate reason, report, text, summary, comment, annotation or log carries the password', async () => {
    const port = await freePort(); // nothing listens there
    const config = buildConfig(
      {},
      {
        command: 'analyze',
        model: 'churn-scorer',
        namespace: 'ml',
        'prometheus-url': `http://admin:${PROMETHEUS_PASSWORD}@${LOOPBACK}:${port}`,
        'grafana-url': `http://admin:${GRAFANA_PASSWORD}@${LOOPBACK}:3000`,
      },
    );
    const logger = recordingLogger();
    const services = createServices(config, { logger, mask: () => undefined, run: localRunInfo() });
    // analyze fails the run (exit 1, not inconclusive), naming where it looked and not the password.
    const failed = await runCommand({ config, logger, clock: systemClock, cwd: process.cwd(), services }).then(
      () => new Error('analyze passed'),
      (error: Error) => error,
    );
    expect(failed.message).toContain(`cannot reach Prometheus at http://${LOOPBACK}:${port}`);
    expect(failed.message).not.toContain(PROMETHEUS_PASSWORD);
    expect(exitCodeForError(failed)).toBe(EXIT.error);
    // A look inside a running rollout still reports it as each gate's reason.
    const look = await analyzeNow({
      source: services.metrics(),
      gates: config.gates,
      selectors: { model: 'churn-scorer', namespace: 'ml', baselineTrack: 'stable' },
      alpha: config.analysis.alpha,
      at: NOW,
      window: '60s',
    });
    const report: Report = {
      command: 'analyze',
      model: 'churn-scorer',
      namespace: 'ml',
      verdict: look.verdict,
      gates: look.reports,
      steps: [],
    };
    const result = { report, text: failed.message, markdown: '' };
    expect(result.report.verdict).toBe('inconclusive');
    const reasons = result.report.gates.map((gate) => gate.reason).join('\n');
    expect(reasons).toContain(`cannot reach Prometheus at http://${LOOPBACK}:${port}`);

    const summary = tempDir('summary');
    try {
      const summaryFile = join(summary.path, 'summary.md');
      writeFileSync(summaryFile, '');
      await new JobSummaryReporter({
        path: summaryFile,
        logger,
        render: { grafana: { url: config.grafana.url! } },
      }).publish(result.report, true);
      const annotator = new GrafanaAnnotator({ url: config.grafana.url!, token: 'glsa_x', logger });
      const everything = [
        JSON.stringify(result.report),
        result.text,
        result.markdown,
        renderComment(result.report, { running: false, now: NOW, grafana: { url: config.grafana.url! } }),
        readFileSync(summaryFile, 'utf8'),
        ...annotator.pending({ ...result.report, reason: reasons }, true).map((p) => p.annotation.text),
        ...logger.lines,
      ].join('\n');
      expect(everything).toContain('cannot reach Prometheus');
      expect(everything).not.toContain(PROMETHEUS_PASSWORD);
      expect(everything).not.toContain(GRAFANA_PASSWORD);
    } finally {
      summary.remove();
    }
  });

  it('Prometheus refusing the credentials: the auth error names the host, not the password it was sent', async () => {
    const server = await answering(401, '{"status":"error","error":"unauthorized"}');
    try {
      const url = server.url.replace('http://', `http://admin:${PROMETHEUS_PASSWORD}@`);
      const result = await new PrometheusClient({ url, retries: 0 }).query('up', NOW);
      expect(result).toMatchObject({ state: 'error', kind: 'auth' });
      const error = (result as { error: string }).error;
      expect(error).toContain(`Prometheus at ${server.url} answered 401`);
      expect(error).not.toContain(PROMETHEUS_PASSWORD);
      // Loopback http still carries the URL's credentials, as Basic auth.
      const basic = `Basic ${Buffer.from(`admin:${PROMETHEUS_PASSWORD}`).toString('base64')}`;
      expect(server.seen.map((headers) => headers.authorization)).toEqual([basic]);
    } finally {
      await server.close();
    }
  });

  it('Prometheus echoing a URL with credentials in its error text: the gate reason carries none', async () => {
    const server = await answering(502, `upstream http://scraper:${PROMETHEUS_PASSWORD}@10.0.0.7:9090/ failed`);
    try {
      const result = await new PrometheusClient({ url: server.url, retries: 0 }).query('up', NOW);
      const error = (result as { error: string }).error;
      expect(error).toContain('answered 502: upstream http://10.0.0.7:9090/ failed');
      expect(error).not.toContain(PROMETHEUS_PASSWORD);
    } finally {
      await server.close();
    }
  });
});

describe('Grafana URL with user:password', () => {
  const report: Report = {
    command: 'deploy',
    model: 'churn-scorer',
    namespace: 'ml',
    verdict: 'rolled-back',
    revision: 7,
    reason: `gate error-rate: could not be measured: cannot reach Prometheus at http://admin:${PROMETHEUS_PASSWORD}@10.0.0.5:9090`,
    gates: [],
    steps: [{ weight: 10, startedAt: '2026-12-01T21:00:00Z', endedAt: '2026-12-01T21:01:00Z', result: 'fail' }],
  };

  it('the PR comment and the job summary link to Grafana without the user:password', async () => {
    const grafana = { url: `https://admin:${GRAFANA_PASSWORD}@grafana.example.com/` };
    const comment = renderComment(report, { running: false, now: NOW, grafana });
    expect(comment).toContain('https://grafana.example.com/d/model-canary?');
    expect(comment).not.toContain(GRAFANA_PASSWORD);
    const dir = tempDir('summary');
    try {
      const path = join(dir.path, 'summary.md');
      writeFileSync(path, '');
      await new JobSummaryReporter({ path, logger: recordingLogger(), render: { grafana } }).publish(report, true);
      const summary = readFileSync(path, 'utf8');
      expect(summary).toContain('https://grafana.example.com/d/model-canary?');
      expect(summary).not.toContain(GRAFANA_PASSWORD);
    } finally {
      dir.remove();
    }
  });

  describe('annotations', () => {
    let fake: FakeGrafana;
    beforeAll(async () => {
      fake = await startFakeGrafana();
    });
    afterAll(() => fake.close());
    afterEach(() => {
      fake.refuse = false;
      fake.annotations.length = 0;
      fake.authorizations.length = 0;
    });
    const withUserinfo = () => fake.url.replace('http://', `http://admin:${GRAFANA_PASSWORD}@`);

    it('annotation text quoting a URL with credentials carries none; credentials still go to loopback http', async () => {
      const annotator = new GrafanaAnnotator({ url: withUserinfo(), token: 'glsa_token', logger: recordingLogger() });
      await annotator.publish(report, true);
      const texts = fake.annotations.map((annotation) => String(annotation.text));
      expect(texts.at(-1)).toContain('cannot reach Prometheus at http://10.0.0.5:9090');
      expect(texts.join('\n')).not.toContain(PROMETHEUS_PASSWORD);
      expect(fake.authorizations.length).toBeGreaterThan(0);
      expect(fake.authorizations.every((authorization) => authorization !== '')).toBe(true);
    });

    it('a refused annotation warns with the Grafana URL, without its user:password', async () => {
      fake.refuse = true;
      const logger = recordingLogger();
      await new GrafanaAnnotator({ url: withUserinfo(), token: 'glsa_token', logger }).publish(report, true);
      expect(logger.lines.join('\n')).toContain(`Grafana at ${fake.url} refused the annotation`);
      expect(logger.lines.join('\n')).not.toContain(GRAFANA_PASSWORD);
    });
  });
});

describe('model sources', () => {
  let fake: FakeMlflow;
  beforeAll(async () => {
    fake = await startFakeMlflow();
  });
  afterAll(() => fake.stop());

  it('an MLflow artifact URI with ftp user:password (an FTP artifact store): the error names the store, not the password', async () => {
    fake.addModelVersion({
      name: 'churn',
      version: 1,
      files: { MLmodel: Buffer.from('x') },
      source: 'mlflow-artifacts',
      downloadUri: 'ftp://mlflow:FtpPass@ftp.example.com/artifacts/churn',
    });
    const ref = parseModelSource('models:/churn/1') as Extract<ModelSourceRef, { kind: 'mlflow' }>;
    const error = await resolveMlflow(ref, { trackingUri: fake.url, retries: 0 }).catch((e: Error) => e);
    expect((error as Error).message).toContain('in ftp storage (ftp://ftp.example.com/artifacts/churn)');
    expect((error as Error).message).not.toContain('FtpPass');
  });

  it.each([
    ['model-source', 'https://deploy:HttpsPass@models.example.com:99999/churn.tar.gz?sig=SasSig123'],
    ['prometheus-url', 'http://admin:HttpsPass@prometheus:notaport/?token=SasSig123'],
    ['grafana-url', 'https://admin:HttpsPass@grafana.example.com:99999/?sig=SasSig123'],
    ['mlflow-tracking-uri', 'https://admin:HttpsPass@mlflow.example.com:99999/?access_token=SasSig123'],
  ])('a malformed %s with credentials is refused without echoing them', (key, value) => {
    const problems = problemsOf({ command: 'plan', manifests: 'k8s/', [key]: value });
    expect(problems.find((problem) => problem.startsWith(`${key}:`))).toBeDefined();
    expect(problems.join('\n')).not.toMatch(/HttpsPass|SasSig123/);
  });
});

describe('plain http with a credential', () => {
  const analyze = { command: 'analyze', model: 'churn-scorer', namespace: 'ml' };

  it.each([
    [{ 'prometheus-url': 'http://prometheus.monitoring:9090', 'prometheus-token': 'BearerTok' }, 'prometheus-token'],
    [
      { 'prometheus-url': 'http://prometheus.monitoring:9090', 'prometheus-auth': 'basic', 'prometheus-token': 'u:Pw' },
      'prometheus-token',
    ],
    [{ 'prometheus-url': 'http://prometheus.monitoring:9090', 'prometheus-auth': 'azure' }, 'Azure AD token'],
    [{ 'prometheus-url': 'http://admin:UrlPass@10.0.0.5:9090' }, 'the user:password in the URL'],
  ])('Prometheus over http to another host is refused: %j', (settings, credential) => {
    const problems = problemsOf({ ...analyze, ...settings });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^prometheus-url: would send .* over plain http to (prometheus\.monitoring|10\.0\.0\.5): use https/,
    );
    expect(problems[0]).toContain(credential);
    expect(problems[0]).not.toMatch(/BearerTok|u:Pw|UrlPass/);
  });

  it.each([
    ['http://grafana.internal:3000', 'grafana-token'],
    // axios sends the URL's own user:password in place of the token header.
    [`http://admin:${GRAFANA_PASSWORD}@grafana.internal:3000`, 'the user:password in the URL'],
  ])('Grafana over http to another host is refused when an annotation would go there: %s', (url, credential) => {
    const problems = problemsOf({
      ...analyze,
      'prometheus-url': 'https://prometheus.example.com',
      'grafana-url': url,
      'grafana-token': 'glsa_tok',
    });
    expect(problems).toEqual([
      `grafana-url: would send ${credential} over plain http to grafana.internal: use https (plain http is allowed ` +
        'only for localhost, 127.0.0.1 and ::1) (got "http://grafana.internal:3000")',
    ]);
  });

  it.each([
    [{ 'mlflow-token': 'dapiTok' }, 'mlflow-token'],
    [{ 'mlflow-username': 'ci', 'mlflow-password': 'MlPass' }, 'mlflow-username and mlflow-password'],
  ])('MLflow over http to another host is refused: %j', (auth, credential) => {
    const problems = problemsOf({
      command: 'build',
      registry: '127.0.0.1:5000',
      repository: 'models/churn',
      'model-source': 'models:/churn/3',
      'mlflow-tracking-uri': 'http://mlflow.internal:5000',
      ...auth,
    });
    expect(problems).toEqual([
      `mlflow-tracking-uri: would send ${credential} over plain http to mlflow.internal: use https (plain http is ` +
        'allowed only for localhost, 127.0.0.1 and ::1) (got "http://mlflow.internal:5000")',
    ]);
  });

  it.each(['http://127.0.0.1:9090', 'http://localhost:9090', 'http://[::1]:9090', 'https://prometheus.example.com'])(
    'loopback http and any https still take every credential: %s',
    (url) => {
      const config = buildConfig(
        {},
        {
          ...analyze,
          'prometheus-url': url,
          'prometheus-token': 'BearerTok',
          'grafana-url': url,
          'grafana-token': 'glsa_tok',
          'mlflow-tracking-uri': url,
          'mlflow-token': 'dapiTok',
        },
      );
      expect(config.prometheus).toMatchObject({ url, auth: 'bearer' });
      expect(config.grafana.url).toBe(url);
    },
  );

  it('plain http without a credential is still fine (an in-cluster Prometheus, a Grafana link only)', () => {
    expect(
      problemsOf({ ...analyze, 'prometheus-url': 'http://prometheus.monitoring:9090', 'grafana-url': 'http://g:3000' }),
    ).toEqual([]);
  });

  it('an https model-source keeps plain http to loopback, ::1 included (one loopback rule for every client)', () => {
    const settings = { command: 'plan', manifests: 'k8s/' };
    expect(problemsOf({ ...settings, 'model-source': 'http://[::1]:8080/churn.tar.gz' })).toEqual([]);
    expect(problemsOf({ ...settings, 'model-source': 'http://models.internal/churn.tar.gz' }).join('\n')).toContain(
      'uses plain http (allowed only for localhost, 127.0.0.1 and ::1)',
    );
  });
});

describe('masking in the action', () => {
  const env = {
    INPUT_COMMAND: 'analyze',
    INPUT_MODEL: 'churn-scorer',
    INPUT_NAMESPACE: 'ml',
    'INPUT_PROMETHEUS-URL': `http://admin:${PROMETHEUS_PASSWORD}@${LOOPBACK}:9090`,
    'INPUT_GRAFANA-URL': `https://grafana.example.com/?auth_token=GrafAuthTok`,
  };

  it('registers the password in a URL input as a secret, so the runner masks it in the log', () => {
    const dir = tempDir('config');
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const config = join(dir.path, 'model-canary.yml');
      writeFileSync(config, `mlflow-tracking-uri: https://ci:Ml%40Pass@mlflow.example.com\n`);
      Object.assign(process.env, env, { INPUT_CONFIG: config });
      readInputs();
    } finally {
      write.mockRestore();
      for (const key of [...Object.keys(env), 'INPUT_CONFIG']) delete process.env[key];
      dir.remove();
    }
    // The runner's command encoding escapes '%' (and line breaks) in the data.
    const masks = written
      .filter((line) => line.startsWith('::add-mask::'))
      .map((line) => decodeURIComponent(line.trim().slice('::add-mask::'.length)));
    expect(masks).toEqual(expect.arrayContaining([PROMETHEUS_PASSWORD, 'GrafAuthTok', 'Ml%40Pass', 'Ml@Pass']));
    expect(masks).not.toContain('admin');
  });
});
