import { describe, expect, it } from '@jest/globals';
import {
  baseImageProblem,
  isPresetName,
  modelLayoutWarnings,
  PRESET_NAMES,
  resolveBaseImage,
  servingCommand,
  servingPreset,
  suggestPreset,
  type PresetName,
} from '../../src/core/serving-presets.js';
import { parseImageRef } from '../../src/core/image-ref.js';

describe('resolveBaseImage', () => {
  it.each<[string, string, PresetName | undefined]>([
    ['mlserver', 'docker.io/seldonio/mlserver:1.7.1', 'mlserver'],
    ['kserve-sklearn', 'docker.io/kserve/sklearnserver:v0.18.0', 'kserve-sklearn'],
    ['triton', 'nvcr.io/nvidia/tritonserver:25.12-py3', 'triton'],
    ['  mlserver  ', 'docker.io/seldonio/mlserver:1.7.1', 'mlserver'],
    // a preset name with a tag: the preset's repository at that tag (the slim runtime variants)
    ['mlserver:1.7.1-sklearn', 'docker.io/seldonio/mlserver:1.7.1-sklearn', 'mlserver'],
    ['triton:24.08-py3', 'nvcr.io/nvidia/tritonserver:24.08-py3', 'triton'],
    // the upstream image itself, in any spelling Docker accepts
    ['seldonio/mlserver:1.6.1', 'seldonio/mlserver:1.6.1', 'mlserver'],
    ['docker.io/kserve/sklearnserver:v0.15.2', 'docker.io/kserve/sklearnserver:v0.15.2', 'kserve-sklearn'],
    ['nvcr.io/nvidia/tritonserver:25.01-py3', 'nvcr.io/nvidia/tritonserver:25.01-py3', 'triton'],
    // mirrors: ACR import, ACR cache rules with a prefix, a registry with a port, a digest
    ['myacr.azurecr.io/seldonio/mlserver:1.6.1', 'myacr.azurecr.io/seldonio/mlserver:1.6.1', 'mlserver'],
    ['myacr.azurecr.io/docker.io/kserve/sklearnserver:v0.18.0', undefined!, 'kserve-sklearn'],
    ['myacr.azurecr.io/mirror/nvidia/tritonserver:25.12-py3', undefined!, 'triton'],
    ['127.0.0.1:5000/seldonio/mlserver@sha256:' + 'a'.repeat(64), undefined!, 'mlserver'],
    // anything else: as given, no preset
    ['myacr.azurecr.io/serving/churn-base:3', 'myacr.azurecr.io/serving/churn-base:3', undefined],
    ['python:3.12-slim', 'python:3.12-slim', undefined],
    ['myacr.azurecr.io/mlserver:1.7.1', 'myacr.azurecr.io/mlserver:1.7.1', undefined],
    ['ghcr.io/contoso/seldonio-mlserver:1', 'ghcr.io/contoso/seldonio-mlserver:1', undefined],
    ['docker.io/someone/mlserver:1.7.1', 'docker.io/someone/mlserver:1.7.1', undefined],
  ])('%s -> %s (%s)', (input, image, preset) => {
    const resolved = resolveBaseImage(input);
    expect(resolved.image).toBe(image ?? input);
    expect(resolved.preset?.name).toBe(preset);
  });

  it('every default image is fully qualified, pinned to a version tag, and of the preset it belongs to', () => {
    for (const name of PRESET_NAMES) {
      const preset = servingPreset(name);
      const ref = parseImageRef(preset.image);
      expect(preset.image.startsWith(`${ref.registry}/`)).toBe(true);
      expect(ref.tag).toMatch(/^v?[0-9]+\.[0-9]+/);
      expect(`${ref.registry}/${ref.repository}`).toBe(`${preset.registry}/${preset.repository}`);
      expect(resolveBaseImage(preset.image).preset?.name).toBe(name);
    }
  });

  it.each([
    ['mlsever', "did you mean 'mlserver'"],
    ['MLServr', "did you mean 'mlserver'"],
    ['tritn', "did you mean 'triton'"],
    ['kserve-sklear', "did you mean 'kserve-sklearn'"],
    ['sklearn', "did you mean 'kserve-sklearn'"],
    ['tritonserver', "did you mean 'triton'"],
    ['mlserver:not a tag', "tag 'not a tag' is not a valid image tag"],
    ['', 'must be a preset (mlserver, kserve-sklearn, triton) or an image reference'],
    ['Myacr.azurecr.io/Models/X:1', 'is invalid'],
  ])('%j is refused: %s', (input, message) => {
    expect(() => resolveBaseImage(input)).toThrow(message);
    expect(baseImageProblem(input)).toContain(message);
  });

  it('names the presets in the error of a typo, so the user sees the choices', () => {
    expect(() => resolveBaseImage('mlsever')).toThrow(
      "base-image 'mlsever' is not a serving preset: did you mean 'mlserver'? (presets: mlserver, kserve-sklearn, triton",
    );
  });
});

describe('isPresetName and suggestPreset (for the config validator)', () => {
  it.each<[string, boolean, PresetName | undefined]>([
    ['mlserver', true, 'mlserver'],
    ['kserve-sklearn', true, 'kserve-sklearn'],
    ['triton', true, 'triton'],
    ['mlsever', false, 'mlserver'],
    ['seldon', false, 'mlserver'],
    ['kserve-sklearnserver', false, 'kserve-sklearn'],
    ['Triton', false, 'triton'],
    // real images and unrelated words get no suggestion
    ['python', false, undefined],
    ['ubuntu', false, undefined],
    ['mlserver:1.7.1', false, undefined],
    ['seldonio/mlsever', false, undefined],
    ['', false, undefined],
  ])('%j: preset %s, suggestion %s', (value, preset, suggestion) => {
    expect(isPresetName(value)).toBe(preset);
    expect(suggestPreset(value)).toBe(suggestion);
  });

  it.each(['mlserver', 'triton:25.12-py3', 'python:3.12', 'myacr.azurecr.io/base@sha256:' + 'b'.repeat(64)])(
    '%s is a fine base-image',
    (value) => expect(baseImageProblem(value)).toBeUndefined(),
  );
});

describe('what each preset tells the image', () => {
  it('MLServer serves MLSERVER_MODELS_DIR with its own command', () => {
    const preset = servingPreset('mlserver');
    expect(preset.modelTarget).toBe('/mnt/models');
    expect(preset.env).toEqual({ MLSERVER_MODELS_DIR: '/mnt/models' });
    expect(servingCommand(preset, 'churn')).toBeUndefined();
    expect(preset.ports).toEqual({ http: 8080, grpc: 8081, metrics: 8082, metricsPath: '/metrics' });
  });

  it('sklearnserver is told the model dir and serves the model under its name', () => {
    const preset = servingPreset('kserve-sklearn');
    expect(servingCommand(preset, 'churn-scorer')).toEqual([
      '--model_dir=/mnt/models',
      '--model_name=churn-scorer',
      '--http_port=8080',
    ]);
    expect(preset.ports.metrics).toBe(preset.ports.http);
  });

  it('Triton runs tritonserver on the model repository', () => {
    const preset = servingPreset('triton');
    expect(servingCommand(preset, 'any')).toEqual(['tritonserver', '--model-repository=/mnt/models']);
    expect(preset.ports).toEqual({ http: 8000, grpc: 8001, metrics: 8002, metricsPath: '/metrics' });
  });

  it('each model target is where the command or env points', () => {
    for (const name of PRESET_NAMES) {
      const preset = servingPreset(name);
      const told = [...Object.values(preset.env), ...(servingCommand(preset, 'm') ?? [])].join(' ');
      expect(told).toContain(preset.modelTarget);
    }
  });
});

describe('modelLayoutWarnings', () => {
  const cases: Array<[PresetName, string, string[], RegExp[]]> = [
    // MLServer
    ['mlserver', 'one model', ['model-settings.json', 'model.joblib'], []],
    [
      'mlserver',
      'two models in folders',
      ['churn/model-settings.json', 'churn/model.ubj', 'fraud/model-settings.json'],
      [],
    ],
    ['mlserver', 'with settings.json at the top', ['settings.json', 'churn/model-settings.json', 'churn/m.bst'], []],
    ['mlserver', 'Windows-style and ./ paths', ['./model-settings.json', '.\\model.joblib'], []],
    ['mlserver', 'no model-settings.json', ['model.joblib'], [/no model-settings\.json.*implementation/]],
    ['mlserver', 'a misspelt settings file', ['model_settings.json', 'model.joblib'], [/no model-settings\.json/]],
    // sklearnserver
    ['kserve-sklearn', 'model.joblib', ['model.joblib'], []],
    ['kserve-sklearn', 'model.pkl with metadata', ['model.pkl', 'requirements.txt', 'meta/info.json'], []],
    ['kserve-sklearn', 'any name with the extension', ['churn.pickle'], []],
    ['kserve-sklearn', 'no model file', ['model.onnx'], [/no model\.joblib, model\.pkl or model\.pickle/]],
    [
      'kserve-sklearn',
      'the model file in a subfolder',
      ['model/model.joblib'],
      [/found model\/model\.joblib in a subfolder/],
    ],
    ['kserve-sklearn', 'two model files', ['a.joblib', 'b.pkl'], [/more than one model file.*a\.joblib, b\.pkl/]],
    // Triton
    ['triton', 'one ONNX model', ['churn/config.pbtxt', 'churn/1/model.onnx'], []],
    [
      'triton',
      'two models, versions, labels, a SavedModel folder',
      [
        'churn/config.pbtxt',
        'churn/labels.txt',
        'churn/1/model.plan',
        'churn/2/model.plan',
        'text/config.pbtxt',
        'text/3/model.savedmodel/saved_model.pb',
        'README.md',
      ],
      [],
    ],
    ['triton', 'python backend', ['pre/config.pbtxt', 'pre/1/model.py'], []],
    ['triton', 'no config.pbtxt', ['churn/1/model.onnx'], [/model 'churn' has no churn\/config\.pbtxt/]],
    [
      'triton',
      'no version folder',
      ['churn/config.pbtxt', 'churn/model.onnx'],
      [/model 'churn' has no version folder/],
    ],
    [
      'triton',
      'a version without model file',
      ['churn/config.pbtxt', 'churn/1/weights.bin'],
      [/churn\/1\/ has no model\.\* file/],
    ],
    [
      'triton',
      'one model at the top instead of a repository',
      ['config.pbtxt', '1/model.onnx'],
      [/one model at the top.*folder named after the model/],
    ],
    ['triton', 'only loose files', ['model.onnx'], [/no model folder/]],
    [
      'triton',
      'one good model and one broken: only the broken one is named',
      ['good/config.pbtxt', 'good/1/model.onnx', 'bad/config.pbtxt'],
      [/model 'bad' has no version folder/],
    ],
  ];
  for (const name of PRESET_NAMES) cases.push([name, 'an empty model directory', [], [/model directory is empty/]]);

  it.each(cases)('%s: %s', (name, _what, files, expected) => {
    const warnings = modelLayoutWarnings(servingPreset(name), files);
    expect(warnings).toHaveLength(expected.length);
    expected.forEach((pattern, index) => expect(warnings[index]).toMatch(pattern));
    // every warning names the preset, so a log line on its own says where it comes from
    for (const warning of warnings) expect(warning).toContain(`base-image ${name}`);
  });

  it('every warning says what the preset expects', () => {
    const bad: Record<PresetName, string[]> = {
      mlserver: ['model.joblib'],
      'kserve-sklearn': ['weights.onnx'],
      triton: ['churn/config.pbtxt'],
    };
    for (const name of PRESET_NAMES) {
      const [warning] = modelLayoutWarnings(servingPreset(name), bad[name]);
      expect(warning).toMatch(/expects|loads|needs/);
    }
  });
});
