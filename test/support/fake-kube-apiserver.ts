// A fake Kubernetes API server on 127.0.0.1 that @kubernetes/client-node talks to over its real HTTP path.
//
// What it implements: discovery (/api, /apis, /api/v1, /apis/<group>/<version>), create (POST), get, list with
// equality label selectors, replace (PUT, 409 on a stale resourceVersion), delete (409 when its preconditions fail), server-side apply
// (application/apply-patch+yaml: create-or-merge, per-manager field ownership, fields a manager stops applying are
// removed, 409 on a conflict with another manager unless force=true, 409 on a stale resourceVersion), watch
// (?watch=true, JSON lines), the status subresource (read), pod logs, a small Deployment controller and a KServe
// controller (./fake-kube/controller.ts), and fault injection.
//
// Simplifications, knowingly: no authentication or RBAC; namespaces exist implicitly; lists are atomic in apply
// (the real server merges `containers` by name); no strategic-merge or JSON patch; Deployments own pods directly with
// the ReplicaSet's name in ownerReferences (there are no ReplicaSet objects) and replace all old pods at once when
// the new ones are ready (maxSurge 100%); field selectors are ignored; watches start from "now"; one node.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { LOOPBACK, tempDir } from './local.js';
import { Controller, type ControllerOptions } from './fake-kube/controller.js';
import type { JsonObject } from './fake-kube/fields.js';
import { groupList, resourceList, typeByKind, typeByPath, type ResourceType } from './fake-kube/resources.js';
import { ApiError, Store, matches, parseSelector, type WatchEvent } from './fake-kube/store.js';

export type FaultKind = 500 | 409 | 429 | 'drop';

export interface RequestRecord {
  n: number;
  method: string;
  path: string;
  contentType?: string;
}

export interface Fault {
  kind: FaultKind;
  /** Fail the request with this number (1-based, counted from when the fault is added). */
  nth?: number;
  /** Or fail every request this matches. */
  match?: (request: RequestRecord) => boolean;
  /** How many times it fires (default 1 for `nth`, unlimited for `match`). */
  times?: number;
}

export type FakeKubeOptions = Partial<ControllerOptions>;

export interface FakeKube {
  url: string;
  kubeconfigPath: string;
  store: Store;
  controller: Controller;
  /** Every request served, in order (faulted ones included). */
  requests: RequestRecord[];
  addFault(fault: Fault): void;
  clearFaults(): void;
  /** Forgets every stored object, so long fault loops keep the controller's work small. */
  reset(): void;
  /** Reads an object as the server stores it. */
  object(apiVersion: string, kind: string, namespace: string, name: string): JsonObject | undefined;
  objects(apiVersion: string, kind: string, namespace?: string): JsonObject[];
  /** Puts objects in as a user's `kubectl apply --server-side` would (field manager `kubectl`). */
  seed(objects: JsonObject[]): void;
  /** Sets a Deployment's spec.replicas as the HPA controller does (an Update by manager `horizontal-pod-autoscaler`). */
  scaleAsHpa(namespace: string, name: string, replicas: number): void;
  stop(): Promise<void>;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isWrite = (r: RequestRecord): boolean => WRITE_METHODS.has(r.method);

function typeFor(kind: string, apiVersion: string): ResourceType {
  const type = typeByKind(apiVersion, kind);
  if (!type) throw new Error(`fake kube: no resource ${apiVersion} ${kind}`);
  return type;
}

function status(code: number, reason: string, message: string, details: JsonObject = {}): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

function send(response: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** /api/v1/namespaces/ns/pods/name[/log] or /apis/group/version/... -> the resource it names. */
function route(path: string): Route | object | undefined {
  const parts = path.split('/').filter(Boolean);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
    rest = parts.slice(2);
    if (rest.length === 0) return resourceList('', parts[1] ?? '');
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return groupList();
    group = parts[1] ?? '';
    rest = parts.slice(3);
    if (rest.length === 0) return resourceList(group, parts[2] ?? '');
  } else {
    return undefined;
  }
  const version = parts[0] === 'api' ? (parts[1] ?? '') : (parts[2] ?? '');
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const type = typeByPath(group, version, rest[0] ?? '');
  if (!type) return undefined;
  return { type, namespace, name: rest[1], subresource: rest[2] };
}

const isRoute = (value: Route | object): value is Route => 'type' in value && typeof (value as Route).type === 'object';

export async function startFakeKubeApiServer(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const store = new Store();
  const controller = new Controller(store, {
    readyDelayMs: options.readyDelayMs ?? 30,
    progressDeadlineMs: options.progressDeadlineMs,
    node: options.node ?? { cpu: 8, memoryBytes: 32 * 1024 ** 3, gpu: 1 },
    tickMs: options.tickMs ?? 10,
    crashLog: options.crashLog,
  });
  const requests: RequestRecord[] = [];
  let faults: (Fault & { fired: number; base: number })[] = [];
  const sockets = new Set<Socket>();

  const faultFor = (record: RequestRecord): Fault | undefined => {
    const hit = faults.find((f) => {
      const limit = f.times ?? (f.nth !== undefined ? 1 : Infinity);
      if (f.fired >= limit) return false;
      if (f.nth !== undefined) return record.n - f.base === f.nth;
      return f.match ? f.match(record) : false;
    });
    if (hit) hit.fired++;
    return hit;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const record: RequestRecord = {
      n: requests.length + 1,
      method,
      path: url.pathname,
      contentType: request.headers['content-type'],
    };
    requests.push(record);
    const fault = faultFor(record);
    if (fault?.kind === 'drop') {
      request.socket.destroy();
      return;
    }
    if (fault) {
      const reason = fault.kind === 409 ? 'Conflict' : fault.kind === 429 ? 'TooManyRequests' : 'InternalError';
      const message =
        fault.kind === 409
          ? 'Operation cannot be fulfilled: the object has been modified; please apply your changes to the latest version and try again'
          : `injected ${fault.kind}`;
      return send(response, fault.kind, status(fault.kind, reason, message));
    }
    const target = route(url.pathname);
    if (!target)
      return send(
        response,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
    if (!isRoute(target)) return send(response, 200, target);
    const { type, namespace, name, subresource } = target;
    const body = WRITE_METHODS.has(method) ? await readBody(request) : '';
    try {
      if (method === 'GET' && !name) {
        const selector = url.searchParams.get('labelSelector') ?? undefined;
        if (url.searchParams.get('watch') === 'true') return watch(store, type, namespace, selector, request, response);
        return send(response, 200, {
          kind: `${type.kind}List`,
          apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
          metadata: { resourceVersion: store.resourceVersion },
          items: store.list(type, namespace, selector),
        });
      }
      if (!name && method !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `${method} needs a name`);
      if (method === 'GET' && subresource === 'log') {
        const log = controller.podLog(namespace ?? 'default', name!);
        if (!store.get(type, namespace, name!)) throw new ApiError(404, 'NotFound', `pods "${name}" not found`);
        return send(response, 200, log ?? '', 'text/plain');
      }
      if (method === 'GET') {
        const object = store.get(type, namespace, name!);
        if (!object)
          throw new ApiError(
            404,
            'NotFound',
            `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`,
            { name: name!, kind: type.plural },
          );
        return send(response, 200, object);
      }
      const manager = url.searchParams.get('fieldManager') ?? 'unknown';
      if (method === 'DELETE') {
        // DeleteOptions.preconditions, as the real server checks them: 409 when the object changed since it was read.
        const preconditions = (body ? (JSON.parse(body) as JsonObject).preconditions : undefined) as
          { resourceVersion?: string; uid?: string } | undefined;
        const live = store.get(type, namespace, name!);
        const liveVersion = (live?.metadata as JsonObject | undefined)?.resourceVersion;
        if (live && preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== liveVersion)
          throw new ApiError(
            409,
            'Conflict',
            `Operation cannot be fulfilled on ${type.plural}${type.group ? `.${type.group}` : ''} "${name}": ` +
              `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ` +
              `ResourceVersion in object meta: ${String(liveVersion)}`,
            { name: name!, kind: type.plural },
          );
        store.delete(type, namespace, name!);
        return send(response, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, kind: type.plural },
        });
      }
      const parsed = (
        request.headers['content-type']?.includes('yaml') ? parseYaml(body) : JSON.parse(body)
      ) as JsonObject;
      const bodyName = (parsed.metadata as JsonObject | undefined)?.name;
      if (method === 'POST') return send(response, 201, store.create(type, namespace, parsed, manager));
      if (bodyName !== undefined && bodyName !== name)
        throw new ApiError(
          400,
          'BadRequest',
          `the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`,
        );
      if (method === 'PUT') return send(response, 200, store.update(type, namespace, parsed, manager));
      if (request.headers['content-type'] !== 'application/apply-patch+yaml') {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `fake kube only supports server-side apply patches, not ${request.headers['content-type']}`,
        );
      }
      if (!url.searchParams.get('fieldManager'))
        throw new ApiError(422, 'Invalid', 'PATCH, fieldManager: Required value: is required for apply patch');
      const existed = store.get(type, namespace, name!) !== undefined;
      const applied = store.apply(type, namespace, parsed, manager, url.searchParams.get('force') === 'true');
      return send(response, existed ? 200 : 201, applied);
    } catch (error) {
      if (error instanceof ApiError)
        return send(response, error.code, status(error.code, error.reason, error.message, error.details));
      return send(response, 500, status(500, 'InternalError', String(error)));
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) =>
      send(response, 500, status(500, 'InternalError', String(error))),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${LOOPBACK}:${port}`;
  const dir = tempDir('fake-kube');
  const kubeconfigPath = join(dir.path, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
      'users:',
      '- name: fake\n  user:\n    token: fake-token',
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default',
      'current-context: fake',
      '',
    ].join('\n'),
  );
  controller.start();

  return {
    url,
    kubeconfigPath,
    store,
    controller,
    requests,
    addFault: (fault) => faults.push({ ...fault, fired: 0, base: requests.length }),
    clearFaults: () => {
      faults = [];
    },
    reset: () => store.clear(),
    object: (apiVersion, kind, namespace, name) => store.get(typeFor(kind, apiVersion), namespace, name),
    objects: (apiVersion, kind, namespace) => store.list(typeFor(kind, apiVersion), namespace),
    seed: (objects) => {
      for (const object of objects) {
        const meta = object.metadata as JsonObject;
        store.apply(
          typeFor(String(object.kind), String(object.apiVersion)),
          meta.namespace as string | undefined,
          object,
          'kubectl',
          false,
        );
      }
    },
    scaleAsHpa: (namespace, name, replicas) => {
      const type = typeFor('Deployment', 'apps/v1');
      const live = store.get(type, namespace, name);
      if (!live) throw new Error(`fake kube: no Deployment ${namespace}/${name} to scale`);
      store.update(
        type,
        namespace,
        { ...live, spec: { ...(live.spec as JsonObject), replicas } },
        'horizontal-pod-autoscaler',
      );
    },
    stop: async () => {
      controller.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dir.remove();
    },
  };
}

function watch(
  store: Store,
  type: ResourceType,
  namespace: string | undefined,
  selector: string | undefined,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const wanted = parseSelector(selector);
  response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  response.flushHeaders();
  const listener = (event: WatchEvent): void => {
    const meta = event.object.metadata as JsonObject;
    if (event.kind !== type.kind || (namespace && meta.namespace !== namespace)) return;
    if (!matches((meta.labels ?? {}) as Record<string, string>, wanted)) return;
    response.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
  };
  store.on('event', listener);
  request.on('close', () => store.off('event', listener));
}
