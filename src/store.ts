// All UI state lives here; components read it and call actions. Heavy work goes to the worker
// through comlink; what comes back is what the page shows.
import * as Comlink from 'comlink';
import { create } from 'zustand';
import type {
  DatasetProgress,
  DatasetReport,
  GpuReport,
  ImageInfo,
  LoraSettings,
  ModelInfo,
} from '../workers/playground.worker';
import type { DatasetSplit } from './datasets';
import { fetchDemoSplits, folderSplit } from './datasets';
import { downloadBlob } from './download';
import { WEBGPU_UNAVAILABLE_HELP } from './gpu/adapterInfo';
import type { ConfigIssue, TtrvConfig } from './rl/config';
import { DEFAULT_TTRV_CONFIG, validateTtrvConfig } from './rl/config';
import type { DatasetSchedule, SingleExampleSchedule } from './rl/datasetSchedule';
import type { StepMetrics } from './rl/metrics';
import { metricsToCsv, metricsToJson } from './rl/metrics';
import type { SampleImage } from './samples';
import { fetchSamples, sampleUrl } from './samples';
import type { ModelChoice } from './session/modelSource';
import type { AnswerShare, AnswerSummary } from './session/ttrvStep';
import type { LoadProgress } from './session/visionLanguageModel';
import { startPlaygroundWorker } from './workerClient';

export type GpuState =
  | { state: 'checking' }
  | { state: 'unavailable'; message: string }
  | { state: 'ready'; report: Extract<GpuReport, { ok: true }> };

export type ModelState = {
  state: 'idle' | 'loading' | 'ready' | 'error';
  label: string;
  info: ModelInfo | null;
  progress: Record<string, { loaded: number; total: number }>;
  message: string | null;
};

export type RunState = {
  status: 'idle' | 'running' | 'pausing' | 'paused' | 'finished';
  history: StepMetrics[];
  /** The votes' answer distribution at each step. */
  distributions: AnswerShare[][];
  note: string | null;
};

export type Comparison = {
  base: AnswerSummary | null;
  adapted: AnswerSummary | null;
  busy: boolean;
};

export type DatasetRun = {
  running: boolean;
  progress: DatasetProgress | null;
  report: DatasetReport | null;
};

type PlaygroundStore = {
  gpu: GpuState;
  model: ModelState;
  image: { url: string; caption: string } | null;
  samples: SampleImage[];
  question: string;
  config: TtrvConfig;
  configIssues: ConfigIssue[];
  run: RunState;
  comparison: Comparison;
  datasets: DatasetSplit[];
  datasetRun: DatasetRun;
  error: string | null;

  start: () => Promise<void>;
  loadModel: (choice: ModelChoice) => Promise<void>;
  setImageFile: (file: Blob) => Promise<void>;
  /** A demo sample: its image and its question. */
  pickSample: (sample: SampleImage) => Promise<void>;
  setQuestion: (question: string) => void;
  updateConfig: (patch: Partial<TtrvConfig>) => void;
  startRun: () => Promise<void>;
  pauseRun: () => void;
  stepOnce: () => Promise<void>;
  resetAdapter: () => Promise<void>;
  refreshComparison: () => Promise<void>;
  exportAdapter: () => Promise<void>;
  importAdapter: (file: File) => Promise<void>;
  exportMetrics: (format: 'json' | 'csv') => void;
  /** Checks a picked dataset folder and adds it to the splits; its name, or null if refused. */
  openDatasetFolder: (files: File[]) => Promise<string | null>;
  runDataset: (
    split: DatasetSplit,
    schedule: DatasetSchedule | SingleExampleSchedule,
  ) => Promise<void>;
  dismissError: () => void;
};

const worker = startPlaygroundWorker();

const IDLE_RUN: RunState = { status: 'idle', history: [], distributions: [], note: null };

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // comlink re-throws worker errors with their message; keep only the sentence for people.
  return text.replace(/^Error: /, '');
}

/** The run note for a step whose update was skipped (a non-finite loss or gradient). */
function skippedNote(metrics: StepMetrics, reason: string): string {
  return `Step ${metrics.step} skipped: ${reason}; the adapter was left as it was.`;
}

export const usePlayground = create<PlaygroundStore>((set, get) => {
  /** Runs an action; any failure becomes the banner's message and the app keeps going. */
  const attempt = async (action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      set({ error: messageOf(error) });
    }
  };

  const oneStep = async (): Promise<StepMetrics> => {
    const { question, config } = get();
    const report = await worker.step(question, config);
    set((s) => ({
      run: {
        ...s.run,
        history: [...s.run.history, report.metrics],
        distributions: [...s.run.distributions, report.distribution],
        note: report.skipped ? skippedNote(report.metrics, report.skipped) : s.run.note,
      },
    }));
    return report.metrics;
  };

  const canRun = (): boolean => {
    const { model, image, configIssues } = get();
    if (model.state !== 'ready') set({ error: 'Wait for the model to finish loading.' });
    else if (!image) set({ error: 'Choose, drop or paste an image first.' });
    else if (configIssues.length > 0)
      set({ error: `Fix the settings first: ${configIssues[0]?.message}` });
    else return true;
    return false;
  };

  return {
    gpu: { state: 'checking' },
    model: { state: 'idle', label: '', info: null, progress: {}, message: null },
    image: null,
    samples: [],
    question: 'How many shapes are there?',
    config: { ...DEFAULT_TTRV_CONFIG, target_modules: [...DEFAULT_TTRV_CONFIG.target_modules] },
    configIssues: [],
    run: IDLE_RUN,
    comparison: { base: null, adapted: null, busy: false },
    datasets: [],
    datasetRun: { running: false, progress: null, report: null },
    error: null,

    start: async () => {
      fetchSamples().then(
        (samples) => set({ samples }),
        () => {},
      );
      fetchDemoSplits().then(
        (demo) => set((s) => ({ datasets: [...demo, ...s.datasets] })),
        () => {},
      );
      if (!('gpu' in navigator) || !navigator.gpu) {
        set({ gpu: { state: 'unavailable', message: WEBGPU_UNAVAILABLE_HELP } });
      } else {
        const report = await worker.probeGpu();
        set({
          gpu: report.ok
            ? { state: 'ready', report }
            : { state: 'unavailable', message: `${WEBGPU_UNAVAILABLE_HELP} (${report.reason})` },
        });
      }
      await get().loadModel({ kind: 'demo' });
    },

    loadModel: async (choice) => {
      if (get().run.status === 'running') get().pauseRun();
      const label = choice.kind === 'hub' ? choice.id : choice.kind === 'demo' ? 'demo' : 'folder';
      set({ model: { state: 'loading', label, info: null, progress: {}, message: null } });
      const onProgress = Comlink.proxy((p: LoadProgress) => {
        set((s) => ({
          model: { ...s.model, progress: { ...s.model.progress, [p.file]: p } },
        }));
      });
      try {
        const info = await worker.loadModel(choice, onProgress);
        set((s) => ({
          model: { ...s.model, state: 'ready', label: info.label, info },
          run: IDLE_RUN,
          comparison: { base: null, adapted: null, busy: false },
        }));
      } catch (error) {
        console.error(error instanceof Error ? error.stack : error);
        const message = messageOf(error);
        set((s) => ({
          model: { ...s.model, state: 'error', message },
          error: `Loading the model failed: ${message}. Press Load to retry; finished downloads are kept.`,
        }));
      }
    },

    setImageFile: (file) =>
      attempt(async () => {
        const info: ImageInfo = await worker.setImage(file);
        const previous = get().image;
        if (previous) URL.revokeObjectURL(previous.url);
        const scaled =
          info.width !== info.originalWidth
            ? `, scaled down from ${info.originalWidth} × ${info.originalHeight}`
            : '';
        set({
          image: {
            url: URL.createObjectURL(info.preview),
            caption: `${info.width} × ${info.height}${scaled}`,
          },
          comparison: { base: null, adapted: null, busy: false },
        });
      }),

    pickSample: (sample) =>
      attempt(async () => {
        const response = await fetch(sampleUrl(sample));
        if (!response.ok) throw new Error(`Could not load the sample ${sample.image}.`);
        await get().setImageFile(await response.blob());
        set({ question: sample.question });
      }),

    setQuestion: (question) => set({ question }),

    updateConfig: (patch) => {
      const config = { ...get().config, ...patch };
      set({ config, configIssues: validateTtrvConfig(config) });
    },

    startRun: async () => {
      if (!canRun() || get().run.status === 'running') return;
      set((s) => ({ run: { ...s.run, status: 'running', note: null } }));
      await attempt(async () => {
        if (!get().comparison.base) await get().refreshComparison();
        while (get().run.status === 'running') {
          const { config, run } = get();
          if (run.history.length >= config.max_steps) {
            set((s) => ({
              run: {
                ...s.run,
                status: 'finished',
                note: `Reached max_steps (${config.max_steps}).`,
              },
            }));
            break;
          }
          const metrics = await oneStep();
          const threshold = config.early_stop_agreement;
          if (threshold !== null && metrics.agreement >= threshold) {
            set((s) => ({
              run: {
                ...s.run,
                status: 'finished',
                note: `Stopped early: agreement ${(metrics.agreement * 100).toFixed(0)} % reached early_stop_agreement.`,
              },
            }));
          }
        }
      });
      set((s) => ({
        run: { ...s.run, status: s.run.status === 'finished' ? 'finished' : 'paused' },
      }));
      await get().refreshComparison();
    },

    pauseRun: () => {
      if (get().run.status === 'running') set((s) => ({ run: { ...s.run, status: 'pausing' } }));
    },

    stepOnce: async () => {
      if (!canRun() || get().run.status === 'running') return;
      await attempt(async () => {
        if (!get().comparison.base) await get().refreshComparison();
        await oneStep();
        set((s) => ({ run: { ...s.run, status: 'paused' } }));
      });
      await get().refreshComparison();
    },

    resetAdapter: () =>
      attempt(async () => {
        get().pauseRun();
        await worker.resetAdapter();
        set((s) => ({ run: IDLE_RUN, comparison: { ...s.comparison, adapted: null } }));
      }),

    refreshComparison: () =>
      attempt(async () => {
        if (get().model.state !== 'ready' || !get().image) return;
        set((s) => ({ comparison: { ...s.comparison, busy: true } }));
        try {
          const { base, adapted } = await worker.compare(get().question, get().config);
          set({ comparison: { base, adapted, busy: false } });
        } finally {
          set((s) => ({ comparison: { ...s.comparison, busy: false } }));
        }
      }),

    exportAdapter: () =>
      attempt(async () => {
        const zip = await worker.exportAdapter();
        const name = (get().model.info?.id ?? 'model').replace(/[^\w.-]+/g, '_');
        downloadBlob(
          `ttrv-adapter-${name}.zip`,
          new Blob([zip as BlobPart], { type: 'application/zip' }),
        );
      }),

    importAdapter: (file) =>
      attempt(async () => {
        if (file.size === 0) throw new Error(`"${file.name}" is empty (0 bytes).`);
        const bytes = new Uint8Array(await file.arrayBuffer());
        const lora: LoraSettings = await worker.importAdapter(
          Comlink.transfer(bytes, [bytes.buffer]),
        );
        get().updateConfig(lora);
        set({ run: { ...IDLE_RUN, note: `Imported adapter "${file.name}" (r = ${lora.r}).` } });
        await get().refreshComparison();
      }),

    exportMetrics: (format) => {
      const { run, config } = get();
      const blob =
        format === 'json'
          ? new Blob([metricsToJson(run.history, config)], { type: 'application/json' })
          : new Blob([metricsToCsv(run.history)], { type: 'text/csv' });
      downloadBlob(`ttrv-metrics.${format}`, blob);
    },

    openDatasetFolder: async (files) => {
      let name: string | null = null;
      await attempt(async () => {
        const split = folderSplit(await worker.openDatasetFolder(files), files);
        set((s) => ({ datasets: [...s.datasets.filter((d) => d.name !== split.name), split] }));
        name = split.name;
      });
      return name;
    },

    runDataset: async (split, schedule) => {
      const { model, configIssues, run, datasetRun } = get();
      if (model.state !== 'ready' || run.status === 'running' || datasetRun.running) return;
      if (configIssues.length > 0) {
        set({ error: `Fix the settings first: ${configIssues[0]?.message}` });
        return;
      }
      set({ datasetRun: { running: true, progress: null, report: null }, run: IDLE_RUN });
      const onProgress = Comlink.proxy((progress: DatasetProgress) => {
        set((s) => ({
          datasetRun: { ...s.datasetRun, progress },
          run: progress.metrics
            ? {
                ...s.run,
                history: [...s.run.history, progress.metrics],
                note: progress.skipped
                  ? skippedNote(progress.metrics, progress.skipped)
                  : s.run.note,
              }
            : s.run,
        }));
      });
      await attempt(async () => {
        const report = await worker.runDataset(split.source, get().config, schedule, onProgress);
        set((s) => ({ datasetRun: { ...s.datasetRun, report } }));
      });
      set((s) => ({ datasetRun: { ...s.datasetRun, running: false } }));
    },

    dismissError: () => set({ error: null }),
  };
});
