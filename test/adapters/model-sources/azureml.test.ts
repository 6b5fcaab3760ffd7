import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import axios from 'axios';
import { createHash } from 'node:crypto';
import { containerSas, parseBlobList, parseBlobUrl } from '../../../src/adapters/model-sources/azure-blob.js';
import {
  azureCliTokenProvider,
  resolveAzureMl,
  type AzureMlOptions,
  type AzureMlRef,
} from '../../../src/adapters/model-sources/azureml.js';
import { ModelSourceError, parseModelSource, type ResolvedModel } from '../../../src/core/model-source.js';
import { ARM_AUDIENCE, STORAGE_AUDIENCE, startFakeAzureMl, type FakeAzureMl } from '../../support/fake-azureml.js';

const WS = { subscription: '00000000-1111-2222-3333-444444444444', resourceGroup: 'rg-ml', workspace: 'ws-churn' };

const bytes = (text: string, repeat = 1): Buffer => Buffer.from(text.repeat(repeat));
const md5 = (data: Buffer): string => createHash('md5').update(data).digest('hex');

const churnFiles: Record<string, Buffer> = {
  MLmodel: bytes('artifact_path: model\nflavors: {}\n'),
  'model.pkl': bytes('pickle-bytes-', 5000),
  'conda.yaml': bytes('dependencies: [python=3.11]\n'),
  'code/score.py': bytes('def run(x): return x\n'),
  'code/utils/features.py': bytes('FEATURES = ["tenure"]\n'),
};

function ref(uri: string): AzureMlRef {
  const parsed = parseModelSource(uri);
  if (parsed.kind !== 'azureml-workspace' && parsed.kind !== 'azureml-registry') throw new Error(`not azureml: ${uri}`);
  return parsed;
}

/** Runs `work` expecting a ModelSourceError, and returns it. */
async function failure(work: Promise<unknown>): Promise<ModelSourceError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ModelSourceError);
  return error as ModelSourceError;
}

describe('Azure ML model resolver against fake Azure ML and Blob Storage', () => {
  let fake: FakeAzureMl;
  let masked: string[];
  const messages: string[] = [];

  beforeAll(async () => {
    fake = await startFakeAzureMl();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    masked = [];
    fake.requests.length = 0;
    fake.blob.requests.length = 0;
    fake.tokenRequests.length = 0;
  });

  const options = (overrides: Partial<AzureMlOptions> = {}): AzureMlOptions => ({
    mask: (secret) => masked.push(secret),
    ...WS,
    ...fake.resolverOptions(),
    retries: 0,
    ...overrides,
  });

  const expectFailure = async (work: Promise<unknown>): Promise<string> => {
    const { message } = await failure(work);
    messages.push(message);
    return message;
  };

  it('resolves a workspace model: every file of it (nested folders too), sizes, Content-MD5, across list pages', async () => {
    const seeded = fake.addWorkspaceModel({ ...WS, name: 'churn', version: '7', files: churnFiles });
    // A sibling whose name shares the prefix must not leak in.
    fake.blob.putBlob(seeded.account, seeded.container, `${seeded.prefix}-old/model.pkl`, bytes('stale'));
    fake.blob.putBlob(seeded.account, seeded.container, `${seeded.prefix}/code`, Buffer.alloc(0), { folder: true });

    const model = await resolveAzureMl(ref('azureml:churn:7'), options());

    expect(model.name).toBe('churn');
    expect(model.version).toBe('7');
    expect(model.files.map((file) => file.path)).toEqual([
      'MLmodel',
      'code/score.py',
      'code/utils/features.py',
      'conda.yaml',
      'model.pkl',
    ]);
    for (const file of model.files) {
      const data = churnFiles[file.path]!;
      expect(file.size).toBe(data.length);
      expect(file.hash).toEqual({ algorithm: 'md5', hex: md5(data) });
      expect(file.headers?.['x-ms-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(new URL(file.url).searchParams.get('sig')).toBeTruthy();
    }
    const lists = fake.blob.requests.filter((request) => request.query.comp === 'list');
    expect(lists.length).toBeGreaterThan(2);
    expect(lists.slice(1).every((request) => request.query.marker)).toBe(true);
    expect(lists[0]!.query.prefix).toBe(seeded.prefix);
    const calls = fake.requests.map((request) => `${request.method} ${request.path.split('/workspaces/ws-churn/')[1]}`);
    expect(calls).toEqual([
      'GET models/churn/versions/7',
      'GET datastores/workspaceblobstore',
      'POST datastores/workspaceblobstore/listSecrets',
    ]);
    expect(fake.requests.every((request) => request.query['api-version'] === '2024-04-01')).toBe(true);
  });

  it('lists files a plain GET with the returned url and headers downloads byte for byte, with ranges', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'download-me', version: '1', files: churnFiles });
    const model = await resolveAzureMl(ref('azureml:download-me:1'), options());
    for (const file of model.files) {
      const response = await axios.get<ArrayBuffer>(file.url, { headers: file.headers, responseType: 'arraybuffer' });
      const data = Buffer.from(response.data);
      expect(data.equals(churnFiles[file.path]!)).toBe(true);
      expect(md5(data)).toBe(file.hash?.hex);
      expect(Buffer.from(String(response.headers['content-md5']), 'base64').toString('hex')).toBe(file.hash?.hex);
    }
    const big = model.files.find((file) => file.path === 'model.pkl')!;
    const rest = await axios.get<ArrayBuffer>(big.url, {
      headers: { ...big.headers, Range: 'bytes=100-' },
      responseType: 'arraybuffer',
    });
    expect(rest.status).toBe(206);
    expect(rest.headers['content-range']).toBe(`bytes 100-${big.size! - 1}/${big.size}`);
    expect(Buffer.from(rest.data).equals(churnFiles['model.pkl']!.subarray(100))).toBe(true);
  });

  it('the fake storage can drop a download mid-file and serve a flipped byte, for the downloader tests', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'faulty', version: '1', files: churnFiles });
    const model = await resolveAzureMl(ref('azureml:faulty:1'), options());
    const big = model.files.find((file) => file.path === 'model.pkl')!;
    fake.blob.dropNextAfterBytes = 1000;
    const dropped = await axios.get<ArrayBuffer>(big.url, { headers: big.headers, responseType: 'arraybuffer' }).then(
      () => 'completed',
      (error: Error) => error.message,
    );
    expect(dropped).not.toBe('completed');
    fake.blob.corruptNextAt = 10;
    const corrupt = await axios.get<ArrayBuffer>(big.url, { headers: big.headers, responseType: 'arraybuffer' });
    expect(Buffer.from(corrupt.data).length).toBe(big.size);
    expect(md5(Buffer.from(corrupt.data))).not.toBe(big.hash?.hex);
    const clean = await axios.get<ArrayBuffer>(big.url, { headers: big.headers, responseType: 'arraybuffer' });
    expect(md5(Buffer.from(clean.data))).toBe(big.hash?.hex);
  });

  it('resolves a registry model through registry discovery and the registry SAS (datarefs)', async () => {
    const seeded = fake.addRegistryModel({ registry: 'shared-models', name: 'fraud', version: '3', files: churnFiles });
    const model = await resolveAzureMl(ref('azureml://registries/shared-models/models/fraud/versions/3'), options());

    expect(model.name).toBe('fraud');
    expect(model.version).toBe('3');
    expect(model.files).toHaveLength(5);
    expect(model.files.find((file) => file.path === 'code/utils/features.py')?.size).toBe(
      churnFiles['code/utils/features.py']!.length,
    );
    const [discovery, version, dataref] = fake.requests;
    expect(discovery!.path).toBe('/registrymanagement/v1.0/registries/shared-models/discovery');
    expect(version!.path).toMatch(
      /^\/mferp\/managementfrontend\/subscriptions\/[^/]+\/resourceGroups\/rg-shared-models\/.*\/registries\/shared-models\/models\/fraud\/versions\/3$/,
    );
    expect(version!.query['api-version']).toBe('2021-10-01-dataplanepreview');
    expect(dataref!.method).toBe('POST');
    expect(dataref!.body).toEqual({
      assetId: 'azureml://registries/shared-models/models/fraud/versions/3',
      blobUri: seeded.modelUri,
    });
    const response = await axios.get<ArrayBuffer>(model.files[0]!.url, {
      headers: model.files[0]!.headers,
      responseType: 'arraybuffer',
    });
    expect(Buffer.from(response.data).equals(churnFiles[model.files[0]!.path]!)).toBe(true);
    const sasSig = new URL(model.files[0]!.url).searchParams.get('sig')!;
    expect(masked).toContain(sasSig);
  });

  it('resolves `latest` to the newest registered version (Model Versions - List, createdtime desc, top 1)', async () => {
    fake.addWorkspaceModel({
      ...WS,
      name: 'ranker',
      version: '1',
      files: { 'a.bin': bytes('v1') },
      createdAt: new Date('2026-01-01'),
    });
    fake.addWorkspaceModel({
      ...WS,
      name: 'ranker',
      version: '12',
      files: { 'a.bin': bytes('v12') },
      createdAt: new Date('2026-06-01'),
    });
    fake.addWorkspaceModel({
      ...WS,
      name: 'ranker',
      version: '3',
      files: { 'a.bin': bytes('v3') },
      createdAt: new Date('2026-03-01'),
    });
    const model = await resolveAzureMl(ref('azureml:ranker:latest'), options());
    expect(model.version).toBe('12');
    expect((await resolveAzureMl(ref('azureml:RANKER:3'), options())).name).toBe('ranker');
    expect(model.files[0]!.size).toBe(3);
    expect(fake.requests[0]!.query).toMatchObject({ $orderBy: 'createdtime desc', $top: '1' });
  });

  it('takes a one-file model as that file, and reads SAS and identity-based datastores', async () => {
    fake.addWorkspaceModel({
      ...WS,
      name: 'onnx',
      version: '2',
      asFile: true,
      files: { 'model.onnx': bytes('onnx', 10) },
    });
    const single = await resolveAzureMl(ref('azureml:onnx:2'), options());
    expect(single.files.map((file) => [file.path, file.size])).toEqual([['model.onnx', 40]]);

    fake.addWorkspaceModel({
      ...WS,
      name: 'sas',
      version: '1',
      files: churnFiles,
      datastore: { name: 'sasstore', credentials: 'Sas' },
    });
    expect((await resolveAzureMl(ref('azureml:sas:1'), options())).files).toHaveLength(5);

    const idStore = { name: 'identitystore', credentials: 'None' as const };
    fake.addWorkspaceModel({
      ...WS,
      name: 'identity',
      version: '1',
      files: churnFiles,
      datastore: idStore,
      withoutMd5: true,
    });
    fake.tokenRequests.length = 0;
    fake.requests.length = 0;
    const identity = await resolveAzureMl(ref('azureml:identity:1'), options());
    expect(fake.tokenRequests).toEqual([ARM_AUDIENCE, STORAGE_AUDIENCE]);
    expect(identity.files.every((file) => file.headers?.Authorization === `Bearer ${fake.storageToken}`)).toBe(true);
    expect(identity.files.every((file) => file.hash === undefined)).toBe(true);
    expect(fake.requests.some((request) => request.path.endsWith('/listSecrets'))).toBe(false);
    const response = await axios.get<ArrayBuffer>(identity.files[0]!.url, {
      headers: identity.files[0]!.headers,
      responseType: 'arraybuffer',
    });
    expect(Buffer.from(response.data).equals(churnFiles[identity.files[0]!.path]!)).toBe(true);
  });

  it('reads Data Lake Gen2 datastores through their blob endpoint, and refuses File datastores by name', async () => {
    const lake = { name: 'lake', credentials: 'None' as const, type: 'AzureDataLakeGen2' as const };
    fake.addWorkspaceModel({ ...WS, name: 'lake-model', version: '1', files: churnFiles, datastore: lake });
    expect((await resolveAzureMl(ref('azureml:lake-model:1'), options())).files).toHaveLength(5);
    const share = { name: 'share', type: 'AzureFile' as const };
    fake.addWorkspaceModel({ ...WS, name: 'share-model', version: '1', files: churnFiles, datastore: share });
    expect(await expectFailure(resolveAzureMl(ref('azureml:share-model:1'), options()))).toBe(
      'model-source azureml:share-model:1: model share-model version 1 is in datastore share of type AzureFile; ' +
        'model-canary reads models from Azure Blob and Data Lake Gen2 datastores only',
    );
  });

  it('says which workspace has no such model version (ARM 404), and which registry', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'churn-nf', version: '7', files: churnFiles });
    expect(await expectFailure(resolveAzureMl(ref('azureml:churn-nf:9'), options()))).toMatch(
      /^model-source azureml:churn-nf:9: Azure ML workspace ws-churn \(resource group rg-ml\) has no model churn-nf version 9 \(HTTP 404 UserError\/NotFoundError\)$/,
    );
    expect(await expectFailure(resolveAzureMl(ref('azureml:churn-nf:9'), options({ workspace: 'other-ws' })))).toMatch(
      /Azure ML workspace other-ws \(resource group rg-ml\) has no model churn-nf version 9 \(HTTP 404 ResourceNotFound\)/,
    );
    fake.addRegistryModel({ registry: 'reg-nf', name: 'fraud', version: '1', files: churnFiles });
    expect(
      await expectFailure(resolveAzureMl(ref('azureml://registries/reg-nf/models/fraud/versions/2'), options())),
    ).toMatch(/Azure ML registry reg-nf has no model fraud version 2/);
    expect(
      await expectFailure(resolveAzureMl(ref('azureml://registries/nowhere/models/fraud/versions/2'), options())),
    ).toMatch(/Azure ML registry discovery has no registry nowhere/);
  });

  it('on 403 says to run azure/login and which role is needed, and never shows the token', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'locked', version: '1', files: churnFiles });
    const denied = fake.issueUnauthorizedToken(ARM_AUDIENCE);
    const message = await expectFailure(
      resolveAzureMl(ref('azureml:locked:1'), options({ getToken: async () => denied })),
    );
    expect(message).toMatch(/HTTP 403 AuthorizationFailed/);
    expect(message).toMatch(/run azure\/login .* AzureML Data Scientist role .* workspace ws-churn/);
    expect(message).not.toContain(denied);
    expect(masked).toContain(denied);

    const storageDenied = fake.issueUnauthorizedToken(STORAGE_AUDIENCE);
    fake.addWorkspaceModel({
      ...WS,
      name: 'locked-blob',
      version: '1',
      files: churnFiles,
      datastore: { name: 'idstore2', credentials: 'None' },
    });
    const getToken = async (resource: string) => (resource === STORAGE_AUDIENCE ? storageDenied : fake.armToken);
    const blobMessage = await expectFailure(resolveAzureMl(ref('azureml:locked-blob:1'), options({ getToken })));
    expect(blobMessage).toMatch(
      /HTTP 403 AuthorizationPermissionMismatch: run azure\/login .* Storage Blob Data Reader role on storage account st/,
    );
    expect(blobMessage).not.toContain(storageDenied);
  });

  it('a token for the wrong audience or a failing az CLI gives an error that says to run azure/login', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'aud', version: '1', files: churnFiles });
    const wrongAudience = await expectFailure(
      resolveAzureMl(ref('azureml:aud:1'), options({ getToken: async () => fake.storageToken })),
    );
    expect(wrongAudience).toMatch(/HTTP 401 InvalidAuthenticationToken\): run azure\/login/);
    const noLogin = await expectFailure(
      resolveAzureMl(
        ref('azureml:aud:1'),
        options({ getToken: () => Promise.reject(new Error('Please run az login')) }),
      ),
    );
    expect(noLogin).toMatch(
      /no Azure AD token for https:\/\/management\.azure\.com\/ \(Please run az login\): run azure\/login/,
    );
  });

  it('a workspace model without the workspace inputs names each missing input and calls nothing', async () => {
    const message = await expectFailure(
      resolveAzureMl(ref('azureml:churn:7'), options({ workspace: undefined, subscription: '' })),
    );
    expect(message).toMatch(/needs the inputs azureml-workspace, azureml-subscription/);
    expect(fake.requests).toHaveLength(0);
    expect(fake.tokenRequests).toHaveLength(0);
  });

  it('a model version with no files is an error naming the model, version and storage', async () => {
    const seeded = fake.addWorkspaceModel({ ...WS, name: 'hollow', version: '1', files: {} });
    fake.blob.putBlob(seeded.account, seeded.container, `${seeded.prefix}/empty-dir`, Buffer.alloc(0), {
      folder: true,
    });
    expect(await expectFailure(resolveAzureMl(ref('azureml:hollow:1'), options()))).toMatch(
      new RegExp(`model hollow version 1 has no files under '${seeded.prefix}' in storage account ${seeded.account}`),
    );
  });

  it('masks every token, key and SAS it obtained, and no error message holds one', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'secrets', version: '1', files: churnFiles });
    const model: ResolvedModel = await resolveAzureMl(ref('azureml:secrets:1'), options());
    expect(fake.requests.map((request) => request.path.split('/').pop())).toEqual([
      '1',
      'workspaceblobstore',
      'listSecrets',
    ]);
    expect(masked).toContain(fake.blob.accountKey(new URL(model.files[0]!.url).pathname.split('/')[1]!));
    expect(masked).toContain(fake.armToken);
    const sas = new URL(model.files[0]!.url).search.slice(1);
    expect(masked).toContain(sas);
    expect(masked).toContain(new URLSearchParams(sas).get('sig'));
    const secrets = [fake.armToken, fake.storageToken, ...masked];
    for (const message of messages) for (const secret of secrets) expect(message).not.toContain(secret);
    expect(messages.length).toBeGreaterThan(5);
  });

  it('retries a busy Azure ML and a busy Blob Storage, and says so when they stay busy', async () => {
    fake.addWorkspaceModel({ ...WS, name: 'busy', version: '1', files: churnFiles });
    fake.failNext = 2;
    fake.blob.failNext = 1;
    const model = await resolveAzureMl(ref('azureml:busy:1'), options({ retries: 2, retryDelayMs: 1 }));
    expect(model.files).toHaveLength(5);
    expect(fake.failNext + fake.blob.failNext).toBe(0);
    fake.failNext = 5;
    expect(
      await expectFailure(resolveAzureMl(ref('azureml:busy:1'), options({ retries: 1, retryDelayMs: 1 }))),
    ).toMatch(
      /Azure ML workspace ws-churn \(resource group rg-ml\) did not answer reading model busy version 1 \(127\.0\.0\.1:\d+\): .*503/,
    );
    fake.failNext = 0;
    fake.blob.failNext = 5;
    expect(
      await expectFailure(resolveAzureMl(ref('azureml:busy:1'), options({ retries: 1, retryDelayMs: 1 }))),
    ).toMatch(/listing storage account st\w+, container azureml-blobstore-[-\w]+ failed: .*503/);
    fake.blob.failNext = 0;
  });

  it('the fake refuses what Azure refuses: no token, no api-version, an unknown api-version', async () => {
    const path = `/subscriptions/${WS.subscription}/resourceGroups/${WS.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${WS.workspace}/models/churn/versions/7`;
    const get = (query: string, headers: Record<string, string> = { Authorization: `Bearer ${fake.armToken}` }) =>
      axios.get(`${fake.url}${path}${query}`, { headers, validateStatus: () => true });
    expect((await get('?api-version=2024-04-01', {})).data.error.code).toBe('AuthenticationFailed');
    expect((await get('')).data.error.code).toBe('MissingApiVersionParameter');
    expect((await get('?api-version=2019-01-01')).data.error.code).toBe('InvalidApiVersionParameter');
    const blob = await axios.get(`${fake.blob.url}/nosuchaccount/c?restype=container&comp=list`, {
      validateStatus: () => true,
    });
    expect(blob.status).toBe(400);
    expect(blob.headers['x-ms-error-code']).toBe('InvalidUri');
  });
});

describe('Azure Blob helpers', () => {
  it('parses virtual-hosted and path-style blob URLs', () => {
    expect(parseBlobUrl('https://acct.blob.core.windows.net/models/a/b%20c.bin')).toEqual({
      container: { account: 'acct', container: 'models', url: 'https://acct.blob.core.windows.net/models' },
      path: 'a/b c.bin',
    });
    expect(parseBlobUrl('http://127.0.0.1:10000/devstoreaccount1/c1/x/y')).toEqual({
      container: { account: 'devstoreaccount1', container: 'c1', url: 'http://127.0.0.1:10000/devstoreaccount1/c1' },
      path: 'x/y',
    });
    expect(parseBlobUrl('https://acct.blob.core.windows.net/')).toBeUndefined();
  });

  it('reads List Blobs XML: escaped and percent-encoded names, empty Content-MD5, folders, NextMarker', () => {
    const xml =
      '<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>' +
      '<Blob><Name>a&amp;b.txt</Name><Properties><Content-Length>3</Content-Length><Content-MD5>kAFQmDzST7DWlj99KOF/cg==</Content-MD5></Properties></Blob>' +
      '<Blob><Name Encoded="true">odd%01name</Name><Properties><Content-Length>0</Content-Length><Content-MD5 /></Properties></Blob>' +
      '<Blob><Name>dir</Name><Properties><Content-Length>0</Content-Length></Properties><Metadata><hdi_isfolder>true</hdi_isfolder></Metadata></Blob>' +
      '</Blobs><NextMarker>2!abc</NextMarker></EnumerationResults>';
    expect(parseBlobList(xml)).toEqual({
      blobs: [
        { name: 'a&b.txt', size: 3, md5: '900150983cd24fb0d6963f7d28e17f72', etag: undefined },
        { name: 'odd\u0001name', size: 0, md5: undefined, etag: undefined },
      ],
      nextMarker: '2!abc',
    });
    expect(parseBlobList('<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>')).toEqual({ blobs: [] });
  });

  it('signs a container SAS the fake storage (which checks it against the account key) accepts', async () => {
    const fake = await startFakeAzureMl();
    try {
      const key = fake.blob.addAccount('acct1');
      fake.blob.putBlob('acct1', 'c', 'f.bin', bytes('hello'));
      const container = { account: 'acct1', container: 'c', url: fake.blob.containerUrl('acct1', 'c') };
      const good = containerSas(container, key, new Date(Date.now() + 60_000));
      const ok = await axios.get(`${container.url}/f.bin?${good}`, { validateStatus: () => true });
      expect([ok.status, ok.data]).toEqual([200, 'hello']);
      const expired = containerSas(container, key, new Date(Date.now() - 1000));
      const wrongKey = containerSas(
        container,
        Buffer.from('not the key').toString('base64'),
        new Date(Date.now() + 60_000),
      );
      for (const sas of [expired, wrongKey]) {
        const refused = await axios.get(`${container.url}/f.bin?${sas}`, { validateStatus: () => true });
        expect([refused.status, refused.headers['x-ms-error-code']]).toEqual([403, 'AuthenticationFailed']);
      }
    } finally {
      await fake.close();
    }
  });

  it('the default token provider asks az for a token of the given resource', async () => {
    const calls: string[][] = [];
    const provider = azureCliTokenProvider(async (command, args) => {
      calls.push([command, ...args]);
      return JSON.stringify({ accessToken: 'tok-123', expiresOn: '2026-12-02 01:00:00' });
    }, 'tenant-1');
    expect(await provider('https://storage.azure.com/')).toBe('tok-123');
    expect(calls).toEqual([
      [
        'az',
        'account',
        'get-access-token',
        '--resource',
        'https://storage.azure.com/',
        '--output',
        'json',
        '--tenant',
        'tenant-1',
      ],
    ]);
    const failing = azureCliTokenProvider(() => Promise.reject(new Error('ERROR: Please run az login')));
    await expect(failing('https://management.azure.com/')).rejects.toThrow(/^model-source azureml: .*run azure\/login/);
  });
});
