// Field paths for server-side apply: every leaf of an object (maps are walked, lists and scalars are leaves).
import { isDeepStrictEqual } from 'node:util';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A path as a string key: JSON of the segments. */
export type PathKey = string;

const isMap = (value: unknown): value is JsonObject => !!value && typeof value === 'object' && !Array.isArray(value);

// Identity and bookkeeping are nobody's fields.
const UNOWNED = new Set([
  '["apiVersion"]',
  '["kind"]',
  '["metadata","name"]',
  '["metadata","namespace"]',
  '["metadata","resourceVersion"]',
  '["metadata","managedFields"]',
  '["metadata","uid"]',
  '["metadata","generation"]',
  '["metadata","creationTimestamp"]',
]);

export function leafPaths(object: JsonObject, skipStatus: boolean): Map<PathKey, Json> {
  const out = new Map<PathKey, Json>();
  const walk = (value: Json, path: string[]): void => {
    if (isMap(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      return;
    }
    const key = JSON.stringify(path);
    if (!UNOWNED.has(key)) out.set(key, value);
  };
  for (const [key, value] of Object.entries(object)) {
    if (skipStatus && key === 'status') continue;
    walk(value, [key]);
  }
  return out;
}

export function getPath(object: JsonObject, key: PathKey): Json | undefined {
  let current: Json | undefined = object;
  for (const segment of JSON.parse(key) as string[]) {
    if (!isMap(current)) return undefined;
    current = current[segment];
  }
  return current;
}

export function setPath(object: JsonObject, key: PathKey, value: Json): void {
  const path = JSON.parse(key) as string[];
  let current = object;
  for (const segment of path.slice(0, -1)) {
    if (!isMap(current[segment])) current[segment] = {};
    current = current[segment] as JsonObject;
  }
  current[path.at(-1) as string] = structuredClone(value);
}

/** Removes the leaf and any maps left empty above it. */
export function deletePath(object: JsonObject, key: PathKey): void {
  const path = JSON.parse(key) as string[];
  const parents: JsonObject[] = [];
  let current: Json | undefined = object;
  for (const segment of path.slice(0, -1)) {
    if (!isMap(current)) return;
    parents.push(current);
    current = current[segment];
  }
  if (!isMap(current)) return;
  delete current[path.at(-1) as string];
  for (let i = parents.length - 1; i >= 0; i--) {
    const child = (parents[i] as JsonObject)[path[i] as string];
    if (isMap(child) && Object.keys(child).length === 0) delete (parents[i] as JsonObject)[path[i] as string];
    else break;
  }
}

export const sameJson = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b);

/** FieldsV1 as the API server shows it in managedFields: `{"f:spec": {"f:replicas": {}}}`. */
export function fieldsV1(paths: Iterable<PathKey>): JsonObject {
  const root: JsonObject = {};
  for (const key of paths) {
    let current = root;
    for (const segment of JSON.parse(key) as string[]) {
      const name = `f:${segment}`;
      if (!isMap(current[name])) current[name] = {};
      current = current[name] as JsonObject;
    }
  }
  return root;
}
