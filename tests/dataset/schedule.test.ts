import { describe, expect, it } from 'vitest';
import {
  adaptationBatches,
  PAPER_DATASET_SCHEDULE,
  SINGLE_EXAMPLE_SCHEDULE,
  shuffled,
  singleExampleBatches,
} from '../../src/dataset/schedule';

/** A deterministic stand-in for a seeded PRNG: cycles through fixed fractions. */
function cycle(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('shuffled', () => {
  it('is Fisher–Yates: with random() = 0 every element swaps with the first', () => {
    // i=3: j=0 → [d,b,c,a]; i=2: j=0 → [c,b,d,a]; i=1: j=0 → [b,c,d,a]
    expect(shuffled(['a', 'b', 'c', 'd'], () => 0)).toEqual(['b', 'c', 'd', 'a']);
  });
  it('keeps every element exactly once and leaves the input alone', () => {
    const input = [1, 2, 3, 4, 5, 6, 7];
    const out = shuffled(input, cycle([0.9, 0.1, 0.5, 0.3]));
    expect([...out].sort()).toEqual(input);
    expect(input).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('adaptationBatches', () => {
  it('covers 20 items twice in steps of at most 8, each item once per epoch', () => {
    const steps = adaptationBatches(200, PAPER_DATASET_SCHEDULE, cycle([0.37, 0.81, 0.05, 0.62]));
    expect(steps.map((s) => s.length)).toEqual([8, 8, 4, 8, 8, 4]);
    const firstEpoch = steps.slice(0, 3).flat();
    const secondEpoch = steps.slice(3).flat();
    expect(new Set(firstEpoch).size).toBe(20);
    expect([...secondEpoch].sort((a, b) => a - b)).toEqual([...firstEpoch].sort((a, b) => a - b));
    expect(firstEpoch.every((i) => i >= 0 && i < 200)).toBe(true);
  });
  it('uses the whole split when it is smaller than the subset', () => {
    const steps = adaptationBatches(5, { subset: 20, epochs: 1, promptsPerStep: 8 }, () => 0.5);
    expect(steps).toHaveLength(1);
    expect([...(steps[0] ?? [])].sort()).toEqual([0, 1, 2, 3, 4]);
  });
  it('refuses a schedule that is not positive integers', () => {
    expect(() =>
      adaptationBatches(10, { subset: 0, epochs: 1, promptsPerStep: 8 }, Math.random),
    ).toThrow(/positive integers/);
  });
});

describe('singleExampleBatches', () => {
  it('makes the one example the whole batch of every step', () => {
    expect(singleExampleBatches(300, { example: 41, steps: 3, promptsPerStep: 4 })).toEqual([
      [41, 41, 41, 41],
      [41, 41, 41, 41],
      [41, 41, 41, 41],
    ]);
  });
  it('by default trains on as many prompts as the paper schedule', () => {
    const paper = adaptationBatches(300, PAPER_DATASET_SCHEDULE, () => 0.5).flat().length;
    const single = singleExampleBatches(300, SINGLE_EXAMPLE_SCHEDULE);
    expect(single.flat()).toHaveLength(paper);
    expect(new Set(single.flat())).toEqual(new Set([0]));
  });
  it("refuses an example outside the split, naming the split's item numbers", () => {
    expect(() => singleExampleBatches(5, { example: 5, steps: 1, promptsPerStep: 8 })).toThrow(
      /1 to 5/,
    );
    expect(() => singleExampleBatches(5, { example: -1, steps: 1, promptsPerStep: 8 })).toThrow(
      /1 to 5/,
    );
  });
  it('refuses steps or copies that are not positive integers', () => {
    expect(() => singleExampleBatches(5, { example: 0, steps: 0, promptsPerStep: 8 })).toThrow(
      /positive integers/,
    );
    expect(() => singleExampleBatches(5, { example: 0, steps: 2, promptsPerStep: 1.5 })).toThrow(
      /positive integers/,
    );
  });
});
