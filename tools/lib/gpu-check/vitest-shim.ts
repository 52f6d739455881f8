// What the engine's WebGPU parity test takes from Vitest, for tools/gpu-check.sh: the copy it
// brings to a GPU machine has no node_modules, so the test file is bundled (tools/lib/gpu-check/
// bundle.ts) with `vitest` replaced by this module. Only the matchers that test uses; tests run in
// order, one at a time, and `runTests` reports each.
import { isDeepStrictEqual } from 'node:util';

type Fn = () => unknown | Promise<unknown>;
type Suite = { name: string; beforeAll: Fn[]; afterAll: Fn[]; tests: { name: string; fn: Fn }[] };

const suites: Suite[] = [];
let current: Suite | null = null;

export function describe(name: string, body: () => void): void {
  current = { name, beforeAll: [], afterAll: [], tests: [] };
  suites.push(current);
  body();
  current = null;
}

const suite = (): Suite => {
  if (!current)
    throw new Error('the parity test shim supports hooks and tests inside describe only');
  return current;
};

export const beforeAll = (fn: Fn) => suite().beforeAll.push(fn);
export const afterAll = (fn: Fn) => suite().afterAll.push(fn);
export const it = (name: string, fn: Fn) => suite().tests.push({ name, fn });

function fail(message: string): never {
  throw new Error(message);
}

export function expect(actual: unknown) {
  const show = (x: unknown) => JSON.stringify(x);
  return {
    toBe: (expected: unknown) =>
      Object.is(actual, expected) || fail(`expected ${show(actual)} to be ${show(expected)}`),
    toEqual: (expected: unknown) =>
      isDeepStrictEqual(actual, expected) ||
      fail(`expected ${show(actual)} to equal ${show(expected)}`),
    toBeLessThan: (n: number) =>
      (actual as number) < n || fail(`expected ${actual} to be less than ${n}`),
    toBeCloseTo: (n: number, digits = 2) =>
      Math.abs((actual as number) - n) < 10 ** -digits / 2 ||
      fail(`expected ${actual} to be close to ${n} (${digits} digits)`),
    toContain: (item: unknown) =>
      (actual as unknown[]).includes(item) ||
      fail(`expected ${show(actual)} to contain ${show(item)}`),
    toHaveLength: (n: number) =>
      (actual as unknown[]).length === n ||
      fail(`expected length ${(actual as unknown[]).length} to be ${n}`),
  };
}

/** Runs every registered test; returns how many passed and failed (each printed to stderr). */
export async function runTests(): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const s of suites) {
    try {
      for (const f of s.beforeAll) await f();
      for (const t of s.tests) {
        const start = performance.now();
        try {
          await t.fn();
          passed++;
          console.error(`  ✓ ${s.name} > ${t.name} (${Math.round(performance.now() - start)} ms)`);
        } catch (e) {
          failed++;
          console.error(`  ✗ ${s.name} > ${t.name}: ${(e as Error).stack ?? e}`);
        }
      }
    } catch (e) {
      failed += s.tests.length;
      console.error(`  ✗ ${s.name} (set-up): ${(e as Error).stack ?? e}`);
    } finally {
      for (const f of s.afterAll) await f();
    }
  }
  return { passed, failed };
}
