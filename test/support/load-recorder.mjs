// A module hook (node --experimental-loader) that appends every file: URL the process loads to $LOADED_MODULES_FILE.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  if (url.startsWith('file:')) appendFileSync(process.env.LOADED_MODULES_FILE, `${url}\n`);
  return nextLoad(url, context);
}
