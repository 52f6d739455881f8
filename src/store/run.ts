import * as Comlink from 'comlink';
import { downloadBlob } from '../files/download';
import { DEMO_MODEL_ID } from '../models';
import { metricsToCsv, metricsToJson, type StepMetrics } from '../rl/metrics';
import { collapseWarning, stopReason } from '../rl/stopRule';
import type { PlaygroundSettings } from '../settings';
import type { BundleFiles } from '../trl/bundle';
import { datasetTrlBundle, imageTrlBundle, zipBundle } from '../trl/fromRun';
import type { PlaygroundState, RunSlice, RunState, Slice } from './state';
import { canCompute, isRunning, otherRunModel } from './state';

export function idleRun(id: number, dataset: RunState['dataset'] = null): RunState {
  return {
    id,
    status: 'idle',
    history: [],
    distributions: [],
    completions: [],
    note: null,
    warning: null,
    guard: null,
    views: null,
    dataset,
  };
}

/** Downloads a run's metrics as `name`.json (with its settings) or `name`.csv. */
export function downloadMetrics(
  name: string,
  history: StepMetrics[],
  settings: PlaygroundSettings,
  format: 'json' | 'csv',
): void {
  downloadBlob(
    `${name}.${format}`,
    format === 'json'
      ? new Blob([metricsToJson(history, settings)], { type: 'application/json' })
      : new Blob([metricsToCsv(history)], { type: 'text/csv' }),
  );
}

/** What "TRL project" exports now, in words; null when there is nothing to export yet. */
export function trlExportSource(s: PlaygroundState): string | null {
  if (s.run.dataset) return `the dataset run on ${s.run.dataset.split.name}`;
  return s.image && s.question.trim() ? 'the image and question' : null;
}

/** Why Start or Step cannot run now, as the banner says it; null: they can. */
function blocker(s: PlaygroundState): string | null {
  if (s.gpu.state === 'lost') return s.gpu.message;
  if (!canCompute(s)) return 'Wait for the model to finish loading.';
  if (!s.image) return 'Choose, drop or paste an image first.';
  if (s.configIssues.length > 0) return `Fix the settings first: ${s.configIssues[0]?.message}`;
  const other = otherRunModel(s);
  if (other) {
    return `This run was made on ${other.label}: load that model (Runs panel) to continue it, or press Reset to start a new run on ${s.model.label}.`;
  }
  return null;
}

export const createRunSlice: Slice<RunSlice> = (set, get, _store, worker) => {
  /** Whether run `id` is still the one shown: a Reset or a new model starts another. */
  const isCurrent = (id: number) => get().run.id === id;

  /** Ends run `id`'s activity: paused, unless it stopped by itself or is no longer shown. */
  const settle = (id: number) => {
    if (!isCurrent(id)) return;
    set((s) => ({
      run: {
        ...s.run,
        status:
          s.run.status === 'finished' || s.run.status === 'converged' ? s.run.status : 'paused',
      },
    }));
  };

  /** One step of run `id`; false when it did not happen or the run is no longer shown. */
  const stepOf = async (id: number): Promise<boolean> => {
    const { question, config } = get();
    const started = performance.now();
    const report = await worker.step(question, config);
    const stepMs = performance.now() - started;
    set((s) => ({ model: { ...s.model, stepMs } }));
    if (!isCurrent(id)) return false;
    // Single-image steps after a dataset run: the run is now the page's image (for the export,
    // and for the views appendStep keeps).
    if (get().run.dataset) set((s) => ({ run: { ...s.run, dataset: null } }));
    get().appendStep(report);
    // Written beside the next step; saveStep asks the worker for this step's adapter at once.
    void get().saveStep(report);
    return true;
  };

  return {
    run: idleRun(0),
    comparison: { base: null, adapted: null, busy: false },

    appendStep: (report) =>
      set((s) => {
        const history = [...s.run.history, report.metrics];
        const baseMajority = s.comparison.base?.distribution[0]?.answer ?? null;
        const lastAnswer = report.distribution[0]?.answer ?? null;
        return {
          run: {
            ...s.run,
            history,
            distributions: [...s.run.distributions, report.distribution],
            completions: [...s.run.completions, report.completions],
            note: report.skipped
              ? `Step ${report.metrics.step} skipped: ${report.skipped}; the adapter was left as it was.`
              : s.run.note,
            warning: collapseWarning(history, lastAnswer, baseMajority),
            guard: report.guard && `Step ${report.metrics.step}: ${report.guard}.`,
            views: s.run.dataset ? null : (report.views?.[0] ?? null),
          },
        };
      }),

    startRun: async () => {
      const reason = blocker(get());
      if (reason) return set({ error: reason });
      if (isRunning(get())) return;
      const { id } = get().run;
      set((s) => ({ run: { ...s.run, status: 'running', note: null } }));
      let lastStep = null;
      try {
        if (!get().comparison.base) await get().refreshComparison();
        while (isCurrent(id) && get().run.status === 'running') {
          const stop = stopReason(get().run.history.length, lastStep, get().config);
          if (stop) {
            const status = stop.kind === 'converged' ? 'converged' : 'finished';
            set((s) => ({ run: { ...s.run, status, note: stop.note } }));
            break;
          }
          if (!(await stepOf(id))) break;
          lastStep = get().run.history.at(-1) ?? null;
        }
      } catch (error) {
        get().fail(error);
      }
      settle(id);
      // The adapted answers change only when a step did.
      if (lastStep && isCurrent(id)) await get().refreshComparison();
      await get().saveRun();
    },

    pauseRun: async () => {
      if (get().run.status !== 'running') return;
      set((s) => ({ run: { ...s.run, status: 'pausing' } }));
      await worker.stop();
    },

    stepOnce: async () => {
      const reason = blocker(get());
      if (reason) return set({ error: reason });
      if (isRunning(get())) return;
      const { id } = get().run;
      let stepped = false;
      try {
        if (!get().comparison.base) await get().refreshComparison();
        stepped = await stepOf(id);
      } catch (error) {
        get().fail(error);
      }
      settle(id);
      if (stepped && isCurrent(id)) await get().refreshComparison();
      await get().saveRun();
    },

    resetAdapter: async () => {
      // A new run at once: whatever the old one still receives is dropped (isCurrent).
      set((s) => ({ run: idleRun(s.run.id + 1), comparison: { ...s.comparison, adapted: null } }));
      try {
        await worker.stop();
        await worker.resetAdapter();
      } catch (error) {
        get().fail(error);
      }
    },

    refreshComparison: async () => {
      if (!canCompute(get()) || !get().image) return;
      set((s) => ({ comparison: { ...s.comparison, busy: true } }));
      try {
        const { base, adapted } = await worker.compare(get().question, get().config);
        set({ comparison: { base, adapted, busy: false } });
      } catch (error) {
        get().fail(error);
      } finally {
        set((s) => ({ comparison: { ...s.comparison, busy: false } }));
      }
    },

    exportAdapter: async () => {
      try {
        const zip = await worker.exportAdapter();
        const name = (get().model.info?.id ?? 'model').replace(/[^\w.-]+/g, '_');
        downloadBlob(
          `ttrv-adapter-${name}.zip`,
          new Blob([zip as BlobPart], { type: 'application/zip' }),
        );
      } catch (error) {
        get().fail(error);
      }
    },

    importAdapter: async (file) => {
      try {
        if (file.size === 0) throw new Error(`"${file.name}" is empty (0 bytes).`);
        const bytes = new Uint8Array(await file.arrayBuffer());
        const lora = await worker.importAdapter(Comlink.transfer(bytes, [bytes.buffer]));
        get().updateConfig(lora);
        set((s) => ({
          run: {
            ...idleRun(s.run.id + 1),
            note: `Imported adapter "${file.name}" (r = ${lora.r}).`,
          },
        }));
      } catch (error) {
        get().fail(error);
        return;
      }
      await get().refreshComparison();
    },

    exportTrl: async () => {
      const s = get();
      try {
        const baseModel = s.model.info?.id ?? DEMO_MODEL_ID;
        const { dataset } = s.run;
        let files: BundleFiles;
        if (dataset) {
          files = await datasetTrlBundle({
            baseModel,
            settings: s.config,
            source: dataset.split.source,
            sourceName: dataset.split.name,
            protocol: dataset.protocol,
          });
        } else {
          if (!s.image || !s.question.trim()) {
            throw new Error(
              'Choose an image and ask a question first: they are what the project trains on.',
            );
          }
          const response = await fetch(s.image.url);
          files = await imageTrlBundle({
            baseModel,
            settings: s.config,
            question: s.question,
            image: await response.blob(),
          });
        }
        downloadBlob(
          'ttrv-trl-project.zip',
          new Blob([zipBundle(files, 'ttrv-trl-project') as BlobPart], { type: 'application/zip' }),
        );
      } catch (error) {
        get().fail(error);
      }
    },

    exportMetrics: (format) => {
      const { run, config } = get();
      downloadMetrics('ttrv-metrics', run.history, config, format);
    },
  };
};
