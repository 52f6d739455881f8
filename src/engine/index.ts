// The engine's public API, and the only module outside src/engine may import from it (checked by
// `npm run lint`, tools/lib/layers.ts): load a text model, embed a prompt, sample completions,
// score them, and take GRPO steps on a LoRA adapter. The text model's layout and the LoRA settings
// are src/layout's (no jax-js there, so the page loads them without the engine).
export type { DecoderWeights, LoraParams } from './decoder';
// The engine's parts, for the checks and benchmarks that measure them one by one (logits at given
// positions against a PyTorch reference, a prefill as the app runs it): tools/lib/real-size-check.ts
// and tools/lib/scale/measure.ts. The app itself never needs them.
export { headMatrix, logits, prefill, rmsNorm } from './decoder';
export { embedPrompt, embedTokens, prefixInputs } from './inputs';
export { exportLoraTensors, importLoraTensors, initLora, loraScale } from './lora';
export type { GpuMemoryCounter } from './memory';
export { trackGpuMemory } from './memory';
export type { Adapter, TextModel } from './model';
export { disposeModel, specOf } from './model';
export type { AdamWOptions } from './optim';
export { ADAMW_DEFAULTS } from './optim';
export { layerGroups, runPrefill } from './programs';
export type { WeightFormat } from './quant';
export { WEIGHT_FORMATS, weightBytes, weightDevice } from './quant';
export type { SampleOptions, Samples } from './sampling';
export { chooseToken, NonFiniteLogitsError, sample } from './sampling';
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
  grpoGradients,
  grpoStep,
  initTrainState,
  LENGTH_BUCKET,
  PROMPT_BUCKET,
} from './train';
export type { TextModelPlan } from './weights';
export { loadTextModel, planTextModel, randomWeights } from './weights';
