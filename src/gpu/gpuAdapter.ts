// Facts about the WebGPU adapter that decide which kernels the engine may use
// (no shader-f16 on SwiftShader, buffer size limits for the KV cache and the LM head).
export type GpuAdapterFacts = {
  vendor: string;
  architecture: string;
  description: string;
  shaderF16: boolean;
  subgroups: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
};

export function describeGpuAdapter(adapter: GPUAdapter): GpuAdapterFacts {
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    shaderF16: adapter.features.has('shader-f16'),
    subgroups: adapter.features.has('subgroups'),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** The message users see when the page has no WebGPU: what is wrong and what to do. */
export const WEBGPU_UNAVAILABLE_HELP =
  'WebGPU is not available in this browser, so the playground runs on the CPU (WebAssembly): ' +
  'every feature works, several times slower than on a GPU (what a step costs at the loaded ' +
  "model's size, measured here, shows after the first step). " +
  'For the GPU, use a current Chrome or Edge (113+) on desktop, or enable WebGPU in your browser ' +
  '(chrome://flags/#enable-unsafe-webgpu, or dom.webgpu.enabled in Firefox), and open the page ' +
  'from https:// or http://localhost.';
