// What the engine's entry points share: a loaded text model, an adapter, and one cache of
// compiled (jitted) functions per model, so a function is traced once per option set and
// input shape, not once per call.
import type { OwnedFunction } from '@jax-js/jax';
import { tree } from '@jax-js/jax';
import type { LoraSettings } from '../layout/loraSettings';
import type { TextConfig } from '../layout/textConfig';
import type { TextPrefix } from '../layout/textLayout';
import type { DecoderWeights, LoraParams, ModelSpec } from './decoder';
import { loraScale } from './lora';
import type { WeightFormat } from './quant';

export type TextModel = {
  config: TextConfig;
  weights: DecoderWeights;
  /** Where the text model sits in the Hub checkpoint, e.g. "model.text_model." (PEFT keys). */
  textPrefix: TextPrefix;
  /** How the frozen projections are stored on the device (./quant.ts). */
  format: WeightFormat;
  /** Layers per compiled program (./programs.ts); absent = DEFAULT_LAYERS_PER_PROGRAM. */
  layersPerProgram?: number;
};

export type Adapter = { config: LoraSettings; params: LoraParams };

export function specOf(model: TextModel, adapter: Adapter | null): ModelSpec {
  return { config: model.config, loraScale: adapter ? loraScale(adapter.config) : 0 };
}

// biome-ignore lint/suspicious/noExplicitAny: a cache of compiled functions of any signature
type Compiled = OwnedFunction<(...args: any[]) => any>;
const compiled = new WeakMap<TextModel, Map<string, Compiled>>();

/** The compiled function for `key`, made by `make` on first use. */
export function cachedJit<F extends Compiled>(model: TextModel, key: string, make: () => F): F {
  let cache = compiled.get(model);
  if (!cache) {
    cache = new Map();
    compiled.set(model, cache);
  }
  let f = cache.get(key);
  if (!f) {
    f = make();
    cache.set(key, f);
  }
  return f as F;
}

/** Frees the model's weights and compiled functions. */
export function disposeModel(model: TextModel): void {
  for (const f of compiled.get(model)?.values() ?? []) f.dispose();
  compiled.delete(model);
  tree.dispose(model.weights);
}
