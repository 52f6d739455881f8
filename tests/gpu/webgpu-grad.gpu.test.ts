import { init } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeGpuAdapter } from '../../src/gpu/gpuAdapter';
import { GRADIENT_CHECK_POINTS, runGradientCheck } from '../../src/gpu/gradientCheck';

describe('jax-js on Node WebGPU (SwiftShader)', () => {
  beforeAll(async () => {
    const devices = await init('webgpu', 'wasm');
    expect(devices).toContain('webgpu');
    expect(devices).toContain('wasm');
  });

  it('offers a real adapter, not a mock', async () => {
    const adapter = await navigator.gpu.requestAdapter();
    expect(adapter).not.toBeNull();
    const facts = describeGpuAdapter(adapter as GPUAdapter);
    expect(facts.architecture).toBe('swiftshader');
    expect(facts.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('computes grad on WebGPU equal to the closed form and to the Wasm backend', async () => {
    const gpu = await runGradientCheck('webgpu');
    const wasm = await runGradientCheck('wasm');
    expect(gpu.values).toHaveLength(GRADIENT_CHECK_POINTS.length);
    expect(gpu.maxAbsError).toBeLessThan(1e-5);
    expect(wasm.maxAbsError).toBeLessThan(1e-5);
    gpu.values.forEach((v, i) => {
      expect(v).toBeCloseTo(wasm.values[i] as number, 5);
    });
  });
});
