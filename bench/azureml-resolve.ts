// How long resolving an Azure ML model takes when it has many files (a tokenizer folder, sharded weights): ARM calls
// plus List Blobs pages, against the local fakes. Blob bytes are tiny; this measures the listing, not downloads.
import { resolveAzureMl } from '../src/adapters/model-sources/azureml.js';
import { parseModelSource } from '../src/core/model-source.js';
import { startFakeAzureMl } from '../test/support/fake-azureml.js';

const WS = { subscription: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', workspace: 'ws' };

export default async function run(args: string[]): Promise<void> {
  const sizes = args.length > 0 ? args.map(Number) : [100, 2000, 10000];
  const fake = await startFakeAzureMl();
  try {
    fake.blob.pageSize = 5000; // the service's own page cap
    for (const count of sizes) {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < count; i++) files[`shards/${String(i).padStart(6, '0')}.bin`] = Buffer.from(`shard ${i}`);
      fake.addWorkspaceModel({ ...WS, name: `many-${count}`, version: '1', files });
      const ref = parseModelSource(`azureml:many-${count}:1`);
      if (ref.kind !== 'azureml-workspace') throw new Error('expected a workspace reference');
      const started = performance.now();
      const model = await resolveAzureMl(ref, { ...WS, ...fake.resolverOptions(), retries: 0 });
      const ms = performance.now() - started;
      const pages = fake.blob.requests.filter((request) => request.query.comp === 'list').length;
      fake.blob.requests.length = 0;
      console.log(
        `${String(model.files.length).padStart(6)} files: ${ms.toFixed(1).padStart(7)} ms ` +
          `(${Math.round((model.files.length / ms) * 1000)} files/s, ${pages} list page${pages === 1 ? '' : 's'})`,
      );
    }
  } finally {
    await fake.close();
  }
}
