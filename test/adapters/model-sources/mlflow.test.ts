// resolveMlflow against the HTTP-level MLflow fake (test/support/fake-mlflow.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { parseModelSource, type ModelSourceRef, type ResolvedModel } from '../../../src/core/model-source.js';
import { resolveMlflow, type MlflowOptions } from '../../../src/adapters/model-sources/mlflow.js';
import { startFakeMlflow, type FakeMlflow } from '../../support/fake-mlflow.js';

type MlflowRef = Extract<ModelSourceRef, { kind: 'mlflow' }>;
const ref = (uri: string): MlflowRef => parseModelSource(uri) as MlflowRef;

const model = {
  MLmodel: Buffer.from('flavors:\n  sklearn: {}\n'),
  'model.pkl': Buffer.from([0, 1, 2, 250, 255]),
  'conda.yaml': Buffer.from('name: churn\n'),
  'code/preprocess.py': Buffer.from('def f(x):\n    return x\n'),
  'code/lib/util.py': Buffer.from('# util\n'),
  'data/weights/part-0.bin': Buffer.alloc(3000, 7),
};

const byPath = (resolved: ResolvedModel) => Object.fromEntries(resolved.files.map((file) => [file.path, file]));
const sizes = (files: Record<string, Buffer>) =>
  Object.fromEntries(Object.entries(files).map(([path, bytes]) => [path, bytes.length]));
const fast: Partial<MlflowOptions> = { retries: 0 };

async function downloaded(resolved: ResolvedModel): Promise<Record<string, Buffer>> {
  const entries = await Promise.all(
    resolved.files.map(async (file) => {
      const response = await axios.get(file.url, { headers: file.headers, responseType: 'arraybuffer' });
      return [file.path, Buffer.from(response.data as ArrayBuffer)] as const;
    }),
  );
  return Object.fromEntries(entries);
}

describe('resolveMlflow without auth', () => {
  let fake: FakeMlflow;
  beforeAll(async () => {
    fake = await startFakeMlflow({ pageSize: 2 });
    fake.addModelVersion({
      name: 'churn',
      version: 7,
      aliases: ['champion'],
      files: model,
      source: 'mlflow-artifacts',
    });
    fake.addModelVersion({
      name: 'churn',
      version: 8,
      files: { MLmodel: Buffer.from('v8') },
      source: 'mlflow-artifacts',
    });
    fake.addModelVersion({ name: 'churn', version: 9, status: 'PENDING_REGISTRATION', files: model, source: 'runs' });
    fake.addModelVersion({
      name: 'churn',
      version: 10,
      status: 'FAILED_REGISTRATION',
      statusMessage: 'copy of artifacts failed',
      files: model,
      source: 'runs',
    });
  });
  afterAll(() => fake.stop());
  const options = (): MlflowOptions => ({ trackingUri: fake.url, ...fast });

  it('resolves a version number to every file, nested directories included, with sizes', async () => {
    const resolved = await resolveMlflow(ref('models:/churn/7'), options());
    expect(resolved.name).toBe('churn');
    expect(resolved.version).toBe('7');
    expect(resolved.source.uri).toBe('models:/churn/7');
    expect(Object.fromEntries(resolved.files.map((file) => [file.path, file.size]))).toEqual(sizes(model));
    const proxied = byPath(resolved)['data/weights/part-0.bin']!;
    expect(proxied.url).toMatch(
      /\/api\/2\.0\/mlflow-artifacts\/artifacts\/1\/[0-9a-f]+\/artifacts\/model\/data\/weights\/part-0\.bin$/,
    );
    expect(proxied.headers).toBeUndefined();
    const calls = fake.requests.map((request) => request.path);
    expect(calls).toContain('/api/2.0/mlflow/model-versions/get');
    expect(calls).toContain('/api/2.0/mlflow/model-versions/get-download-uri');
  });

  it('resolves an alias to the numeric version it points at, and follows it when it moves', async () => {
    const resolved = await resolveMlflow(ref('models:/churn@champion'), options());
    expect(resolved.version).toBe('7');
    expect(resolved.source).toMatchObject({ uri: 'models:/churn@champion', alias: 'champion' });
    expect(
      fake.requests.some((r) => r.path === '/api/2.0/mlflow/registered-models/alias' && r.query.alias === 'champion'),
    ).toBe(true);
    fake.setAlias('churn', 'champion', 8);
    const moved = await resolveMlflow(ref('models:/churn@champion'), options());
    expect(moved.version).toBe('8');
    expect(moved.files.map((file) => file.path)).toEqual(['MLmodel']);
    fake.setAlias('churn', 'champion', 7);
  });

  it('serves bytes that match the registered files when fetched with the returned url and headers', async () => {
    expect(await downloaded(await resolveMlflow(ref('models:/churn/7'), options()))).toEqual(model);
  });

  it('says which version of which model is missing, in MLflow words', async () => {
    await expect(resolveMlflow(ref('models:/churn/70'), options())).rejects.toThrow(
      `model-source models:/churn/70: MLflow at ${fake.url} has no version 70 of model churn ` +
        '(MLflow: Model Version (name=churn, version=70) not found)',
    );
    await expect(resolveMlflow(ref('models:/nope/1'), options())).rejects.toThrow(
      /has no version 1 of model nope \(MLflow: Registered Model with name=nope not found\)/,
    );
  });

  it('says which alias is missing', async () => {
    await expect(resolveMlflow(ref('models:/churn@challenger'), options())).rejects.toThrow(
      `model-source models:/churn@challenger: MLflow at ${fake.url} has no alias @challenger of model churn ` +
        '(MLflow: Registered model alias challenger not found.)',
    );
  });

  it('refuses a version that is not READY, with the status and what to do', async () => {
    await expect(resolveMlflow(ref('models:/churn/9'), options())).rejects.toThrow(
      'version 9 of model churn is PENDING_REGISTRATION, not READY: wait until its registration finishes',
    );
    await expect(resolveMlflow(ref('models:/churn/10'), options())).rejects.toThrow(
      'version 10 of model churn is FAILED_REGISTRATION, not READY: copy of artifacts failed: register the model again',
    );
  });

  it('names an unreachable tracking server and the input to check', async () => {
    await expect(resolveMlflow(ref('models:/churn/7'), { trackingUri: 'http://127.0.0.1:9', ...fast })).rejects.toThrow(
      /model-source models:\/churn\/7: MLflow at http:\/\/127\.0\.0\.1:9 is unreachable .*check mlflow-tracking-uri/,
    );
    await expect(resolveMlflow(ref('models:/churn/7'), { trackingUri: 'databricks' })).rejects.toThrow(
      "mlflow-tracking-uri 'databricks' is not a URL: for Databricks give the workspace URL",
    );
  });
});

describe('resolveMlflow sources', () => {
  let fake: FakeMlflow;
  beforeAll(async () => {
    fake = await startFakeMlflow({ pageSize: 2 });
  });
  afterAll(() => fake.stop());
  const options = (): MlflowOptions => ({ trackingUri: `${fake.url}/`, ...fast });

  it('lists a runs:/ source through the run, following every page, and downloads through the proxy', async () => {
    const seeded = fake.addModelVersion({ name: 'fraud', version: 3, files: model, source: 'runs' });
    expect(seeded.source).toBe(`runs:/${seeded.runId}/model`);
    const resolved = await resolveMlflow(ref('models:/fraud/3'), options());
    expect(Object.fromEntries(resolved.files.map((file) => [file.path, file.size]))).toEqual(sizes(model));
    const lists = fake.requests.filter((r) => r.path === '/api/2.0/mlflow/artifacts/list');
    expect(lists.every((r) => r.query.run_id === seeded.runId)).toBe(true);
    expect(lists.some((r) => r.query.page_token)).toBe(true); // 4 entries in model/ at 2 a page
    expect(lists.map((r) => r.query.path)).toEqual(expect.arrayContaining(['model', 'model/code', 'model/code/lib']));
    expect(fake.requests.some((r) => r.path === '/api/2.0/mlflow/model-versions/get-download-uri')).toBe(false);
    expect(await downloaded(resolved)).toEqual(model);
  });

  it('downloads a run whose artifacts the server cannot proxy through /get-artifact', async () => {
    fake.addModelVersion({
      name: 'fraud',
      version: 4,
      files: { MLmodel: Buffer.from('m'), 'a/b.bin': Buffer.from('bee') },
      source: 'runs',
      runRootUri: 's3://bucket/1/run/artifacts',
    });
    const resolved = await resolveMlflow(ref('models:/fraud/4'), options());
    expect(resolved.files.every((file) => new URL(file.url).pathname === '/get-artifact')).toBe(true);
    expect(await downloaded(resolved)).toEqual({ MLmodel: Buffer.from('m'), 'a/b.bin': Buffer.from('bee') });
  });

  it('lists an MLflow 3 logged-model source (models:/m-<id>) at its storage location', async () => {
    const seeded = fake.addModelVersion({ name: 'ranker', version: 1, files: model, source: 'logged-model' });
    expect(seeded.source).toMatch(/^models:\/m-[0-9a-f]+$/);
    const resolved = await resolveMlflow(ref('models:/ranker/1'), options());
    expect(byPath(resolved)['MLmodel']!.url).toContain('/models/m-');
    expect(await downloaded(resolved)).toEqual(model);
  });

  it('follows a models:/m-<id> download URI to the logged model artifact_uri', async () => {
    const seeded = fake.addModelVersion({ name: 'ranker', version: 2, files: model, source: 'logged-model' });
    fake.addModelVersion({ name: 'ranker', version: 3, files: {}, source: 'logged-model', downloadUri: seeded.source });
    const resolved = await resolveMlflow(ref('models:/ranker/3'), options());
    expect(fake.requests.some((r) => r.path === `/api/2.0/mlflow/logged-models/${seeded.source.slice(8)}`)).toBe(true);
    expect(await downloaded(resolved)).toEqual(model);
  });

  it.each([
    ['s3://ml-bucket/1/abc/artifacts/model', 's3'],
    ['gs://ml-bucket/models/churn', 'gs'],
    ['wasbs://models@account.blob.core.windows.net/churn', 'wasbs'],
    ['dbfs:/databricks/mlflow-registry/abc/models/churn', 'dbfs'],
  ])('refuses storage the tracking server does not serve: %s', async (downloadUri, scheme) => {
    fake.addModelVersion({ name: `ext-${scheme}`, version: 1, files: model, source: 'mlflow-artifacts', downloadUri });
    await expect(resolveMlflow(ref(`models:/ext-${scheme}/1`), options())).rejects.toThrow(
      `the model's artifacts are in ${scheme} storage (${downloadUri}), which model-canary cannot read through MLflow at ` +
        `${fake.url}: run the tracking server with --serve-artifacts (artifacts then live at mlflow-artifacts:/ URIs), ` +
        'or use an https:// model-source',
    );
  });

  it('lists an mlflow-artifacts://<host>/ URI on that host with the tracking scheme', async () => {
    const seeded = fake.addModelVersion({ name: 'hosted', version: 1, files: model, source: 'mlflow-artifacts' });
    const host = new URL(fake.url).host;
    const downloadUri = seeded.downloadUri.replace('mlflow-artifacts:/', `mlflow-artifacts://${host}/`);
    fake.addModelVersion({ name: 'hosted', version: 2, files: {}, source: 'mlflow-artifacts', downloadUri });
    const resolved = await resolveMlflow(ref('models:/hosted/2'), options());
    expect(byPath(resolved)['MLmodel']!.url.startsWith(`${fake.url}/api/2.0/mlflow-artifacts/artifacts/1/`)).toBe(true);
    expect(await downloaded(resolved)).toEqual(model);
  });

  it('works under a path prefix (an ingress at /mlflow), for registry, run and proxied calls', async () => {
    const prefixed = await startFakeMlflow({ prefix: '/mlflow' });
    try {
      prefixed.addModelVersion({ name: 'churn', version: 1, files: model, source: 'runs' });
      prefixed.addModelVersion({ name: 'churn', version: 2, files: model, source: 'mlflow-artifacts' });
      for (const version of ['1', '2']) {
        const resolved = await resolveMlflow(ref(`models:/churn/${version}`), {
          trackingUri: `${prefixed.url}/`,
          ...fast,
        });
        expect(resolved.files.every((file) => file.url.startsWith(`${prefixed.url}/api/2.0/`))).toBe(true);
        expect(await downloaded(resolved)).toEqual(model);
      }
    } finally {
      await prefixed.stop();
    }
  });

  it('keeps a plain https:// artifact URI as one file fetched directly, without credentials', async () => {
    fake.addModelVersion({
      name: 'blob',
      version: 1,
      files: model,
      source: 'mlflow-artifacts',
      downloadUri: 'https://models.example.com/churn/model.tar.gz?sig=secret',
    });
    const resolved = await resolveMlflow(ref('models:/blob/1'), { ...options(), token: 'tok' });
    expect(resolved.files).toEqual([
      { path: 'model.tar.gz', url: 'https://models.example.com/churn/model.tar.gz?sig=secret' },
    ]);
  });

  it('refuses an empty artifact directory', async () => {
    fake.addModelVersion({ name: 'empty', version: 1, files: {}, source: 'mlflow-artifacts' });
    await expect(resolveMlflow(ref('models:/empty/1'), options())).rejects.toThrow(/lists no artifact files under/);
  });
});

describe('resolveMlflow with auth', () => {
  let bearer: FakeMlflow;
  let basic: FakeMlflow;
  const token = 'dapi-0123456789abcdef';
  const password = 'pa:ss-w0rd';
  beforeAll(async () => {
    bearer = await startFakeMlflow({ auth: { kind: 'bearer', token } });
    basic = await startFakeMlflow({ auth: { kind: 'basic', username: 'ci', password } });
    for (const fake of [bearer, basic]) {
      fake.addModelVersion({ name: 'churn', version: 1, aliases: ['prod'], files: model, source: 'runs' });
    }
  });
  afterAll(async () => {
    await bearer.stop();
    await basic.stop();
  });

  it('without credentials: 401 says which inputs to set', async () => {
    for (const fake of [bearer, basic]) {
      await expect(resolveMlflow(ref('models:/churn/1'), { trackingUri: fake.url, ...fast })).rejects.toThrow(
        /needs authentication \(HTTP 401.*\): set mlflow-token .* or mlflow-username and mlflow-password/,
      );
    }
  });

  it('with a Bearer token: every request carries it, files carry it, the token is masked and in no message', async () => {
    const masked: string[] = [];
    const from = bearer.requests.length;
    const resolved = await resolveMlflow(ref('models:/churn@prod'), {
      trackingUri: bearer.url,
      token,
      mask: (secret) => masked.push(secret),
      ...fast,
    });
    expect(masked).toContain(token);
    expect(bearer.requests.slice(from).every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
    expect(resolved.files.every((file) => file.headers?.Authorization === `Bearer ${token}`)).toBe(true);
    expect(await downloaded(resolved)).toEqual(model);

    const wrong = 'dapi-wrong-token';
    const error = (await resolveMlflow(ref('models:/churn/1'), {
      trackingUri: bearer.url,
      token: wrong,
      ...fast,
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/refused mlflow-token \(HTTP 401/);
    expect(error.message).not.toContain(wrong);
    expect(JSON.stringify(error)).not.toContain(wrong);
  });

  it('with basic auth: the Authorization header is Basic, the password masked, a wrong one named as such', async () => {
    const masked: string[] = [];
    const from = basic.requests.length;
    const resolved = await resolveMlflow(ref('models:/churn/1'), {
      trackingUri: basic.url,
      username: 'ci',
      password,
      mask: (secret) => masked.push(secret),
      ...fast,
    });
    const header = `Basic ${Buffer.from(`ci:${password}`).toString('base64')}`;
    expect(masked).toEqual(expect.arrayContaining([password, header.slice(6)]));
    expect(basic.requests.slice(from).every((r) => r.authorization === header)).toBe(true);
    expect(await downloaded(resolved)).toEqual(model);
    const error = (await resolveMlflow(ref('models:/churn/1'), {
      trackingUri: basic.url,
      username: 'ci',
      password: 'not-it',
      ...fast,
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/refused mlflow-username \/ mlflow-password \(HTTP 401/);
    expect(error.message).not.toContain('not-it');
  });

  it('refuses half-given or doubled credentials before any request', async () => {
    const before = basic.requests.length;
    await expect(resolveMlflow(ref('models:/churn/1'), { trackingUri: basic.url, username: 'ci' })).rejects.toThrow(
      'mlflow-username and mlflow-password go together',
    );
    await expect(
      resolveMlflow(ref('models:/churn/1'), { trackingUri: basic.url, token, username: 'ci', password }),
    ).rejects.toThrow('set either mlflow-token or mlflow-username and mlflow-password, not both');
    expect(basic.requests.length).toBe(before);
  });
});

describe('resolveMlflow on a troubled server', () => {
  let fake: FakeMlflow;
  let noProxy: FakeMlflow;
  beforeAll(async () => {
    fake = await startFakeMlflow();
    noProxy = await startFakeMlflow({ serveArtifacts: false });
    noProxy.addModelVersion({ name: 'churn', version: 1, files: model, source: 'mlflow-artifacts' });
  });
  afterAll(async () => {
    await fake.stop();
    await noProxy.stop();
  });

  it('retries 503s and goes on', async () => {
    fake.addModelVersion({ name: 'busy', version: 1, files: model, source: 'runs' });
    fake.faults.unavailable = 2;
    const resolved = await resolveMlflow(ref('models:/busy/1'), { trackingUri: fake.url, retries: 3, retryDelayMs: 1 });
    expect(resolved.files).toHaveLength(Object.keys(model).length);
    expect(fake.faults.unavailable).toBe(0);
  });

  it('says to run with --serve-artifacts when the server does not serve them, without retrying', async () => {
    await expect(
      resolveMlflow(ref('models:/churn/1'), { trackingUri: noProxy.url, retries: 3, retryDelayMs: 1 }),
    ).rejects.toThrow(
      /does not serve artifacts \(Endpoint: .* disabled .*\): run the tracking server with --serve-artifacts/,
    );
    expect(noProxy.requests.filter((r) => r.path.startsWith('/api/2.0/mlflow-artifacts/'))).toHaveLength(1);
  });

  it('refuses a run kept on dbfs:/ (Databricks), which /get-artifact does not serve', async () => {
    fake.addModelVersion({
      name: 'dbx',
      version: 1,
      files: model,
      source: 'runs',
      runRootUri: 'dbfs:/databricks/mlflow-tracking/1/abc/artifacts',
    });
    await expect(resolveMlflow(ref('models:/dbx/1'), { trackingUri: fake.url, ...fast })).rejects.toThrow(
      /in dbfs storage \(dbfs:\/databricks\/mlflow-tracking\/1\/abc\/artifacts\), which model-canary cannot read/,
    );
  });

  it.each(['mlflow-artifacts', 'runs'] as const)(
    'refuses a %s listing that leaves the model directory',
    async (source) => {
      fake.addModelVersion({ name: `evil-${source}`, version: 1, files: { '../../escape': Buffer.from('x') }, source });
      await expect(resolveMlflow(ref(`models:/evil-${source}/1`), { trackingUri: fake.url, ...fast })).rejects.toThrow(
        /MLflow listed '\.\.' in .*, not a file name|file path 'model\/\.\.' leaves the model directory/,
      );
    },
  );
});

describe('fake MLflow downloads (for the downloader: Range, a dropped connection, a wrong byte)', () => {
  let fake: FakeMlflow;
  let url: string;
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  beforeAll(async () => {
    fake = await startFakeMlflow();
    fake.addModelVersion({ name: 'm', version: 1, files: { 'w.bin': bytes }, source: 'mlflow-artifacts' });
    url = (await resolveMlflow(ref('models:/m/1'), { trackingUri: fake.url, ...fast })).files[0]!.url;
  });
  afterAll(() => fake.stop());
  const get = (headers: Record<string, string> = {}) =>
    axios.get(url, { headers, responseType: 'arraybuffer', validateStatus: () => true });

  it('serves Content-Length and honours Range', async () => {
    const whole = await get();
    expect(whole.headers['content-length']).toBe('1000');
    expect(whole.headers['accept-ranges']).toBe('bytes');
    const tail = await get({ Range: 'bytes=600-' });
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe('bytes 600-999/1000');
    expect(Buffer.from(tail.data as ArrayBuffer)).toEqual(bytes.subarray(600));
    expect((await get({ Range: 'bytes=1000-' })).status).toBe(416);
  });

  it('drops a connection mid-file once, and flips a byte once', async () => {
    fake.faults.dropAfterBytes = 100;
    await expect(axios.get(url, { responseType: 'arraybuffer' })).rejects.toThrow();
    expect(Buffer.from((await get()).data as ArrayBuffer)).toEqual(bytes);
    fake.faults.flipByteAt = 10;
    const wrong = Buffer.from((await get()).data as ArrayBuffer);
    expect(wrong[10]).toBe(bytes[10]! ^ 0xff);
    expect(Buffer.from((await get()).data as ArrayBuffer)).toEqual(bytes);
  });
});
