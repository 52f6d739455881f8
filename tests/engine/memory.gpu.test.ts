// GPU memory over a long run: every jax-js array the engine creates must be released (reference
// counting), or each TTRV step leaks buffers. 200 steps of what the playground does per step —
// sample votes with the adapter, score them, one GRPO step with AdamW — on WebGPU, counting the
// bytes of every buffer created on jax-js' device and not destroyed (its pool included). Tiny
// model: SwiftShader is slow.
import { defaultDevice, init, tree } from '@jax-js/jax';
import { expect, it } from 'vitest';
import type { TextModel } from '../../src/engine';
import {
  disposeModel,
  embedTokens,
  grpoStep,
  initLora,
  initTrainState,
  randomWeights,
  sample,
  trackGpuMemory,
} from '../../src/engine';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';
import { tinyConfig } from './helpers';

const STEPS = 200;
const EARLY = 10;

it(`GPU memory after ${STEPS} TTRV steps is within 5 % of memory after ${EARLY}`, async () => {
  expect(await init('webgpu')).toContain('webgpu');
  defaultDevice('webgpu');
  const counter = trackGpuMemory();
  const config = tinyConfig({ numLayers: 1, vocabSize: 32, imageTokenId: null });
  const model: TextModel = {
    config,
    weights: randomWeights(config, 3),
    textPrefix: 'model.',
    format: 'f32',
  };
  const lora = { ...DEFAULT_LORA_SETTINGS, r: 2, lora_alpha: 4 };
  let state = initTrainState({ config: lora, params: initLora(config, lora, 1) });
  const prompt = embedTokens(model.weights.embed, [[3, 7, 11, 2, 5]]);
  const live: number[] = [];
  let skipped = 0;
  for (let step = 1; step <= STEPS; step++) {
    const votes = await sample(model, state.adapter, prompt, {
      numRows: 4,
      maxNewTokens: 3,
      temperature: 1,
      seed: step,
      eosTokenIds: [],
    });
    const result = await grpoStep(
      model,
      state,
      [
        {
          promptEmbeds: prompt,
          completions: votes.tokens.map((tokens, j) => ({
            tokens,
            advantage: j % 2 ? -1 : 1,
            oldLogprobs: votes.logprobs[j],
          })),
        },
      ],
      {
        epsilon: 0.2,
        beta: 0.04,
        entropyCoef: 0.01,
        lossType: 'token_mean',
        learningRate: 1e-3,
        maxGradNorm: 1,
        microBatchSize: 4,
      },
    );
    if (result.skipped) skipped++;
    state = result.state;
    live.push(counter.live());
  }
  counter.stop();
  const early = live[EARLY - 1] as number;
  const late = live[STEPS - 1] as number;
  // The counter sees the engine's buffers (weights, adapter, moments, activations).
  expect(early).toBeGreaterThan(0);
  expect(skipped).toBe(0);
  expect(state.step).toBe(STEPS);
  expect(Math.abs(late - early) / early).toBeLessThanOrEqual(0.05);
  tree.dispose([prompt, state.adapter.params, state.moments]);
  disposeModel(model);
}, 600_000);
