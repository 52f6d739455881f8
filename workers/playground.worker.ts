// The one worker that owns the GPU: all heavy work runs here, behind a typed comlink API.
import { type Device, init } from '@jax-js/jax';
import * as Comlink from 'comlink';
import { type AdapterFacts, describeAdapter } from '../src/gpu/adapterInfo';
import { type GradientCheckResult, runGradientCheck } from '../src/gpu/gradientCheck';

export type GpuReport =
  | { ok: true; adapter: AdapterFacts; devices: Device[]; gradientCheck: GradientCheckResult }
  | { ok: false; reason: string };

async function probeGpu(): Promise<GpuReport> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { ok: false, reason: 'navigator.gpu is missing in the worker' };
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return { ok: false, reason: 'the browser offered no WebGPU adapter' };
  const devices = await init('webgpu', 'wasm');
  if (!devices.includes('webgpu')) {
    return { ok: false, reason: 'jax-js could not start its WebGPU backend' };
  }
  const gradientCheck = await runGradientCheck('webgpu');
  return { ok: true, adapter: describeAdapter(adapter), devices, gradientCheck };
}

const api = {
  probeGpu: async (): Promise<GpuReport> => {
    try {
      return await probeGpu();
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
  },
};

export type PlaygroundApi = typeof api;
Comlink.expose(api);
