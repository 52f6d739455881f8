// All UI state lives in one zustand store, made of small slices; components read it and call its
// actions. Heavy work goes to the worker, whose API the store is created from, so tests can hand
// it a fake (tests/store).
import { createStore } from 'zustand/vanilla';
import { openRunsDb, type RunsDb } from '../runs/runsDb';
import { createDatasetSlice } from './dataset';
import { createErrorSlice } from './errors';
import { createRunSlice } from './run';
import { createRunsSlice } from './runs';
import { createSessionSlice } from './session';
import { createSettingsSlice } from './settings';
import type { PlaygroundState, WorkerApi } from './state';

export type {
  AnswerShare,
  AnswerSummary,
  DatasetReport,
  LoadPhase,
  StepCompletion,
  ViewVotes,
} from '../protocol';
export type { RunRecord } from '../runs/runsDb';
export { trlExportSource } from './run';
export type {
  Comparison,
  DatasetRun,
  EstimateState,
  GpuState,
  ModelState,
  OverlayRun,
  PlaygroundState,
  RunState,
  RunsState,
  WorkerApi,
} from './state';
export { canCompute, cpuStepCost, isRunning, otherRunModel } from './state';

/** `openRuns` opens the storage runs are kept in (tests hand in another database). */
export function createPlaygroundStore(
  worker: WorkerApi,
  openRuns: () => Promise<RunsDb> = () => openRunsDb(),
) {
  return createStore<PlaygroundState>()((...args) => ({
    ...createSessionSlice(...args, worker),
    ...createSettingsSlice(...args, worker),
    ...createRunSlice(...args, worker),
    ...createRunsSlice(openRuns)(...args, worker),
    ...createDatasetSlice(...args, worker),
    ...createErrorSlice(...args, worker),
  }));
}

export type PlaygroundStore = ReturnType<typeof createPlaygroundStore>;
