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
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
