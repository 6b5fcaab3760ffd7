// The labels model-canary puts on every model image, so the image says where it came from and what it holds.
import { MODEL_SOURCE_KINDS, type ModelProvenance } from './model-source.js';

export interface ImageProvenance {
  /** Repository URL, e.g. https://github.com/org/repo. */
  source?: string;
  /** Git commit sha. */
  revision?: string;
  created?: Date;
  modelName?: string;
  modelVersion?: string;
  /** sha256 (hex) of the model file, or of the list of file hashes for a directory. */
  modelSha256?: string;
}

export const MODEL_LABELS = {
  name: 'io.model-canary.model.name',
  version: 'io.model-canary.model.version',
  sha256: 'io.model-canary.model.sha256',
  source: 'io.model-canary.model.source',
  kind: 'io.model-canary.model.source-kind',
  files: 'io.model-canary.model.files',
  bytes: 'io.model-canary.model.bytes',
} as const;

/** The labels that say which registered model an image holds; they win over the builder's own. */
export function modelSourceLabels(model: ModelProvenance): Record<string, string> {
  return {
    'org.opencontainers.image.title': model.name,
    'org.opencontainers.image.version': model.version,
    [MODEL_LABELS.name]: model.name,
    [MODEL_LABELS.version]: model.version,
    [MODEL_LABELS.sha256]: model.sha256,
    [MODEL_LABELS.source]: model.uri,
    [MODEL_LABELS.kind]: model.kind,
    [MODEL_LABELS.files]: String(model.files),
    [MODEL_LABELS.bytes]: String(model.bytes),
  };
}

const KINDS: readonly ModelProvenance['kind'][] = [...MODEL_SOURCE_KINDS, 'path'];

/** The provenance an image built by model-canary carries, read back from its labels (none: not one of ours). */
export function provenanceFromLabels(labels: Record<string, string> | undefined): ModelProvenance | undefined {
  const name = labels?.[MODEL_LABELS.name];
  const sha256 = labels?.[MODEL_LABELS.sha256];
  if (!labels || !name || !sha256) return undefined;
  const kind = labels[MODEL_LABELS.kind] as ModelProvenance['kind'] | undefined;
  const count = (value: string | undefined): number => (value && /^\d+$/.test(value) ? Number(value) : 0);
  return {
    kind: kind && KINDS.includes(kind) ? kind : 'path',
    uri: labels[MODEL_LABELS.source] ?? '',
    name,
    version: labels[MODEL_LABELS.version] ?? '',
    sha256,
    files: count(labels[MODEL_LABELS.files]),
    bytes: count(labels[MODEL_LABELS.bytes]),
  };
}

export function imageLabels(provenance: ImageProvenance, extra: Record<string, string> = {}): Record<string, string> {
  const labels: Record<string, string | undefined> = {
    'org.opencontainers.image.source': provenance.source,
    'org.opencontainers.image.revision': provenance.revision,
    'org.opencontainers.image.created': provenance.created?.toISOString(),
    'org.opencontainers.image.title': provenance.modelName,
    'org.opencontainers.image.version': provenance.modelVersion,
    [MODEL_LABELS.name]: provenance.modelName,
    [MODEL_LABELS.version]: provenance.modelVersion,
    [MODEL_LABELS.sha256]: provenance.modelSha256,
  };
  const defined = Object.entries(labels).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return { ...Object.fromEntries(defined), ...extra };
}

/** `KEY=VALUE` lists as image configs hold them; later keys win, order of first appearance kept. */
export function mergeEnv(base: string[] | undefined, overrides: Record<string, string>): string[] {
  const merged = new Map<string, string>();
  for (const item of base ?? []) {
    const at = item.indexOf('=');
    merged.set(at < 0 ? item : item.slice(0, at), at < 0 ? '' : item.slice(at + 1));
  }
  for (const [key, value] of Object.entries(overrides)) merged.set(key, value);
  return [...merged].map(([key, value]) => `${key}=${value}`);
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** Does an index entry's platform match one of the requested ones (`linux/amd64`, `linux/arm64/v8`)? */
export function platformWanted(platform: Platform | undefined, wanted: string[] | undefined): boolean {
  if (!platform || platform.os === 'unknown' || platform.architecture === 'unknown') return false;
  if (!wanted || wanted.length === 0) return true;
  const text = formatPlatform(platform);
  return wanted.some(
    (item) => item === text || (!item.split('/')[2] && item === `${platform.os}/${platform.architecture}`),
  );
}
