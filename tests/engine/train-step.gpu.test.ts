// One GRPO step with AdamW does what it is for, and a poisoned step does nothing: on a tiny random
// model (Wasm), positive advantages on a fixed batch raise the log-probs of those completions; a
// non-finite loss (a NaN advantage, or NaN in the prompt's embeddings) skips the update, says so,
// and leaves the adapter, the optimiser moments and the step count as they were, still usable.
import { defaultDevice, init, numpy as np, tree } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedTokens } from '../../src/engine/inputs';
import { initLora } from '../../src/engine/lora';
import type { Adapter, TextModel } from '../../src/engine/model';
import { disposeModel } from '../../src/engine/model';
import type { GrpoOptions, PromptGroup, TrainState } from '../../src/engine/train';
import { completionLogprobs, grpoStep, initTrainState } from '../../src/engine/train';
import { randomWeights } from '../../src/engine/weights';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { host, tinyConfig } from './helpers';

const COMPLETIONS = [
  [5, 9, 1],
  [12, 4],
  [6, 6, 6, 0],
];
const OPTIONS: GrpoOptions = {
  epsilon: 0.2,
  beta: 0.04,
  entropyCoef: 0.01,
  lossType: 'token_mean',
  learningRate: 1e-2,
  maxGradNorm: 1,
  microBatchSize: 2,
};

describe('GRPO step with AdamW (Wasm, tiny model)', () => {
  const config = tinyConfig({ imageTokenId: null });
  const lora = { ...DEFAULT_LORA_SETTINGS, r: 4, lora_alpha: 8 };
  let model: TextModel;
  let prompt: np.Array;

  beforeAll(async () => {
    await init('wasm');
    defaultDevice('wasm');
    model = {
      config,
      weights: randomWeights(config, 17, { std: 0.3 }),
      textPrefix: 'model.',
      format: 'f32',
    };
    prompt = embedTokens(model.weights.embed, [[3, 7, 11, 2, 5]]);
  });

  afterAll(() => {
    prompt.dispose();
    disposeModel(model);
  });

  const freshState = (): TrainState =>
    initTrainState({ config: lora, params: initLora(config, lora, 2) });

  const group = (promptEmbeds: np.Array, advantages: number[]): PromptGroup => ({
    promptEmbeds,
    completions: COMPLETIONS.map((tokens, j) => ({ tokens, advantage: advantages[j] as number })),
  });

  /** Total log-prob of each completion under the adapter. */
  async function totals(adapter: Adapter): Promise<number[]> {
    const { logprobs } = await completionLogprobs(model, adapter, prompt, COMPLETIONS);
    return logprobs.map((row) => row.reduce((a, b) => a + b, 0));
  }

  /** Host copies of every array of the state (adapter and moments), in tree order. */
  async function snapshot(state: TrainState): Promise<number[][]> {
    const out: number[][] = [];
    for (const x of tree.leaves([state.adapter.params, state.moments]) as np.Array[]) {
      out.push(Array.from(await host(x)));
    }
    return out;
  }

  it('positive advantages raise the log-probs of every completion', async () => {
    const state = freshState();
    const before = await totals(state.adapter);
    const result = await grpoStep(model, state, [group(prompt, [1, 0.5, 2])], OPTIONS);
    expect(result.skipped).toBeNull();
    expect(result.state.step).toBe(1);
    expect(Number.isFinite(result.metrics.loss)).toBe(true);
    expect(result.metrics.gradNorm).toBeGreaterThan(0);
    const after = await totals(result.state.adapter);
    after.forEach((x, j) => {
      expect(x).toBeGreaterThan(before[j] as number);
    });
    tree.dispose([result.state.adapter.params, result.state.moments]);
  });

  it('a non-finite loss skips the step, reports it and leaves the state unchanged', async () => {
    const nanPrompt = np.where(
      np.arange(5).reshape([1, 5, 1]).equal(2),
      Number.NaN,
      prompt.ref,
    ) as np.Array;
    const poisons: [string, PromptGroup][] = [
      ['NaN advantage', group(prompt, [1, Number.NaN, 2])],
      ['NaN in the prompt embeddings', group(nanPrompt, [1, 0.5, 2])],
    ];
    let state = freshState();
    // One real step first, so the moments and step count are not trivially zero.
    state = (await grpoStep(model, state, [group(prompt, [1, -1, 0.5])], OPTIONS)).state;
    const before = await snapshot(state);
    for (const [what, poisoned] of poisons) {
      const result = await grpoStep(model, state, [poisoned], OPTIONS);
      expect({ what, skipped: result.skipped }).toEqual({ what, skipped: 'non-finite loss' });
      expect(Number.isNaN(result.metrics.loss)).toBe(true);
      expect(result.state.step).toBe(1);
      expect(await snapshot(result.state)).toEqual(before);
      state = result.state;
    }
    // The adapter was not consumed: the next clean step still works.
    const next = await grpoStep(model, state, [group(prompt, [1, 0.5, 2])], OPTIONS);
    expect(next.skipped).toBeNull();
    expect(next.state.step).toBe(2);
    tree.dispose([nanPrompt, next.state.adapter.params, next.state.moments]);
  });
});
