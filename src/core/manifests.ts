// Multi-document YAML manifests -> Kubernetes objects, each remembering where it came from for error messages.
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from './ports.js';

export interface ManifestSource {
  path: string;
  text: string;
}

export interface SourcedObject {
  object: KubeObject;
  source: string;
}

/**
 * The largest manifest file read. Kubernetes keeps each object under about 1.5 MiB (etcd's request limit), so a file
 * far beyond that is not a set of objects to apply; refusing it before it is read keeps a wrong or hostile file (60 MB
 * took 15 s and 2 GB to parse) from stalling the run.
 */
export const MAX_MANIFEST_FILE_BYTES = 5 * 1024 ** 2;

/**
 * Alias expansions allowed per document (the yaml library's own default, pinned here). Manifests use few or none; a
 * "billion laughs" document needs millions, and is refused at the first expansion past the limit.
 */
export const MAX_ALIAS_COUNT = 100;

const mebibytes = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

/** Why a manifest file of `bytes` is refused (the caller checked it is over MAX_MANIFEST_FILE_BYTES). */
export function oversizedManifest(path: string, bytes: number): string {
  return (
    `${path}: ${mebibytes(bytes)} is over the ${mebibytes(MAX_MANIFEST_FILE_BYTES)} limit for one manifest file ` +
    '(Kubernetes objects are limited to about 1.5 MiB by etcd); name the manifests, not a data file'
  );
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad manifests:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkObject(value: unknown, where: string, problems: string[]): KubeObject | undefined {
  if (!isObject(value)) {
    problems.push(`${where}: a manifest must be a mapping with apiVersion, kind and metadata.name`);
    return undefined;
  }
  const metadata = value.metadata;
  const missing = [
    typeof value.apiVersion !== 'string' && 'apiVersion',
    typeof value.kind !== 'string' && 'kind',
    !(isObject(metadata) && typeof metadata.name === 'string') && 'metadata.name',
  ].filter(Boolean);
  if (missing.length > 0) {
    problems.push(`${where}: missing ${missing.join(', ')}`);
    return undefined;
  }
  return value as KubeObject;
}

/** Parses every document of every source; `kind: List` is flattened. Throws ManifestError listing every problem. */
export function parseManifests(sources: ManifestSource[]): SourcedObject[] {
  const problems: string[] = [];
  const objects: SourcedObject[] = [];
  for (const source of sources) {
    parseAllDocuments(source.text).forEach((document, index) => {
      const where = `${source.path} (document ${index + 1})`;
      if (document.errors.length > 0) {
        problems.push(`${where}: not valid YAML: ${document.errors[0]?.message.split('\n')[0]}`);
        return;
      }
      let value: unknown;
      try {
        value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (error) {
        // Aliases resolve here, not while parsing: an alias bomb or an unresolvable alias is bad input in this file.
        const message = (error as Error).message.split('\n')[0] ?? '';
        const limit = /alias count/i.test(message) ? ` (at most ${MAX_ALIAS_COUNT} alias expansions per document)` : '';
        problems.push(`${where}: not usable YAML: ${message}${limit}`);
        return;
      }
      if (value === null || value === undefined) return;
      const items = isObject(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
      items.forEach((item: unknown, at: number) => {
        const object = checkObject(item, items.length > 1 ? `${where} item ${at + 1}` : where, problems);
        if (object) objects.push({ object, source: where });
      });
    });
  }
  if (problems.length > 0) throw new ManifestError(problems);
  if (objects.length === 0)
    throw new ManifestError([`no Kubernetes objects in ${sources.map((s) => s.path).join(', ') || 'the manifests'}`]);
  return objects;
}
