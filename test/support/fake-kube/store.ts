// Objects by type/namespace/name with resourceVersion, generation, field managers and server-side apply.
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { ResourceType } from './resources.js';
import { apiVersionOf } from './resources.js';
import {
  deletePath,
  fieldsV1,
  getPath,
  leafPaths,
  sameJson,
  setPath,
  type JsonObject,
  type PathKey,
} from './fields.js';

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: JsonObject = {},
  ) {
    super(message);
  }
}

interface Entry {
  type: ResourceType;
  object: JsonObject;
  /** Field manager -> the leaf paths it owns, and whether it got them by Apply or Update. */
  managers: Map<string, { paths: Set<PathKey>; operation: 'Apply' | 'Update'; time: string }>;
}

export type WatchEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: JsonObject; kind: string };

const meta = (object: JsonObject): JsonObject => (object.metadata ?? {}) as JsonObject;

export class Store extends EventEmitter {
  private entries = new Map<string, Entry>();
  private version = 1000;

  private key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${apiVersionOf(type)}/${type.kind}/${type.namespaced ? (namespace ?? 'default') : ''}/${name}`;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): JsonObject | undefined {
    const entry = this.entries.get(this.key(type, namespace, name));
    return entry ? this.render(entry) : undefined;
  }

  list(type: ResourceType, namespace?: string, labelSelector?: string): JsonObject[] {
    const wanted = parseSelector(labelSelector);
    return [...this.entries.values()]
      .filter((e) => e.type === type && (!type.namespaced || !namespace || meta(e.object).namespace === namespace))
      .filter((e) => matches((meta(e.object).labels ?? {}) as Record<string, string>, wanted))
      .map((e) => this.render(e));
  }

  /** Forgets every object (resourceVersions keep rising, as after an etcd restore they would not: tests only). */
  clear(): void {
    this.entries.clear();
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  /** POST: create, 409 AlreadyExists when it exists. */
  create(type: ResourceType, namespace: string | undefined, object: JsonObject, manager: string): JsonObject {
    const name = String(meta(object).name ?? '');
    if (this.entries.has(this.key(type, namespace, name))) {
      throw new ApiError(409, 'AlreadyExists', `${type.plural} "${name}" already exists`, { name, kind: type.plural });
    }
    const fresh = this.fresh(type, namespace, name);
    const entry: Entry = { type, object: fresh, managers: new Map() };
    const paths = leafPaths(object, type.statusSubresource);
    for (const [path, value] of paths) setPath(entry.object, path, value);
    entry.managers.set(manager, { paths: new Set(paths.keys()), operation: 'Update', time: new Date().toISOString() });
    return this.commit(entry, 'ADDED', true);
  }

  /** PUT: replace (status kept), 409 when resourceVersion is stale, 404 when absent. */
  update(type: ResourceType, namespace: string | undefined, object: JsonObject, manager: string): JsonObject {
    const entry = this.require(type, namespace, String(meta(object).name ?? ''));
    this.checkVersion(entry, object);
    const before = leafPaths(entry.object, type.statusSubresource);
    const after = leafPaths(object, type.statusSubresource);
    const specBefore = structuredClone(entry.object.spec);
    for (const path of before.keys()) if (!after.has(path)) deletePath(entry.object, path);
    const changed = new Set<PathKey>();
    for (const [path, value] of after) {
      if (!sameJson(before.get(path), value)) changed.add(path);
      setPath(entry.object, path, value);
    }
    this.takeOwnership(entry, manager, changed, 'Update');
    return this.commit(entry, 'MODIFIED', !sameJson(specBefore, entry.object.spec));
  }

  /** Server-side apply (`application/apply-patch+yaml`). */
  apply(
    type: ResourceType,
    namespace: string | undefined,
    applied: JsonObject,
    manager: string,
    force: boolean,
  ): JsonObject {
    const name = String(meta(applied).name ?? '');
    const key = this.key(type, namespace, name);
    let entry = this.entries.get(key);
    const created = !entry;
    if (!entry) {
      if (meta(applied).resourceVersion) throw new ApiError(404, 'NotFound', `${type.plural} "${name}" not found`);
      entry = { type, object: this.fresh(type, namespace, name), managers: new Map() };
    } else {
      this.checkVersion(entry, applied);
    }
    const paths = leafPaths(applied, type.statusSubresource);
    const conflicts: { manager: string; path: PathKey }[] = [];
    for (const [path, value] of paths) {
      for (const [other, owned] of entry.managers) {
        if (other !== manager && owned.paths.has(path) && !sameJson(getPath(entry.object, path), value)) {
          conflicts.push({ manager: other, path });
        }
      }
    }
    if (conflicts.length > 0 && !force) {
      const field = (path: PathKey): string => `.${(JSON.parse(path) as string[]).join('.')}`;
      const list = conflicts.map((c) => `conflict with "${c.manager}": ${field(c.path)}`).join('\n');
      throw new ApiError(
        409,
        'Conflict',
        `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${list}`,
        {
          name,
          kind: type.plural,
          causes: conflicts.map((c) => ({
            reason: 'FieldManagerConflict',
            message: `conflict with "${c.manager}"`,
            field: field(c.path),
          })),
        },
      );
    }
    const specBefore = structuredClone(entry.object.spec);
    const objectBefore = structuredClone(entry.object);
    for (const c of conflicts) entry.managers.get(c.manager)?.paths.delete(c.path);
    const previous = entry.managers.get(manager)?.paths ?? new Set<PathKey>();
    for (const path of previous) {
      const ownedElsewhere = [...entry.managers].some(([other, owned]) => other !== manager && owned.paths.has(path));
      if (!paths.has(path) && !ownedElsewhere) deletePath(entry.object, path);
    }
    for (const [path, value] of paths) setPath(entry.object, path, value);
    entry.managers.set(manager, { paths: new Set(paths.keys()), operation: 'Apply', time: new Date().toISOString() });
    if (!created && sameJson(objectBefore, entry.object)) return this.render(entry);
    this.entries.set(key, entry);
    return this.commit(entry, created ? 'ADDED' : 'MODIFIED', created || !sameJson(specBefore, entry.object.spec));
  }

  /** The status subresource, as controllers write it. */
  setStatus(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    status: JsonObject,
  ): JsonObject | undefined {
    const entry = this.entries.get(this.key(type, namespace, name));
    if (!entry || sameJson(entry.object.status, status)) return entry && this.render(entry);
    entry.object.status = structuredClone(status);
    return this.commit(entry, 'MODIFIED', false);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const entry = this.require(type, namespace, name);
    this.entries.delete(this.key(type, namespace, name));
    const rendered = this.render(entry);
    this.version++;
    this.emit('event', { type: 'DELETED', object: rendered, kind: type.kind } satisfies WatchEvent);
    return rendered;
  }

  private require(type: ResourceType, namespace: string | undefined, name: string): Entry {
    const entry = this.entries.get(this.key(type, namespace, name));
    if (!entry)
      throw new ApiError(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`, {
        name,
        kind: type.plural,
      });
    return entry;
  }

  private checkVersion(entry: Entry, object: JsonObject): void {
    const sent = meta(object).resourceVersion;
    if (sent !== undefined && sent !== meta(entry.object).resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${entry.type.plural} "${String(meta(entry.object).name)}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
  }

  private takeOwnership(entry: Entry, manager: string, paths: Set<PathKey>, operation: 'Apply' | 'Update'): void {
    for (const [, owned] of entry.managers) for (const path of paths) owned.paths.delete(path);
    const mine = entry.managers.get(manager) ?? { paths: new Set<PathKey>(), operation, time: '' };
    for (const path of paths) mine.paths.add(path);
    mine.time = new Date().toISOString();
    entry.managers.set(manager, mine);
  }

  private fresh(type: ResourceType, namespace: string | undefined, name: string): JsonObject {
    const metadata: JsonObject = {
      name,
      uid: randomUUID(),
      creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      generation: 0,
    };
    if (type.namespaced) metadata.namespace = namespace ?? 'default';
    return { apiVersion: apiVersionOf(type), kind: type.kind, metadata };
  }

  private commit(entry: Entry, event: WatchEvent['type'], specChanged: boolean): JsonObject {
    const metadata = meta(entry.object);
    this.version++;
    metadata.resourceVersion = String(this.version);
    if (specChanged) metadata.generation = Number(metadata.generation ?? 0) + 1;
    this.entries.set(this.key(entry.type, metadata.namespace as string | undefined, String(metadata.name)), entry);
    const rendered = this.render(entry);
    this.emit('event', { type: event, object: rendered, kind: entry.type.kind } satisfies WatchEvent);
    return rendered;
  }

  private render(entry: Entry): JsonObject {
    const copy = structuredClone(entry.object);
    meta(copy).managedFields = [...entry.managers]
      .filter(([, owned]) => owned.paths.size > 0)
      .map(([manager, owned]) => ({
        manager,
        operation: owned.operation,
        apiVersion: apiVersionOf(entry.type),
        time: owned.time.replace(/\.\d+Z$/, 'Z'),
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsV1(owned.paths),
      }));
    return copy;
  }
}

export function parseSelector(selector: string | undefined): [string, string][] {
  if (!selector) return [];
  return selector.split(',').map((term) => {
    const [key, value] = term.split('=');
    return [String(key).trim(), String(value ?? '').trim()];
  });
}

export const matches = (labels: Record<string, string>, wanted: [string, string][]): boolean =>
  wanted.every(([key, value]) => labels[key] === value);
