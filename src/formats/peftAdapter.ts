// PEFT LoRA adapter export and import: adapter_config.json + adapter_model.safetensors, zipped,
// laid out so Python `PeftModel.from_pretrained(base_model, folder)` loads it onto SmolVLM.
import { unzipSync, zipSync } from 'fflate';
import { LORA_TARGET_MODULES, type LoraTargetModule } from '../rl/config';
import {
  decodeTensorToFloat32,
  type Float32Tensor,
  parseSafetensors,
  SafetensorsError,
  serializeSafetensors,
} from './safetensors';

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

export class AdapterError extends Error {
  override name = 'AdapterError';
  constructor(readonly issues: readonly string[]) {
    super(issues.join('\n'));
  }
}

/** The adapter_config.json fields PEFT's LoraConfig has had since 0.10, as it writes them. */
export interface PeftLoraConfig {
  alpha_pattern: Record<string, number>;
  auto_mapping: null;
  base_model_name_or_path: string;
  bias: 'none';
  fan_in_fan_out: false;
  inference_mode: true;
  init_lora_weights: true;
  layers_pattern: null;
  layers_to_transform: null;
  lora_alpha: number;
  lora_dropout: number;
  modules_to_save: null;
  peft_type: 'LORA';
  r: number;
  rank_pattern: Record<string, number>;
  revision: null;
  /** A regular expression PEFT full-matches against module names (see adapterConfig). */
  target_modules: string;
  task_type: 'CAUSAL_LM';
  use_dora: false;
  use_rslora: false;
}

export interface AdapterSettings {
  base_model_name_or_path: string;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: readonly LoraTargetModule[];
}

/**
 * target_modules is written as a regular expression over the text model only: as a plain list
 * PEFT matches names by suffix, and SmolVLM's SigLIP vision tower has its own q_proj, k_proj and
 * v_proj, which would get fresh (unsaved) LoRA layers and "missing keys" warnings.
 * Keys are sorted, as PEFT's json.dumps(sort_keys=True).
 */
export function adapterConfig(settings: AdapterSettings): PeftLoraConfig {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: settings.base_model_name_or_path,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: settings.lora_alpha,
    lora_dropout: settings.lora_dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: settings.r,
    rank_pattern: {},
    revision: null,
    target_modules: `model\\.text_model\\.layers\\.\\d+\\.(self_attn|mlp)\\.(${settings.target_modules.join('|')})`,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

const ATTENTION_MODULES: readonly LoraTargetModule[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];

/** PEFT's state-dict key: lora_A is r × in, lora_B is out × r. */
export function loraTensorName(layer: number, module: LoraTargetModule, matrix: 'A' | 'B'): string {
  const block = ATTENTION_MODULES.includes(module) ? 'self_attn' : 'mlp';
  return `base_model.model.model.text_model.layers.${layer}.${block}.${module}.lora_${matrix}.weight`;
}

/** The Llama text model's sizes, under the names of its Hugging Face config. */
export interface TextModelDims {
  num_hidden_layers: number;
  hidden_size: number;
  intermediate_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
}

/** Every LoRA tensor the model has for these settings, name → shape. */
export function expectedLoraShapes(
  dims: TextModelDims,
  r: number,
  targetModules: readonly LoraTargetModule[],
): Map<string, [number, number]> {
  const queryWidth = dims.num_attention_heads * dims.head_dim;
  const keyValueWidth = dims.num_key_value_heads * dims.head_dim;
  // [in, out] of each linear layer.
  const inOut: Record<LoraTargetModule, [number, number]> = {
    q_proj: [dims.hidden_size, queryWidth],
    k_proj: [dims.hidden_size, keyValueWidth],
    v_proj: [dims.hidden_size, keyValueWidth],
    o_proj: [queryWidth, dims.hidden_size],
    gate_proj: [dims.hidden_size, dims.intermediate_size],
    up_proj: [dims.hidden_size, dims.intermediate_size],
    down_proj: [dims.intermediate_size, dims.hidden_size],
  };
  const shapes = new Map<string, [number, number]>();
  for (let layer = 0; layer < dims.num_hidden_layers; layer++) {
    for (const module of LORA_TARGET_MODULES.filter((m) => targetModules.includes(m))) {
      const [inFeatures, outFeatures] = inOut[module];
      shapes.set(loraTensorName(layer, module, 'A'), [r, inFeatures]);
      shapes.set(loraTensorName(layer, module, 'B'), [outFeatures, r]);
    }
  }
  return shapes;
}

export interface AdapterTensorInfo {
  name: string;
  dtype: string;
  shape: readonly number[];
}

/**
 * Why an adapter does not fit the loaded model, as sentences for the UI; empty when it fits.
 * A different hidden size, layer count or rank is reported alone: every tensor would differ, and
 * the per-tensor list would be noise.
 */
export function validateAdapter(
  config: Readonly<Record<string, unknown>>,
  tensors: readonly AdapterTensorInfo[],
  expected: ReadonlyMap<string, readonly number[]>,
  r: number,
): string[] {
  const issues = configIssues(config);
  if (tensors.length === 0) return [...issues, 'adapter holds no tensors'];

  const adapterShapes = new Map(tensors.map((t) => [t.name, t.shape]));
  const adapterHidden = hiddenSize(adapterShapes);
  const modelHidden = hiddenSize(expected);
  if (adapterHidden !== undefined && modelHidden !== undefined && adapterHidden !== modelHidden) {
    return [
      ...issues,
      `adapter is for a model with hidden size ${adapterHidden}, this model has ${modelHidden}`,
    ];
  }
  const adapterLayers = layerCount(adapterShapes.keys());
  const modelLayers = layerCount(expected.keys());
  if (adapterLayers !== modelLayers) {
    return [
      ...issues,
      `adapter is for a model with ${adapterLayers} layers, this model has ${modelLayers}`,
    ];
  }
  if (config.r !== r) {
    return [...issues, `adapter has rank r = ${String(config.r)}, this model's LoRA uses r = ${r}`];
  }

  const missing = [...expected.keys()].filter((name) => !adapterShapes.has(name));
  const extra = [...adapterShapes.keys()].filter((name) => !expected.has(name));
  if (missing.length > 0) {
    issues.push(`adapter lacks ${missing.length} tensor(s) this model needs: ${sample(missing)}`);
  }
  if (extra.length > 0) {
    issues.push(
      `adapter has ${extra.length} tensor(s) this model has no place for: ${sample(extra)}`,
    );
  }
  const misshapen = tensors
    .filter((t) => expected.has(t.name) && !sameShape(t.shape, expected.get(t.name) ?? []))
    .map(
      (t) => `${t.name} is [${t.shape.join(', ')}], expected [${expected.get(t.name)?.join(', ')}]`,
    );
  if (misshapen.length > 0)
    issues.push(`${misshapen.length} tensor(s) have the wrong shape: ${sample(misshapen)}`);
  const undecodable = tensors.filter((t) => !['F32', 'F16', 'BF16'].includes(t.dtype));
  if (undecodable.length > 0) {
    issues.push(
      `tensors must be F32, F16 or BF16: ${sample(undecodable.map((t) => `${t.name} is ${t.dtype}`))}`,
    );
  }
  return issues;
}

export interface AdapterFiles {
  config: PeftLoraConfig;
  tensors: readonly Float32Tensor[];
}

/** A zip with adapter_config.json and adapter_model.safetensors at its top level. */
export function packAdapterZip({ config, tensors }: AdapterFiles): Uint8Array {
  return zipSync({
    [ADAPTER_CONFIG_FILE]: new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`),
    // Trained float32 weights barely compress; storing them keeps export instant.
    [ADAPTER_WEIGHTS_FILE]: [serializeSafetensors(tensors, { format: 'pt' }), { level: 0 }],
  });
}

export interface UnpackedAdapter {
  config: Record<string, unknown>;
  safetensorsBytes: Uint8Array;
}

/** The two adapter files from a zip; they may sit in one folder (a zipped adapter directory). */
export function unpackAdapterZip(bytes: Uint8Array): UnpackedAdapter {
  // Local file header "PK\3\4", or "PK\5\6" for an empty archive.
  const isZip =
    bytes.length >= 4 &&
    bytes[0] === 0x50 &&
    bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
  if (!isZip) {
    throw new AdapterError([
      `not a zip file: expected a .zip holding ${ADAPTER_CONFIG_FILE} and ${ADAPTER_WEIGHTS_FILE}`,
    ]);
  }
  const wanted = [ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE];
  const seen: string[] = [];
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter: (file) => {
        seen.push(file.name);
        return wanted.includes(baseName(file.name));
      },
    });
  } catch (error) {
    throw new AdapterError([`the zip file is damaged: ${(error as Error).message}`]);
  }
  const member = (fileName: string): Uint8Array => {
    const matches = Object.keys(members).filter((path) => baseName(path) === fileName);
    if (matches.length !== 1) {
      throw new AdapterError([
        matches.length === 0
          ? `the zip has no ${fileName} (it holds: ${sample(seen) || 'nothing'})`
          : `the zip holds several ${fileName}: ${matches.join(', ')}`,
      ]);
    }
    return members[matches[0] as string] as Uint8Array;
  };
  const configBytes = member(ADAPTER_CONFIG_FILE);
  const safetensorsBytes = member(ADAPTER_WEIGHTS_FILE);
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(configBytes));
  } catch (error) {
    throw new AdapterError([
      `${ADAPTER_CONFIG_FILE} is not valid JSON: ${(error as Error).message}`,
    ]);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new AdapterError([`${ADAPTER_CONFIG_FILE} must hold a JSON object`]);
  }
  return { config: config as Record<string, unknown>, safetensorsBytes };
}

export interface ImportedAdapter {
  config: Record<string, unknown>;
  tensors: Map<string, Float32Array>;
}

/** Unzip, parse, check against the model and decode; throws AdapterError listing every issue. */
export function importAdapterZip(
  bytes: Uint8Array,
  expected: ReadonlyMap<string, readonly number[]>,
  r: number,
): ImportedAdapter {
  const { config, safetensorsBytes } = unpackAdapterZip(bytes);
  let file: ReturnType<typeof parseSafetensors>;
  try {
    file = parseSafetensors(safetensorsBytes);
  } catch (error) {
    if (error instanceof SafetensorsError) {
      throw new AdapterError([`${ADAPTER_WEIGHTS_FILE}: ${error.message}`]);
    }
    throw error;
  }
  const issues = validateAdapter(config, file.tensors, expected, r);
  if (issues.length > 0) throw new AdapterError(issues);
  return {
    config,
    tensors: new Map(file.tensors.map((t) => [t.name, decodeTensorToFloat32(t.dtype, t.data)])),
  };
}

// Settings under which our LoRA (B·A·x · lora_alpha / r, no bias) would compute something else.
function configIssues(config: Readonly<Record<string, unknown>>): string[] {
  const issues: string[] = [];
  if (config.peft_type !== 'LORA') {
    issues.push(
      `adapter is of PEFT type ${String(config.peft_type)}; only LORA adapters load here`,
    );
  }
  if (typeof config.lora_alpha !== 'number' || !(config.lora_alpha > 0)) {
    issues.push('adapter_config.json needs a positive lora_alpha');
  }
  const unsupported: [string, boolean][] = [
    ['use_dora', config.use_dora === true],
    ['use_rslora', config.use_rslora === true],
    ['fan_in_fan_out', config.fan_in_fan_out === true],
    ['bias other than "none"', config.bias !== undefined && config.bias !== 'none'],
    ['rank_pattern', isNonEmptyObject(config.rank_pattern)],
    ['alpha_pattern', isNonEmptyObject(config.alpha_pattern)],
  ];
  for (const [setting, used] of unsupported) {
    if (used) issues.push(`adapter uses ${setting}, which this playground does not support`);
  }
  return issues;
}

function isNonEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length > 0;
}

// lora_A of a layer reading the residual stream is r × hidden; lora_B of one writing it is hidden × r.
function hiddenSize(shapes: ReadonlyMap<string, readonly number[]>): number | undefined {
  for (const [name, shape] of shapes) {
    if (/\.(q_proj|k_proj|v_proj|gate_proj|up_proj)\.lora_A\.weight$/.test(name)) return shape[1];
    if (/\.(o_proj|down_proj)\.lora_B\.weight$/.test(name)) return shape[0];
  }
  return undefined;
}

function layerCount(names: Iterable<string>): number {
  let count = 0;
  for (const name of names) {
    const layer = /\.layers\.(\d+)\./.exec(name)?.[1];
    if (layer !== undefined) count = Math.max(count, Number(layer) + 1);
  }
  return count;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

function sample(items: readonly string[]): string {
  const shown = items.slice(0, 3).join(', ');
  return items.length > 3 ? `${shown}, … (${items.length - 3} more)` : shown;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
