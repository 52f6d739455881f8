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

export type ModelChoice = (
  | { kind: 'demo' }
  | { kind: 'hub'; id: string }
  | { kind: 'folder'; files: File[] }
) & {
  /** Default f32. */
  weights?: WeightFormat;
};
