// The model layers: deterministic whatever the files' times, owners and modes, valid gzip'd tars another tool
// lists, split so that big files get a layer each, and the same bytes the single-layer builder has always written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import {
  buildModelLayers,
  LAYER_MTIME,
  ownLayerFiles,
  planModelLayers,
  type LayerBlob,
} from '../../src/adapters/registry/layer.js';
import { storedGzip, StoredGzipLayout } from '../../src/adapters/registry/stored-gzip.js';
import { modelContentSha256 } from '../../src/core/model-source.js';
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

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
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

/** The layer's bytes in a file, for `tar`. */
async function layerFile(layer: LayerBlob, name: string): Promise<string> {
  const path = join(dir.path, name);
  writeFileSync(path, await bytesOf(await layer.open(0)));
  return path;
}

function listing(path: string): string[] {
  return execFileSync('tar', ['-tvzf', path, '--numeric-owner'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.replace(/\s+/g, ' '));
}

/** What the single-layer builder wrote until now: tar-stream's pack of the sorted entries, fixed attributes. */
async function tarStreamPack(root: string, target = 'mnt/models/'): Promise<Buffer> {
  const entries: { name: string; path: string }[] = [];
  const visit = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      const isDir = lstatSync(path).isDirectory();
      entries.push({ name: `${target}${relative(root, path)}${isDir ? '/' : ''}`, path });
      if (isDir) visit(path);
    }
  };
  visit(root);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on('data', (chunk: unknown) => out.push(chunk as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  const header = { mtime: LAYER_MTIME, uid: 0, gid: 0, uname: '', gname: '' };
  for (const name of ['mnt/', 'mnt/models/']) pack.entry({ ...header, name, mode: 0o755, type: 'directory' });
  for (const { name, path } of entries) {
    const stat = lstatSync(path);
    if (stat.isDirectory()) pack.entry({ ...header, name, mode: 0o755, type: 'directory' });
    else if (stat.isSymbolicLink())
      pack.entry({ ...header, name, mode: 0o777, type: 'symlink', linkname: readlinkSync(path) });
    else pack.entry({ ...header, name, mode: stat.mode & 0o111 ? 0o755 : 0o644, type: 'file' }, readFileSync(path));
  }
  pack.finalize();
  await ended;
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

  it.each([[0], [1], [65535], [65536], [131070], [300_001]])(
    '%d bytes laid out without reading them: the same bytes, from any offset',
    async (size) => {
      const data = randomBytes(size);
      const whole = await gzipOf([data]);
      const crc = (await import('node:zlib')).crc32(data);
      const layout = new StoredGzipLayout(
        async (start, length, target, at) => void data.copy(target, at, start, start + length),
        size,
        async () => crc,
      );
      expect(layout.size).toBe(whole.length);
      const all: Buffer[] = [];
      for await (const piece of layout.range(0)) all.push(piece);
      expect(Buffer.concat(all).equals(whole)).toBe(true);
      const ranges: [number, number][] = [
        [0, 5],
        [3, Math.min(whole.length, 70_000)],
        [10, 15],
        [Math.max(0, whole.length - 20), whole.length],
        [65545, Math.min(whole.length, 65600)],
      ];
      for (const [start, end] of ranges) {
        if (end <= start || start >= whole.length) continue;
        const piece = Buffer.alloc(end - start);
        await layout.read(start, end - start, piece);
        expect(piece.equals(whole.subarray(start, end))).toBe(true);
      }
    },
  );
});

describe('model layers', () => {
  it('give the same digests for the same content whatever the mtimes and read modes', async () => {
    makeModel(join(dir.path, 'one'), new Date('2020-01-01'), 0o600);
    makeModel(join(dir.path, 'two'), new Date('2025-06-01'), 0o644);
    const one = await buildModelLayers({ modelPath: join(dir.path, 'one'), workDir: dir.path });
    const two = await buildModelLayers({ modelPath: join(dir.path, 'two'), workDir: dir.path });
    await Promise.all([one.dispose(), two.dispose()]);
    expect(one.layers).toHaveLength(1);
    expect(two.layers.map((layer) => [layer.digest, layer.diffId])).toEqual(
      one.layers.map((layer) => [layer.digest, layer.diffId]),
    );
    expect(one.files.map((file) => file.path)).toEqual(['a.json', 'b/deep/weights.bin', 'run.sh']);
    expect(one.modelSha256).toBe(two.modelSha256);
  });

  it('one layer for small files is the tar the single-layer builder always wrote (tar-stream, sorted, 0:0)', async () => {
    const root = join(dir.path, 'odd-names');
    mkdirSync(join(root, `${'x'.repeat(120)}/sub`), { recursive: true });
    mkdirSync(join(root, 'empty-dir'));
    writeFileSync(join(root, `${'x'.repeat(120)}/sub/${'y'.repeat(90)}.txt`), 'long name\n');
    writeFileSync(join(root, 'é.txt'), 'not ascii\n');
    writeFileSync(join(root, 'exact.bin'), randomBytes(512));
    writeFileSync(join(root, 'empty'), '');
    symlinkSync('z'.repeat(150), join(root, 'long-link'));
    const model = await buildModelLayers({ modelPath: root, workDir: dir.path, compressionLevel: 0 });
    await model.dispose();
    const layer = model.layers[0]!;
    const bytes = await bytesOf(await layer.open(0));
    expect(bytes.length).toBe(layer.size);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
    const raw = gunzipSync(bytes);
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(layer.diffId);
    expect(raw.equals(await tarStreamPack(root))).toBe(true);
  });

  it('is a tar another tool lists: sorted, owner 0/0, fixed time, normalised modes', async () => {
    const model = await buildModelLayers({ modelPath: join(dir.path, 'one'), workDir: dir.path });
    const path = await layerFile(model.layers[0]!, 'one.tgz');
    await model.dispose();
    expect(listing(path)).toEqual([
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

  it('a big file gets a layer of its own, with the parent directories it needs to unpack alone', async () => {
    const model = await buildModelLayers({
      modelPath: join(dir.path, 'one'),
      workDir: dir.path,
      ownLayerMinBytes: 100_000,
    });
    expect(model.layers.map((layer) => [layer.description, layer.files])).toEqual([
      ['model files', ['a.json', 'run.sh']],
      ['b/deep/weights.bin', ['b/deep/weights.bin']],
    ]);
    expect(listing(await layerFile(model.layers[0]!, 'shared.tgz'))).toEqual([
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/',
      '-rw-r--r-- 0/0 16 1980-01-01 00:00 mnt/models/a.json',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/deep/',
      'lrwxrwxrwx 0/0 0 1980-01-01 00:00 mnt/models/link.json -> a.json',
      '-rwxr-xr-x 0/0 10 1980-01-01 00:00 mnt/models/run.sh',
    ]);
    expect(listing(await layerFile(model.layers[1]!, 'big.tgz'))).toEqual([
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/',
      'drwxr-xr-x 0/0 0 1980-01-01 00:00 mnt/models/b/deep/',
      '-rw-r--r-- 0/0 200000 1980-01-01 00:00 mnt/models/b/deep/weights.bin',
    ]);
    await model.dispose();
  });

  it('the model content hash is the same however the files are layered, and is sha256sum over the files', async () => {
    const root = join(dir.path, 'one');
    const single = await buildModelLayers({ modelPath: root, workDir: dir.path });
    const split = await buildModelLayers({ modelPath: root, workDir: dir.path, ownLayerMinBytes: 1 });
    await Promise.all([single.dispose(), split.dispose()]);
    expect(split.layers).toHaveLength(4);
    expect(split.files).toEqual(single.files);
    expect(split.modelSha256).toBe(single.modelSha256);
    const sha = (path: string) =>
      createHash('sha256')
        .update(readFileSync(join(root, path)))
        .digest('hex');
    const list = ['a.json', 'b/deep/weights.bin', 'run.sh'].map((path) => `${sha(path)}  ${path}\n`).join('');
    expect(single.modelSha256).toBe(createHash('sha256').update(list).digest('hex'));
    expect(single.modelSha256).toBe(modelContentSha256(single.files));
  });

  it('a change to one big file changes that layer only', async () => {
    const root = join(dir.path, 'three-big');
    mkdirSync(root);
    for (const name of ['a.bin', 'b.bin', 'c.bin']) writeFileSync(join(root, name), randomBytes(150_000));
    writeFileSync(join(root, 'config.json'), '{}');
    const options = { modelPath: root, workDir: dir.path, ownLayerMinBytes: 100_000 };
    const before = await buildModelLayers(options);
    const bytes = readFileSync(join(root, 'b.bin'));
    bytes[1000] = bytes[1000]! ^ 1;
    writeFileSync(join(root, 'b.bin'), bytes);
    const after = await buildModelLayers(options);
    await Promise.all([before.dispose(), after.dispose()]);
    expect(after.layers.map((layer) => layer.description)).toEqual(['model files', 'a.bin', 'b.bin', 'c.bin']);
    expect(
      after.layers.map(
        (layer) => layer.digest === before.layers.find((l) => l.description === layer.description)!.digest,
      ),
    ).toEqual([true, true, false, true]);
  });

  it('says how far each layer is hashed (stored) or compressed, every 32 MiB and when done', async () => {
    const root = join(dir.path, 'progress');
    mkdirSync(root);
    writeFileSync(join(root, 'weights.bin'), randomBytes(70 << 20));
    writeFileSync(join(root, 'vocab.txt'), 'token\n'.repeat(15 << 20)); // 90 MiB that compress
    const told: [string, number, number][] = [];
    const built = await buildModelLayers({
      modelPath: root,
      workDir: dir.path,
      ownLayerMinBytes: 1 << 20,
      onPrepared: (description, done, total) => told.push([description, done, total]),
    });
    await built.dispose();
    expect(built.layers.map((layer) => [layer.description, layer.compressionLevel])).toEqual([
      ['vocab.txt', 1],
      ['weights.bin', 0],
    ]);
    for (const name of ['weights.bin', 'vocab.txt']) {
      const lines = told.filter(([description]) => description === name);
      const total = lines[0]![2];
      expect(total).toBeGreaterThan(70 << 20);
      const done = lines.map(([, bytes]) => bytes);
      // Every 32 MiB or more, rising, and the last line is the whole layer.
      expect(done.length).toBeGreaterThanOrEqual(3);
      expect(done.at(-1)).toBe(total);
      for (const [index, bytes] of done.slice(1).entries()) expect(bytes - done[index]!).toBeGreaterThan(0);
      expect(done.slice(0, -1).every((bytes, index) => bytes - (index ? done[index - 1]! : 0) >= 32 << 20)).toBe(true);
    }
  });

  it('compresses what compresses (auto, per layer), and a changed byte changes the digest', async () => {
    const root = join(dir.path, 'three');
    makeModel(root, new Date('2020-01-01'), 0o644);
    const compressed = await buildModelLayers({ modelPath: root, workDir: dir.path });
    expect(compressed.layers[0]!.compressionLevel).toBe(1);
    writeFileSync(join(root, 'a.json'), '{"name":"churm"}');
    const changed = await buildModelLayers({ modelPath: root, workDir: dir.path, compressionLevel: 1 });
    expect(changed.layers[0]!.digest).not.toBe(compressed.layers[0]!.digest);
    expect(changed.files.find((file) => file.path === 'a.json')!.sha256).not.toBe(
      compressed.files.find((file) => file.path === 'a.json')!.sha256,
    );
    const bytes = await bytesOf(await changed.layers[0]!.open(0));
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(changed.layers[0]!.digest);
    await Promise.all([compressed.dispose(), changed.dispose()]);

    writeFileSync(join(root, 'weights.bin'), randomBytes(300_000));
    const mixed = await buildModelLayers({ modelPath: root, workDir: dir.path, ownLayerMinBytes: 250_000 });
    await mixed.dispose();
    expect(mixed.layers.map((layer) => [layer.description, layer.compressionLevel])).toEqual([
      ['model files', 1],
      ['weights.bin', 0],
    ]);
    const random = join(dir.path, 'random');
    mkdirSync(random);
    writeFileSync(join(random, 'w.bin'), randomBytes(100_000));
    const stored = await buildModelLayers({ modelPath: random, workDir: dir.path });
    await stored.dispose();
    expect(stored.layers[0]!.compressionLevel).toBe(0);
    expect(stored.modelSha256).toBe(stored.files[0]!.sha256);
  });

  it('a file that changes size while the image is built is an error naming it', async () => {
    const root = join(dir.path, 'shrinking');
    mkdirSync(root);
    writeFileSync(join(root, 'w.bin'), randomBytes(200_000));
    const plan = await planModelLayers({ modelPath: root, workDir: dir.path });
    truncateSync(join(root, 'w.bin'), 1000);
    await expect(plan.seal()).rejects.toThrow(`model file ${join(root, 'w.bin')} changed while the image was built`);
    await plan.dispose();
  });

  it('names an empty or missing model path', async () => {
    mkdirSync(join(dir.path, 'empty'));
    await expect(buildModelLayers({ modelPath: join(dir.path, 'empty'), workDir: dir.path })).rejects.toThrow(
      `model-path ${join(dir.path, 'empty')} has no files to put in the image`,
    );
    await expect(buildModelLayers({ modelPath: join(dir.path, 'missing'), workDir: dir.path })).rejects.toThrow(
      `model-path ${join(dir.path, 'missing')} does not exist`,
    );
  });
});

describe('which files get a layer of their own', () => {
  const file = (name: string, size: number) => ({ name: `m/${name}`, type: 'file' as const, size });
  const MiB = 1 << 20;

  it('files of 16 MiB or more, when there is room; the rest share a layer', () => {
    expect([...ownLayerFiles([file('a', 16 * MiB), file('b', 16 * MiB - 1), file('c', 1)], 16 * MiB)]).toEqual(['m/a']);
  });

  it('past the cap, the smallest big files join the shared layer (ties by path)', () => {
    const files = [file('e', 50), file('d', 40), file('c', 40), file('b', 30), file('a', 20)];
    expect([...ownLayerFiles(files, 10, 4)].sort()).toEqual(['m/c', 'm/d', 'm/e']);
    expect([...ownLayerFiles(files, 10, 3)].sort()).toEqual(['m/c', 'm/e']);
    expect([...ownLayerFiles(files, 10, 1)]).toEqual([]);
  });

  it('no shared layer is kept when every entry is a big file (or a directory above one)', () => {
    const entries = [{ name: 'm/w/', type: 'directory' as const, size: 0 }, file('w/a', 20), file('w/b', 30)];
    expect([...ownLayerFiles(entries, 10, 2)]).toEqual(['m/w/b', 'm/w/a']);
    const withEmptyDir = [...entries, { name: 'm/empty/', type: 'directory' as const, size: 0 }];
    expect([...ownLayerFiles(withEmptyDir, 10, 2)]).toEqual(['m/w/b']);
    const withLink = [...entries, { name: 'm/link', type: 'symlink' as const, size: 0 }];
    expect([...ownLayerFiles(withLink, 10, 2)]).toEqual(['m/w/b']);
  });
});
