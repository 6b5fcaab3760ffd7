// How long resolving an MLflow model version takes when it has many artifact files, through both listings: the
// proxied mlflow-artifacts API (one request per directory) and a run's artifacts/list (pages of PAGE entries).
// Usage: npm run bench -- mlflow-listing [FILES] [PAGE] (default 2000 files in 40 directories, pages of 100).
import { resolveMlflow } from '../src/adapters/model-sources/mlflow.js';
import { parseModelSource, type ModelSourceRef } from '../src/core/model-source.js';
import { startFakeMlflow } from '../test/support/fake-mlflow.js';

export default async function run(args: string[]): Promise<void> {
  const count = Number(args[0] ?? 2000);
  const pageSize = Number(args[1] ?? 100);
  const fake = await startFakeMlflow({ pageSize });
  try {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < count; i++) files[`data/shard-${i % 40}/part-${i}.bin`] = Buffer.from(String(i));
    fake.addModelVersion({ name: 'proxied', version: 1, files, source: 'mlflow-artifacts' });
    fake.addModelVersion({ name: 'run', version: 1, files, source: 'runs' });
    console.log(`${count} files in 40 directories, artifacts/list pages of ${pageSize}`);
    for (const name of ['proxied', 'run']) {
      const ref = parseModelSource(`models:/${name}/1`) as Extract<ModelSourceRef, { kind: 'mlflow' }>;
      const before = fake.requests.length;
      const started = performance.now();
      const resolved = await resolveMlflow(ref, { trackingUri: fake.url });
      const ms = performance.now() - started;
      console.log(
        `${name.padEnd(8)} ${resolved.files.length} files  ${fake.requests.length - before} requests  ${ms.toFixed(0)} ms`,
      );
    }
  } finally {
    await fake.stop();
  }
}
