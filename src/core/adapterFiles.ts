// The adapter as a file: PEFT's zip (adapter_config.json + adapter_model.safetensors) from the
// host copy of the LoRA tensors, and back. Keys and target_modules use the text prefix the
// checkpoint really has, so PEFT places the adapter on the model it came from. Import takes the
// LoRA settings from the file itself, so an adapter trained with other settings still loads onto
// the same model.

import type { WeightFormat } from '../engine';
import {
  AdapterError,
  adapterConfig,
  importAdapter,
  packAdapterZip,
  unpackAdapterZip,
} from '../formats/peftAdapter';
import type { Float32Tensor } from '../formats/safetensors';
import type { LoraSettings } from '../layout/loraSettings';
import {
  LORA_TARGET_MODULES,
  type LoraTargetModule,
  locateLoraKey,
  loraShapes,
  type TextLayout,
  targetModulesPattern,
} from '../layout/textLayout';

/** The zip of an adapter of `model` (tensors as exportLoraTensors names them). */
export function exportAdapterZip(
  baseModel: string,
  model: TextLayout,
  lora: LoraSettings,
  tensors: Float32Tensor[],
  /** How the base's text weights were stored while it trained (the model card says so). */
  baseFormat: WeightFormat,
): Uint8Array {
  const config = adapterConfig({
    ...lora,
    base_model_name_or_path: baseModel,
    target_modules: targetModulesPattern(model.textPrefix, lora.target_modules),
  });
  return packAdapterZip({ config, tensors, card: adapterCard(baseModel, baseFormat, lora) });
}

/** The model card: what the adapter applies to, and the base weights it was trained on. */
function adapterCard(baseModel: string, format: WeightFormat, lora: LoraSettings): string {
  const base =
    format === 'f32'
      ? 'the base model in full precision (f32)'
      : `the base model's text weights quantised to ${format} (QLoRA-style; the adapter itself is float32)`;
  return `---
base_model: ${baseModel}
library_name: peft
tags: [lora, ttrv, test-time-rl]
---

# LoRA adapter from TTRV Playground

Test-time RL (TTRV: GRPO on agreement between the model's own answers, no labels) on
\`${baseModel}\`, r ${lora.r}, lora_alpha ${lora.lora_alpha}, on ${lora.target_modules.join(', ')} of the
text model. Trained against ${base}. It applies to the full-precision base model, as QLoRA adapters do:

\`\`\`python
from peft import PeftModel
model = PeftModel.from_pretrained(base_model, "this-folder")
\`\`\`
`;
}

/** PEFT writes target_modules as a list or as a regex over module names: accept both. */
function targetModulesOf(value: unknown): LoraTargetModule[] {
  if (Array.isArray(value)) return LORA_TARGET_MODULES.filter((m) => value.includes(m));
  if (typeof value === 'string') return LORA_TARGET_MODULES.filter((m) => value.includes(m));
  return [];
}

/** An adapter zip checked against `model` and decoded; throws AdapterError listing every issue. */
export function readAdapterZip(
  bytes: Uint8Array,
  model: TextLayout,
): { lora: LoraSettings; tensors: Map<string, Float32Array> } {
  const unpacked = unpackAdapterZip(bytes);
  const { r, lora_alpha, lora_dropout } = unpacked.config;
  const target_modules = targetModulesOf(unpacked.config.target_modules);
  if (typeof r !== 'number' || typeof lora_alpha !== 'number' || target_modules.length === 0) {
    throw new AdapterError([
      `adapter_config.json must give r, lora_alpha and target_modules (${LORA_TARGET_MODULES.join(', ')})`,
    ]);
  }
  const shapes = loraShapes(model, r, target_modules);
  const { tensors } = importAdapter(unpacked, { r, shapes, locate: locateLoraKey });
  const lora = {
    r,
    lora_alpha,
    target_modules,
    // PEFT always writes it; 0 for a hand-made file without it.
    lora_dropout: typeof lora_dropout === 'number' ? lora_dropout : 0,
  };
  return { lora, tensors };
}
