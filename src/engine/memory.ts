// Counts the GPU memory jax-js holds: every buffer created on its WebGPU device and not yet
// destroyed (jax-js' buffer pool included, since pooled buffers are still allocated). This is the
// number the memory test and the benchmark's peak_gpu_bytes report.
import { getWebGPUDevice } from '@jax-js/jax';

export type GpuMemoryCounter = {
  /** Bytes in buffers created since tracking started and not destroyed. */
  live(): number;
  /** The largest `live()` seen since tracking started (or the last resetPeak). */
  peak(): number;
  resetPeak(): void;
  stop(): void;
};

/** Starts counting buffers created on jax-js' WebGPU device (requires init('webgpu')). */
export function trackGpuMemory(device: GPUDevice = getWebGPUDevice()): GpuMemoryCounter {
  const sizes = new WeakMap<GPUBuffer, number>();
  let live = 0;
  let peak = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    const destroy = buffer.destroy.bind(buffer);
    sizes.set(buffer, descriptor.size);
    live += descriptor.size;
    peak = Math.max(peak, live);
    buffer.destroy = () => {
      live -= sizes.get(buffer) ?? 0;
      sizes.delete(buffer);
      destroy();
    };
    return buffer;
  };
  return {
    live: () => live,
    peak: () => peak,
    resetPeak: () => {
      peak = live;
    },
    stop: () => {
      device.createBuffer = create;
    },
  };
}
