// Serving base images the `oci` builder knows: where each one looks for the model, what it must be told to serve from
// there, and which model layouts it can load. `base-image` takes a preset name (`mlserver`), a preset name with a tag
// (`mlserver:1.7.1-sklearn`), a mirror of a preset's image (myacr.azurecr.io/seldonio/mlserver:1.7.1), or any image.
// Pure: the builder applies `modelTarget`, `env` and `cmd`; `plan` prints `modelLayoutWarnings`.
import { editDistance } from './suggest.js';
import { DOCKER_HUB, isValidTag, parseImageRef } from './image-ref.js';
import type { MetricsPresetName } from './metric-presets.js';

export const PRESET_NAMES = ['mlserver', 'kserve-sklearn', 'triton'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export interface ServingPorts {
  http: number;
  grpc: number;
  /** Where Prometheus scrapes the server's own metrics. */
  metrics: number;
  metricsPath: string;
}

export interface ServingPreset {
  name: PresetName;
  /** The server, as its vendor names it. */
  title: string;
  /** The pinned default image, fully qualified. */
  image: string;
  /** Registry and repository of the upstream image; mirrors keep the repository path. */
  registry: string;
  repository: string;
  /** Where the model directory goes in the image. */
  modelTarget: string;
  /** Environment the image needs to serve from `modelTarget`. */
  env: Record<string, string>;
  /**
   * The image config `Cmd` to set (arguments to the image's own entrypoint); `{{model}}` stands for the model's
   * name (see `servingCommand`). Absent when the image's own Cmd already serves `modelTarget`.
   */
  cmd?: string[];
  ports: ServingPorts;
  /** The HTTP path that answers 200 only once the server can serve the model (its readiness probe). */
  readinessPath: string;
  /** The metric preset that reads what the server exports, when it exports request metrics of its own. */
  metrics?: MetricsPresetName;
  /** The model layout the server loads, as the warnings and the docs describe it. */
  layout: string;
  description: string;
}

const MODELS_DIR = '/mnt/models';

const PRESETS: Record<PresetName, ServingPreset> = {
  mlserver: {
    name: 'mlserver',
    title: 'Seldon MLServer',
    image: 'docker.io/seldonio/mlserver:1.7.1',
    registry: DOCKER_HUB,
    repository: 'seldonio/mlserver',
    modelTarget: MODELS_DIR,
    // The image's Cmd runs `mlserver start $MLSERVER_MODELS_DIR`; set it here too, so a mirror or a rebuilt variant
    // with another default still serves the model layer.
    env: { MLSERVER_MODELS_DIR: MODELS_DIR },
    ports: { http: 8080, grpc: 8081, metrics: 8082, metricsPath: '/metrics' },
    // SeldonIO/MLServer mlserver/rest/app.py: 200 once every model is ready.
    readinessPath: '/v2/health/ready',
    metrics: 'mlserver',
    layout: 'a model-settings.json (name, implementation, parameters.uri) in the folder of each model',
    description:
      'Seldon MLServer (V2 inference protocol): loads every folder under MLSERVER_MODELS_DIR that holds a ' +
      'model-settings.json, with the runtime its implementation names (mlserver_sklearn.SKLearnModel, ' +
      'mlserver_xgboost.XGBoostModel, mlserver_mlflow.MLflowRuntime, ...).',
  },
  'kserve-sklearn': {
    name: 'kserve-sklearn',
    title: 'KServe sklearnserver',
    image: 'docker.io/kserve/sklearnserver:v0.18.0',
    registry: DOCKER_HUB,
    repository: 'kserve/sklearnserver',
    modelTarget: MODELS_DIR,
    env: {},
    // The image's entrypoint is `python -m sklearnserver`, which needs --model_dir; KServe's ClusterServingRuntime
    // passes the same three arguments.
    cmd: [`--model_dir=${MODELS_DIR}`, '--model_name={{model}}', '--http_port=8080'],
    ports: { http: 8080, grpc: 8081, metrics: 8080, metricsPath: '/metrics' },
    // kserve/kserve python/kserve/kserve/protocol/rest/server.py. Its metrics are latency histograms only
    // (request_predict_seconds), no request counter by status: no metric preset of its own.
    readinessPath: '/v2/health/ready',
    layout: 'exactly one model file (*.joblib, *.pkl or *.pickle) at the top of the model directory',
    description:
      'KServe sklearnserver (V1 and V2 protocols): joblib-loads the one .joblib/.pkl/.pickle file at the top of ' +
      '--model_dir and serves it as --model_name.',
  },
  triton: {
    name: 'triton',
    title: 'NVIDIA Triton Inference Server',
    image: 'nvcr.io/nvidia/tritonserver:25.12-py3',
    registry: 'nvcr.io',
    repository: 'nvidia/tritonserver',
    modelTarget: MODELS_DIR,
    env: {},
    // The image's entrypoint (nvidia_entrypoint.sh) runs its arguments; without a Cmd it starts a shell.
    cmd: ['tritonserver', `--model-repository=${MODELS_DIR}`],
    ports: { http: 8000, grpc: 8001, metrics: 8002, metricsPath: '/metrics' },
    // KServe V2 protocol health endpoint, served by Triton's HTTP frontend.
    readinessPath: '/v2/health/ready',
    metrics: 'triton',
    layout: '<model>/config.pbtxt and <model>/<version>/model.* (e.g. churn/config.pbtxt, churn/1/model.onnx)',
    description:
      'NVIDIA Triton (KServe V2 protocol): serves a model repository, one folder per model with its config.pbtxt ' +
      'and numbered version folders holding the model file the backend expects.',
  },
};

export function isPresetName(value: string): value is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(value);
}

export function servingPreset(name: PresetName): ServingPreset {
  return PRESETS[name];
}

/** Words people type for a preset that are not its name. */
const ALIASES: Record<string, PresetName> = {
  seldon: 'mlserver',
  'seldon-mlserver': 'mlserver',
  sklearn: 'kserve-sklearn',
  sklearnserver: 'kserve-sklearn',
  'kserve-sklearnserver': 'kserve-sklearn',
  tritonserver: 'triton',
  'nvidia-triton': 'triton',
};

/**
 * The preset a `base-image` value was probably meant to name (`mlsever` -> `mlserver`, `sklearn` ->
 * `kserve-sklearn`), or undefined. Only bare words count: anything with a registry, a path or a tag is an image.
 */
export function suggestPreset(value: string): PresetName | undefined {
  const word = value.trim().toLowerCase();
  if (word === '' || /[/:@.]/.test(word)) return undefined;
  if (isPresetName(word)) return word;
  if (ALIASES[word]) return ALIASES[word];
  const near = PRESET_NAMES.map((name) => ({ name, distance: editDistance(word, name) }))
    .filter((candidate) => candidate.distance <= 2)
    .sort((a, b) => a.distance - b.distance);
  return near[0]?.name;
}

/** `mlserver` or `mlserver:<tag>` split into the preset and the tag; undefined when the value names no preset. */
function presetWithTag(value: string): { preset: ServingPreset; tag?: string } | undefined {
  const colon = value.indexOf(':');
  const word = colon < 0 ? value : value.slice(0, colon);
  if (!isPresetName(word)) return undefined;
  return colon < 0 ? { preset: PRESETS[word] } : { preset: PRESETS[word], tag: value.slice(colon + 1) };
}

/** What is wrong with a `base-image` value, for the config validator, or undefined when it is fine. */
export function baseImageProblem(value: string): string | undefined {
  const trimmed = value.trim();
  const presets = PRESET_NAMES.join(', ');
  if (trimmed === '') return `must be a preset (${presets}) or an image reference`;
  const named = presetWithTag(trimmed);
  if (named) {
    if (named.tag === undefined || isValidTag(named.tag)) return undefined;
    return `'${trimmed}': tag '${named.tag}' is not a valid image tag (e.g. ${named.preset.image.split(':').pop()})`;
  }
  const suggestion = suggestPreset(trimmed);
  if (suggestion) {
    return `'${trimmed}' is not a serving preset: did you mean '${suggestion}'? (presets: ${presets}; anything else must be an image reference)`;
  }
  try {
    parseImageRef(trimmed);
    return undefined;
  } catch (error) {
    return `${(error as Error).message}; or use a preset: ${presets}`;
  }
}

/** The preset whose upstream repository `reference` names or mirrors (`<any registry>/[<prefix>/]seldonio/mlserver`). */
function presetOfImage(reference: string): ServingPreset | undefined {
  const { repository } = parseImageRef(reference);
  return Object.values(PRESETS).find(
    (preset) => repository === preset.repository || repository.endsWith(`/${preset.repository}`),
  );
}

/**
 * `mlserver` -> the preset and its default image; `mlserver:1.7.1-sklearn` -> the preset's repository at that tag;
 * an image whose repository is a preset's (a mirror in ACR, e.g. myacr.azurecr.io/seldonio/mlserver:1.6.1) -> that
 * image with the preset's layout; anything else -> the image as given and no preset. A likely typo of a preset name
 * (`mlsever`) throws, naming the preset it was probably meant to be.
 */
export function resolveBaseImage(baseImage: string): { image: string; preset?: ServingPreset } {
  const value = baseImage.trim();
  const problem = baseImageProblem(value);
  if (problem) throw new Error(`base-image ${problem}`);
  const named = presetWithTag(value);
  if (named) {
    const { preset, tag } = named;
    return { image: tag === undefined ? preset.image : `${preset.registry}/${preset.repository}:${tag}`, preset };
  }
  return { image: value, preset: presetOfImage(value) };
}

/** The preset's `cmd` with the model's name filled in (KServe serves the model under its name). */
export function servingCommand(preset: ServingPreset, modelName: string): string[] | undefined {
  return preset.cmd?.map((arg) => arg.replaceAll('{{model}}', modelName));
}

// ---- layout checks ---------------------------------------------------------------------------

const normalise = (files: string[]): string[] =>
  files.map((file) => file.replace(/\\/g, '/').replace(/^\.?\/+/, '')).filter((file) => file !== '');

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

function mlserverWarnings(preset: ServingPreset, files: string[]): string[] {
  if (files.some((file) => baseName(file) === 'model-settings.json')) return [];
  return [
    `${preset.title} (base-image ${preset.name}) finds no model-settings.json in the model files: it loads each ` +
      `model from a folder holding a model-settings.json (name, implementation such as mlserver_sklearn.SKLearnModel, ` +
      `parameters.uri pointing at the model file); add one beside the model file`,
  ];
}

const SKLEARN_EXTENSIONS = ['.joblib', '.pkl', '.pickle'];

function sklearnWarnings(preset: ServingPreset, files: string[]): string[] {
  const isModelFile = (file: string): boolean => SKLEARN_EXTENSIONS.some((extension) => file.endsWith(extension));
  const topLevel = files.filter((file) => !file.includes('/') && isModelFile(file));
  const who = `${preset.title} (base-image ${preset.name})`;
  if (topLevel.length === 1) return [];
  if (topLevel.length > 1) {
    return [
      `${who} refuses more than one model file at the top of ${preset.modelTarget}, and the model files have ` +
        `${topLevel.length}: ${topLevel.join(', ')}; keep exactly one .joblib, .pkl or .pickle file`,
    ];
  }
  const nested = files.filter(isModelFile);
  const found = nested.length > 0 ? `; found ${nested.join(', ')} in a subfolder, where it does not look` : '';
  return [
    `${who} finds no model.joblib, model.pkl or model.pickle at the top of the model files: it loads exactly one ` +
      `.joblib, .pkl or .pickle file from the top of ${preset.modelTarget}${found}`,
  ];
}

const VERSION_DIR = /^[0-9]+$/;
const firstFolder = (path: string): string => path.split('/')[0]!;

function tritonWarnings(preset: ServingPreset, files: string[]): string[] {
  const who = `${preset.title} (base-image ${preset.name})`;
  const expected = `Triton expects ${preset.layout}`;
  const topLevel = files.filter((file) => !file.includes('/'));
  const looseModel =
    topLevel.includes('config.pbtxt') ||
    files.some((file) => file.includes('/') && VERSION_DIR.test(firstFolder(file)));
  if (looseModel) {
    return [
      `${who} serves ${preset.modelTarget} as a model repository, but the model files hold one model at the top ` +
        `(config.pbtxt or a version folder): put them in a folder named after the model (<model>/config.pbtxt, ` +
        `<model>/1/model.onnx); ${expected}`,
    ];
  }
  const models = [...new Set(files.filter((file) => file.includes('/')).map(firstFolder))].sort();
  if (models.length === 0) return [`${who} finds no model folder in the model files; ${expected}`];
  const warnings: string[] = [];
  for (const model of models) {
    const inside = files.filter((file) => file.startsWith(`${model}/`)).map((file) => file.slice(model.length + 1));
    if (!inside.includes('config.pbtxt')) {
      warnings.push(
        `${who}: model '${model}' has no ${model}/config.pbtxt; Triton needs one unless the backend can ` +
          `generate it (ONNX, TensorRT, TensorFlow SavedModel); ${expected}`,
      );
    }
    const versions = [...new Set(inside.map(firstFolder).filter((name) => VERSION_DIR.test(name)))].sort();
    if (versions.length === 0) {
      warnings.push(
        `${who}: model '${model}' has no version folder (${model}/1/model.onnx, ...); Triton loads only numbered ` +
          `version folders; ${expected}`,
      );
      continue;
    }
    for (const version of versions) {
      const modelFile = inside.some((file) => file.startsWith(`${version}/model.`));
      if (!modelFile) {
        warnings.push(
          `${who}: ${model}/${version}/ has no model.* file (model.onnx, model.plan, model.pt, model.savedmodel/, ` +
            `model.py, ...); set default_model_filename in ${model}/config.pbtxt if the file has another name`,
        );
      }
    }
  }
  return warnings;
}

const LAYOUT_CHECKS: Record<PresetName, (preset: ServingPreset, files: string[]) => string[]> = {
  mlserver: mlserverWarnings,
  'kserve-sklearn': sklearnWarnings,
  triton: tritonWarnings,
};

/**
 * Warnings when the model files (paths relative to the model directory, `/`-separated) do not match what the preset
 * serves; each says what is missing and what the preset expects. No warnings when the layout fits.
 */
export function modelLayoutWarnings(preset: ServingPreset, files: string[]): string[] {
  const paths = normalise(files);
  if (paths.length === 0) {
    return [`${preset.title} (base-image ${preset.name}): the model directory is empty; it expects ${preset.layout}`];
  }
  return LAYOUT_CHECKS[preset.name](preset, paths);
}

/** The layout warnings for `base-image` as the user gave it: none when it is not a preset's image. */
export function servingLayoutWarnings(baseImage: string | undefined, files: string[]): string[] {
  if (!baseImage || baseImageProblem(baseImage.trim())) return [];
  const { preset } = resolveBaseImage(baseImage);
  return preset ? modelLayoutWarnings(preset, files) : [];
}
