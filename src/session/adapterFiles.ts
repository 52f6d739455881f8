// The adapter as a file: PEFT's zip (adapter_config.json + adapter_model.safetensors) from the
// host copy of the LoRA tensors, and back. Import takes r, lora_alpha and target_modules from the
// file itself, so an adapter trained with other LoRA settings still loads onto the same model.
import type { TextConfig } from '../engine/config';
import type { LoraConfig } from '../engine/lora';
import {
  AdapterError,
  adapterConfig,
  expectedLoraShapes,
  importAdapterZip,
  packAdapterZip,
  type TextModelDims,
  unpackAdapterZip,
} from '../formats/peftAdapter';
import type { Float32Tensor } from '../formats/safetensors';
import { LORA_TARGET_MODULES, type LoraTargetModule } from '../rl/config';

export function textModelDims(config: TextConfig): TextModelDims {
  return {
    num_hidden_layers: config.numLayers,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
  };
}

export function exportAdapterZip(
  baseModel: string,
  lora: LoraConfig,
  tensors: Float32Tensor[],
): Uint8Array {
  const config = adapterConfig({
    base_model_name_or_path: baseModel,
    r: lora.r,
    lora_alpha: lora.loraAlpha,
    lora_dropout: 0,
    target_modules: lora.targetModules as LoraTargetModule[],
  });
  return packAdapterZip({ config, tensors });
}

/** PEFT writes target_modules as a list or as a regex over module names: accept both. */
function targetModulesOf(value: unknown): LoraTargetModule[] {
  if (Array.isArray(value)) return LORA_TARGET_MODULES.filter((m) => value.includes(m));
  if (typeof value === 'string') return LORA_TARGET_MODULES.filter((m) => value.includes(m));
  return [];
}

export function readAdapterZip(
  bytes: Uint8Array,
  config: TextConfig,
): { lora: LoraConfig; tensors: Map<string, Float32Array> } {
  const peft = unpackAdapterZip(bytes).config;
  const r = peft.r;
  const loraAlpha = peft.lora_alpha;
  const targetModules = targetModulesOf(peft.target_modules);
  if (typeof r !== 'number' || typeof loraAlpha !== 'number' || targetModules.length === 0) {
    throw new AdapterError([
      'adapter_config.json must give r, lora_alpha and target_modules (q_proj … down_proj)',
    ]);
  }
  const expected = expectedLoraShapes(textModelDims(config), r, targetModules);
  const { tensors } = importAdapterZip(bytes, expected, r);
  return { lora: { r, loraAlpha, targetModules }, tensors };
}
