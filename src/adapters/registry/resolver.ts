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
}
