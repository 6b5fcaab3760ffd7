// A fake Azure ML on 127.0.0.1: the ARM calls, registry discovery and the registry region endpoint that resolving a
// model version takes, with a fake Blob Storage (fake-azure-blob.ts) holding the files. It follows:
// - Azure ML REST API (ARM, api-version 2024-04-01; 2023-04-01, 2023-10-01 and 2024-10-01 accepted too): "Model
//   Versions - Get", "Model Versions - List" ($orderBy=createdtime desc, $top, $skipToken with ARM `nextLink`),
//   "Datastores - Get", "Datastores - List Secrets" (POST; AccountKey `{secretsType,key}` or Sas `{sasToken}`).
// - What azure-ai-ml's registry path does (_registry_utils.py, the v2021_10_01_dataplanepreview client): GET
//   /registrymanagement/v1.0/registries/<name>/discovery -> {subscriptionId, resourceGroup,
//   primaryRegionResourceProviderUri}; then on <that uri>mferp/managementfrontend the registry's Model Versions - Get
//   and POST .../registries/<r>/datarefs/<name>/versions/<v> (getBlobReferenceSAS, body {assetId, blobUri}) ->
//   {blobReferenceForConsumption: {blobUri, credential: {credentialType: "SAS", sasUri}}}.
// - ARM auth and errors: a Bearer token for https://management.azure.com/ (missing -> 401 AuthenticationFailed, wrong
//   or other audience -> 401 InvalidAuthenticationToken, no role -> 403 AuthorizationFailed), api-version missing ->
//   400 MissingApiVersionParameter, unknown -> 400 InvalidApiVersionParameter, unknown workspace -> 404
//   ResourceNotFound, unknown model version -> 404 UserError/NotFoundError; body {"error":{"code","message"}}.
// Simplified: one server plays ARM, discovery and the region endpoint; no throttling headers, no long-running
// operations, no job-output model URIs; tokens are opaque strings the fake issues, each with one audience.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeAzureBlob, type FakeAzureBlob } from './fake-azure-blob.js';
import { LOOPBACK } from './local.js';

export const ARM_AUDIENCE = 'https://management.azure.com/';
export const STORAGE_AUDIENCE = 'https://storage.azure.com/';
const ARM_API_VERSIONS = ['2023-04-01', '2023-10-01', '2024-04-01', '2024-10-01'];
const REGISTRY_API_VERSIONS = ['2021-10-01-dataplanepreview'];
const LIST_PAGE = 1;

export type DatastoreCredentials = 'AccountKey' | 'Sas' | 'None';
export type DatastoreType = 'AzureBlob' | 'AzureDataLakeGen2' | 'AzureFile';

export interface WorkspaceModelSeed {
  subscription: string;
  resourceGroup: string;
  workspace: string;
  name: string;
  version: string;
  files: Record<string, Buffer>;
  /** Datastore holding the files (default workspaceblobstore with an account key). */
  datastore?: { name?: string; credentials?: DatastoreCredentials; type?: DatastoreType };
  /** The model is its one file (modelUri names the blob) rather than a folder. */
  asFile?: boolean;
  /** Files stored without Content-MD5 (as block uploads of big files often are). */
  withoutMd5?: boolean;
  createdAt?: Date;
}

export interface RegistryModelSeed {
  registry: string;
  name: string;
  version: string;
  files: Record<string, Buffer>;
  createdAt?: Date;
}

export interface ArmRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
}

interface ModelEntry {
  /** As registered: lookups ignore case, answers carry this spelling. */
  name: string;
  version: string;
  modelUri: string;
  createdAt: Date;
}

interface Datastore {
  name: string;
  account: string;
  container: string;
  credentials: DatastoreCredentials;
  type: DatastoreType;
}

export interface FakeAzureMl {
  url: string;
  blob: FakeAzureBlob;
  requests: ArmRequest[];
  /** Valid tokens: one per audience, authorized. */
  armToken: string;
  storageToken: string;
  /** What tests pass as `getToken`: the fake's token for that audience; counts calls. */
  getToken: (resource: string) => Promise<string>;
  tokenRequests: string[];
  /** Answer this many requests 503 ServiceUnavailable before serving again. */
  failNext: number;
  /** A token AAD would issue to an identity with no role here: ARM answers 403 and storage 403. */
  issueUnauthorizedToken(audience: string): string;
  /** The resolver options that point at this fake (endpoints and getToken); add the workspace inputs. */
  resolverOptions(): {
    armBaseUrl: string;
    registryDiscoveryUrl: string;
    blobEndpoint: (account: string) => string;
    getToken: (resource: string) => Promise<string>;
  };
  addWorkspaceModel(seed: WorkspaceModelSeed): { modelUri: string; account: string; container: string; prefix: string };
  addRegistryModel(seed: RegistryModelSeed): { modelUri: string; account: string; container: string; prefix: string };
  close(): Promise<void>;
}

export async function startFakeAzureMl(): Promise<FakeAzureMl> {
  const blob = await startFakeAzureBlob();
  const tokens = new Map<string, { audience: string; authorized: boolean }>();
  const issue = (audience: string, authorized: boolean): string => {
    const token = `eyJ0eXAiOiJKV1Qi.${randomBytes(24).toString('base64url')}.fake`;
    tokens.set(token, { audience, authorized });
    if (audience === STORAGE_AUDIENCE) blob.bearerTokens.set(token, { authorized });
    return token;
  };
  const workspaceModels = new Map<string, ModelEntry[]>(); // "sub/rg/ws/name" (lower case) -> versions
  const workspaces = new Set<string>();
  const datastores = new Map<string, Datastore>(); // "sub/rg/ws/datastore"
  const registries = new Map<
    string,
    { subscriptionId: string; resourceGroup: string; account: string; container: string }
  >();
  const registryModels = new Map<string, ModelEntry[]>(); // "registry/name"

  const fake: FakeAzureMl = {
    url: '',
    blob,
    requests: [],
    armToken: issue(ARM_AUDIENCE, true),
    storageToken: issue(STORAGE_AUDIENCE, true),
    tokenRequests: [],
    failNext: 0,
    getToken: async (resource) => {
      fake.tokenRequests.push(resource);
      if (resource === ARM_AUDIENCE) return fake.armToken;
      if (resource === STORAGE_AUDIENCE) return fake.storageToken;
      throw new Error(`AADSTS500011: The resource principal named ${resource} was not found`);
    },
    issueUnauthorizedToken: (audience) => issue(audience, false),
    resolverOptions: () => ({
      armBaseUrl: fake.url,
      registryDiscoveryUrl: fake.url,
      blobEndpoint: (account) => `${blob.url}/${account}`,
      getToken: fake.getToken,
    }),
    addWorkspaceModel(seed) {
      const wsKey = [seed.subscription, seed.resourceGroup, seed.workspace].join('/').toLowerCase();
      workspaces.add(wsKey);
      const datastoreName = seed.datastore?.name ?? 'workspaceblobstore';
      const dsKey = `${wsKey}/${datastoreName.toLowerCase()}`;
      if (!datastores.has(dsKey)) {
        datastores.set(dsKey, {
          name: datastoreName,
          account: `st${seed.workspace
            .replace(/[^a-z0-9]/gi, '')
            .toLowerCase()
            .slice(0, 12)}${randomBytes(3).toString('hex')}`,
          container: `azureml-blobstore-${randomUUID()}`,
          credentials: seed.datastore?.credentials ?? 'AccountKey',
          type: seed.datastore?.type ?? 'AzureBlob',
        });
      }
      const store = datastores.get(dsKey)!;
      const folder = `LocalUpload/${randomBytes(16).toString('hex')}/${seed.name}`;
      const entries = Object.entries(seed.files);
      const prefix = seed.asFile ? `${folder}/${entries[0]?.[0] ?? 'model'}` : folder;
      for (const [path, data] of entries) {
        blob.putBlob(store.account, store.container, seed.asFile ? prefix : `${folder}/${path}`, data, {
          md5: !seed.withoutMd5,
        });
      }
      const modelUri =
        `azureml://subscriptions/${seed.subscription}/resourcegroups/${seed.resourceGroup}/workspaces/${seed.workspace}` +
        `/datastores/${datastoreName}/paths/${prefix}`;
      addVersion(workspaceModels, `${wsKey}/${seed.name.toLowerCase()}`, seed, modelUri);
      return { modelUri, account: store.account, container: store.container, prefix };
    },
    addRegistryModel(seed) {
      if (!registries.has(seed.registry)) {
        registries.set(seed.registry, {
          subscriptionId: randomUUID(),
          resourceGroup: `rg-${seed.registry}`,
          account: `${seed.registry
            .replace(/[^a-z0-9]/gi, '')
            .toLowerCase()
            .slice(0, 16)}${randomBytes(3).toString('hex')}`,
          container: randomUUID(),
        });
      }
      const registry = registries.get(seed.registry)!;
      const prefix = `${randomUUID()}/${seed.name}`;
      for (const [path, data] of Object.entries(seed.files)) {
        blob.putBlob(registry.account, registry.container, `${prefix}/${path}`, data);
      }
      const modelUri = `${blob.containerUrl(registry.account, registry.container)}/${prefix}`;
      addVersion(registryModels, `${seed.registry}/${seed.name}`, seed, modelUri);
      return { modelUri, account: registry.account, container: registry.container, prefix };
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await blob.close();
    },
  };

  function addVersion(
    into: Map<string, ModelEntry[]>,
    key: string,
    seed: { name: string; version: string; createdAt?: Date },
    modelUri: string,
  ): void {
    const versions = into.get(key) ?? [];
    versions.push({ name: seed.name, version: seed.version, modelUri, createdAt: seed.createdAt ?? new Date() });
    into.set(key, versions);
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const text = Buffer.concat(chunks).toString();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return armError(
          response,
          400,
          'InvalidRequestContent',
          'The request content was invalid and could not be deserialized.',
        );
      }
      fake.requests.push({ method: request.method ?? '', path: url.pathname, query, body });
      if (fake.failNext > 0) {
        fake.failNext--;
        return armError(response, 503, 'ServiceUnavailable', 'The service is temporarily unavailable.');
      }
      try {
        route(request, response, url.pathname, query, body);
      } catch (error) {
        armError(response, 500, 'InternalServerError', String(error));
      }
    });
  });

  /** ARM's checks, in its order: the token, then the api-version. */
  function refused(
    request: IncomingMessage,
    response: ServerResponse,
    query: Record<string, string>,
    versions?: string[],
  ): boolean {
    const header = request.headers.authorization;
    if (!header) {
      armError(response, 401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.");
      return true;
    }
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    const identity = token ? tokens.get(token) : undefined;
    if (!identity || identity.audience !== ARM_AUDIENCE) {
      armError(
        response,
        401,
        'InvalidAuthenticationToken',
        identity
          ? 'The access token has been obtained for wrong audience or resource.'
          : 'The access token is invalid.',
      );
      return true;
    }
    if (versions) {
      const version = query['api-version'];
      if (!version) {
        armError(
          response,
          400,
          'MissingApiVersionParameter',
          'The api-version query parameter (?api-version=) is required for all requests.',
        );
        return true;
      }
      if (!versions.includes(version)) {
        armError(
          response,
          400,
          'InvalidApiVersionParameter',
          `The api-version '${version}' is invalid. The supported versions are '${versions.join(',')}'.`,
        );
        return true;
      }
    }
    if (!identity.authorized) {
      armError(
        response,
        403,
        'AuthorizationFailed',
        `The client 'ci@example.com' with object id '${randomUUID()}' does not have authorization to perform action ` +
          `'Microsoft.MachineLearningServices/${request.method === 'POST' ? 'action' : 'read'}' over scope '${new URL(request.url ?? '/', 'http://fake').pathname}' or the scope is invalid.`,
      );
      return true;
    }
    return false;
  }

  const WORKSPACE =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/workspaces\/([^/]+)\/(.+)$/i;
  const REGISTRY =
    /^\/mferp\/managementfrontend\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.MachineLearningServices\/registries\/([^/]+)\/(.+)$/i;
  const DISCOVERY = /^\/registrymanagement\/v1\.0\/registries\/([^/]+)\/discovery$/;

  function route(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    query: Record<string, string>,
    body: unknown,
  ): void {
    const method = request.method ?? 'GET';
    const discovery = DISCOVERY.exec(path);
    if (discovery && method === 'GET') {
      if (refused(request, response, query)) return;
      const name = decodeURIComponent(discovery[1]!);
      const registry = registries.get(name);
      if (!registry) return armError(response, 404, 'UserError', `Registry ${name} not found.`, 'NotFoundError');
      return json(response, 200, {
        registryName: name,
        primaryRegion: 'eastus',
        regions: ['eastus'],
        subscriptionId: registry.subscriptionId,
        resourceGroup: registry.resourceGroup,
        primaryRegionResourceProviderUri: `${fake.url}/`,
      });
    }
    const inWorkspace = WORKSPACE.exec(path);
    if (inWorkspace) {
      if (refused(request, response, query, ARM_API_VERSIONS)) return;
      const [, sub, rg, ws, rest] = inWorkspace.map((part) => decodeURIComponent(part)) as [
        string,
        string,
        string,
        string,
        string,
      ];
      const wsKey = [sub, rg, ws].join('/').toLowerCase();
      if (!workspaces.has(wsKey)) {
        return armError(
          response,
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.MachineLearningServices/workspaces/${ws}' under resource group '${rg}' was not found.`,
        );
      }
      const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/workspaces/${ws}`;
      return workspaceRoute(response, method, rest, query, wsKey, id, path);
    }
    const inRegistry = REGISTRY.exec(path);
    if (inRegistry) {
      if (refused(request, response, query, REGISTRY_API_VERSIONS)) return;
      const [, sub, rg, name, rest] = inRegistry.map((part) => decodeURIComponent(part)) as [
        string,
        string,
        string,
        string,
        string,
      ];
      const registry = registries.get(name);
      if (!registry || registry.subscriptionId !== sub || registry.resourceGroup.toLowerCase() !== rg.toLowerCase()) {
        return armError(
          response,
          404,
          'ResourceNotFound',
          `The Resource 'Microsoft.MachineLearningServices/registries/${name}' was not found.`,
        );
      }
      const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.MachineLearningServices/registries/${name}`;
      return registryRoute(response, method, rest, query, body, name, id, path);
    }
    armError(response, 404, 'InvalidResourceType', `The resource type could not be found for path '${path}'.`);
  }

  function workspaceRoute(
    response: ServerResponse,
    method: string,
    rest: string,
    query: Record<string, string>,
    wsKey: string,
    id: string,
    path: string,
  ): void {
    const models = /^models\/([^/]+)\/versions(?:\/([^/]+))?$/i.exec(rest);
    if (models && method === 'GET') {
      const versions = workspaceModels.get(`${wsKey}/${models[1]!.toLowerCase()}`) ?? [];
      return versionsAnswer(response, versions, models[1]!, models[2], query, `${id}/models`, 'workspaces', path);
    }
    const datastore = /^datastores\/([^/]+)(\/listSecrets)?$/i.exec(rest);
    if (datastore) {
      const store = datastores.get(`${wsKey}/${datastore[1]!.toLowerCase()}`);
      if (!store) return armError(response, 404, 'UserError', `Datastore ${datastore[1]} not found.`, 'NotFoundError');
      if (datastore[2] && method === 'POST') return json(response, 200, datastoreSecrets(store));
      if (!datastore[2] && method === 'GET') {
        return json(response, 200, {
          id: `${id}/datastores/${store.name}`,
          name: store.name,
          type: 'Microsoft.MachineLearningServices/workspaces/datastores',
          properties: {
            datastoreType: store.type,
            accountName: store.account,
            // Data Lake Gen2 datastores name a filesystem, File datastores a share.
            ...{
              AzureBlob: { containerName: store.container },
              AzureDataLakeGen2: { filesystem: store.container },
              AzureFile: { fileShareName: store.container },
            }[store.type],
            endpoint: 'core.windows.net',
            protocol: 'https',
            serviceDataAccessAuthIdentity: 'None',
            isDefault: store.name === 'workspaceblobstore',
            credentials: { credentialsType: store.credentials },
          },
        });
      }
    }
    armError(response, 405, 'MethodNotAllowed', `${method} is not supported on ${rest}.`);
  }

  function datastoreSecrets(store: Datastore): unknown {
    if (store.credentials === 'AccountKey') return { secretsType: 'AccountKey', key: blob.accountKey(store.account) };
    if (store.credentials === 'Sas') {
      return {
        secretsType: 'Sas',
        sasToken: blob.containerSas(store.account, store.container, new Date(Date.now() + 3600_000)),
      };
    }
    return { secretsType: 'None' };
  }

  function registryRoute(
    response: ServerResponse,
    method: string,
    rest: string,
    query: Record<string, string>,
    body: unknown,
    registryName: string,
    id: string,
    path: string,
  ): void {
    const registry = registries.get(registryName)!;
    const models = /^models\/([^/]+)\/versions(?:\/([^/]+))?$/i.exec(rest);
    if (models && method === 'GET') {
      const versions = registryModels.get(`${registryName}/${models[1]}`) ?? [];
      return versionsAnswer(response, versions, models[1]!, models[2], query, `${id}/models`, 'registries', path);
    }
    const dataref = /^datarefs\/([^/]+)\/versions\/([^/]+)$/i.exec(rest);
    if (dataref && method === 'POST') {
      const entry = (registryModels.get(`${registryName}/${dataref[1]}`) ?? []).find((v) => v.version === dataref[2]);
      if (!entry)
        return armError(response, 404, 'UserError', `Asset ${dataref[1]}:${dataref[2]} not found.`, 'NotFoundError');
      const request = body as { assetId?: string; blobUri?: string } | undefined;
      const assetId = `azureml://registries/${registryName}/models/${dataref[1]}/versions/${dataref[2]}`;
      if (request?.assetId !== assetId || request.blobUri !== entry.modelUri) {
        return armError(response, 400, 'UserError', `assetId must be ${assetId} and blobUri the asset's storage URI.`);
      }
      const sas = blob.containerSas(registry.account, registry.container, new Date(Date.now() + 3600_000));
      return json(response, 200, {
        blobReferenceForConsumption: {
          blobUri: entry.modelUri,
          storageAccountArmId: `/subscriptions/${registry.subscriptionId}/resourceGroups/${registry.resourceGroup}/providers/Microsoft.Storage/storageAccounts/${registry.account}`,
          credential: {
            credentialType: 'SAS',
            sasUri: `${blob.containerUrl(registry.account, registry.container)}?${sas}`,
          },
        },
      });
    }
    armError(response, 405, 'MethodNotAllowed', `${method} is not supported on ${rest}.`);
  }

  /** One version (Get) or a page of them (List, newest first for $orderBy=createdtime desc, with nextLink). */
  function versionsAnswer(
    response: ServerResponse,
    versions: ModelEntry[],
    name: string,
    version: string | undefined,
    query: Record<string, string>,
    collectionId: string,
    parent: 'workspaces' | 'registries',
    requestPath: string,
  ): void {
    const resource = (entry: ModelEntry) => ({
      id: `${collectionId}/${entry.name}/versions/${entry.version}`,
      name: entry.version,
      type: `Microsoft.MachineLearningServices/${parent}/models/versions`,
      properties: { modelUri: entry.modelUri, modelType: 'custom_model', isArchived: false, stage: 'Development' },
      systemData: { createdAt: entry.createdAt.toISOString(), createdBy: 'ci@example.com' },
    });
    if (version !== undefined) {
      const entry = versions.find((candidate) => candidate.version === version);
      if (!entry) {
        return armError(
          response,
          404,
          'UserError',
          `Could not find asset with ID: azureml://${parent}/${name}/versions/${version}`,
          'NotFoundError',
        );
      }
      return json(response, 200, resource(entry));
    }
    const sorted = [...versions];
    if (query.$orderBy === 'createdtime desc') sorted.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    const skip = Number(query.$skipToken ?? 0);
    const top = query.$top ? Number(query.$top) : Infinity;
    const page = sorted.slice(skip, skip + Math.min(LIST_PAGE, top));
    const more = skip + page.length < Math.min(sorted.length, top);
    const next = new URLSearchParams({ ...query, $skipToken: String(skip + page.length) });
    json(response, 200, {
      value: page.map(resource),
      ...(more ? { nextLink: `${fake.url}${requestPath}?${next}` } : {}),
    });
  }

  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  fake.url = `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;
  return fake;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-request-id': randomUUID() });
  response.end(JSON.stringify(body));
}

function armError(response: ServerResponse, status: number, code: string, message: string, innerCode?: string): void {
  json(response, status, { error: { code, message, ...(innerCode ? { innerError: { code: innerCode } } : {}) } });
}
