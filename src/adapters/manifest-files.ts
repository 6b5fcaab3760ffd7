// Manifest paths (files, folders, globs) -> their text, in a stable order.
import { open, stat } from 'node:fs/promises';
import fg from 'fast-glob';
import { MAX_MANIFEST_FILE_BYTES, ManifestError, oversizedManifest, type ManifestSource } from '../core/manifests.js';

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
  const read = await Promise.all([...paths].map((path) => readManifest(path, relative(path))));
  const tooLarge = read.filter((file): file is string => typeof file === 'string');
  if (tooLarge.length > 0) throw new ManifestError(tooLarge);
  return read.filter((file): file is ManifestSource => typeof file !== 'string');
}

/** The file's text, or why it is refused: its size is checked before a byte of it is read. */
async function readManifest(path: string, shown: string): Promise<ManifestSource | string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > MAX_MANIFEST_FILE_BYTES) return oversizedManifest(shown, size);
    return { path: shown, text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}
