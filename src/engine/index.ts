// The engine's public API: load a text model, embed a prompt, sample completions, score them,
// and take GRPO steps on a LoRA adapter. Lower-level pieces (decoder, head, grpo) stay internal.
export type { TextConfig } from './config';
export { parseTextConfig } from './config';
export type { DecoderWeights, LoraParams } from './decoder';
export { embedPrompt, embedTokens } from './inputs';
export type { LoraTargetModule, Projection, TextPrefix } from './layout';
export { LORA_TARGET_MODULES, PROJECTIONS } from './layout';
export { exportLoraTensors, importLoraTensors, initLora, loraScale } from './lora';
export type { LoraSettings } from './loraSettings';
export { DEFAULT_LORA_SETTINGS } from './loraSettings';
export type { GpuMemoryCounter } from './memory';
export { trackGpuMemory } from './memory';
export type { Adapter, TextModel } from './model';
export { disposeModel } from './model';
export type { AdamWOptions } from './optim';
export { ADAMW_DEFAULTS } from './optim';
export type { SampleOptions, Samples } from './sampling';
export { chooseToken, sample } from './sampling';
export type {
  Completion,
  GrpoOptions,
  GrpoStepMetrics,
  PromptGroup,
  StepResult,
  TrainState,
} from './train';
export {
  completionLogprobs,
  grpoStep,
  initTrainState,
  LENGTH_BUCKET,
  PROMPT_BUCKET,
} from './train';
export { loadTextModel, randomWeights } from './weights';
