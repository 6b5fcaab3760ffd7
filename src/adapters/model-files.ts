// The files of a local model directory, for plan's serving-layout check.
import { stat } from 'node:fs/promises';
import fg from 'fast-glob';

/** Paths relative to `dir`, `/`-separated and sorted; undefined when `dir` is not a directory. */
export async function listModelFiles(dir: string): Promise<string[] | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  return (await fg('**/*', { cwd: dir, onlyFiles: true, dot: true, followSymbolicLinks: false })).sort();
}
