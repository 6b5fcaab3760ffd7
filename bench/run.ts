// `npm run bench -- <name> [args]`: runs bench/<name>.ts, which prints its numbers.
import { readdirSync } from 'node:fs';

const available = readdirSync(new URL('.', import.meta.url))
  .filter((file) => file.endsWith('.ts') && file !== 'run.ts')
  .map((file) => file.replace(/\.ts$/, ''));
const [name, ...args] = process.argv.slice(2);
const chosen = name ? [name] : available;
for (const bench of chosen) {
  if (!available.includes(bench)) {
    console.error(`no benchmark '${bench}': choose one of ${available.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n## bench ${bench}`);
  const module = (await import(`./${bench}.ts`)) as { default: (args: string[]) => Promise<void> };
  await module.default(args);
}
