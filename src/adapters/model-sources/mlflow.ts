// `models:/<name>/<version>` and `models:/<name>@<alias>` from an MLflow tracking server: the model version (by number,
// or the one the alias points at), its status, where its artifacts are, and every file there with a URL to GET.
// Requests as the MLflow REST API documents them (docs/api_reference/source/rest-api.rst, MLflow 2.x and 3.x):
//   GET /api/2.0/mlflow/model-versions/get?name=&version=          -> {model_version}
//   GET /api/2.0/mlflow/registered-models/alias?name=&alias=       -> {model_version}
//   GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version= -> {artifact_uri}
// then the artifact listing of ./mlflow-artifacts.ts.
import type { ModelSourceRef, ResolvedModel } from '../../core/model-source.js';
import { ModelSourceError } from '../../core/model-source.js';
import { listArtifactFiles } from './mlflow-artifacts.js';
import { MlflowApiError, MlflowClient, type MlflowOptions } from './mlflow-client.js';

export type { MlflowOptions } from './mlflow-client.js';

export type MlflowRef = Extract<ModelSourceRef, { kind: 'mlflow' }>;

/** The fields of MLflow's ModelVersion this resolver reads. */
interface ModelVersion {
  name?: string;
  version?: string;
  source?: string;
  run_id?: string;
  status?: string;
  status_message?: string;
}

/**
 * Resolves the reference to its numeric version and lists every artifact file of it. `version` is the number
 * (`models:/churn@champion` resolves to e.g. `7`); the alias stays in `source.uri` for provenance and messages.
 */
export async function resolveMlflow(ref: MlflowRef, options: MlflowOptions): Promise<ResolvedModel> {
  const client = new MlflowClient(options, `model-source ${ref.uri}`);
  const version = await findVersion(client, ref);
  const number = version.version ?? ref.version;
  if (!number)
    throw new ModelSourceError(
      `${client.source}: MLflow at ${client.display} returned a model version without a number`,
    );
  checkReady(client, ref, number, version);
  const files = await listArtifactFiles(client, await artifactUri(client, ref.name, number, version));
  return { source: ref, name: ref.name, version: number, files };
}

async function findVersion(client: MlflowClient, ref: MlflowRef): Promise<ModelVersion> {
  const lookup = ref.version
    ? client.get<{ model_version?: ModelVersion }>('/api/2.0/mlflow/model-versions/get', {
        name: ref.name,
        version: ref.version,
      })
    : client.get<{ model_version?: ModelVersion }>('/api/2.0/mlflow/registered-models/alias', {
        name: ref.name,
        alias: ref.alias,
      });
  const what = ref.version ? `version ${ref.version}` : `alias @${ref.alias}`;
  try {
    const body = await lookup;
    if (!body.model_version) {
      throw new ModelSourceError(`${client.source}: MLflow at ${client.display} returned no model_version for ${what}`);
    }
    return body.model_version;
  } catch (error) {
    // A missing version is RESOURCE_DOES_NOT_EXIST (404); a missing alias, INVALID_PARAMETER_VALUE (400) in the SQL
    // and file stores. Either way the registry has no such version: say so plainly, with MLflow's own words.
    if (error instanceof MlflowApiError && (error.status === 404 || error.errorCode === 'INVALID_PARAMETER_VALUE')) {
      const said = error.serverMessage ? ` (MLflow: ${error.serverMessage})` : '';
      throw new ModelSourceError(
        `${client.source}: MLflow at ${client.display} has no ${what} of model ${ref.name}${said}: ` +
          'check the model name and the version or alias in the MLflow Model Registry',
      );
    }
    throw error;
  }
}

function checkReady(client: MlflowClient, ref: MlflowRef, number: string, version: ModelVersion): void {
  const status = version.status ?? 'READY';
  if (status === 'READY') return;
  const alias = ref.alias ? ` (alias @${ref.alias})` : '';
  const message = version.status_message ? `: ${version.status_message}` : '';
  const next =
    status === 'PENDING_REGISTRATION'
      ? 'wait until its registration finishes and run again'
      : 'register the model again and deploy the new version';
  throw new ModelSourceError(
    `${client.source}: version ${number} of model ${ref.name}${alias} is ${status}, not READY${message}: ${next}`,
  );
}

/**
 * A `runs:/` source is listed through the run (the tracking server reads the run's store for us, whatever it is);
 * anything else through the download URI, which is where the registry copied or found the artifacts.
 */
async function artifactUri(client: MlflowClient, name: string, number: string, version: ModelVersion): Promise<string> {
  if (version.source?.startsWith('runs:/')) return version.source;
  const body = await client.get<{ artifact_uri?: string }>('/api/2.0/mlflow/model-versions/get-download-uri', {
    name,
    version: number,
  });
  const uri = body.artifact_uri || version.source;
  if (!uri)
    throw new ModelSourceError(
      `${client.source}: MLflow at ${client.display} gave no artifact URI for version ${number}`,
    );
  return uri;
}
