#!/usr/bin/env node
// `node tools/bin/gpu-check-bundle.mjs OUT_DIR`: what tools/gpu-check.sh carries to a GPU machine
// instead of node_modules (hundreds of MB). Rolldown (Vite's bundler, already installed) bundles
// bench-scale.ts, gpu-check.ts and the parity test into ES modules; `vitest` becomes a small shim
// and transformers.js, Vite and Playwright stubs that throw (the check runs `--no-transformersjs`
// and no browser; onnxruntime's native and Wasm binaries would not fit). npm `webgpu` stays a real package beside the bundle:
// its index.js and Dawn's linux-x64 `dawn.node`.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node tools/bin/gpu-check-bundle.mjs OUT_DIR');
  process.exit(2);
}
const at = (p) => path.join(root, p);
// Packages the check never calls, and what the bundled code imports from them: each becomes a
// module whose functions throw a sentence naming why.
const STUBS = {
  '@huggingface/transformers': {
    why: 'transformers.js is not in the GPU check bundle: run bench:scale with --no-transformersjs.',
    names: [
      'AutoProcessor',
      'Idefics3ForConditionalGeneration',
      'PreTrainedModel',
      'RawImage',
      'Tensor',
      'env',
    ],
  },
  vite: { why: 'bench:scale --browser is not in the GPU check bundle.', names: ['createServer'] },
  '@playwright/test': {
    why: 'bench:scale --browser is not in the GPU check bundle.',
    names: ['chromium'],
  },
};
mkdirSync(out, { recursive: true });
const alias = { vitest: at('tools/lib/gpu-check/vitest-shim.ts') };
for (const [name, { why, names }] of Object.entries(STUBS)) {
  const file = path.join(out, `stub-${name.replace(/[@/]/g, '_')}.mjs`);
  const missing = `() => { throw new Error(${JSON.stringify(why)}); }`;
  const body = names.map(
    (n) => `export const ${n} = new Proxy(${missing}, { get: ${missing}, construct: ${missing} });`,
  );
  writeFileSync(file, `${body.join('\n')}\n`);
  alias[name] = file;
}
await build({
  input: {
    'bench-scale': at('tools/bin/bench-scale.ts'),
    'gpu-check': at('tools/bin/gpu-check.ts'),
    parity: at('tests/engine/webgpu-agreement.gpu.test.ts'),
  },
  platform: 'node',
  external: ['webgpu', /^node:/],
  resolve: {
    alias,
  },
  logLevel: 'warn',
  output: { dir: out, format: 'esm', entryFileNames: '[name].mjs', chunkFileNames: '[name].mjs' },
});
// The entries' `main` is run by this launcher (the bundle has no Vite runner).
writeFileSync(
  path.join(out, 'run.mjs'),
  `const [entry, ...args] = process.argv.slice(2);
const { main } = await import(new URL(entry + '.mjs', import.meta.url).href);
await main(args);
process.exit(0);
`,
);
const webgpu = path.join(out, 'node_modules/webgpu');
mkdirSync(path.join(webgpu, 'dist'), { recursive: true });
for (const f of ['index.js', 'package.json'])
  cpSync(at(`node_modules/webgpu/${f}`), path.join(webgpu, f));
cpSync(at('node_modules/webgpu/dist/linux-x64'), path.join(webgpu, 'dist/linux-x64'), {
  recursive: true,
});
console.error(`bundled into ${out}`);
