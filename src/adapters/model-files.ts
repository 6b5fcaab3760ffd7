// The files of a local model directory, for plan's serving-layout check.
import { stat } from 'node:fs/promises';

/** Paths relative to `dir`, `/`-separated and sorted; undefined when `dir` is not a directory. */
export async function listModelFiles(dir: string): Promise<string[] | undefined> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) return undefined;
  // Loaded here: a plan with no model folder (an image given) never pays for it.
  const { default: fg } = await import('fast-glob');
  return (await fg('**/*', { cwd: dir, onlyFiles: true, dot: true, followSymbolicLinks: false })).sort();
}
