// The page's state, slice by slice, and what every slice creator gets. All of it lives in one
// zustand store (./index.ts); components read it and call its actions.
import type { Remote } from 'comlink';
import type { StateCreator } from 'zustand';
import type { DatasetSplit } from '../dataset/splits';
import type { DemoSample } from '../demoSamples';
import type { ModelChoice, ModelEstimate } from '../models';
import type {
  AnswerShare,
  AnswerSummary,
  CpuThreads,
  DatasetProgress,
  DatasetProtocol,
  DatasetReport,
  GpuReport,
  LoadPhase,
  ModelInfo,
  PlaygroundApi,
  StepCompletion,
  StepReport,
  ViewVotes,
} from '../protocol';
import type { StepMetrics } from '../rl/metrics';
import type { RunRecord, StoredModel } from '../runs/runsDb';
import type { ConfigIssue, PlaygroundSettings } from '../settings';

export type { AnswerShare, AnswerSummary, DatasetReport, ViewVotes } from '../protocol';

export type GpuState =
  | { state: 'checking' }
  | { state: 'unavailable'; message: string }
  | { state: 'ready'; report: Extract<GpuReport, { ok: true }> }
  /** The device went away: nothing more runs on it; the adapter still exports. */
  | { state: 'lost'; message: string };

export type ModelState = {
  state: 'idle' | 'loading' | 'ready' | 'error';
  label: string;
  info: ModelInfo | null;
  progress: Record<string, { loaded: number; total: number }>;
  /** The load's phases so far: null while one runs, then its milliseconds. */
  phases: Partial<Record<LoadPhase, number | null>>;
  message: string | null;
  /** The last step's time on this model, measured in the page around the worker's call. */
  stepMs: number | null;
};

/** What loading a choice would take (ModelPicker shows it before the user loads). */
export type EstimateState = {
  /** Which choice it is for (estimateKey): an answer for another one is dropped. */
  key: string;
  state: 'loading' | 'ready' | 'failed';
  estimate: ModelEstimate | null;
  message: string | null;
};

export type RunState = {
  /** Which run this is: a loop whose run is no longer current changes nothing. */
  id: number;
  /** 'converged': stopped by early_stop_agreement; 'finished': by max_steps. */
  status: 'idle' | 'running' | 'pausing' | 'paused' | 'finished' | 'converged';
  history: StepMetrics[];
  /** The votes' answer distribution at each step. */
  distributions: AnswerShare[][];
  /** Each step's sampled completions (the completions table); null for dataset mode's steps. */
  completions: (StepCompletion[] | null)[];
  note: string | null;
  /** Signs of collapse rather than sharpening (src/rl/stopRule.ts), or null. */
  warning: string | null;
  /** What the guard skipped in the latest step (reward guarded_majority), or null. */
  guard: string | null;
  /** The votes of each view of the page's image in the latest step (view_consistency), or null;
   * null for a dataset run's steps, which are not of that image. */
  views: ViewVotes[] | null;
  /** The split and protocol of a dataset run; null for single-image steps on the page's image. */
  dataset: { split: DatasetSplit; protocol: DatasetProtocol } | null;
};

export type Comparison = {
  base: AnswerSummary | null;
  adapted: AnswerSummary | null;
  busy: boolean;
};

export type DatasetRun = {
  running: boolean;
  /** Cancel was pressed and the run is stopping. */
  cancelling: boolean;
  progress: DatasetProgress | null;
  report: DatasetReport | null;
};

export type SessionSlice = {
  gpu: GpuState;
  /** The CPU path's threads in the worker; null until it answers. */
  threads: CpuThreads | null;
  model: ModelState;
  estimate: EstimateState | null;
  image: { url: string; caption: string } | null;
  samples: DemoSample[];
  question: string;
  start: () => Promise<void>;
  loadModel: (choice: ModelChoice) => Promise<void>;
  /** Reads what loading `choice` would download (or read from a picked folder) and hold. */
  estimateModel: (choice: ModelChoice) => Promise<void>;
  setImageFile: (file: Blob) => Promise<void>;
  /** A demo sample: its image and its question. */
  pickSample: (sample: DemoSample) => Promise<void>;
  setQuestion: (question: string) => void;
};

export type SettingsSlice = {
  config: PlaygroundSettings;
  configIssues: ConfigIssue[];
  updateConfig: (patch: Partial<PlaygroundSettings>) => void;
};

export type RunSlice = {
  run: RunState;
  comparison: Comparison;
  /** One step's report into the history and the charts (single-image and dataset runs alike). */
  appendStep: (report: StepReport) => void;
  startRun: () => Promise<void>;
  /** Stops the step in flight between two decoded tokens; what it had done is dropped. */
  pauseRun: () => Promise<void>;
  stepOnce: () => Promise<void>;
  resetAdapter: () => Promise<void>;
  refreshComparison: () => Promise<void>;
  exportAdapter: () => Promise<void>;
  importAdapter: (file: File) => Promise<void>;
  exportMetrics: (format: 'json' | 'csv') => void;
  /** The run's recipe, items and settings as a TRL GRPOTrainer project (zip). */
  exportTrl: () => Promise<void>;
};

/** A stored run's curves, ticked for the overlay. */
export type OverlayRun = { id: string; label: string; history: StepMetrics[] };

export type RunsState = {
  /** The stored runs, the most recently changed first. */
  list: RunRecord[];
  /**
   * The stored run that the run on screen (RunState id `runId`) is saved into: `record` as last
   * committed, and the reports of steps not yet written (a write failed), written with the next.
   */
  shown: { record: RunRecord; runId: number; pending: StepReport[]; imageUrl: string } | null;
  /** Why runs are not being stored now (quota, private mode, blocked storage), or null. */
  storage: string | null;
  overlay: OverlayRun[];
  /** Compare rewards on this image: the rewards still to run, or null when not comparing. */
  comparing: string[] | null;
};

export type RunsSlice = {
  runs: RunsState;
  /** Opens the storage and lists the stored runs. */
  loadRuns: () => Promise<void>;
  /** Saves the step just appended (single-image runs) with the worker's adapter, in one write. */
  saveStep: (report: StepReport) => Promise<void>;
  /** Saves the run on screen's status and comparison (its steps stay as committed). */
  saveRun: () => Promise<void>;
  /** Shows a stored run as it was and loads its adapter, ready to continue with Start. */
  reopenRun: (id: string) => Promise<void>;
  renameRun: (id: string, name: string) => Promise<void>;
  deleteRun: (id: string) => Promise<void>;
  exportRun: (id: string, what: 'json' | 'csv' | 'adapter') => Promise<void>;
  /** Ticks or unticks a stored run in the overlay. */
  toggleOverlay: (id: string) => Promise<void>;
  /** Loads the model the run on screen was made on, then reopens the run on it. */
  loadRunModel: () => Promise<void>;
  /** Runs each reward on the page's image from a fresh adapter, same seed and budget, overlaid. */
  compareRewards: (rewards: PlaygroundSettings['reward'][]) => Promise<void>;
};

export type DatasetSlice = {
  datasets: DatasetSplit[];
  datasetRun: DatasetRun;
  /** Checks a picked dataset folder and adds it to the splits; its name, or null if refused. */
  openDatasetFolder: (files: File[]) => Promise<string | null>;
  runDataset: (split: DatasetSplit, protocol: DatasetProtocol) => Promise<void>;
  cancelDataset: () => Promise<void>;
};

export type ErrorSlice = {
  error: string | null;
  /** Shows a failure in the banner (a stop on request is none); a lost GPU also marks the GPU. */
  fail: (error: unknown) => void;
  dismissError: () => void;
};

export type PlaygroundState = SessionSlice &
  SettingsSlice &
  RunSlice &
  RunsSlice &
  DatasetSlice &
  ErrorSlice;

/** The worker as the store sees it: comlink's remote of the API, or a fake in tests. */
export type WorkerApi = Remote<PlaygroundApi>;

export type Slice<T> = (...args: [...Parameters<StateCreator<PlaygroundState>>, WorkerApi]) => T;

/** Whether Start, Step and the GPU work behind them may run now. */
export function canCompute(s: PlaygroundState): boolean {
  return s.model.state === 'ready' && s.gpu.state !== 'lost';
}

/** What a step costs on the CPU at the loaded model's size, measured in this page (the status bar
 * says it where there is no WebGPU); null on a GPU, or with no model loaded. */
export function cpuStepCost(s: PlaygroundState): string | null {
  if (s.gpu.state !== 'unavailable' || s.model.state !== 'ready') return null;
  const ms = s.model.stepMs;
  if (ms === null) return null;
  const seconds = ms / 1000;
  const shown = seconds < 10 ? seconds.toFixed(1) : Math.round(seconds).toString();
  return `~${shown} s a step at this size on the CPU (the last step, measured here).`;
}

/** The model the run on screen was made on, when it is not the loaded one; else null. */
export function otherRunModel(s: PlaygroundState): StoredModel | null {
  const { shown } = s.runs;
  if (!shown || shown.runId !== s.run.id || s.model.state !== 'ready') return null;
  return shown.record.model.id === s.model.info?.id ? null : shown.record.model;
}

export function isRunning(s: PlaygroundState): boolean {
  return s.run.status === 'running' || s.run.status === 'pausing';
}
