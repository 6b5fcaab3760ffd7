// The Azure ML model resolver: a registered model version (workspace or registry) -> every file of it, each with a
// URL the downloader can GET (a SAS query or Bearer headers), its size and its Content-MD5. It only resolves and
// lists; the downloader fetches. Follows the Azure ML REST API (ARM api-version 2024-04-01: Model Versions - Get /
// List, Datastores - Get / List Secrets) and, for registries, what azure-ai-ml does (registry discovery, then
// `datarefs` getBlobReferenceSAS on the registry's region endpoint, api-version 2021-10-01-dataplanepreview).
import axios, { type AxiosInstance } from 'axios';
import axiosRetry, { isNetworkError } from 'axios-retry';
import {
  ModelSourceError,
  safeRelativePath,
  type ModelSourceRef,
  type RemoteFile,
  type ResolvedModel,
} from '../../core/model-source.js';
import { isRetryableStatus } from '../registry/retry.js';
import { ARM_RESOURCE, azureCliAccessToken, type CommandRunner } from '../registry/credentials.js';
import {
  blobUrl,
  containerSas,
  listBlobs,
  parseBlobUrl,
  STORAGE_API_VERSION,
  STORAGE_RESOURCE,
  type BlobAccess,
  type BlobContainer,
} from './azure-blob.js';
import { AzureJsonClient, AzureTokens, type CallContext, type TokenProvider } from './azureml-api.js';

export type AzureMlRef = Extract<ModelSourceRef, { kind: 'azureml-registry' | 'azureml-workspace' }>;

export const WORKSPACE_API_VERSION = '2024-04-01';
export const REGISTRY_API_VERSION = '2021-10-01-dataplanepreview';

export interface AzureMlOptions {
  /** An Azure AD access token for `resource` (ARM, or Storage for identity-based datastores), as after azure/login. */
  getToken: TokenProvider;
  /** Called with every token, key and SAS obtained (the action passes core.setSecret). */
  mask?: (secret: string) => void;
  /** Inputs `azureml-workspace`, `azureml-resource-group`, `azureml-subscription`: needed for `azureml:<name>:<version>`. */
  workspace?: string;
  resourceGroup?: string;
  subscription?: string;
  /** Azure Resource Manager (default https://management.azure.com). */
  armBaseUrl?: string;
  /** The Azure AD audience of ARM and the registry endpoints (default https://management.azure.com/). */
  armResource?: string;
  /** Registry discovery (default https://eastus.api.azureml.ms, as azure-ai-ml uses for the public cloud). */
  registryDiscoveryUrl?: string;
  /** A datastore's blob endpoint (default `https://<account>.blob.<endpoint suffix>`). */
  blobEndpoint?: (account: string, endpointSuffix: string) => string;
  /** How long a SAS signed from a datastore's account key lives (default 6 hours: long enough for a big download). */
  sasLifetimeMs?: number;
  now?: () => Date;
  /** Blobs per List Blobs page (default: the service's 5000). */
  listPageSize?: number;
  http?: AxiosInstance;
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
}

/** The default token provider: `az account get-access-token --resource <resource>` (the identity of azure/login). */
export function azureCliTokenProvider(run: CommandRunner, tenant?: string): TokenProvider {
  return (resource) => azureCliAccessToken(run, tenant, resource, 'model-source azureml');
}

interface ModelVersionResource {
  /** `.../models/<name>/versions/<version>`: the registered spelling of the name (ARM names ignore case). */
  id?: string;
  /** The version. */
  name?: string;
  properties?: { modelUri?: string; path?: string };
}

interface DatastoreResource {
  properties?: {
    datastoreType?: string;
    accountName?: string;
    containerName?: string;
    filesystem?: string;
    endpoint?: string;
    credentials?: { credentialsType?: string };
  };
}

interface DatastoreSecrets {
  secretsType?: string;
  key?: string;
  sasToken?: string;
}

interface RegistryDiscovery {
  subscriptionId?: string;
  resourceGroup?: string;
  primaryRegionResourceProviderUri?: string;
}

interface BlobReferenceSas {
  blobReferenceForConsumption?: { blobUri?: string; credential?: { credentialType?: string; sasUri?: string } };
}

/** Where a model version's files are: a container, the blob prefix inside it, and how to get in. */
interface ModelStorage {
  container: BlobContainer;
  prefix: string;
  access: BlobAccess;
  roleHint: string;
}

const STORAGE_ROLE = 'the Storage Blob Data Reader role on';

export async function resolveAzureMl(ref: AzureMlRef, options: AzureMlOptions): Promise<ResolvedModel> {
  const source = `model-source ${ref.uri}`;
  const tokens = new AzureTokens(options.getToken, options.mask, source);
  const http = options.http ?? createHttp(options);
  const api = new AzureJsonClient(http, tokens, source, options.armResource ?? ARM_RESOURCE);
  const { name, version, storage } =
    ref.kind === 'azureml-workspace'
      ? await workspaceModel(ref, options, api, tokens)
      : await registryModel(ref, options, api, tokens);
  const blobs = await listBlobs(http, { ...storage, source, pageSize: options.listPageSize });
  const files = modelFiles(blobs, storage, source);
  if (files.length === 0) {
    throw new ModelSourceError(
      `${source}: model ${name} version ${version} has no files under '${storage.prefix}' in storage account ` +
        `${storage.container.account}, container ${storage.container.container}: register the model again with its files`,
    );
  }
  return { source: ref, name, version, files };
}

function createHttp(options: AzureMlOptions): AxiosInstance {
  const http = axios.create({ timeout: options.timeoutMs ?? 30000, proxy: false });
  const delay = options.retryDelayMs ?? 300;
  axiosRetry(http, {
    retries: options.retries ?? 3,
    // listSecrets and datarefs are POSTs but read-only, so they are retried as GETs are.
    retryCondition: (error) =>
      isNetworkError(error) || (error.response !== undefined && isRetryableStatus(error.response.status)),
    retryDelay: (attempt) => delay * 2 ** (attempt - 1),
  });
  return http;
}

type Resolution = { name: string; version: string; storage: ModelStorage };

/** The registered name and version of a model version resource. */
function registered(model: ModelVersionResource, ref: AzureMlRef): { name: string; version: string } {
  const name = /\/models\/([^/]+)\/versions\/[^/]+$/i.exec(model.id ?? '')?.[1];
  return { name: name ? decodeURIComponent(name) : ref.name, version: model.name ?? ref.version };
}

async function workspaceModel(
  ref: AzureMlRef,
  options: AzureMlOptions,
  api: AzureJsonClient,
  tokens: AzureTokens,
): Promise<Resolution> {
  const missing = (
    [
      ['azureml-workspace', options.workspace],
      ['azureml-resource-group', options.resourceGroup],
      ['azureml-subscription', options.subscription],
    ] as const
  )
    .filter(([, value]) => !value)
    .map(([input]) => input);
  if (missing.length > 0) {
    throw new ModelSourceError(
      `model-source ${ref.uri} is a workspace model and needs the input${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        '(or use azureml://registries/<registry>/models/<name>/versions/<version>)',
    );
  }
  const { workspace, resourceGroup, subscription } = options as Required<AzureMlOptions>;
  const base =
    `${trimSlash(options.armBaseUrl ?? 'https://management.azure.com')}/subscriptions/${enc(subscription)}` +
    `/resourceGroups/${enc(resourceGroup)}/providers/Microsoft.MachineLearningServices/workspaces/${enc(workspace)}`;
  const scope = `Azure ML workspace ${workspace} (resource group ${resourceGroup})`;
  const role = `the AzureML Data Scientist role (or Reader) on workspace ${workspace}`;
  const model = await modelVersion(api, `${base}/models`, WORKSPACE_API_VERSION, ref, { scope, role });
  const { name, version } = registered(model, ref);
  const modelUri = model.properties?.modelUri ?? model.properties?.path ?? '';
  const subject = `model ${name} version ${version}`;

  const datastore = /^azureml:\/\/(?:.*\/)?datastores\/([^/]+)\/paths\/(.*)$/.exec(modelUri);
  if (datastore) {
    const [, datastoreName, path] = datastore as unknown as [string, string, string];
    const where = { source: `model-source ${ref.uri}`, base, scope, role, name: datastoreName, path, subject };
    return {
      name,
      version,
      storage: await datastoreStorage(api, tokens, options, where),
    };
  }
  const blob = parseBlobUrl(modelUri);
  if (blob && /^https?:/.test(modelUri)) {
    return { name, version, storage: await bearerStorage(tokens, blob.container, blob.path) };
  }
  throw new ModelSourceError(
    `model-source ${ref.uri}: ${subject} is stored at '${modelUri}', which model-canary cannot list: ` +
      'register the model from a datastore path (azureml://datastores/<name>/paths/<path>) or a blob URL',
  );
}

/** Model Versions - Get, or for `latest` Model Versions - List newest first (as azure-ai-ml's _get_latest does). */
async function modelVersion(
  api: AzureJsonClient,
  modelsUrl: string,
  apiVersion: string,
  ref: AzureMlRef,
  context: Omit<CallContext, 'subject'>,
): Promise<ModelVersionResource> {
  const versions = `${modelsUrl}/${enc(ref.name)}/versions`;
  if (ref.version !== 'latest') {
    const subject = `model ${ref.name} version ${ref.version}`;
    return api.call('GET', `${versions}/${enc(ref.version)}?api-version=${apiVersion}`, {
      ...context,
      subject,
    });
  }
  const query = new URLSearchParams({ 'api-version': apiVersion, $orderBy: 'createdtime desc', $top: '1' });
  const subject = `model ${ref.name}`;
  const page = await api.call<{ value?: ModelVersionResource[] }>('GET', `${versions}?${query}`, {
    ...context,
    subject,
  });
  const newest = page.value?.[0];
  if (!newest)
    throw new ModelSourceError(`model-source ${ref.uri}: ${context.scope} has no version of model ${ref.name}`);
  return newest;
}

async function datastoreStorage(
  api: AzureJsonClient,
  tokens: AzureTokens,
  options: AzureMlOptions,
  where: { source: string; base: string; scope: string; role: string; name: string; path: string; subject: string },
): Promise<ModelStorage> {
  const url = `${where.base}/datastores/${enc(where.name)}`;
  const context = { scope: where.scope, role: where.role, subject: `datastore ${where.name} (of ${where.subject})` };
  const datastore = await api.call<DatastoreResource>('GET', `${url}?api-version=${WORKSPACE_API_VERSION}`, context);
  const properties = datastore.properties ?? {};
  const containerName = properties.containerName ?? properties.filesystem;
  if (
    !/^AzureBlob$|^AzureDataLakeGen2$/.test(properties.datastoreType ?? '') ||
    !properties.accountName ||
    !containerName
  ) {
    throw new ModelSourceError(
      `${where.source}: ${where.subject} is in datastore ${where.name} of type ${properties.datastoreType ?? 'unknown'}; ` +
        'model-canary reads models from Azure Blob and Data Lake Gen2 datastores only',
    );
  }
  const account = properties.accountName;
  const endpoint = (options.blobEndpoint ?? ((name, suffix) => `https://${name}.blob.${suffix}`))(
    account,
    properties.endpoint ?? 'core.windows.net',
  );
  const container: BlobContainer = {
    account,
    container: containerName,
    url: `${trimSlash(endpoint)}/${enc(containerName)}`,
  };
  const prefix = where.path.replace(/\/+$/, '');
  const credentialsType = properties.credentials?.credentialsType ?? 'None';
  if (credentialsType !== 'AccountKey' && credentialsType !== 'Sas') return bearerStorage(tokens, container, prefix);

  const secrets = await api.call<DatastoreSecrets>('POST', `${url}/listSecrets?api-version=${WORKSPACE_API_VERSION}`, {
    ...context,
    role: `the AzureML Data Scientist role on workspace ${options.workspace} (it may list datastore secrets)`,
  });
  const roleHint = `the datastore's ${credentialsType === 'Sas' ? 'SAS token' : 'account key'} was refused: update datastore ${where.name}`;
  if (secrets.secretsType === 'AccountKey' && secrets.key) {
    options.mask?.(secrets.key);
    const lifetime = options.sasLifetimeMs ?? 6 * 3600 * 1000;
    const sas = containerSas(container, secrets.key, new Date((options.now?.() ?? new Date()).getTime() + lifetime));
    maskSas(sas, options.mask);
    return { container, prefix, access: { sas, headers: {} }, roleHint };
  }
  if (secrets.secretsType === 'Sas' && secrets.sasToken) {
    const sas = secrets.sasToken.replace(/^\?/, '');
    maskSas(sas, options.mask);
    return { container, prefix, access: { sas, headers: {} }, roleHint };
  }
  throw new ModelSourceError(
    `${where.source}: datastore ${where.name} (of ${where.subject}) returned no ${credentialsType} secret`,
  );
}

/** Identity-based storage: the caller's own Azure AD token for Storage, which needs a data role on the account. */
async function bearerStorage(tokens: AzureTokens, container: BlobContainer, prefix: string): Promise<ModelStorage> {
  const token = await tokens.get(STORAGE_RESOURCE);
  return {
    container,
    prefix: prefix.replace(/\/+$/, ''),
    access: { headers: { Authorization: `Bearer ${token}` } },
    roleHint: `run azure/login with an identity that has ${STORAGE_ROLE} storage account ${container.account}`,
  };
}

async function registryModel(
  ref: Extract<AzureMlRef, { kind: 'azureml-registry' }>,
  options: AzureMlOptions,
  api: AzureJsonClient,
  tokens: AzureTokens,
): Promise<Resolution> {
  const { registry } = ref;
  const role = `the AzureML Registry User role on registry ${registry}`;
  const discovery = await api.call<RegistryDiscovery>(
    'GET',
    `${trimSlash(options.registryDiscoveryUrl ?? 'https://eastus.api.azureml.ms')}/registrymanagement/v1.0/registries/${enc(registry)}/discovery`,
    { scope: 'Azure ML registry discovery', subject: `registry ${registry}`, role },
  );
  const { subscriptionId, resourceGroup, primaryRegionResourceProviderUri: regionUri } = discovery;
  if (!subscriptionId || !resourceGroup || !regionUri) {
    throw new ModelSourceError(`model-source ${ref.uri}: registry discovery for ${registry} named no region endpoint`);
  }
  const base =
    `${trimSlash(regionUri)}/mferp/managementfrontend/subscriptions/${enc(subscriptionId)}/resourceGroups/${enc(resourceGroup)}` +
    `/providers/Microsoft.MachineLearningServices/registries/${enc(registry)}`;
  const scope = `Azure ML registry ${registry}`;
  const model = await modelVersion(api, `${base}/models`, REGISTRY_API_VERSION, ref, { scope, role });
  const { name, version } = registered(model, ref);
  const modelUri = model.properties?.modelUri ?? model.properties?.path ?? '';
  const subject = `model ${name} version ${version}`;
  const blob = parseBlobUrl(modelUri);
  if (!blob || !/^https?:/.test(modelUri)) {
    throw new ModelSourceError(`model-source ${ref.uri}: ${subject} has no blob storage URI in registry ${registry}`);
  }
  const reference = await api.call<BlobReferenceSas>(
    'POST',
    `${base}/datarefs/${enc(name)}/versions/${enc(version)}?api-version=${REGISTRY_API_VERSION}`,
    { scope, subject: `storage access for ${subject}`, role },
    { assetId: `azureml://registries/${registry}/models/${name}/versions/${version}`, blobUri: modelUri },
  );
  const sasUri = reference.blobReferenceForConsumption?.credential?.sasUri;
  if (!sasUri) return { name, version, storage: await bearerStorage(tokens, blob.container, blob.path) };
  const sas = new URL(sasUri).search.replace(/^\?/, '');
  maskSas(sas, options.mask);
  return {
    name,
    version,
    storage: {
      container: blob.container,
      prefix: blob.path.replace(/\/+$/, ''),
      access: { sas, headers: {} },
      roleHint: `the registry's SAS was refused: run again for a fresh one, or check ${role}`,
    },
  };
}

/** The blobs of the model: the one blob named `prefix`, or everything under `prefix/`, with paths relative to it. */
function modelFiles(
  blobs: Array<{ name: string; size: number; md5?: string }>,
  storage: ModelStorage,
  source: string,
): RemoteFile[] {
  const { prefix, container, access } = storage;
  const headers = { 'x-ms-version': STORAGE_API_VERSION, ...access.headers };
  const single = blobs.find((blob) => blob.name === prefix);
  const chosen = single ? [single] : blobs.filter((blob) => prefix === '' || blob.name.startsWith(`${prefix}/`));
  return chosen
    .filter((blob) => !blob.name.endsWith('/'))
    .map((blob) => {
      const relative = single ? (prefix.split('/').pop() ?? prefix) : blob.name.slice(prefix ? prefix.length + 1 : 0);
      const file: RemoteFile = {
        path: safeRelativePath(relative, source),
        url: blobUrl(container, blob.name, access.sas),
        headers: { ...headers },
        size: blob.size,
      };
      if (blob.md5) file.hash = { algorithm: 'md5', hex: blob.md5 };
      return file;
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A SAS query is a secret as a whole, and so is its signature alone (it may show up URL-decoded). */
function maskSas(sas: string, mask: ((secret: string) => void) | undefined): void {
  if (!mask) return;
  mask(sas);
  const sig = new URLSearchParams(sas).get('sig');
  if (sig) {
    mask(sig);
    mask(encodeURIComponent(sig));
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

const enc = encodeURIComponent;
