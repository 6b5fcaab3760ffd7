// Benchmark of the daemonless `oci` build+push on one local docker-registry, side by side with `skopeo copy` of the
// same images. Usage: npm run bench -- push [SIZE] (SIZE like 1GiB, 256MiB; default 1GiB). Data is generated in a
// temp dir and deleted after. Each push runs in its own process, bundled with esbuild as dist/cli.js is (node
// without tsx, as users run it), so its time includes starting node and its peak RSS (VmHWM) is its own.
//
// Two models of SIZE: one file (one model layer), and ten files (nine big ones, a layer each, and a 1 MiB one in
// the shared layer). For each: our first push (a new repository), skopeo copying that very image into another
// repository of the same registry, an unchanged re-run, and changes: the 1 MiB file, one byte of a big file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from '../src/adapters/registry/client.js';
import { OciBuilder } from '../src/adapters/registry/oci-builder.js';
import { pushBaseImage } from '../test/support/images.js';
import { tempDir } from '../test/support/local.js';
import { startRegistry } from '../test/support/registry.js';

const MiB = 1 << 20;

export function parseSize(text: string | undefined): number {
  if (!text) return 1024 * MiB;
  const match = /^(\d+(?:\.\d+)?)\s*(k|m|g)?i?b?$/i.exec(text.trim());
  if (!match) throw new Error(`bench push: size '${text}' is not a size like 1GiB or 256MiB`);
  const unit = { k: 1024, m: MiB, g: 1024 * MiB }[(match[2] ?? 'm').toLowerCase() as 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}

interface Measured {
  seconds: number;
  peakRssMiB: number;
  output: string;
}

/** Runs a process, sampling its VmHWM (peak resident set) from /proc until it exits. */
async function measure(command: string, args: string[]): Promise<Measured> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let peakKiB = 0;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited between samples
    }
  };
  const timer = setInterval(sample, 20);
  const [code] = (await once(child, 'exit')) as [number];
  clearInterval(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-2000)}`);
  return { seconds, peakRssMiB: peakKiB / 1024, output };
}

async function writeRandomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const block = randomBytes(4 * MiB);
  for (let written = 0; written < size; written += block.length) {
    // A fresh 4 MiB block now and then keeps the file incompressible without spending the run on randomBytes.
    if ((written / block.length) % 16 === 0) randomBytes(block.length).copy(block);
    const part = block.subarray(0, Math.min(block.length, size - written));
    if (!out.write(part)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function flipFirstByte(path: string): void {
  const file = openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(file, byte, 0, 1, 0);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(file, byte, 0, 1, 0);
  closeSync(file);
}

interface WorkerResult {
  digest: string;
  bytesUploaded: number;
  layers: number;
  uploaded: number;
  streamed: boolean;
  inProcessSeconds: number;
}

/** Worker mode: one oci build+push in this process, result as JSON on stdout. */
async function worker(registry: string, modelPath: string, repository: string, workDir: string): Promise<void> {
  const started = process.hrtime.bigint();
  const clients = new Map<string, RegistryClient>();
  const clientFor = (host: string) =>
    clients.get(host) ?? clients.set(host, new RegistryClient({ registry: host })).get(host)!;
  const result = await new OciBuilder({ clientFor }).build({
    registry,
    repository,
    baseImage: `${registry}/runtimes/base:1`,
    modelPath,
    modelName: 'bench',
    modelVersion: '1',
    created: new Date('2026-01-01T00:00:00Z'),
    workDir,
  });
  const line: WorkerResult = {
    digest: result.digest,
    bytesUploaded: result.bytesUploaded,
    layers: result.layerPushes.length,
    uploaded: result.layerPushes.filter((push) => push.outcome === 'uploaded').length,
    streamed: result.streamedWhileHashing,
    inProcessSeconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export default async function run(args: string[]): Promise<void> {
  if (args[0] === '--worker') return worker(args[1]!, args[2]!, args[3]!, args[4]!);
  // The same process with every module loaded and nothing done: what node + tsx + our code weigh at rest.
  if (args[0] === '--baseline') return;
  const size = parseSize(args[0]);
  const dir = tempDir('bench-push');
  const bundle = join(dir.path, 'push-bench.mjs');
  const { build } = await import('esbuild');
  await build({
    entryPoints: [fileURLToPath(import.meta.url)],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: ['esbuild'],
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
  });
  const registry = await startRegistry();
  // skopeo remembers where it saw each blob and mounts it from there: it pushes to the same registry under another
  // name (localhost instead of 127.0.0.1), where it knows of no blob, so it sends every byte as it would anywhere.
  const skopeoHost = registry.host.replace('127.0.0.1', 'localhost');
  try {
    pushBaseImage(join(dir.path, 'base'), `${registry.host}/runtimes/base:1`);
    const ours = (model: string, repository: string) =>
      measure(process.execPath, [bundle, '--worker', registry.host, model, repository, dir.path]).then((measured) => ({
        ...measured,
        result: JSON.parse(measured.output.trim().split('\n').pop()!) as WorkerResult,
      }));
    const skopeo = async (repository: string, digest: string) => {
      const layout = join(dir.path, `layout-${repository.replace('/', '-')}`);
      await measure('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${registry.host}/${repository}@${digest}`,
        `oci:${layout}:image`,
      ]);
      const copied = await measure('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci:${layout}:image`,
        `docker://${skopeoHost}/skopeo/${repository}:1`,
      ]);
      if (/skipped: already exists/.test(copied.output) && !/Copying blob .*done/.test(copied.output)) {
        throw new Error(`skopeo sent no blob:\n${copied.output}`);
      }
      return copied;
    };
    const baseline = await measure(process.execPath, [bundle, '--baseline']);

    const one = join(dir.path, 'one-file');
    mkdirSync(one);
    await writeRandomFile(join(one, 'weights.bin'), size);
    const ten = join(dir.path, 'ten-files');
    mkdirSync(ten);
    const part = Math.floor((size - MiB) / 9);
    for (let index = 0; index < 9; index++) await writeRandomFile(join(ten, `part-${index}.bin`), part);
    await writeRandomFile(join(ten, 'tokenizer.bin'), MiB);

    type Row = { name: string; measured: Measured; result?: WorkerResult };
    const rows: { model: string; rows: Row[] }[] = [];
    for (const [model, path, repository] of [
      ['1 file', one, 'models/one'],
      ['10 files', ten, 'models/ten'],
    ] as const) {
      const first = await ours(path, repository);
      const copied = await skopeo(repository, first.result.digest);
      const rerun = await ours(path, repository);
      if (rerun.result.digest !== first.result.digest) throw new Error('an unchanged re-run changed the digest');
      const modelRows: Row[] = [
        { name: 'skopeo copy of the same image', measured: copied },
        { name: 'first push (new repository)', measured: first, result: first.result },
        { name: 'unchanged re-run', measured: rerun, result: rerun.result },
      ];
      if (model === '10 files') {
        flipFirstByte(join(ten, 'tokenizer.bin'));
        const small = await ours(path, repository);
        modelRows.push({ name: 'the 1 MiB file changed', measured: small, result: small.result });
      }
      flipFirstByte(join(path, model === '1 file' ? 'weights.bin' : 'part-3.bin'));
      const big = await ours(path, repository);
      modelRows.push({
        name: model === '1 file' ? '1 byte changed (hashed first, then sent)' : '1 byte of one big file changed',
        measured: big,
        result: big.result,
      });
      rows.push({ model, rows: modelRows });
    }

    const mib = (bytes: number) => (bytes / MiB).toFixed(bytes < 10 * MiB ? 2 : 0);
    const lines = [
      `model: ${mib(size)} MiB of random bytes; one file, or nine of ${mib(part)} MiB and one of 1 MiB`,
      `node at rest, with the push code loaded: ${baseline.peakRssMiB.toFixed(0)} MiB`,
      '',
      '| model | run | time (process) | in-process | uploaded | layers sent | peak RSS |',
      '|---|---|---|---|---|---|---|',
    ];
    for (const { model, rows: modelRows } of rows) {
      for (const { name, measured, result } of modelRows) {
        lines.push(
          `| ${model} | ${name} | ${measured.seconds.toFixed(2)} s | ` +
            `${result ? `${result.inProcessSeconds.toFixed(2)} s` : '-'} | ` +
            `${result ? `${mib(result.bytesUploaded)} MiB` : `${mib(size)} MiB`} | ` +
            `${result ? `${result.uploaded} of ${result.layers}${result.streamed ? ' (while hashing)' : ''}` : '-'} | ` +
            `${measured.peakRssMiB.toFixed(0)} MiB |`,
        );
      }
      const skopeoRow = modelRows[0]!.measured.seconds;
      const firstRow = modelRows[1]!.measured.seconds;
      lines.push(`| ${model} | **first push / skopeo** | **${(firstRow / skopeoRow).toFixed(2)}** | | | | |`);
    }
    writeFileSync(join(dir.path, 'result.txt'), lines.join('\n'));
    for (const line of lines) console.log(line);
  } finally {
    await registry.stop();
    dir.remove();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
