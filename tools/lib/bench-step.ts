// The GRPO step every benchmark times (bench:engine, bench:scale in Node and in the page): no file
// system or process here, so the browser page imports it too.
import type { Completion, GrpoOptions } from '../../src/engine';

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
