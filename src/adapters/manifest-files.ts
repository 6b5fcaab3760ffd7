// Manifest paths (files, folders, globs) -> their text, in a stable order.
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_MANIFEST_FILE_BYTES, ManifestError, oversizedManifest, type ManifestSource } from '../core/manifests.js';

const MANIFEST_FILE = /\.(ya?ml|json)$/;

/**
 * A folder's manifests as fast-glob's `**\/*.{yaml,yml,json}` finds them (hidden files and folders skipped, links
 * followed, each folder once), walked here because loading fast-glob was a tenth of `plan`'s start.
 */
async function manifestsUnder(dir: string, seen = new Set<string>()): Promise<string[]> {
  const real = await realpath(dir);
  if (seen.has(real)) return [];
  seen.add(real);
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const kind = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (kind?.isDirectory()) found.push(...(await manifestsUnder(path, seen)));
    else if (kind?.isFile() && MANIFEST_FILE.test(entry.name)) found.push(path);
  }
  return found;
}

async function expand(pattern: string, cwd: string): Promise<string[]> {
  const info = await stat(`${cwd}/${pattern}`).catch(() => stat(pattern).catch(() => undefined));
  if (info?.isDirectory()) return manifestsUnder(pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`);
  if (info?.isFile()) return [pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`];
  const { default: fg } = await import('fast-glob');
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
