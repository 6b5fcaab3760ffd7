// A folder of manifests is walked without fast-glob (for start time); it must find what fast-glob's
// `**/*.{yaml,yml,json}` found before, on a tree with the cases that differ between walkers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fg from 'fast-glob';
import { readManifestFiles } from '../../src/adapters/manifest-files.js';

let root: string;
const manifest = 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mc-manifests-'));
  const put = (path: string) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), manifest);
  };
  for (const path of [
    'k8s/app.yaml',
    'k8s/svc.yml',
    'k8s/extra.json',
    'k8s/README.md',
    'k8s/notes.yaml.bak',
    'k8s/.hidden.yaml',
    'k8s/.git/config.yaml',
    'k8s/nested/deep/hpa.yaml',
    'k8s/UPPER.YAML',
    'shared/common.yaml',
  ]) {
    put(path);
  }
  symlinkSync(join(root, 'shared'), join(root, 'k8s', 'linked'));
  symlinkSync(join(root, 'shared', 'common.yaml'), join(root, 'k8s', 'alias.yaml'));
  symlinkSync(join(root, 'nowhere.yaml'), join(root, 'k8s', 'dangling.yaml'));
  symlinkSync(join(root, 'k8s'), join(root, 'k8s', 'nested', 'loop'));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('readManifestFiles on a folder', () => {
  // fast-glob follows a link back up the tree until the paths get too long; the walk enters each folder once.
  it('finds the files fast-glob finds, in the same order, and a link loop once', async () => {
    const walked = (await readManifestFiles(['k8s/'], root)).map((source) => source.path);
    const globbed = (
      await fg('**/*.{yaml,yml,json}', { cwd: join(root, 'k8s'), absolute: true, followSymbolicLinks: true, deep: 3 })
    )
      .map((path) => path.slice(root.length + 1))
      .filter((path) => !path.includes('/loop/'))
      .sort();
    expect(walked).toEqual(globbed);
    expect(walked).toEqual([
      'k8s/alias.yaml',
      'k8s/app.yaml',
      'k8s/extra.json',
      'k8s/linked/common.yaml',
      'k8s/nested/deep/hpa.yaml',
      'k8s/svc.yml',
    ]);
  });

  it('an absolute folder path gives absolute paths outside the working directory', async () => {
    const walked = (await readManifestFiles([join(root, 'shared')], join(root, 'k8s'))).map((source) => source.path);
    expect(walked).toEqual([join(root, 'shared', 'common.yaml')]);
  });

  it('globs still go through fast-glob', async () => {
    const found = (await readManifestFiles(['k8s/*.yml', 'k8s/nested/deep/**/*.yaml'], root)).map(
      (source) => source.path,
    );
    expect(found).toEqual(['k8s/svc.yml', 'k8s/nested/deep/hpa.yaml']);
  });
});
