// All UI state lives here; components read it and call actions, workers never touch it directly.
import { create } from 'zustand';
import type { GpuReport } from '../workers/playground.worker';
import { WEBGPU_UNAVAILABLE_HELP } from './gpu/adapterInfo';
import { startPlaygroundWorker } from './workerClient';

export type GpuState =
  | { state: 'checking' }
  | { state: 'unavailable'; message: string }
  | { state: 'ready'; report: Extract<GpuReport, { ok: true }> };

type PlaygroundStore = {
  gpu: GpuState;
  checkGpu: () => Promise<void>;
};

export const usePlayground = create<PlaygroundStore>((set) => ({
  gpu: { state: 'checking' },
  checkGpu: async () => {
    if (!('gpu' in navigator) || !navigator.gpu) {
      set({ gpu: { state: 'unavailable', message: WEBGPU_UNAVAILABLE_HELP } });
      return;
    }
    const report = await startPlaygroundWorker().probeGpu();
    set({
      gpu: report.ok
        ? { state: 'ready', report }
        : { state: 'unavailable', message: `${WEBGPU_UNAVAILABLE_HELP} (${report.reason})` },
    });
  },
}));
