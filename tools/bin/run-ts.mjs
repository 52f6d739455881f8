#!/usr/bin/env node
// `node tools/bin/run-ts.mjs <entry.ts> [args…]`: runs a TypeScript entry's `main(args)` through Vite's
// module runner (TypeScript without a build step). The npm bench:* scripts go through it.
// The runner stays open until `main` returns: Vite's `runnerImport` closes it once the entry has
// loaded, and every dynamic import after that (`import('webgpu')` in tools/lib/node-gpu.ts) failed
// with "Vite module runner has been closed".
import path from 'node:path';
import { createRunnableDevEnvironment, mergeConfig, resolveConfig } from 'vite';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node tools/bin/run-ts.mjs <entry.ts> [args…]');
  process.exit(2);
}
// The configuration runnerImport uses (Vite 8), kept open.
const config = await resolveConfig(
  mergeConfig(
    { configFile: false, logLevel: 'silent' },
    {
      envDir: false,
      cacheDir: process.cwd(),
      environments: {
        inline: {
          consumer: 'server',
          dev: { moduleRunnerTransform: true },
          resolve: { external: true, mainFields: [], conditions: ['node'] },
        },
      },
    },
  ),
  'serve',
);
const environment = createRunnableDevEnvironment('inline', config, {
  runnerOptions: { hmr: { logger: false } },
  hot: false,
});
await environment.init();
const module = await environment.runner.import(path.resolve(entry));
await module.main(args);
// Native handles (Dawn, onnxruntime-node) can keep Node alive after the work is done.
process.exit(0);
