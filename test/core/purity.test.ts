// src/core/ is pure decision logic: no toolkit, no HTTP, no cluster client, no file system, no processes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const FORBIDDEN =
  /^(@actions\/|axios|@kubernetes\/|(node:)?(fs|child_process|net|http|https|dgram|os)(\/|$)|\.\.\/(adapters|commands|engine)\/)/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('src/core purity', () => {
  const sources = files('src/core');
  it('has modules to check', () => expect(sources.length).toBeGreaterThan(5));
  it.each(sources)('%s imports nothing with I/O', (path) => {
    const imports = [
      ...readFileSync(path, 'utf8').matchAll(
        /(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g,
      ),
    ].map((match) => (match[1] ?? match[2]) as string);
    expect(imports.filter((specifier) => FORBIDDEN.test(specifier))).toEqual([]);
  });
  it('rejects what it should (the check itself can fail)', () => {
    expect(FORBIDDEN.test('node:fs/promises')).toBe(true);
    expect(FORBIDDEN.test('@actions/core')).toBe(true);
    expect(FORBIDDEN.test('../adapters/prometheus.js')).toBe(true);
    expect(FORBIDDEN.test('./plan.js')).toBe(false);
    expect(FORBIDDEN.test('yaml')).toBe(false);
  });
});
