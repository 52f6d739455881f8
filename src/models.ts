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

export const WEIGHT_FORMAT_LABELS: Readonly<Record<WeightFormat, string>> = {
  f32: 'f32 (full precision)',
  q8: 'q8 (8-bit, 26 % of the bytes)',
  q4: 'q4 (4-bit, 19 % of the bytes)',
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
