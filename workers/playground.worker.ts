// The one worker that owns the GPU: a thin comlink adapter over the playground's core
// (src/core/playground.ts). What is here is what only a browser worker has: WebGPU start-up,
// image decoding on an OffscreenCanvas, Blob URLs, and error codes carried across comlink.
import { env, RawImage } from '@huggingface/transformers';
import { defaultDevice, getWebGPUDevice, init } from '@jax-js/jax';
import * as Comlink from 'comlink';
import ortFactoryUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { createPlayground } from '../src/core/playground';
import { cpuThreads } from '../src/crossOriginIsolation';
import { PlaygroundError } from '../src/errors';
import { describeGpuAdapter } from '../src/gpu/gpuAdapter';
import { runGradientCheck } from '../src/gpu/gradientCheck';
import { ImageInputError, prepareImage } from '../src/image/prepareImage';
import type { Diagnostics, GpuReport, PlaygroundApi } from '../src/protocol';

const threads = cpuThreads();
// onnxruntime-web would fetch its .wasm from a CDN: serve our own copy (works offline). Its threads:
// every core when isolated (jax-js takes them all by itself; onnxruntime-web's default is half).
if (env.backends.onnx.wasm) {
  env.backends.onnx.wasm.wasmPaths = { wasm: ortWasmUrl, mjs: ortFactoryUrl };
  env.backends.onnx.wasm.numThreads = threads.threads;
}

/** A picked, dropped or pasted image as the processor's RawImage, bounded by prepareImage. */
async function readImage(file: Blob) {
  try {
    const { bitmap, ...info } = await prepareImage(file);
    const canvas = new OffscreenCanvas(info.width, info.height);
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0);
    bitmap.close();
    return { image: RawImage.fromCanvas(canvas), info };
  } catch (error) {
    if (error instanceof ImageInputError) throw new PlaygroundError('bad-image', error.message);
    throw error;
  }
}

const playground = createPlayground({
  origin: self.location.origin,
  visionFallback: 'wasm',
  readImage,
  // Blob URLs are the origin's, so the page can show one made here.
  fileUrl: (file) => URL.createObjectURL(file),
});

async function probeGpu(): Promise<GpuReport> {
  try {
    if (!('gpu' in navigator) || !navigator.gpu) {
      return { ok: false, reason: 'navigator.gpu is missing in the worker' };
    }
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { ok: false, reason: 'the browser offered no WebGPU adapter' };
    const devices = await init('webgpu', 'wasm');
    if (!devices.includes('webgpu')) {
      return { ok: false, reason: 'jax-js could not start its WebGPU backend' };
    }
    defaultDevice('webgpu');
    const facts = describeGpuAdapter(adapter);
    const gpuDevice = getWebGPUDevice();
    playground.attachGpu(gpuDevice, facts.shaderF16);
    const diagnostics: Diagnostics = Object.assign(playground.diagnostics, { gpuDevice });
    Object.assign(self, { ttrvDiagnostics: diagnostics });
    const gradientCheck = await runGradientCheck('webgpu');
    return { ok: true, gpuAdapter: facts, devices, gradientCheck };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

// comlink sends an error's name, message and stack, and the page assigns what it receives onto a
// new Error: sending the code too lets the page switch on it.
const throwHandler = Comlink.transferHandlers.get('throw');
if (throwHandler) {
  Comlink.transferHandlers.set('throw', {
    ...throwHandler,
    serialize: ({ value }: { value: unknown }) => {
      if (!(value instanceof Error)) return [{ isError: false, value }, []];
      const { name, message, stack } = value;
      const code = value instanceof PlaygroundError ? value.code : 'internal';
      return [{ isError: true, value: { name, message, stack, code } }, []];
    },
  });
}

const { attachGpu: _, diagnostics: __, ...calls } = playground;
const api: PlaygroundApi = {
  ...calls,
  probeGpu,
  cpuThreads: async () => threads,
  async exportAdapter() {
    const zip = await calls.exportAdapter();
    return Comlink.transfer(zip, [zip.buffer as ArrayBuffer]);
  },
};
Comlink.expose(api);
