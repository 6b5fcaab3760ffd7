// The labels model-canary puts on every model image, so the image says where it came from and what it holds.

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
} as const;

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
