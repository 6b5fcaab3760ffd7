// The daemonless builder: a serving base image from a registry + the model directory as one new layer,
// labels and env in the config, pushed by digest. Multi-platform base indexes get the layer on each platform.
// Base layers are never downloaded when they can be found (HEAD) or mounted in the target registry.
import { join } from 'node:path';
import { parseImageRef, manifestReference, imageByDigest } from '../../core/image-ref.js';
import { formatPlatform, imageLabels, mergeEnv, platformWanted, type Platform } from '../../core/image-labels.js';
import type { BuiltImage, ImageBuilder } from '../../core/ports.js';
import { bufferBlob, fileBlob, type BlobSource } from './blob-source.js';
import { MEDIA_TYPES, type RegistryClient } from './client.js';
import { buildModelLayer, DEFAULT_MODEL_TARGET, type ModelLayer } from './layer.js';

export interface OciBuildRequest {
  registry: string;
  repository: string;
  /** Full reference of the serving image the model goes on, e.g. `myacr.azurecr.io/mlserver:1.6`. */
  baseImage: string;
  modelPath: string;
  /** What the image history says the model came from (default modelPath; a download's temp dir would vary). */
  modelOrigin?: string;
  /** Where the model lands in the image (default /mnt/models, where KServe looks). */
  modelTarget?: string;
  modelName?: string;
  modelVersion?: string;
  source?: string;
  revision?: string;
  /** Image creation time; pass the commit time for images that are the same on every re-run. */
  created: Date;
  labels?: Record<string, string>;
  env?: Record<string, string>;
  /** The image's Cmd (arguments to the base's entrypoint), for servers that need to be told where the model is. */
  cmd?: string[];
  /** Only these platforms of a multi-platform base (default: all). */
  platforms?: string[];
  compressionLevel?: number | 'auto';
  /** A scratch directory for the layer file. */
  workDir: string;
}

export interface OciBuildResult extends BuiltImage {
  mediaType: string;
  layer: ModelLayer;
  platforms: string[];
}

export interface BuildProgress {
  (what: string, sentBytes: number, totalBytes: number): void;
}

export interface OciBuilderDeps {
  /** A registry client per host (base and target may differ). */
  clientFor(registry: string): RegistryClient;
  onProgress?: BuildProgress;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  urls?: string[];
  annotations?: Record<string, string>;
}

interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

interface ImageConfig {
  created?: string;
  config?: { Labels?: Record<string, string> | null; Env?: string[]; [key: string]: unknown };
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; comment?: string; empty_layer?: boolean }[];
  [key: string]: unknown;
}

const LAYER_MEDIA_TYPE: Record<string, string> = {
  [MEDIA_TYPES.ociManifest]: 'application/vnd.oci.image.layer.v1.tar+gzip',
  [MEDIA_TYPES.dockerManifest]: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

export class OciBuilder implements ImageBuilder<OciBuildRequest> {
  constructor(private readonly deps: OciBuilderDeps) {}

  async build(request: OciBuildRequest): Promise<OciBuildResult> {
    const layer = await buildModelLayer({
      modelPath: request.modelPath,
      target: request.modelTarget,
      outputFile: join(request.workDir, 'model-layer.tar.gz'),
      compressionLevel: request.compressionLevel,
    });
    const base = parseImageRef(request.baseImage);
    const baseClient = this.deps.clientFor(base.registry);
    const target = this.deps.clientFor(request.registry);
    const baseManifest = await baseClient.getManifest(base.repository, manifestReference(base));
    const job = new PushJob(request, layer, base.registry, base.repository, baseClient, target, this.deps.onProgress);

    let digest: string;
    let mediaType = baseManifest.mediaType;
    let platforms: string[] = [];
    if (mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList) {
      const index = JSON.parse(baseManifest.body.toString()) as ImageIndex;
      const wanted = index.manifests.filter((entry) => platformWanted(entry.platform, request.platforms));
      if (wanted.length === 0) {
        throw new Error(
          `base-image ${request.baseImage} has no manifest for platforms ${request.platforms?.join(',') ?? '(any)'}`,
        );
      }
      const manifests: Descriptor[] = [];
      for (const entry of wanted) {
        const child = await baseClient.getManifest(base.repository, entry.digest);
        const pushed = await job.pushImage(JSON.parse(child.body.toString()) as ImageManifest, child.mediaType);
        manifests.push({ ...pushed, platform: entry.platform });
        platforms.push(formatPlatform(entry.platform!));
      }
      const newIndex: ImageIndex = { schemaVersion: 2, mediaType, manifests };
      if (mediaType === MEDIA_TYPES.ociIndex) newIndex.annotations = job.baseAnnotations(baseManifest.digest);
      const body = Buffer.from(JSON.stringify(newIndex));
      digest = await target.putManifest(request.repository, bufferBlob(body).digest, body, mediaType);
    } else if (LAYER_MEDIA_TYPE[mediaType]) {
      const pushed = await job.pushImage(JSON.parse(baseManifest.body.toString()) as ImageManifest, mediaType);
      digest = pushed.digest;
      mediaType = pushed.mediaType;
      platforms = [];
    } else {
      throw new Error(
        `base-image ${request.baseImage} has media type '${mediaType}', which the oci builder cannot extend`,
      );
    }
    return {
      digest,
      image: imageByDigest(request.registry, request.repository, digest),
      mediaType,
      layer,
      bytesUploaded: job.bytesUploaded,
      tags: [],
      platforms,
    };
  }
}

/** One build's pushes: blobs are uploaded at most once, whatever the number of platforms. */
class PushJob {
  bytesUploaded = 0;

  constructor(
    private readonly request: OciBuildRequest,
    private readonly layer: ModelLayer,
    private readonly baseRegistry: string,
    private readonly baseRepository: string,
    private readonly baseClient: RegistryClient,
    private readonly target: RegistryClient,
    private readonly onProgress?: BuildProgress,
  ) {}

  baseAnnotations(baseDigest: string): Record<string, string> {
    return {
      'org.opencontainers.image.base.name': this.request.baseImage,
      'org.opencontainers.image.base.digest': baseDigest,
    };
  }

  async pushImage(base: ImageManifest, mediaType: string): Promise<Descriptor> {
    const layerMediaType = LAYER_MEDIA_TYPE[mediaType];
    if (!layerMediaType) {
      throw new Error(`base-image ${this.request.baseImage}: platform manifest type '${mediaType}' is not supported`);
    }
    const config = JSON.parse((await this.baseClient.getBlob(this.baseRepository, base.config.digest)).toString());
    const configBody = Buffer.from(JSON.stringify(this.extendConfig(config as ImageConfig)));
    const configBlob = bufferBlob(configBody);

    for (const baseLayer of base.layers) {
      // Foreign layers (Windows bases) live elsewhere by design; the registry never holds them.
      if (baseLayer.urls?.length) continue;
      await this.copyBaseBlob(baseLayer);
    }
    await this.upload('model layer', fileBlob(this.layer.file, this.layer.digest, this.layer.size));
    await this.upload('config', configBlob);

    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: base.config.mediaType, digest: configBlob.digest, size: configBlob.size },
      layers: [...base.layers, { mediaType: layerMediaType, digest: this.layer.digest, size: this.layer.size }],
    };
    if (mediaType === MEDIA_TYPES.ociManifest) {
      manifest.annotations = { ...base.annotations, 'org.opencontainers.image.base.name': this.request.baseImage };
    }
    const body = Buffer.from(JSON.stringify(manifest));
    const digest = await this.target.putManifest(this.request.repository, bufferBlob(body).digest, body, mediaType);
    return { mediaType, digest, size: body.length };
  }

  private extendConfig(config: ImageConfig): ImageConfig {
    const created = this.request.created.toISOString();
    const target = this.request.modelTarget ?? DEFAULT_MODEL_TARGET;
    const labels = imageLabels(
      {
        source: this.request.source,
        revision: this.request.revision,
        created: this.request.created,
        modelName: this.request.modelName,
        modelVersion: this.request.modelVersion,
        modelSha256: this.layer.modelSha256,
      },
      this.request.labels,
    );
    const inner = config.config ?? {};
    return {
      ...config,
      created,
      config: {
        ...inner,
        Labels: { ...(inner.Labels ?? {}), ...labels },
        Env: mergeEnv(inner.Env, this.request.env ?? {}),
        ...(this.request.cmd ? { Cmd: this.request.cmd } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, this.layer.diffId] },
      history: [
        ...(config.history ?? []),
        {
          created,
          created_by: `model-canary: model files from ${this.request.modelOrigin ?? this.request.modelPath} into ${target}`,
        },
      ],
    };
  }

  /** Same registry: HEAD, else mount from the base repository. Another registry: streamed across. */
  private async copyBaseBlob(descriptor: Descriptor): Promise<void> {
    const sameRegistry = this.baseRegistry === this.request.registry;
    const source = this.baseClient.remoteBlob(this.baseRepository, descriptor.digest, descriptor.size);
    await this.upload(
      `base layer ${descriptor.digest.slice(7, 19)}`,
      source,
      sameRegistry ? this.baseRepository : undefined,
    );
  }

  private async upload(what: string, source: BlobSource, mountFrom?: string): Promise<void> {
    let sent = 0;
    const result = await this.target.uploadBlob(this.request.repository, source, {
      mountFrom,
      onBytes: (count) => {
        sent += count;
        this.onProgress?.(what, sent, source.size);
      },
    });
    this.bytesUploaded += result.bytesSent;
    if (result.uploaded) this.onProgress?.(what, source.size, source.size);
  }
}
