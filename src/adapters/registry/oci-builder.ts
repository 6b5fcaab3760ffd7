// The daemonless builder: a serving base image from a registry + the model directory as new layers that follow
// its files (layer.ts), labels and env in the config, pushed by digest. Multi-platform base indexes get the model
// layers on each platform. Base layers are never downloaded when they can be found (HEAD) or mounted in the target
// registry; model layers are hashed first and sent only when missing (or mounted from a `mountFrom` repository).
// Up to `concurrency` blobs move at once, and a layer is hashed while the ones before it upload. In a repository
// that does not exist yet no layer can be present, so there each layer goes up while it is hashed: one read.
import { parseImageRef, manifestReference, imageByDigest } from '../../core/image-ref.js';
import { formatPlatform, imageLabels, mergeEnv, platformWanted, type Platform } from '../../core/image-labels.js';
import type { BuiltImage, ImageBuilder } from '../../core/ports.js';
import type { PushProgress } from '../../engine/build.js';
import { bufferBlob, type BlobSource } from './blob-source.js';
import { MEDIA_TYPES, type Manifest, type RegistryClient, type UploadResult } from './client.js';
import {
  DEFAULT_MODEL_TARGET,
  MAX_MODEL_LAYERS,
  planModelLayers,
  type LayerBlob,
  type ModelLayers,
  type PlannedLayer,
} from './layer.js';

/** Blobs moving at once: enough to keep a registry's cores busy, few enough to keep memory flat. */
export const DEFAULT_CONCURRENCY = 4;
/** Layers an image may have in all (overlayfs stacks at most about 128 lower directories). */
const MAX_IMAGE_LAYERS = 127;

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
  /** A scratch directory for layers worth compressing. */
  workDir: string;
  /**
   * Repositories of the target registry that may already hold model layers (the same model pushed under another
   * name, a staging repository): a missing layer is mounted from them instead of uploaded.
   */
  mountFrom?: string[];
  /** Blobs uploaded at once (default 4). */
  concurrency?: number;
  /** Files this big get a layer of their own (default 16 MiB). */
  ownLayerMinBytes?: number;
  /** At most this many model layers (default 32, fewer when the base has so many that the image would pass 127). */
  maxModelLayers?: number;
}

/** What happened to one model layer on its way to the registry. */
export interface LayerPush {
  description: string;
  digest: string;
  size: number;
  /** `present`: found by HEAD; `mounted`: linked from another repository; `uploaded`: its bytes were sent. */
  outcome: 'present' | 'mounted' | 'uploaded';
  bytesSent: number;
}

export interface OciBuildResult extends BuiltImage {
  mediaType: string;
  /** The model's layers, files and content hash. */
  layer: ModelLayers;
  /** Model layers in image order, and how each got there. */
  layerPushes: LayerPush[];
  /** True when the layers went up while they were hashed (a repository that did not exist). */
  streamedWhileHashing: boolean;
  platforms: string[];
}

export interface OciBuilderDeps {
  /** A registry client per host (base and target may differ). */
  clientFor(registry: string): RegistryClient;
  onProgress?: PushProgress;
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
    const base = parseImageRef(request.baseImage);
    const baseClient = this.deps.clientFor(base.registry);
    const target = this.deps.clientFor(request.registry);
    const baseManifest = await baseClient.getManifest(base.repository, manifestReference(base));

    const isIndex =
      baseManifest.mediaType === MEDIA_TYPES.ociIndex || baseManifest.mediaType === MEDIA_TYPES.dockerList;
    if (!isIndex && !LAYER_MEDIA_TYPE[baseManifest.mediaType]) {
      throw new Error(
        `base-image ${request.baseImage} has media type '${baseManifest.mediaType}', which the oci builder cannot extend`,
      );
    }
    let wanted: { platform?: Platform; manifest: Manifest }[];
    if (isIndex) {
      const index = JSON.parse(baseManifest.body.toString()) as ImageIndex;
      const entries = index.manifests.filter((entry) => platformWanted(entry.platform, request.platforms));
      if (entries.length === 0) {
        throw new Error(
          `base-image ${request.baseImage} has no manifest for platforms ${request.platforms?.join(',') ?? '(any)'}`,
        );
      }
      wanted = await Promise.all(
        entries.map(async (entry) => ({
          platform: entry.platform,
          manifest: await baseClient.getManifest(base.repository, entry.digest),
        })),
      );
    } else {
      wanted = [{ manifest: baseManifest }];
    }
    const baseImages = wanted.map(({ platform, manifest }) => ({
      platform,
      mediaType: manifest.mediaType,
      image: JSON.parse(manifest.body.toString()) as ImageManifest,
    }));
    const baseLayerCount = Math.max(...baseImages.map(({ image }) => image.layers.length));
    // The base configs are needed at the end only: fetched while the layers move.
    const baseConfigs = baseImages.map(({ image }) => baseClient.getBlob(base.repository, image.config.digest));
    for (const config of baseConfigs) config.catch(() => undefined);

    // A layer hashed before it is sent is silent until its upload starts: for a large model, the hashing says how far
    // it got (a layer sent while it is hashed shows its upload instead).
    let hashedFirst = false;
    const onPrepared = (description: string, done: number, total: number) => {
      if (hashedFirst) this.deps.onProgress?.(`hashing ${description}`, done, total, 'hashed');
    };
    const plan = await planModelLayers({
      onPrepared,
      modelPath: request.modelPath,
      target: request.modelTarget,
      workDir: request.workDir,
      compressionLevel: request.compressionLevel,
      ownLayerMinBytes: request.ownLayerMinBytes,
      maxLayers: Math.max(1, Math.min(request.maxModelLayers ?? MAX_MODEL_LAYERS, MAX_IMAGE_LAYERS - baseLayerCount)),
    });
    const job = new PushJob(request, base.registry, base.repository, baseClient, target, this.deps.onProgress);
    try {
      const firstBaseLayer = baseImages[0]!.image.layers.find((layer) => !layer.urls?.length);
      const streamedWhileHashing = !request.mountFrom?.length && (await job.repositoryIsNew(firstBaseLayer?.digest));
      hashedFirst = !streamedWhileHashing;
      // Base layers and model layers move at once; every model layer is hashed (or built) meanwhile.
      const baseCopies = baseImages.flatMap(({ image }) =>
        image.layers.filter((layer) => !layer.urls?.length).map((layer) => job.copyBaseBlob(layer)),
      );
      const modelPushes = plan.layers.map((layer, index) =>
        job.pushModelLayer(layer, `model layer ${index + 1}/${plan.layers.length} (${layer.description})`, {
          whileHashing: streamedWhileHashing,
        }),
      );
      const model = await plan.seal().catch(async (error: unknown) => {
        await settle<unknown>([...baseCopies, ...modelPushes]);
        throw error;
      });
      await settle<unknown>([...modelPushes, ...baseCopies]);
      const layerPushes = await Promise.all(modelPushes);

      const manifests: Descriptor[] = [];
      const platforms: string[] = [];
      for (const [index, { platform, mediaType, image }] of baseImages.entries()) {
        const config = JSON.parse((await baseConfigs[index]!).toString()) as ImageConfig;
        manifests.push({
          ...(await job.pushImage(image, mediaType, config, model)),
          ...(platform ? { platform } : {}),
        });
        if (platform) platforms.push(formatPlatform(platform));
      }
      let digest: string;
      let mediaType: string;
      if (isIndex) {
        mediaType = baseManifest.mediaType;
        const newIndex: ImageIndex = { schemaVersion: 2, mediaType, manifests };
        if (mediaType === MEDIA_TYPES.ociIndex) newIndex.annotations = job.baseAnnotations(baseManifest.digest);
        digest = await job.putManifest(Buffer.from(JSON.stringify(newIndex)), mediaType);
      } else {
        ({ digest, mediaType } = manifests[0]!);
      }
      return {
        digest,
        image: imageByDigest(request.registry, request.repository, digest),
        mediaType,
        layer: model,
        layerPushes,
        streamedWhileHashing,
        bytesUploaded: job.bytesUploaded,
        tags: [],
        platforms,
      };
    } finally {
      await plan.dispose();
    }
  }
}

/** Waits for every promise (none left running), then throws the first failure or returns the results. */
async function settle<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** A counting semaphore: at most `size` tasks at once, in the order they asked. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((wake) => this.waiting.push(wake));
    else this.busy++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}

/** One build's pushes: blobs are uploaded at most once, whatever the number of platforms. */
class PushJob {
  bytesUploaded = 0;
  private readonly slots: Slots;
  private readonly blobs = new Map<string, Promise<UploadResult>>();

  constructor(
    private readonly request: OciBuildRequest,
    private readonly baseRegistry: string,
    private readonly baseRepository: string,
    private readonly baseClient: RegistryClient,
    private readonly target: RegistryClient,
    private readonly onProgress?: PushProgress,
  ) {
    this.slots = new Slots(Math.max(1, request.concurrency ?? DEFAULT_CONCURRENCY));
  }

  private get sameRegistry(): boolean {
    return this.baseRegistry === this.request.registry;
  }

  baseAnnotations(baseDigest: string): Record<string, string> {
    return {
      'org.opencontainers.image.base.name': this.request.baseImage,
      'org.opencontainers.image.base.digest': baseDigest,
    };
  }

  /**
   * True when the target repository cannot hold any layer yet: the registry knows no such repository, and the
   * base's first layer (there after any earlier push, even one without tags) is not in it either.
   */
  async repositoryIsNew(baseLayerDigest: string | undefined): Promise<boolean> {
    const { repository } = this.request;
    try {
      if (await this.target.repositoryKnown(repository)) return false;
      return !baseLayerDigest || !(await this.target.blobExists(repository, baseLayerDigest));
    } catch {
      return false;
    }
  }

  /** Hashes the layer, then HEAD, mount or upload; or, `whileHashing`, uploads it as it is hashed. */
  async pushModelLayer(layer: PlannedLayer, what: string, options: { whileHashing: boolean }): Promise<LayerPush> {
    if (options.whileHashing && layer.open && layer.size !== undefined) {
      const bytes = { size: layer.size, open: layer.open, reader: layer.reader };
      const digest = layer.seal().then((blob) => blob.digest);
      const result = await this.slots.run(() =>
        this.target.uploadBlobAhead(this.request.repository, bytes, digest, {
          onBytes: this.progress(what, layer.size!),
        }),
      );
      this.bytesUploaded += result.bytesSent;
      this.onProgress?.(what, layer.size, layer.size);
      const blob = await layer.seal();
      this.blobs.set(blob.digest, Promise.resolve(result));
      return {
        description: layer.description,
        digest: blob.digest,
        size: blob.size,
        outcome: 'uploaded',
        bytesSent: result.bytesSent,
      };
    }
    const blob = await layer.seal();
    const mountFrom = [...(this.request.mountFrom ?? []), ...(this.sameRegistry ? [this.baseRepository] : [])];
    const result = await this.upload(what, blob, mountFrom);
    const outcome = result.mounted ? 'mounted' : result.uploaded ? 'uploaded' : 'present';
    return {
      description: blob.description,
      digest: blob.digest,
      size: blob.size,
      outcome,
      bytesSent: result.bytesSent,
    };
  }

  /** Same registry: HEAD, else mount from the base repository (or a `mountFrom` one). Another: streamed across. */
  async copyBaseBlob(descriptor: Descriptor): Promise<UploadResult> {
    const source = this.baseClient.remoteBlob(this.baseRepository, descriptor.digest, descriptor.size);
    const mountFrom = [...(this.sameRegistry ? [this.baseRepository] : []), ...(this.request.mountFrom ?? [])];
    return this.upload(`base layer ${descriptor.digest.slice(7, 19)}`, source, mountFrom);
  }

  async pushImage(
    base: ImageManifest,
    mediaType: string,
    config: ImageConfig,
    model: ModelLayers,
  ): Promise<Descriptor> {
    const layerMediaType = LAYER_MEDIA_TYPE[mediaType];
    if (!layerMediaType) {
      throw new Error(`base-image ${this.request.baseImage}: platform manifest type '${mediaType}' is not supported`);
    }
    const configBody = Buffer.from(JSON.stringify(this.extendConfig(config, model)));
    const configBlob = bufferBlob(configBody);
    await this.upload('config', configBlob, this.request.mountFrom);

    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: base.config.mediaType, digest: configBlob.digest, size: configBlob.size },
      layers: [
        ...base.layers,
        ...model.layers.map((layer) => ({ mediaType: layerMediaType, digest: layer.digest, size: layer.size })),
      ],
    };
    if (mediaType === MEDIA_TYPES.ociManifest) {
      manifest.annotations = { ...base.annotations, 'org.opencontainers.image.base.name': this.request.baseImage };
    }
    const body = Buffer.from(JSON.stringify(manifest));
    return { mediaType, digest: await this.putManifest(body, mediaType), size: body.length };
  }

  /** PUTs a manifest unless the repository has it already (a re-run pushes nothing, and fires no push event). */
  async putManifest(body: Buffer, mediaType: string): Promise<string> {
    const { repository } = this.request;
    const digest = bufferBlob(body).digest;
    if ((await this.target.manifestDigest(repository, digest).catch(() => undefined)) === digest) return digest;
    return this.target.putManifest(repository, digest, body, mediaType);
  }

  private extendConfig(config: ImageConfig, model: ModelLayers): ImageConfig {
    const created = this.request.created.toISOString();
    const target = this.request.modelTarget ?? DEFAULT_MODEL_TARGET;
    const labels = imageLabels(
      {
        source: this.request.source,
        revision: this.request.revision,
        created: this.request.created,
        modelName: this.request.modelName,
        modelVersion: this.request.modelVersion,
        modelSha256: model.modelSha256,
      },
      this.request.labels,
    );
    const inner = config.config ?? {};
    const origin = this.request.modelOrigin ?? this.request.modelPath;
    return {
      ...config,
      created,
      config: {
        ...inner,
        Labels: { ...(inner.Labels ?? {}), ...labels },
        Env: mergeEnv(inner.Env, this.request.env ?? {}),
        ...(this.request.cmd ? { Cmd: this.request.cmd } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, ...model.layers.map((layer) => layer.diffId)] },
      history: [
        ...(config.history ?? []),
        ...model.layers.map((layer: LayerBlob) => ({
          created,
          created_by:
            layer.description === 'model files'
              ? `model-canary: model files from ${origin} into ${target}`
              : `model-canary: model file ${layer.description} from ${origin} into ${target}`,
        })),
      ],
    };
  }

  private progress(what: string, total: number): (count: number) => void {
    let sent = 0;
    return (count) => {
      sent += count;
      this.onProgress?.(what, sent, total);
    };
  }

  /** At most once per digest in this build, in one of the upload slots. */
  private upload(what: string, source: BlobSource, mountFrom: string[] = []): Promise<UploadResult> {
    let pending = this.blobs.get(source.digest);
    if (!pending) {
      pending = this.slots.run(async () => {
        const result = await this.target.uploadBlob(this.request.repository, source, {
          mountFrom,
          onBytes: this.progress(what, source.size),
        });
        this.bytesUploaded += result.bytesSent;
        if (result.uploaded) this.onProgress?.(what, source.size, source.size);
        return result;
      });
      this.blobs.set(source.digest, pending);
    }
    return pending;
  }
}
