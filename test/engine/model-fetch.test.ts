// fetchModel on plain data: a backend in memory, so the labelling of errors and the provenance are checked alone.
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { ModelSourceError, type ModelSourceRef, type RemoteFile } from '../../src/core/model-source.js';
import type { Clock, Logger } from '../../src/core/ports.js';
import { fetchModel, type ModelSourceBackend } from '../../src/engine/model-fetch.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const clock: Clock = { now: () => new Date(0), monotonicMs: () => 0, sleep: async () => undefined };
function logger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`), debug: () => undefined };
}

function backend(files: Record<string, string>, version: string, failure?: 'resolve' | 'download'): ModelSourceBackend {
  return {
    resolve: async (ref: ModelSourceRef) => {
      if (failure === 'resolve') throw new Error('MLflow at http://127.0.0.1:5000 has no version 9 of model churn');
      return {
        source: ref,
        name: 'churn',
        version,
        files: Object.keys(files).map((path): RemoteFile => ({ path, url: `http://127.0.0.1/${path}` })),
      };
    },
    download: async (remote, _dir, options) => {
      if (failure === 'download') throw new Error(`${options.label}: model.pkl: sha256 differs`);
      return remote.map((file) => {
        options.onProgress(file.path, files[file.path]!.length, files[file.path]!.length);
        return { path: file.path, size: files[file.path]!.length, sha256: sha(files[file.path]!) };
      });
    },
  };
}

describe('fetchModel', () => {
  it('records the registered name, version and the content hash of what landed', async () => {
    const log = logger();
    const fetched = await fetchModel('models:/churn@champion', '/tmp/m', {
      backend: backend({ 'model.pkl': 'weights', MLmodel: 'flavors' }, '4'),
      logger: log,
      clock,
    });
    expect(fetched.provenance).toEqual({
      kind: 'mlflow',
      uri: 'models:/churn@champion',
      name: 'churn',
      version: '4',
      sha256: sha(`${sha('flavors')}  MLmodel\n${sha('weights')}  model.pkl\n`),
      files: 2,
      bytes: 14,
    });
    expect(fetched.files).toEqual(['MLmodel', 'model.pkl']);
    expect(log.lines.join('\n')).toContain(
      'model-source models:/churn@champion (version 4): churn version 4, 2 file(s)',
    );
  });

  it('names an unversioned artifact by its content, and shows no SAS token', async () => {
    const log = logger();
    const fetched = await fetchModel('https://a.blob.core.windows.net/m/model.onnx?sig=SECRET', '/tmp/m', {
      backend: backend({ 'model.onnx': 'onnx' }, ''),
      logger: log,
      clock,
    });
    expect(fetched.provenance.version).toBe(`sha256-${sha('onnx').slice(0, 12)}`);
    expect(fetched.provenance.uri).toBe('https://a.blob.core.windows.net/m/model.onnx?…');
    expect(log.lines.join('\n')).not.toContain('SECRET');
  });

  it.each([
    ['resolve', 'model-source models:/churn/9: MLflow at http://127.0.0.1:5000 has no version 9 of model churn'],
    ['download', 'model-source models:/churn/9: model.pkl: sha256 differs'],
  ] as const)('names the source and the version when %s fails', async (failure, message) => {
    const run = fetchModel('models:/churn/9', '/tmp/m', {
      backend: backend({ 'model.pkl': 'x' }, '9', failure),
      logger: logger(),
      clock,
    });
    await expect(run).rejects.toThrow(ModelSourceError);
    await expect(run).rejects.toThrow(message);
  });

  it('refuses a model version with no files', async () => {
    await expect(
      fetchModel('azureml:churn:2', '/tmp/m', { backend: backend({}, '2'), logger: logger(), clock }),
    ).rejects.toThrow('model-source azureml:churn:2: the model has no files');
  });
});
