// The playground worker's API as the page sees it through comlink (workers/playground.worker.ts
// implements it). Page and worker import these types; the page imports nothing else of the
// worker's side. Errors thrown by any call carry a `code` (src/errors.ts).

import type { Playground } from './core/playground';
import type { GpuAdapterFacts } from './gpu/gpuAdapter';
import type { GradientCheckResult } from './gpu/gradientCheck';

export type { Comparison, ImageInfo, ModelInfo } from './core/playground';
export type { DatasetProgress, DatasetReport, ExampleReport } from './dataset/run';
export type { LoraSettings } from './settings';
export type { AnswerShare, AnswerSummary, StepReport, ViewVotes } from './ttrv/step';

export type GpuReport =
  | { ok: true; gpuAdapter: GpuAdapterFacts; devices: string[]; gradientCheck: GradientCheckResult }
  | { ok: false; reason: string };

export type PlaygroundApi = Omit<Playground, 'attachGpu' | 'diagnostics'> & {
  /** Starts jax-js on WebGPU and checks its gradients; the session then computes there. */
  probeGpu(): Promise<GpuReport>;
};

/**
 * `self.ttrvDiagnostics` in the worker, for the browser's devtools and the e2e tests only; the app
 * never sets anything here. `gpuDevice` is the engine's device (destroy it to see a device loss);
 * `inNextGpuWork` runs once inside the next GPU call's out-of-memory scope (allocate too much there
 * to see how an out-of-memory error is handled).
 */
export type Diagnostics = { gpuDevice: GPUDevice; inNextGpuWork: (() => void) | null };
