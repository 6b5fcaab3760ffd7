// The model layer: deterministic whatever the files' times, owners and modes, and a valid gzip'd tar.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildModelLayer } from '../../src/adapters/registry/layer.js';
import { storedGzip } from '../../src/adapters/registry/stored-gzip.js';
import { tempDir } from '../support/local.js';

let dir: { path: string; remove(): void };
beforeAll(() => {
  dir = tempDir('layer');
});
afterAll(() => dir.remove());

function makeModel(root: string, mtime: Date, mode: number): void {
  mkdirSync(join(root, 'b', 'deep'), { recursive: true });
  writeFileSync(join(root, 'b', 'deep', 'weights.bin'), Buffer.alloc(200_000, 7));
  writeFileSync(join(root, 'a.json'), '{"name":"churn"}');
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(root, 'run.sh'), 0o700);
  chmodSync(join(root, 'a.json'), mode);
  symlinkSync('a.json', join(root, 'link.json'));
  for (const file of ['a.json', 'run.sh', 'b/deep/weights.bin']) utimesSync(join(root, file), mtime, mtime);
}

async function gzipOf(parts: Buffer[]): Promise<Buffer> {
  const stream = storedGzip();
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve) => stream.on('end', resolve));
  for (const part of parts) stream.write(part);
  stream.end();
  await done;
  return Buffer.concat(out);
}

describe('stored gzip', () => {
  it.each([[0], [1], [65535], [65536], [300_001]])('%d bytes gunzip back, whatever the chunking', async (size) => {
    const data = randomBytes(size);
    const whole = await gzipOf([data]);
    const split = await gzipOf(
      [data.subarray(0, 3), data.subarray(3, 70_000), data.subarray(70_000)].filter((p) => p.length),
    );
    expect(gunzipSync(whole).equals(data)).toBe(true);
    expect(split.equals(whole)).toBe(true);
  });
});

describe('buildModelLayer', () => {
  it('gives the same digest for the same content whatever the mtimes and read modes', async () => {
    makeModel(join(dir.path, 'one'), new Date('2020-01-01'), 0o600);
    makeModel(join(dir.path, 'two'), new Date('2025-06-01'), 0o644);
    const one = await buildModelLayer({ modelPath: join(dir.path, 'one'), outputFile: join(dir.path, 'one.tgz') });
    const two = await buildModelLayer({ modelPath: join(dir.path, 'two'), outputFile: join(dir.path, 'two.tgz') });
    expect(two.digest).toBe(one.digest);
    expect(two.diffId).toBe(one.diffId);
    expect(one.files.map((file) => file.path)).toEqual(['a.json', 'b/deep/weights.bin', 'run.sh']);
    expect(one.size).toBe(readFileSync(join(dir.path, 'one.tgz')).length);
  });

  it('is a tar another tool lists: sorted, owner 0/0, fixed time, normalised modes', () => {
    const listing = execFileSync('tar', ['-tvzf', join(dir.path, 'one.tgz'), '--numeric-owner'], { encoding: 'utf8' });
    expect(
      listing
        .trim()
        .split('\n')
        .map((line) => line.replace(/\s+/g, ' ')),
    ).toEqual([
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/',
      '-rw-r--r-- 0/0 16 1980-01-01 00:00 mnt/models/a.json',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/deep/',
      '-rw-r--r-- 0/0 200000 1980-01-01 00:00 mnt/models/b/deep/weights.bin',
      'lrwxrwxrwx 0/0 0 1980-01-01 00:00 mnt/models/link.json -> a.json',
      '-rwxr-xr-x 0/0 10 1980-01-01 00:00 mnt/models/run.sh',
    ]);
  });

  it('compresses what compresses (auto), and a changed byte changes the digest', async () => {
    const root = join(dir.path, 'three');
    makeModel(root, new Date('2020-01-01'), 0o644);
    const compressed = await buildModelLayer({ modelPath: root, outputFile: join(dir.path, 'three.tgz') });
    expect(compressed.compressionLevel).toBe(1);
    writeFileSync(join(root, 'a.json'), '{"name":"churm"}');
    const changed = await buildModelLayer({
      modelPath: root,
      outputFile: join(dir.path, 'four.tgz'),
      compressionLevel: 1,
    });
    expect(changed.digest).not.toBe(compressed.digest);
    expect(changed.files.find((file) => file.path === 'a.json')!.sha256).not.toBe(
      compressed.files.find((file) => file.path === 'a.json')!.sha256,
    );
    const random = join(dir.path, 'random');
    mkdirSync(random);
    writeFileSync(join(random, 'w.bin'), randomBytes(100_000));
    const stored = await buildModelLayer({ modelPath: random, outputFile: join(dir.path, 'random.tgz') });
    expect(stored.compressionLevel).toBe(0);
    expect(stored.modelSha256).toBe(stored.files[0]!.sha256);
  });

  it('names an empty or missing model path', async () => {
    mkdirSync(join(dir.path, 'empty'));
    await expect(
      buildModelLayer({ modelPath: join(dir.path, 'empty'), outputFile: join(dir.path, 'e.tgz') }),
    ).rejects.toThrow(`model-path ${join(dir.path, 'empty')} has no files to put in the image`);
  });
});
