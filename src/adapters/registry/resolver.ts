// ImageResolver: a tag (or digest) reference -> the manifest digest the registry serves, for `image:` inputs.
import { manifestReference, parseImageRef } from '../../core/image-ref.js';
import type { ImageResolver } from '../../core/ports.js';
import type { RegistryClient } from './client.js';

export class RegistryImageResolver implements ImageResolver {
  constructor(private readonly clientFor: (registry: string) => RegistryClient) {}

  async resolveDigest(reference: string): Promise<string> {
    const ref = parseImageRef(reference);
    const digest = await this.clientFor(ref.registry).manifestDigest(ref.repository, manifestReference(ref));
    if (!digest) {
      throw new Error(
        `image ${reference} does not exist in registry ${ref.registry} (no manifest for '${manifestReference(ref)}')`,
      );
    }
    if (ref.digest && digest !== ref.digest) {
      throw new Error(`image ${reference}: registry ${ref.registry} serves ${digest} for it, not ${ref.digest}`);
    }
    return digest;
  }

  /** The image config's labels; for a multi-platform index, those of its first platform (builds label them alike). */
  async imageLabels(reference: string): Promise<Record<string, string>> {
    const ref = parseImageRef(reference);
    const client = this.clientFor(ref.registry);
    let manifest = await client.getManifest(ref.repository, manifestReference(ref));
    let parsed = JSON.parse(manifest.body.toString()) as ManifestJson;
    const first = parsed.manifests?.[0];
    if (first) {
      manifest = await client.getManifest(ref.repository, first.digest);
      parsed = JSON.parse(manifest.body.toString()) as ManifestJson;
    }
    if (!parsed.config) return {};
    const config = JSON.parse((await client.getBlob(ref.repository, parsed.config.digest)).toString()) as {
      config?: { Labels?: Record<string, string> | null };
    };
    return config.config?.Labels ?? {};
  }
}

interface ManifestJson {
  config?: { digest: string };
  manifests?: Array<{ digest: string }>;
}
