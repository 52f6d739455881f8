// The models the playground offers, as the page names them: the built-in demo model (served with
// the app, offline), SmolVLM repos on the Hugging Face Hub, or a folder the user picked. Where
// their files come from is src/vlm/modelSource.ts' job.
export const DEMO_MODEL_ID = 'ttrv-demo-shapes';
export const HUB_MODELS = [
  'HuggingFaceTB/SmolVLM-256M-Instruct',
  'HuggingFaceTB/SmolVLM-500M-Instruct',
] as const;

/** How the text model's frozen projections are stored on the device (src/engine/quant.ts). */
export type { WeightFormat } from './engine';

import type { WeightFormat } from './engine';

/** The picker's words for each format. The picker preselects the most precise one that fits the
 * device (recommendedWeightFormat): until the dequantisation is fused into the matmul, q8 and q4
 * store a quarter / a fifth of the bytes but decode slower at real size (docs/engine.md). */
export const WEIGHT_FORMAT_LABELS: Readonly<Record<WeightFormat, string>> = {
  f32: 'text weights f32',
  q8: 'text weights q8 (¼ of the memory; decodes slower for now)',
  q4: 'text weights q4 (⅕ of the memory; decodes slower for now)',
};

/** The vision encoder's ONNX file as the Hub repos name them (onnx/vision_encoder_<dtype>.onnx):
 * transformers.js' dtypes. fp16 and q4f16 need WebGPU's shader-f16. */
export const VISION_DTYPES = ['fp32', 'fp16', 'q4', 'q4f16'] as const;
export type VisionDtype = (typeof VISION_DTYPES)[number];

export type ModelChoice = (
  | { kind: 'demo' }
  | { kind: 'hub'; id: string }
  | { kind: 'folder'; files: File[] }
) & {
  /** Default f32. */
  weights?: WeightFormat;
  /** Default: fp16 where the GPU has shader-f16 (fp32 for the demo model, which ships only that). */
  vision?: VisionDtype;
};

/** What loading a model would take, read before loading it (its config, its safetensors header and
 * the size of its vision encoder's file: a few kB of requests). */
export type ModelEstimate = {
  label: string;
  /** Where the files are: downloaded (demo, hub) or read from a picked folder. */
  kind: ModelChoice['kind'];
  /** The text model's tensors in model.safetensors: all the engine downloads of that file. */
  textFileBytes: number;
  /** The text weights on the device, per format, and the largest single tensor there (it must fit
   * one GPU buffer binding). */
  textDeviceBytes: Record<WeightFormat, number>;
  largestTensorBytes: Record<WeightFormat, number>;
  /** The vision encoder file that would load (the first of the fallbacks the repo has). */
  vision: { dtype: VisionDtype; fileBytes: number } | null;
  /** Fallbacks and anything unknown, as sentences. */
  notes: string[];
};

/** The GPU limits that bound a format (GpuAdapterFacts carries them). */
export type DeviceLimits = { maxStorageBufferBindingSize: number; maxBufferSize: number };

/** jax-js' Wasm memory is one 32-bit heap (4 GiB). bench:scale's step at SmolVLM-500M peaked at
 * 2.0× its f32 text weights (3.28 GB for 1.64 GB), so the weights may take at most half of it. */
const WASM_WEIGHT_BUDGET = 2 * 2 ** 30;

/** The most precise format that fits this device: on WebGPU every tensor must fit one buffer
 * binding; on Wasm (no GPU) the weights must leave room for the step within 4 GiB. f32 stays the
 * default where it fits, since at real size q8 and q4 are slower for now (docs/engine.md). */
export function recommendedWeightFormat(
  estimate: ModelEstimate,
  gpu: DeviceLimits | null,
): WeightFormat | null {
  const formats: WeightFormat[] = ['f32', 'q8', 'q4'];
  const fits = (f: WeightFormat) =>
    gpu
      ? estimate.largestTensorBytes[f] <=
        Math.min(gpu.maxStorageBufferBindingSize, gpu.maxBufferSize)
      : estimate.textDeviceBytes[f] <= WASM_WEIGHT_BUDGET;
  return formats.find(fits) ?? null;
}
