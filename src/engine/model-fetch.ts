// `model-source`: resolve the registered model, download every file of it into the build's model directory, and
// record which version went out. Runs before anything is built, so a missing version, a broken download or a bad
// hash stops the run with nothing pushed.
import {
  displayUri,
  modelContentSha256,
  ModelSourceError,
  parseModelSource,
  type DownloadedFile,
  type ModelProvenance,
  type ModelSourceRef,
  type RemoteFile,
  type ResolvedModel,
} from '../core/model-source.js';
import type { Clock, Logger } from '../core/ports.js';
import { formatBytes } from './build.js';
import { downloadProgressLog } from './download-progress.js';

/** The I/O a fetch needs; adapters/model-sources wires the real resolvers and the downloader. */
export interface ModelSourceBackend {
  resolve(ref: ModelSourceRef): Promise<ResolvedModel>;
  download(
    files: RemoteFile[],
    dir: string,
    options: { label: string; onProgress: (path: string, received: number, total: number | undefined) => void },
  ): Promise<DownloadedFile[]>;
}

export interface FetchedModel {
  dir: string;
  provenance: ModelProvenance;
  /** Paths inside the model directory, for the serving preset's layout check. */
  files: string[];
}

export interface ModelFetchDeps {
  backend: ModelSourceBackend;
  logger: Logger;
  clock: Clock;
  progressIntervalMs?: number;
}

/** What the error says the source is: the reference and, once known, the version it resolved to. */
function labelOf(ref: ModelSourceRef, version?: string): string {
  const shown = displayUri(ref.uri);
  return version && !shown.includes(version) ? `model-source ${shown} (version ${version})` : `model-source ${shown}`;
}

function wrap(error: unknown, label: string): ModelSourceError {
  const message = (error as Error).message ?? String(error);
  if (error instanceof ModelSourceError && message.startsWith(label)) return error;
  const bare = message.startsWith(label) ? message.slice(label.length).replace(/^:\s*/, '') : message;
  return new ModelSourceError(`${label}: ${bare.replace(/^model-source \S+:\s*/, '')}`, { cause: error });
}

/** Resolves a model source to its version and file list (nothing is downloaded), logging what it found. */
export async function resolveModel(
  reference: string,
  deps: Pick<ModelFetchDeps, 'backend' | 'logger'>,
): Promise<{ ref: ModelSourceRef; resolved: ResolvedModel; label: string }> {
  const ref = parseModelSource(reference);
  let resolved: ResolvedModel;
  try {
    resolved = await deps.backend.resolve(ref);
  } catch (error) {
    throw wrap(error, labelOf(ref));
  }
  const label = labelOf(ref, resolved.version);
  if (resolved.files.length === 0) throw new ModelSourceError(`${label}: the model has no files`);
  const known = resolved.files.reduce((sum, file) => sum + (file.size ?? 0), 0);
  deps.logger.info(
    `${label}: ${resolved.name} version ${resolved.version || '(unversioned)'}, ${resolved.files.length} file(s)${known ? `, ${formatBytes(known)}` : ''}`,
  );
  return { ref, resolved, label };
}

export async function fetchModel(reference: string, dir: string, deps: ModelFetchDeps): Promise<FetchedModel> {
  const { logger, clock } = deps;
  const { ref, resolved, label } = await resolveModel(reference, deps);
  const started = clock.now().getTime();
  const progress = downloadProgressLog((line) => logger.info(line), {
    label,
    everyMs: deps.progressIntervalMs,
    now: () => clock.now().getTime(),
  });
  let downloaded: DownloadedFile[];
  try {
    downloaded = await deps.backend.download(resolved.files, dir, {
      label,
      onProgress: progress.onProgress,
    });
    progress.finish();
  } catch (error) {
    throw wrap(error, label);
  }
  if (downloaded.length === 0) throw new ModelSourceError(`${label}: the download gave no files`);
  const bytes = downloaded.reduce((sum, file) => sum + file.size, 0);
  const seconds = Math.max(0.001, (clock.now().getTime() - started) / 1000);
  const sha256 = modelContentSha256(downloaded);
  logger.info(
    `${label}: downloaded ${downloaded.length} file(s), ${formatBytes(bytes)} in ${seconds.toFixed(1)} s ` +
      `(${formatBytes(bytes / seconds)}/s), content sha256 ${sha256.slice(0, 12)}`,
  );
  return {
    dir,
    files: downloaded.map((file) => file.path).sort(),
    provenance: {
      kind: ref.kind,
      uri: displayUri(ref.uri),
      name: resolved.name,
      // An unversioned artifact (a bare https URL) is named by its content.
      version: resolved.version || `sha256-${sha256.slice(0, 12)}`,
      sha256,
      files: downloaded.length,
      bytes,
    },
  };
}
