// The Node side of tools/gpu-check.sh, bundled with bench-scale.ts into one folder by
// tools/bin/gpu-check-bundle.mjs so that a machine without node_modules runs it:
//   adapter          prints the WebGPU adapter Dawn gives (vendor, architecture, device) as JSON
//   parity           runs the engine's WebGPU parity test (tests/engine/webgpu-agreement.gpu.test.ts,
//                    bundled beside this file as parity.mjs, Vitest replaced by
//                    tools/lib/gpu-check/vitest-shim.ts); exits 1 if a test fails
//   checkpoint DIR   writes the synthetic SmolVLM-256M-shaped checkpoint bench:scale reads
//                    (tools/lib/gpu-check/synthetic-checkpoint.ts)
import 'core-js/actual/iterator/index.js';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { init } from '@jax-js/jax';
import { writeSyntheticCheckpoint } from '../lib/gpu-check/synthetic-checkpoint';
import { runTests } from '../lib/gpu-check/vitest-shim';
import { provideFloat16, provideWebGpu } from '../lib/node-gpu';

async function adapterInfo() {
  const gpu = (globalThis as unknown as { navigator: { gpu: GPU } }).navigator.gpu;
  const adapter = await gpu.requestAdapter();
  if (!adapter)
    throw new Error('Dawn found no WebGPU adapter: check the Vulkan driver (vulkaninfo).');
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    vk_icd_filenames: process.env.VK_ICD_FILENAMES,
  };
}

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  provideFloat16();
  await provideWebGpu();
  if (command === 'adapter') {
    console.log(JSON.stringify(await adapterInfo()));
  } else if (command === 'parity') {
    // The bundled test registers its suite with the shim when it loads.
    const bundleDir = path.dirname(process.argv[1] as string);
    await import(pathToFileURL(path.join(bundleDir, 'parity.mjs')).href);
    const { passed, failed } = await runTests();
    console.error(`parity: ${passed} passed, ${failed} failed`);
    if (failed > 0 || passed === 0) process.exit(1);
  } else if (command === 'checkpoint' && rest[0]) {
    await init('wasm');
    const start = performance.now();
    await writeSyntheticCheckpoint(rest[0], 0, console.error);
    console.error(`  checkpoint in ${rest[0]} (${Math.round(performance.now() - start)} ms)`);
  } else {
    throw new Error('usage: gpu-check.mjs adapter | parity | checkpoint DIR');
  }
}
