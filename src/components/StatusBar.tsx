import type { CpuThreads } from '../protocol';
import type { GpuState } from '../store';
import { ThreadsStatus } from './ThreadsStatus';

function formatBytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** `cpuStepCost`: what a step costs at the loaded size on the CPU, measured here (no WebGPU). */
export function StatusBar({
  gpu,
  threads,
  cpuStepCost,
}: {
  gpu: GpuState;
  threads: CpuThreads | null;
  cpuStepCost: string | null;
}) {
  if (gpu.state === 'checking') {
    return (
      <footer className="status-bar" data-testid="gpu-status" data-state="checking">
        Checking WebGPU…
      </footer>
    );
  }
  if (gpu.state === 'unavailable') {
    return (
      <footer className="status-bar status-error" data-testid="gpu-status" data-state="unavailable">
        <span data-testid="webgpu-unavailable">{gpu.message}</span>
        {cpuStepCost && <span data-testid="cpu-step-cost">{cpuStepCost}</span>}
        {threads && <ThreadsStatus threads={threads} backend="Wasm" />}
      </footer>
    );
  }
  if (gpu.state === 'lost') {
    return (
      <footer className="status-bar status-error" data-testid="gpu-status" data-state="lost">
        <span data-testid="gpu-lost">{gpu.message}</span>
      </footer>
    );
  }
  const { gpuAdapter: adapter, gradientCheck } = gpu.report;
  const gradOk = gradientCheck.maxAbsError < 1e-4;
  return (
    <footer
      className="status-bar"
      data-testid="gpu-status"
      data-state="ready"
      data-architecture={adapter.architecture}
    >
      <span>
        WebGPU: <strong data-testid="adapter-vendor">{adapter.vendor || 'unknown vendor'}</strong>{' '}
        <span data-testid="adapter-architecture">{adapter.architecture || 'unknown'}</span>
      </span>
      <span>shader-f16: {adapter.shaderF16 ? 'yes' : 'no'}</span>
      <span>subgroups: {adapter.subgroups ? 'yes' : 'no'}</span>
      <span>max storage buffer: {formatBytes(adapter.maxStorageBufferBindingSize)}</span>
      <span data-testid="gradient-check" data-ok={gradOk}>
        jax-js grad check: {gradOk ? 'ok' : 'FAILED'} (max error{' '}
        {gradientCheck.maxAbsError.toExponential(1)})
      </span>
      {threads && <ThreadsStatus threads={threads} backend="WebGPU" />}
    </footer>
  );
}
