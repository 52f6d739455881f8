// Timing for the benchmarks: medians of repeated runs, so one slow run (a shared machine, a
// garbage collection) does not move the figure.

/** Milliseconds `run` takes. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** The median of a list of times. */
export function middle(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The median time of `repeats` runs of `run`. */
export async function median(repeats: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await timed(run));
  return middle(times);
}
