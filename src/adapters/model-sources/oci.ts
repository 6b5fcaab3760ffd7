// `model-source: oci://<registry>/<repository>[:tag|@digest]`: an ORAS-style artifact, one layer per file, each named
// by its `org.opencontainers.image.title` annotation. Layers are read through the registry client (its token dance,
// redirects to blob storage, Range), checked against their digests by the downloader.
import { Readable } from 'node:stream';
import { RegistryError, type RegistryClient } from '../registry/client.js';
import { manifestReference, parseImageRef } from '../../core/image-ref.js';
import {
  ModelSourceError,
  safeRelativePath,
  type ModelSourceRef,
  type RemoteFile,
  type ResolvedModel,
} from '../../core/model-source.js';
import { isArchiveName } from './archive-name.js';

export const OCI_ANNOTATIONS = {
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  /** What `oras push <directory>` sets on the tar+gzip layer of a directory. */
  orasUnpack: 'io.deis.oras.content.unpack',
} as const;

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
/**
 * Gzipped tar layers are unpacked. Plain `...layer.v1.tar` is not enough on its own: it is ORAS' default media type
 * for any single file (`oras push reg/m:1 model.joblib`), so only a title ending in .tar says it is an archive.
 */
const GZIP_TAR_TYPES = [
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
];

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

interface ArtifactManifest {
  mediaType?: string;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

type OciRef = Extract<ModelSourceRef, { kind: 'oci' }>;

export async function resolveOci(ref: OciRef, clientFor: (registry: string) => RegistryClient): Promise<ResolvedModel> {
  const label = `model-source ${ref.uri}`;
  let image;
  try {
    image = parseImageRef(ref.reference);
  } catch (error) {
    throw new ModelSourceError(`${label}: ${(error as Error).message}`, { cause: error });
  }
  const client = clientFor(image.registry);
  const { registry, repository } = image;
  const reference = manifestReference(image);
  let fetched;
  try {
    fetched = await client.getManifest(repository, reference);
  } catch (error) {
    if (error instanceof RegistryError && error.status === 404) {
      throw new ModelSourceError(
        `${label}: not found: ${registry} has no manifest ${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference} ` +
          '(check the tag, or push the artifact with oras push)',
        { cause: error },
      );
    }
    throw new ModelSourceError(`${label}: ${(error as Error).message}`, { cause: error });
  }
  const manifest = JSON.parse(fetched.body.toString()) as ArtifactManifest;
  if (INDEX_TYPES.includes(fetched.mediaType) || manifest.manifests) {
    const all = (manifest.manifests ?? []).map((child) => child.digest);
    const children = all.length > 3 ? [...all.slice(0, 3), '…'] : all;
    throw new ModelSourceError(
      `${label}: ${repository}:${reference} is an image index (${children.join(', ')}), ` +
        `not one artifact: point model-source at a single-artifact manifest (oci://${registry}/${repository}@sha256:...)`,
    );
  }
  const layers = manifest.layers ?? [];
  if (layers.length === 0)
    throw new ModelSourceError(`${label}: the artifact ${fetched.digest} has no layers (no files)`);
  const files = layers.map((layer) => layerFile(layer, { label, registry, repository, client }));
  const annotations = manifest.annotations ?? {};
  const version =
    annotations[OCI_ANNOTATIONS.version] ?? image.tag ?? fetched.digest.replace(/^sha256:/, '').slice(0, 12);
  const name = annotations[OCI_ANNOTATIONS.title] ?? repository.split('/').pop()!;
  return { source: ref, name, version, files };
}

function layerFile(
  layer: Descriptor,
  where: { label: string; registry: string; repository: string; client: RegistryClient },
): RemoteFile {
  const title = layer.annotations?.[OCI_ANNOTATIONS.title];
  if (!title) {
    throw new ModelSourceError(
      `${where.label}: layer ${layer.digest} has no ${OCI_ANNOTATIONS.title} annotation, so it names no file ` +
        '(is this a container image? push the model files with oras push, which names each one)',
    );
  }
  const hex = /^sha256:([0-9a-f]{64})$/.exec(layer.digest)?.[1];
  if (!hex) throw new ModelSourceError(`${where.label}: layer '${title}' has digest ${layer.digest}, not a sha256`);
  const blob = where.client.remoteBlob(where.repository, layer.digest, layer.size);
  const unpack =
    isArchiveName(title) ||
    GZIP_TAR_TYPES.includes(layer.mediaType ?? '') ||
    layer.annotations?.[OCI_ANNOTATIONS.orasUnpack] === 'true';
  return {
    path: safeRelativePath(title, where.label),
    url: `oci://${where.registry}/${where.repository}@${layer.digest}`,
    size: layer.size,
    hash: { algorithm: 'sha256', hex },
    unpack,
    // An empty layer has no byte range to ask for.
    open: (start) => (layer.size === 0 ? Promise.resolve(Readable.from([])) : blob.open(start)),
  };
}
