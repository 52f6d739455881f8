// The vote and the GRPO step the engine benchmarks time (bench:engine, bench:scale in Node and in
// the page), and the settings their JSON echoes, from here alone: no file system or process here,
// so the browser page imports it too.
import type { numpy as np } from '@jax-js/jax';
import type { Completion, GrpoOptions, TextModel, TrainState } from '../../src/engine';
import { grpoStep } from '../../src/engine';
import { DEFAULT_LORA_SETTINGS } from '../../src/layout/loraSettings';

/** The adapter the benchmarks time: the default LoRA settings, initialised from seed 0. */
export const BENCH_LORA = { settings: DEFAULT_LORA_SETTINGS, seed: 0 } as const;

/** A benchmark's vote: sampled at temperature 1 from seed 1, every row `new_tokens` long. */
export const BENCH_VOTE = { temperature: 1, seed: 1, eosTokenIds: [] as number[] } as const;

/** Completions with advantages +1, -1, +1, … (what a benchmark's GRPO step trains on). */
export function withAlternatingAdvantages(rows: number[][]): Completion[] {
  return rows.map((tokens, j) => ({ tokens, advantage: j % 2 === 0 ? 1 : -1 }));
}

/** A benchmark's GRPO step: TTRV's protocol (β = 0, no entropy term), token_mean. */
export function benchStep(microBatchSize: number): GrpoOptions {
  return {
    epsilon: 0.2,
    beta: 0,
    entropyCoef: 0,
    lossType: 'token_mean',
    learningRate: 1e-4,
    maxGradNorm: 1,
    microBatchSize,
  };
}

/** One benchmark GRPO step on one prompt's completions; the state it leaves (a skip is an error). */
export async function runBenchStep(
  model: TextModel,
  state: TrainState,
  promptEmbeds: np.Array,
  completions: Completion[],
  microBatchSize: number,
): Promise<TrainState> {
  const result = await grpoStep(
    model,
    state,
    [{ promptEmbeds, completions }],
    benchStep(microBatchSize),
  );
  if (result.skipped) throw new Error(`the GRPO step was skipped: ${result.skipped}`);
  return result.state;
}

/** What an engine benchmark's runs used, as its JSON echoes it: the adapter, vote and step above. */
export function benchStepSettings(microBatchSize: number) {
  return {
    lora: BENCH_LORA.settings,
    lora_seed: BENCH_LORA.seed,
    vote: { temperature: BENCH_VOTE.temperature, seed: BENCH_VOTE.seed },
    grpo: benchStep(microBatchSize),
  };
}
