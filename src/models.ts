// The models the playground offers, as the page names them: the built-in demo model (served with
// the app, offline), SmolVLM repos on the Hugging Face Hub, or a folder the user picked. Where
// their files come from is src/session/modelSource.ts' job.
export const DEMO_MODEL_ID = 'ttrv-demo-shapes';
export const HUB_MODELS = [
  'HuggingFaceTB/SmolVLM-256M-Instruct',
  'HuggingFaceTB/SmolVLM-500M-Instruct',
] as const;

/** How the text model's frozen projections are stored on the device (src/engine/quant.ts). */
export type { WeightFormat } from './engine/quant';

import type { WeightFormat } from './engine/quant';

/** The picker's words for each format. f32 is the default by measurement: until the dequantisation
 * is fused into the matmul, q8 and q4 store a quarter / a fifth of the bytes but need more peak
 * memory and time at real size (docs/engine.md, "Quantised text weights"). */
export const WEIGHT_FORMAT_LABELS: Readonly<Record<WeightFormat, string>> = {
  f32: 'text weights f32 (default)',
  q8: 'text weights q8 (¼ of the storage; slower, more peak memory for now)',
  q4: 'text weights q4 (⅕ of the storage; slower, more peak memory for now)',
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
