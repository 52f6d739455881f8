import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'gpu',
          include: [
            'tests/gpu/**/*.test.ts',
            'tests/engine/**/*.test.ts',
            'tests/demo-model/**/*.test.ts',
            'tests/session/**/*.test.ts',
            'tests/real-size/**/*.test.ts',
          ],
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
