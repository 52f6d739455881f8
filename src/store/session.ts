import * as Comlink from 'comlink';
import { fetchDemoSplits } from '../dataset/splits';
import { demoSampleUrl, fetchDemoSamples } from '../demoSamples';
import { messageOf } from '../errors';
import { pickedFolderName } from '../files/pickedFolder';
import { WEBGPU_UNAVAILABLE_HELP } from '../gpu/gpuAdapter';
import type { ModelChoice } from '../models';
import type { LoadProgress } from '../protocol';
import { idleRun } from './run';
import type { SessionSlice, Slice } from './state';
import { isRunning } from './state';

/** Which model and vision file an estimate is for (the text format does not change what is read);
 * a picked folder by its name and files, so another folder is another estimate. */
export function estimateKey(choice: ModelChoice): string {
  const model =
    choice.kind === 'hub'
      ? `hub:${choice.id}`
      : choice.kind === 'folder'
        ? `folder:${pickedFolderName(choice.files, '')}:${choice.files.length}`
        : choice.kind;
  return `${model}|${choice.vision ?? 'default'}`;
}

export const createSessionSlice: Slice<SessionSlice> = (set, get, _store, worker) => {
  /** Which load is current: the vision encoder's phases go on reporting after "ready", and a
   * report of a model since replaced must not show on the one now loading. */
  let loads = 0;
  return {
    gpu: { state: 'checking' },
    threads: null,
    model: {
      state: 'idle',
      label: '',
      info: null,
      progress: {},
      phases: {},
      message: null,
      stepMs: null,
    },
    estimate: null,
    image: null,
    samples: [],
    question: 'How many shapes are there?',

    start: async () => {
      fetchDemoSamples().then(
        (samples) => set({ samples }),
        () => {},
      );
      fetchDemoSplits().then(
        (demo) => set((s) => ({ datasets: [...demo, ...s.datasets] })),
        () => {},
      );
      worker.cpuThreads().then(
        (threads) => set({ threads }),
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
      // The latest stored run comes back as it was (on another model, it says so).
      await get().loadRuns();
      const latest = get().runs.list[0];
      if (latest && get().run.history.length === 0) await get().reopenRun(latest.id);
    },

    loadModel: async (choice) => {
      if (isRunning(get())) await get().pauseRun();
      const label = choice.kind === 'hub' ? choice.id : choice.kind === 'demo' ? 'demo' : 'folder';
      set({
        model: {
          state: 'loading',
          label,
          info: null,
          progress: {},
          phases: {},
          message: null,
          stepMs: null,
        },
      });
      const load = ++loads;
      const onProgress = Comlink.proxy((p: LoadProgress) => {
        if (load !== loads) return;
        if (p.kind === 'failed') {
          set(({ model }) => ({
            model: { ...model, state: 'error', message: p.message },
            error: `Loading the model failed: ${p.message}.`,
          }));
          return;
        }
        set(({ model }) => ({
          model:
            p.kind === 'bytes'
              ? { ...model, progress: { ...model.progress, [p.file]: p } }
              : { ...model, phases: { ...model.phases, [p.phase]: p.ms } },
        }));
      });
      try {
        const info = await worker.loadModel(choice, onProgress);
        set((s) => ({
          model: { ...s.model, state: 'ready', label: info.label, info },
          run: idleRun(s.run.id + 1),
          comparison: { base: null, adapted: null, busy: false },
        }));
      } catch (error) {
        console.error(error instanceof Error ? error.stack : error);
        const message = messageOf(error);
        set((s) => ({ model: { ...s.model, state: 'error', message } }));
        get().fail(error);
        set({
          error: `Loading the model failed: ${message}. Press Load to retry; finished downloads are kept.`,
        });
      }
    },

    estimateModel: async (choice) => {
      const key = estimateKey(choice);
      if (get().estimate?.key === key) return;
      set({ estimate: { key, state: 'loading', estimate: null, message: null } });
      const answer = await worker.estimateModel(choice).then(
        (estimate) => ({ state: 'ready' as const, estimate, message: null }),
        (error: unknown) => ({
          state: 'failed' as const,
          estimate: null,
          message: messageOf(error),
        }),
      );
      if (get().estimate?.key === key) set({ estimate: { key, ...answer } });
    },

    setImageFile: async (file) => {
      try {
        const info = await worker.setImage(file);
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
      } catch (error) {
        get().fail(error);
      }
    },

    pickSample: async (sample) => {
      const response = await fetch(demoSampleUrl(sample)).catch(() => null);
      if (!response?.ok) {
        set({ error: `Could not load the sample ${sample.image}.` });
        return;
      }
      await get().setImageFile(await response.blob());
      set({ question: sample.question });
    },

    setQuestion: (question) => set({ question }),
  };
};
