// Benchmark of the daemonless `oci` build+push on a local docker-registry, against `skopeo copy` of the same
// image. Usage: npm run bench -- push [SIZE] (SIZE like 1GiB, 256MiB; default 1GiB). Data is generated in a temp
// dir and deleted after. Each contestant runs in its own process so its peak RSS (VmHWM) is its own.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
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

/** Worker mode: one oci build+push in this process, result as JSON on stdout. */
async function worker(registry: string, modelPath: string, repository: string, workDir: string): Promise<void> {
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
  process.stdout.write(
    `${JSON.stringify({ digest: result.digest, bytesUploaded: result.bytesUploaded, size: result.layer.size })}\n`,
  );
}

export default async function run(args: string[]): Promise<void> {
  if (args[0] === '--worker') return worker(args[1]!, args[2]!, args[3]!, args[4]!);
  // The same process with every module loaded and nothing done: what node + tsx + our code weigh at rest.
  if (args[0] === '--baseline') return;
  const size = parseSize(args[0]);
  const self = fileURLToPath(import.meta.url);
  const dir = tempDir('bench-push');
  const [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
  try {
    for (const registry of [ours, theirs])
      pushBaseImage(join(dir.path, `base-${registry.host.split(':')[1]}`), `${registry.host}/runtimes/base:1`);
    const big = join(dir.path, 'big-model');
    mkdirSync(big);
    await writeRandomFile(join(big, 'weights.bin'), size);
    const ociPush = (model: string, repository: string) =>
      measure(process.execPath, ['--import', 'tsx', self, '--worker', ours.host, model, repository, dir.path]).then(
        (measured) => ({
          ...measured,
          result: JSON.parse(measured.output.trim().split('\n').pop()!) as {
            digest: string;
            bytesUploaded: number;
            size: number;
          },
        }),
      );

    const baseline = await measure(process.execPath, ['--import', 'tsx', self, '--baseline']);
    const first = await ociPush(big, 'models/big');
    const rerun = await ociPush(big, 'models/big');
    // skopeo copies the very image we built (from an OCI layout) into a fresh registry.
    const layout = join(dir.path, 'layout');
    await measure('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${ours.host}/models/big@${first.result.digest}`,
      `oci:${layout}:big`,
    ]);
    const skopeo = await measure('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layout}:big`,
      `docker://${theirs.host}/models/big:1`,
    ]);

    const small = join(dir.path, 'ten-files');
    mkdirSync(small);
    for (let index = 0; index < 10; index++)
      await writeRandomFile(join(small, `part-${index}.bin`), Math.max(1, Math.floor(size / 10 / 8)));
    await ociPush(small, 'models/ten');
    const file = openSync(join(small, 'part-3.bin'), 'r+');
    writeSync(file, Buffer.from([0x42]), 0, 1, 0);
    closeSync(file);
    const changed = await ociPush(small, 'models/ten');

    const rate = (seconds: number) => (size / MiB / seconds).toFixed(0);
    const lines = [
      `model: ${(size / MiB).toFixed(0)} MiB of random bytes (layer ${(first.result.size / MiB).toFixed(0)} MiB)`,
      `oci build+push:   ${first.seconds.toFixed(2)} s  ${rate(first.seconds)} MiB/s  peak RSS ${first.peakRssMiB.toFixed(0)} MiB (${baseline.peakRssMiB.toFixed(0)} MiB at rest)`,
      `skopeo copy:      ${skopeo.seconds.toFixed(2)} s  ${rate(skopeo.seconds)} MiB/s  peak RSS ${skopeo.peakRssMiB.toFixed(0)} MiB`,
      `unchanged re-run: ${rerun.seconds.toFixed(2)} s  ${rerun.result.bytesUploaded} bytes uploaded  same digest: ${rerun.result.digest === first.result.digest}`,
      `1-byte change in a 10-file model (${((Math.floor(size / 10 / 8) * 10) / MiB).toFixed(0)} MiB): re-push ${changed.seconds.toFixed(2)} s, ${(changed.result.bytesUploaded / MiB).toFixed(1)} MiB uploaded`,
    ];
    writeFileSync(join(dir.path, 'result.txt'), lines.join('\n'));
    for (const line of lines) console.log(line);
  } finally {
    await Promise.all([ours.stop(), theirs.stop()]);
    dir.remove();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  run(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
