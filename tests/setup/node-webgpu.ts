// Gives Node what a browser gives jax-js: navigator.gpu (Dawn through npm `webgpu`, on the
// SwiftShader Vulkan driver that Debian's chromium package ships), plus two things Node 20 lacks
// and jax-js uses: iterator helpers (einsum) and Float16Array.
import 'core-js/actual/iterator/index.js';
import { Float16Array } from '@petamoriken/float16';

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

const g = globalThis as Record<string, unknown>;
g.Float16Array ??= Float16Array;

const { create, globals } = await import('webgpu');
Object.assign(globalThis, globals);
const gpu = create([]);
Object.defineProperty(globalThis, 'navigator', {
  value: { gpu, userAgent: `Node.js ${process.version}` },
  configurable: true,
});
