import { defineConfig } from 'vitest/config';

// tests/ mirrors src/ (and tools/): a test sits beside the tests of the module it checks, and its
// tier is in its name. `*.gpu.test.ts` runs jax-js in Node on Wasm and on WebGPU (Dawn on
// SwiftShader, tests/setup/node-webgpu.ts); every other `*.test.ts` is a plain Node unit test.
const GPU_TESTS = 'tests/**/*.gpu.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: [GPU_TESTS],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'gpu',
          include: [GPU_TESTS],
          environment: 'node',
          setupFiles: ['tests/setup/node-webgpu.ts'],
          // Dawn is a native module: one process per file, files one after another (2 cores).
          pool: 'forks',
          fileParallelism: false,
          // Guards, not speed checks: under `npm test` this tier runs beside the e2e suite (two
          // tracks on two cores), where a WebGPU case on SwiftShader took over 120 s at load 10-14.
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
