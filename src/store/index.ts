// All UI state lives in one zustand store, made of small slices; components read it and call its
// actions. Heavy work goes to the worker, whose API the store is created from, so tests can hand
// it a fake (tests/store).
import { createStore } from 'zustand/vanilla';
import { createDatasetSlice } from './dataset';
import { createErrorSlice } from './errors';
import { createRunSlice } from './run';
import { createSessionSlice } from './session';
import { createSettingsSlice } from './settings';
import type { PlaygroundState, WorkerApi } from './state';

export type {
  AnswerShare,
  AnswerSummary,
  DatasetReport,
  LoadPhase,
  ViewVotes,
} from '../protocol';

export { trlExportSource } from './run';
export type {
  Comparison,
  DatasetRun,
  EstimateState,
  GpuState,
  ModelState,
  PlaygroundState,
  RunState,
  WorkerApi,
} from './state';
export { canCompute, cpuStepCost, isRunning } from './state';

export function createPlaygroundStore(worker: WorkerApi) {
  return createStore<PlaygroundState>()((...args) => ({
    ...createSessionSlice(...args, worker),
    ...createSettingsSlice(...args, worker),
    ...createRunSlice(...args, worker),
    ...createDatasetSlice(...args, worker),
    ...createErrorSlice(...args, worker),
  }));
}

export type PlaygroundStore = ReturnType<typeof createPlaygroundStore>;
