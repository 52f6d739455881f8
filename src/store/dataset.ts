import * as Comlink from 'comlink';
import { folderSplit } from '../dataset/splits';
import type { DatasetProgress } from '../protocol';
import { idleRun } from './run';
import type { DatasetSlice, Slice } from './state';
import { canCompute, isRunning } from './state';

const NOT_RUNNING = { running: false, cancelling: false, progress: null, report: null };

export const createDatasetSlice: Slice<DatasetSlice> = (set, get, _store, worker) => ({
  datasets: [],
  datasetRun: NOT_RUNNING,

  openDatasetFolder: async (files) => {
    try {
      const split = folderSplit(await worker.openDatasetFolder(files), files);
      set((s) => ({ datasets: [...s.datasets.filter((d) => d.name !== split.name), split] }));
      return split.name;
    } catch (error) {
      get().fail(error);
      return null;
    }
  },

  runDataset: async (split, protocol) => {
    const s = get();
    if (!canCompute(s) || isRunning(s) || s.datasetRun.running) return;
    if (s.configIssues.length > 0) {
      set({ error: `Fix the settings first: ${s.configIssues[0]?.message}` });
      return;
    }
    // The run's adaptation steps are charted as a run of their own.
    const id = s.run.id + 1;
    set({ datasetRun: { ...NOT_RUNNING, running: true }, run: idleRun(id, { split, protocol }) });
    const onProgress = Comlink.proxy((progress: DatasetProgress) => {
      set((now) => ({ datasetRun: { ...now.datasetRun, progress } }));
      if (progress.step && get().run.id === id) get().appendStep(progress.step);
    });
    try {
      const report = await worker.runDataset(split.source, get().config, protocol, onProgress);
      set((now) => ({ datasetRun: { ...now.datasetRun, report } }));
    } catch (error) {
      if (get().datasetRun.cancelling && get().run.id === id) {
        set((now) => ({
          run: {
            ...now.run,
            note: 'Dataset run cancelled: the adapter is the one from before it.',
          },
        }));
      }
      get().fail(error);
    }
    set((now) => ({
      datasetRun: { ...now.datasetRun, running: false, cancelling: false, progress: null },
    }));
  },

  cancelDataset: async () => {
    if (!get().datasetRun.running) return;
    set((s) => ({ datasetRun: { ...s.datasetRun, cancelling: true } }));
    await worker.stop();
  },
});
