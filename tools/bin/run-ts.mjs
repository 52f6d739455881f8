#!/usr/bin/env node
// `node tools/bin/run-ts.mjs <entry.ts> [args…]`: runs a TypeScript entry's `main(args)` through Vite's
// module runner (TypeScript without a build step). The npm bench:* scripts go through it.
import path from 'node:path';
import { runnerImport } from 'vite';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node tools/bin/run-ts.mjs <entry.ts> [args…]');
  process.exit(2);
}
const { module } = await runnerImport(path.resolve(entry), {
  configFile: false,
  logLevel: 'silent',
});
await module.main(args);
// Native handles (Dawn, onnxruntime-node) can keep Node alive after the work is done.
process.exit(0);
