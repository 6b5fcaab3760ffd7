import { createHash } from 'node:crypto';
import { modelSourceLabels, provenanceFromLabels } from '../../src/core/image-labels.js';
import {
  displayUri,
  modelContentSha256,
  parseModelSource,
  safeRelativePath,
  type ModelProvenance,
} from '../../src/core/model-source.js';

describe('parseModelSource', () => {
  it.each([
    [
      'azureml://registries/shared-ml/models/churn/versions/7',
      { kind: 'azureml-registry', registry: 'shared-ml', name: 'churn', version: '7' },
    ],
    ['azureml:churn:7', { kind: 'azureml-workspace', name: 'churn', version: '7' }],
    ['models:/churn/12', { kind: 'mlflow', name: 'churn', version: '12' }],
    ['models:/churn@champion', { kind: 'mlflow', name: 'churn', alias: 'champion' }],
    ['https://acct.blob.core.windows.net/models/churn.tgz?sv=2024&sig=abc', { kind: 'https' }],
    ['http://127.0.0.1:8080/model.tar.gz', { kind: 'https', url: 'http://127.0.0.1:8080/model.tar.gz' }],
    ['oci://myacr.azurecr.io/models/churn:7', { kind: 'oci', reference: 'myacr.azurecr.io/models/churn:7' }],
  ])('reads %s', (reference, expected) => {
    expect(parseModelSource(reference)).toMatchObject({ ...expected, uri: reference });
  });

  it.each([
    ['azureml:churn', 'needs a name and a version'],
    ['azureml://registries/r/models/churn', 'is not an Azure ML registry model path'],
    ['azureml://registries/r/models/ch urn/versions/1', 'characters Azure ML refuses'],
    ['models:/churn', 'needs a version or an alias'],
    ['models:/churn/latest', 'version that is not a number'],
    ['http://models.example.com/m.tgz', 'plain http'],
    ['s3://bucket/model', 'not a model reference'],
  ])('refuses %s, saying why and which forms it takes', (reference, why) => {
    expect(() => parseModelSource(reference)).toThrow(why);
    expect(() => parseModelSource(reference)).toThrow('models:/<name>/<version>');
  });

  it('never shows a SAS token in its error or in displayUri', () => {
    const sas = 'https://user:pw@acct.blob.core.windows.net/m/model.tgz?sv=2024&sig=SECRET';
    expect(displayUri(sas)).toBe('https://acct.blob.core.windows.net/m/model.tgz?…');
    expect(() => parseModelSource(sas.replace('https', 'http'))).toThrow(/^(?!.*SECRET)/s);
  });
});

describe('safeRelativePath', () => {
  it.each([
    ['model/weights.bin', 'model/weights.bin'],
    ['./a//b\\c.txt', 'a/b/c.txt'],
  ])('keeps %s as %s', (path, expected) => expect(safeRelativePath(path, 'src')).toBe(expected));
  it.each(['../etc/passwd', 'a/../../b', '', '/'])('refuses %j', (path) => {
    expect(() => safeRelativePath(path, 'model-source models:/m/1')).toThrow('leaves the model directory');
  });
});

describe('modelContentSha256', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  it('is the one file hash for a single file', () => {
    expect(modelContentSha256([{ path: 'model.onnx', sha256: sha('x') }])).toBe(sha('x'));
  });
  it('is the sha256sum list, sorted by path, for several files: the order files arrived in does not matter', () => {
    const files = [
      { path: 'b.bin', sha256: sha('b') },
      { path: 'a/config.json', sha256: sha('a') },
    ];
    const expected = sha(`${sha('a')}  a/config.json\n${sha('b')}  b.bin\n`);
    expect(modelContentSha256(files)).toBe(expected);
    expect(modelContentSha256([...files].reverse())).toBe(expected);
  });
});

describe('provenance labels', () => {
  const model: ModelProvenance = {
    kind: 'azureml-workspace',
    uri: 'azureml:churn:7',
    name: 'churn',
    version: '7',
    sha256: 'f'.repeat(64),
    files: 3,
    bytes: 1234,
  };
  it('round-trips through the image labels', () => {
    const labels = modelSourceLabels(model);
    expect(labels['org.opencontainers.image.version']).toBe('7');
    expect(provenanceFromLabels({ ...labels, other: 'x' })).toEqual(model);
  });
  it('finds none on an image model-canary did not build', () => {
    expect(provenanceFromLabels({ 'org.opencontainers.image.title': 'x' })).toBeUndefined();
    expect(provenanceFromLabels(undefined)).toBeUndefined();
  });
});
