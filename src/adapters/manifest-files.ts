// Manifest paths (files, folders, globs) -> their text, in a stable order.
import { readFile, stat } from 'node:fs/promises';
import fg from 'fast-glob';
import { ManifestError, type ManifestSource } from '../core/manifests.js';

const MANIFEST_FILES = '**/*.{yaml,yml,json}';

async function expand(pattern: string, cwd: string): Promise<string[]> {
  const info = await stat(`${cwd}/${pattern}`).catch(() => stat(pattern).catch(() => undefined));
  if (info?.isDirectory()) {
    return fg(MANIFEST_FILES, { cwd: pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`, absolute: true });
  }
  if (info?.isFile()) return [pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`];
  return fg(pattern, { cwd, absolute: true, onlyFiles: true });
}

export async function readManifestFiles(patterns: string[], cwd = process.cwd()): Promise<ManifestSource[]> {
  const problems: string[] = [];
  const paths = new Set<string>();
  for (const pattern of patterns) {
    const found = await expand(pattern, cwd);
    if (found.length === 0) problems.push(`manifests: nothing matches '${pattern}' (in ${cwd})`);
    for (const path of found.sort()) paths.add(path);
  }
  if (problems.length > 0) throw new ManifestError(problems);
  const relative = (path: string) => (path.startsWith(`${cwd}/`) ? path.slice(cwd.length + 1) : path);
  return Promise.all([...paths].map(async (path) => ({ path: relative(path), text: await readFile(path, 'utf8') })));
}
