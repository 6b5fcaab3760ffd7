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
      const value: unknown = document.toJS();
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
