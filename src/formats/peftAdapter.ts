// PEFT LoRA adapter export and import: adapter_config.json + adapter_model.safetensors, zipped,
// laid out so Python `PeftModel.from_pretrained(base_model, folder)` loads it. Generic over the
// model: tensor names, shapes and target_modules come from the caller (the engine's layout).
import { unzipSync, zipSync } from 'fflate';
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
  /** A regular expression PEFT full-matches against module names (the caller's to write). */
  target_modules: string;
  task_type: 'CAUSAL_LM';
  use_dora: false;
  use_rslora: false;
}

export type AdapterSettings = Pick<
  PeftLoraConfig,
  'base_model_name_or_path' | 'r' | 'lora_alpha' | 'lora_dropout' | 'target_modules'
>;

/** PEFT's adapter_config.json for these settings; keys sorted, as json.dumps(sort_keys=True). */
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
    target_modules: settings.target_modules,
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
}

/** What the model expects of an adapter, from its layout: formats knows no model. */
export interface ExpectedAdapter {
  /** The rank the shapes are for. */
  r: number;
  /** Every LoRA tensor the model has a place for, name → shape. */
  shapes: ReadonlyMap<string, readonly number[]>;
  /**
   * What a tensor's name says of the model it was made for: its layer, and which axis of its
   * shape is the hidden size (null: neither). Lets another model's adapter be named in one sentence.
   */
  locate: (name: string) => { layer: number; hiddenAxis: 0 | 1 | null } | null;
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
  { r, shapes: expected, locate }: ExpectedAdapter,
): string[] {
  const issues = configIssues(config);
  if (tensors.length === 0) return [...issues, 'adapter holds no tensors'];

  const adapterShapes = new Map(tensors.map((t) => [t.name, t.shape]));
  const adapterHidden = hiddenSize(adapterShapes, locate);
  const modelHidden = hiddenSize(expected, locate);
  if (adapterHidden !== undefined && modelHidden !== undefined && adapterHidden !== modelHidden) {
    return [
      ...issues,
      `adapter is for a model with hidden size ${adapterHidden}, this model has ${modelHidden}`,
    ];
  }
  const adapterLayers = layerCount(adapterShapes.keys(), locate);
  const modelLayers = layerCount(expected.keys(), locate);
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

export const ADAPTER_CARD_FILE = 'README.md';

export interface AdapterFiles {
  config: PeftLoraConfig;
  tensors: readonly Float32Tensor[];
  /** The model card (README.md), as the Hub shows it; optional. */
  card?: string;
}

/** A zip with adapter_config.json and adapter_model.safetensors at its top level (and a card). */
export function packAdapterZip({ config, tensors, card }: AdapterFiles): Uint8Array {
  return zipSync({
    ...(card === undefined ? {} : { [ADAPTER_CARD_FILE]: new TextEncoder().encode(card) }),
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

/**
 * An unzipped adapter parsed, checked against the model and decoded; throws AdapterError listing
 * every issue. It takes the unzipped files, not the zip: a caller that read the config first to
 * learn the model's expectation unzips once.
 */
export function importAdapter(
  { config, safetensorsBytes }: UnpackedAdapter,
  expected: ExpectedAdapter,
): ImportedAdapter {
  let file: ReturnType<typeof parseSafetensors>;
  try {
    file = parseSafetensors(safetensorsBytes);
  } catch (error) {
    if (error instanceof SafetensorsError) {
      throw new AdapterError([`${ADAPTER_WEIGHTS_FILE}: ${error.message}`]);
    }
    throw error;
  }
  const issues = validateAdapter(config, file.tensors, expected);
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

function hiddenSize(
  shapes: ReadonlyMap<string, readonly number[]>,
  locate: ExpectedAdapter['locate'],
): number | undefined {
  for (const [name, shape] of shapes) {
    const axis = locate(name)?.hiddenAxis;
    if (axis != null) return shape[axis];
  }
  return undefined;
}

function layerCount(names: Iterable<string>, locate: ExpectedAdapter['locate']): number {
  let count = 0;
  for (const name of names) {
    const layer = locate(name)?.layer;
    if (layer !== undefined) count = Math.max(count, layer + 1);
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
