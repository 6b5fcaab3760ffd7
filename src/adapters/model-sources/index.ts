// The real model-source backend: each kind of reference to its resolver, and every file through the one downloader.
import type { RolloutConfig } from '../../core/config.js';
import type { ModelSourceRef, ResolvedModel } from '../../core/model-source.js';
import { buildAuth } from '../../engine/build.js';
import type { ModelSourceBackend } from '../../engine/model-fetch.js';
import { parseImageRef } from '../../core/image-ref.js';
import { actionsExec, commandRunner } from '../registry/exec.js';
import { registryAccess } from '../registry/index.js';
import { azureCliTokenProvider, resolveAzureMl, type AzureMlOptions } from './azureml.js';
import { downloadFiles, type DownloadOptions } from './download.js';
import { resolveHttps } from './https.js';
import { resolveMlflow } from './mlflow.js';
import { resolveOci } from './oci.js';

export interface ModelSourceBackendOptions {
  mask: (secret: string) => void;
  /** Endpoint and token overrides for Azure ML (sovereign clouds, tests). */
  azureml?: Partial<AzureMlOptions>;
  /** Retry and concurrency tuning of the downloader. */
  download?: Partial<Omit<DownloadOptions, 'label' | 'onProgress'>>;
}

export function modelSourceBackend(
  config: RolloutConfig,
  mask: (secret: string) => void,
  overrides: Omit<ModelSourceBackendOptions, 'mask'> = {},
): ModelSourceBackend {
  const resolve = async (ref: ModelSourceRef): Promise<ResolvedModel> => {
    switch (ref.kind) {
      case 'azureml-registry':
      case 'azureml-workspace':
        return resolveAzureMl(ref, {
          getToken: azureCliTokenProvider(commandRunner(actionsExec({}, false))),
          mask,
          workspace: config.azureml.workspace,
          resourceGroup: config.azureml.resourceGroup,
          subscription: config.azureml.subscription,
          ...overrides.azureml,
        });
      case 'mlflow':
        return resolveMlflow(ref, {
          trackingUri: config.mlflow.trackingUri ?? '',
          token: config.mlflow.token,
          username: config.mlflow.username,
          password: config.mlflow.password,
          mask,
        });
      case 'https':
        return resolveHttps(ref, {});
      case 'oci': {
        const { registry } = parseImageRef(ref.reference);
        const access = await registryAccess({ registry, auth: buildAuth(config, registry), mask });
        return resolveOci(ref, access.clientFor);
      }
    }
  };
  return {
    resolve,
    download: (files, dir, options) => downloadFiles(files, dir, { ...overrides.download, ...options }),
  };
}
