// Layers that follow the files, against a real docker-registry whose access log this test reads (as its operator
// would): a first push streams each layer while hashing it, a re-run sends nothing, a changed file sends its layer
// only, a repository that holds the layers lends them by mount, and broken connections resume or restart. skopeo
// and umoci read back every image.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { RegistryClient, type RegistryClientOptions } from '../../src/adapters/registry/client.js';
import { OciBuilder, type OciBuildRequest, type OciBuildResult } from '../../src/adapters/registry/oci-builder.js';
import { MODEL_LABELS } from '../../src/core/image-labels.js';
import { pullAndUnpack, pushBaseImage, skopeoInspect } from '../support/images.js';
import { freePort, LOOPBACK, requireBinary, tempDir, waitForHttp } from '../support/local.js';
import { startFaultProxy, type FaultProxy } from '../support/registry.js';

interface LoggingRegistry {
  host: string;
  url: string;
  /**
   * Access-log lines (`METHOD path?query STATUS`) from `mark` on, once every request made before the call is in:
   * a marker request is sent and its own line awaited (the log is written as responses go, not before).
   */
  requests(mark?: number): Promise<string[]>;
  mark(): number;
  stop(): Promise<void>;
}

/**
 * `docker-registry serve` with its access log on (test/support/registry.ts turns it off): one line per request
 * on stdout, in the combined log format.
 */
async function startLoggingRegistry(): Promise<LoggingRegistry> {
  requireBinary('docker-registry');
  const dir = tempDir('registry-log');
  const port = await freePort();
  const config = join(dir.path, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n` +
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir.path, 'data')}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: ${LOOPBACK}:${port}\n`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const awaited = new Map<string, () => void>();
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const complete = text.split('\n');
    partial = complete.pop()!;
    for (const line of complete) {
      const match = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line);
      if (!match) continue;
      lines.push(`${match[1]} ${match[2]} ${match[3]}`);
      awaited.get(match[2]!)?.();
    }
  });
  child.stderr!.resume();
  const url = `http://${LOOPBACK}:${port}`;
  await waitForHttp(`${url}/v2/`);
  let markers = 0;
  const MARKER = '/v2/?logged=';
  return {
    host: `${LOOPBACK}:${port}`,
    url,
    requests: async (mark = 0) => {
      const marker = `${MARKER}${++markers}`;
      const logged = new Promise<void>((resolve) => awaited.set(marker, resolve));
      await fetch(`${url}${marker}`).then((response) => response.arrayBuffer());
      await logged;
      awaited.delete(marker);
      return lines.slice(mark).filter((line) => !line.includes(` ${MARKER}`));
    },
    mark: () => lines.length,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      dir.remove();
    },
  };
}

/**
 * A proxy that counts blob-upload requests in flight and the size of each PATCH, and can add an
 * `OCI-Chunk-Min-Length` header to the answers that open an upload, as registries that want big chunks do.
 */
async function startCountingProxy(target: string, chunkMinLength?: number) {
  const targetUrl = new URL(target);
  const stats = { inFlight: 0, maxInFlight: 0, patches: [] as { path: string; bytes: number }[] };
  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    const upload = (method === 'PATCH' || method === 'PUT') && path.includes('/blobs/uploads/');
    if (upload) stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
    let bytes = 0;
    const upstream = httpRequest(
      { host: targetUrl.hostname, port: targetUrl.port, method, path: req.url, headers: req.headers },
      (answer) => {
        const headers = { ...answer.headers };
        if (chunkMinLength && method === 'POST' && answer.statusCode === 202) {
          headers['oci-chunk-min-length'] = String(chunkMinLength);
        }
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
        answer.on('end', () => {
          if (upload) stats.inFlight--;
          if (method === 'PATCH') stats.patches.push({ path, bytes });
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      upstream.write(chunk);
    });
    req.on('end', () => upstream.end());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
  return {
    url: `http://${LOOPBACK}:${port}`,
    stats,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let registry: LoggingRegistry;
let dir: { path: string; remove(): void };
let modelPath: string;
const created = new Date('2026-11-30T12:00:00Z');
const KiB = 1024;
/** Test-sized layers: files of 200 KiB or more get their own. */
const OWN = 200 * KiB;
const BIG = ['weights/a.bin', 'weights/b.bin', 'weights/c.bin'];
const SMALL = ['config.json', 'tokenizer/vocab.txt'];

beforeAll(async () => {
  registry = await startLoggingRegistry();
  dir = tempDir('oci-layers');
  pushBaseImage(join(dir.path, 'base'), `${registry.host}/runtimes/server:1`);
  pushBaseImage(join(dir.path, 'multi'), `${registry.host}/runtimes/multi:1`, {
    platforms: ['linux/amd64', 'linux/arm64'],
  });
  modelPath = join(dir.path, 'model');
  mkdirSync(join(modelPath, 'weights'), { recursive: true });
  mkdirSync(join(modelPath, 'tokenizer'));
  for (const [index, file] of BIG.entries()) writeFileSync(join(modelPath, file), randomBytes(300 * KiB + index));
  writeFileSync(join(modelPath, 'config.json'), '{"name":"churn"}\n');
  writeFileSync(join(modelPath, 'tokenizer/vocab.txt'), 'a\nb\nc\n');
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  dir?.remove();
});

type ProgressLine = [what: string, done: number, total: number, finished: string | undefined];

function builder(options: Partial<RegistryClientOptions> = {}, progress?: ProgressLine[]): OciBuilder {
  const clients = new Map<string, RegistryClient>();
  return new OciBuilder({
    onProgress: (what, done, total, finished) => progress?.push([what, done, total, finished]),
    clientFor: (host) =>
      clients.get(host) ??
      clients
        .set(
          host,
          new RegistryClient({ registry: host, retry: { sleep: async () => undefined, baseDelayMs: 1 }, ...options }),
        )
        .get(host)!,
  });
}

function request(overrides: Partial<OciBuildRequest> = {}): OciBuildRequest {
  return {
    registry: registry.host,
    repository: 'models/churn',
    baseImage: `${registry.host}/runtimes/server:1`,
    modelPath,
    modelName: 'churn',
    modelVersion: '7',
    created,
    workDir: dir.path,
    ownLayerMinBytes: OWN,
    ...overrides,
  };
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const modelBytes = (result: OciBuildResult) => result.layer.layers.reduce((sum, layer) => sum + layer.size, 0);
/** Blob uploads the registry completed: the digests of the PUTs that closed them. */
const uploadedDigests = (lines: string[]) =>
  lines
    .filter((line) => line.startsWith('PUT ') && line.includes('/blobs/uploads/'))
    .map((line) => decodeURIComponent(/[?&]digest=([^&\s]+)/.exec(line)![1]!));

/** skopeo sees the base's layers then ours; umoci unpacks every model file with its content. */
function expectReadBack(repository: string, result: OciBuildResult, name: string): void {
  const reference = `${registry.host}/${repository}@${result.digest}`;
  const seen = skopeoInspect(reference);
  const base = skopeoInspect(`${registry.host}/runtimes/server:1`).Layers;
  expect(seen.Layers).toEqual([...base, ...result.layer.layers.map((layer) => layer.digest)]);
  expect(seen.Labels?.[MODEL_LABELS.sha256]).toBe(result.layer.modelSha256);
  const rootfs = pullAndUnpack(reference, join(dir.path, `pull-${name}`));
  for (const file of [...BIG, ...SMALL]) {
    expect(sha256(readFileSync(join(rootfs, 'mnt/models', file)))).toBe(sha256(readFileSync(join(modelPath, file))));
  }
  expect(readFileSync(join(rootfs, 'srv/server.py'), 'utf8')).toContain('serving on linux/amd64');
}

describe('model layers that follow the files', () => {
  let first: OciBuildResult;

  it('first push: a layer per big file, sent while hashed (a new repository); skopeo and umoci read it back', async () => {
    const mark = registry.mark();
    const progress: ProgressLine[] = [];
    first = await builder({}, progress).build(request());
    expect(first.streamedWhileHashing).toBe(true);
    // Sent while hashed: the upload's progress is the hashing's.
    expect(progress.filter(([what]) => what.startsWith('hashing '))).toEqual([]);
    expect(first.layerPushes.map((push) => [push.description, push.outcome])).toEqual([
      ['model files', 'uploaded'],
      ['weights/a.bin', 'uploaded'],
      ['weights/b.bin', 'uploaded'],
      ['weights/c.bin', 'uploaded'],
    ]);
    // The model's content hash is what it has always been: sha256sum over the sorted files.
    const list = [...BIG, ...SMALL]
      .sort()
      .map((file) => `${sha256(readFileSync(join(modelPath, file)))}  ${file}\n`)
      .join('');
    expect(first.layer.modelSha256).toBe(sha256(list));
    expect(uploadedDigests(await registry.requests(mark)).sort()).toEqual(
      expect.arrayContaining(first.layer.layers.map((layer) => layer.digest).sort()),
    );
    expectReadBack('models/churn', first, 'first');
  });

  it('an unchanged re-run sends nothing: no upload, no manifest PUT in the access log', async () => {
    const mark = registry.mark();
    const again = await builder().build(request());
    expect(again.digest).toBe(first.digest);
    expect(again.bytesUploaded).toBe(0);
    expect(again.streamedWhileHashing).toBe(false);
    expect(again.layerPushes.map((push) => push.outcome)).toEqual(['present', 'present', 'present', 'present']);
    const writes = (await registry.requests(mark)).filter((line) => /^(POST|PATCH|PUT|DELETE) /.test(line));
    expect(writes).toEqual([]);
  });

  it("a changed big file uploads that file's layer and the config, nothing else", async () => {
    const file = join(modelPath, 'weights/b.bin');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    const mark = registry.mark();
    const progress: ProgressLine[] = [];
    const changed = await builder({}, progress).build(request());
    expect(changed.streamedWhileHashing).toBe(false);
    // Hashed before anything is sent: each layer says when its hashing is done.
    const hashed = progress.filter(([what]) => what.startsWith('hashing ')).filter(([, done, total]) => done === total);
    expect(hashed.map(([what, , , finished]) => `${what} ${finished}`).sort()).toEqual(
      ['model files', ...BIG].map((description) => `hashing ${description} hashed`),
    );
    expect(changed.layerPushes.map((push) => [push.description, push.outcome])).toEqual([
      ['model files', 'present'],
      ['weights/a.bin', 'present'],
      ['weights/b.bin', 'uploaded'],
      ['weights/c.bin', 'present'],
    ]);
    const layer = changed.layer.layers[2]!;
    expect(layer.digest).not.toBe(first.layer.layers[2]!.digest);
    const uploads = uploadedDigests(await registry.requests(mark));
    expect(uploads).toHaveLength(2);
    expect(uploads[0]).toBe(layer.digest);
    const config = skopeoInspect(`${registry.host}/models/churn@${changed.digest}`, ['--raw']) as unknown as {
      config: { digest: string; size: number };
    };
    expect(uploads[1]).toBe(config.config.digest);
    expect(changed.bytesUploaded).toBe(layer.size + config.config.size);
    expectReadBack('models/churn', changed, 'changed');
    first = changed;
  });

  it('mounts the layers from a repository that holds them: not a layer byte is sent', async () => {
    const mark = registry.mark();
    const copy = await builder().build(request({ repository: 'models/churn-copy', mountFrom: ['models/churn'] }));
    expect(copy.digest).toBe(first.digest);
    expect(copy.streamedWhileHashing).toBe(false);
    expect(copy.layerPushes.map((push) => push.outcome)).toEqual(['mounted', 'mounted', 'mounted', 'mounted']);
    expect(copy.bytesUploaded).toBe(0);
    const lines = await registry.requests(mark);
    const baseLayers = skopeoInspect(`${registry.host}/runtimes/server:1`).Layers.length;
    const mounts = lines.filter((line) => line.startsWith('POST ') && line.includes('mount=') && line.endsWith(' 201'));
    expect(mounts).toHaveLength(first.layer.layers.length + baseLayers + 1); // and the config
    expect(lines.filter((line) => line.startsWith('PATCH '))).toEqual([]);
    expect(uploadedDigests(lines)).toEqual([]);
    expectReadBack('models/churn-copy', copy, 'copy');
  });

  it('puts every model layer on every platform of a multi-platform base, each sent once', async () => {
    const result = await builder().build(
      request({ repository: 'models/multi', baseImage: `${registry.host}/runtimes/multi:1` }),
    );
    expect(result.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    for (const arch of ['amd64', 'arm64']) {
      const seen = skopeoInspect(`${registry.host}/models/multi@${result.digest}`, ['--override-arch', arch]);
      expect(seen.Layers.slice(-4)).toEqual(result.layer.layers.map((layer) => layer.digest));
    }
    expect(result.bytesUploaded).toBeLessThan(modelBytes(result) + 8000);
  });

  it('caps the model layers: past the cap, the smallest big files join the shared layer', async () => {
    const result = await builder().build(request({ repository: 'models/capped', maxModelLayers: 3 }));
    expect(result.layerPushes.map((push) => push.description)).toEqual([
      'model files',
      'weights/b.bin',
      'weights/c.bin',
    ]);
    expect(result.layer.layers[0]!.files).toEqual(['config.json', 'tokenizer/vocab.txt', 'weights/a.bin']);
    expectReadBack('models/capped', result, 'capped');
  });
});

describe('uploads', () => {
  let faults: FaultProxy;
  /** The digest a clean push of the current model gives (what a push through faults must give too). */
  let cleanDigest = '';
  beforeAll(async () => {
    faults = await startFaultProxy(registry.url);
    cleanDigest = (await builder().build(request({ repository: 'models/clean' }))).digest;
  });
  afterAll(() => faults.stop());

  const CHUNK = 64 * KiB;
  const viaFaults = () => builder({ baseUrl: faults.url, chunkSize: CHUNK, monolithicLimit: 0 });

  it('a connection cut mid-chunk, while the layers are hashed as they go: the push still lands, same digest', async () => {
    faults.stats.uploadBytes = 0;
    faults.stats.dropped = 0;
    faults.faults.dropAfterUploadBytes = 150 * KiB;
    const result = await viaFaults().build(request({ repository: 'models/cut-new' }));
    expect(faults.stats.dropped).toBe(1);
    expect(result.streamedWhileHashing).toBe(true);
    expect(result.digest).toBe(cleanDigest);
    expect(result.bytesUploaded).toBeGreaterThan(modelBytes(result));
    expectReadBack('models/cut-new', result, 'cut-new');
  });

  it('a connection cut between chunks of a hashed-first upload resumes where the registry got to', async () => {
    // An existing repository (hashed first); one upload at a time, so the cut falls between two chunks of b.bin.
    const file = join(modelPath, 'weights/b.bin');
    const bytes = readFileSync(file);
    bytes[0] = bytes[0]! ^ 0xff;
    writeFileSync(file, bytes);
    faults.stats.uploadBytes = 0;
    faults.stats.dropped = 0;
    faults.faults.dropAfterUploadBytes = 2 * CHUNK;
    const result = await viaFaults().build(request({ repository: 'models/cut-new', concurrency: 1 }));
    expect(faults.stats.dropped).toBe(1);
    expect(result.streamedWhileHashing).toBe(false);
    expect(result.layerPushes.map((push) => push.outcome)).toEqual(['present', 'present', 'uploaded', 'present']);
    // Nothing reached the registry twice: the layer, the config and the manifest, once each.
    const manifest = Buffer.from(
      await (
        await fetch(`${registry.url}/v2/models/cut-new/manifests/${result.digest}`, {
          headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
        })
      ).arrayBuffer(),
    );
    const config = (JSON.parse(manifest.toString()) as { config: { size: number } }).config;
    expect(faults.stats.uploadBytes).toBe(result.layer.layers[2]!.size + config.size + manifest.length);
    expectReadBack('models/cut-new', result, 'cut-resumed');
  });

  it("several blobs go up at once (at most `concurrency`), in chunks of at least the registry's OCI-Chunk-Min-Length", async () => {
    const big = join(dir.path, 'six');
    mkdirSync(big);
    for (let index = 0; index < 6; index++) writeFileSync(join(big, `w${index}.bin`), randomBytes(2048 * KiB));
    const proxy = await startCountingProxy(registry.url, 300_000);
    try {
      const result = await builder({ baseUrl: proxy.url, chunkSize: CHUNK }).build(
        request({ repository: 'models/six', modelPath: big, concurrency: 4 }),
      );
      expect(result.layerPushes).toHaveLength(6);
      expect(proxy.stats.maxInFlight).toBeGreaterThan(1);
      expect(proxy.stats.maxInFlight).toBeLessThanOrEqual(4);
      const sizes = new Map<string, number[]>();
      for (const patch of proxy.stats.patches) sizes.set(patch.path, [...(sizes.get(patch.path) ?? []), patch.bytes]);
      expect(sizes.size).toBe(6);
      for (const chunks of sizes.values()) {
        expect(chunks.slice(0, -1).every((bytes) => bytes === 300_000)).toBe(true);
        expect(chunks.at(-1)!).toBeLessThanOrEqual(300_000);
      }
      const rootfs = pullAndUnpack(`${registry.host}/models/six@${result.digest}`, join(dir.path, 'pull-six'));
      for (let index = 0; index < 6; index++) {
        expect(
          readFileSync(join(rootfs, `mnt/models/w${index}.bin`)).equals(readFileSync(join(big, `w${index}.bin`))),
        ).toBe(true);
      }
    } finally {
      await proxy.stop();
    }
  });
});
