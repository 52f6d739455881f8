// What a browser gives jax-js and Node 20 lacks: iterator helpers (einsum), Float16Array, and
// navigator.gpu (Dawn through npm `webgpu`, on the SwiftShader Vulkan driver that Debian's
// chromium package ships). The gpu test tier (tests/setup/node-webgpu.ts), the Node app of the
// benchmarks (./node-app.ts) and the engine benchmarks start from here.
import 'core-js/actual/iterator/index.js';
import type { Device } from '@jax-js/jax';
import { Float16Array } from '@petamoriken/float16';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** Float16Array where Node lacks it (the iterator helpers come with this module's import). */
export function provideFloat16(): void {
  const g = globalThis as Record<string, unknown>;
  g.Float16Array ??= Float16Array;
}

/**
 * navigator.gpu from Dawn. Once per process: a test file may load this after the test setup did,
 * and a second Dawn instance would be a second device for jax-js to pick from.
 */
export async function provideWebGpu(): Promise<void> {
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return;
  // Set before Dawn loads: it reads the Vulkan driver's path when the module starts.
  process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: create([]), userAgent: `Node.js ${process.version}` },
    configurable: true,
  });
}

/** What jax-js needs in Node to compute on `backend` (WebGPU only when it computes there). */
export async function setupNode(backend: Device): Promise<void> {
  provideFloat16();
  if (backend === 'webgpu') await provideWebGpu();
}
