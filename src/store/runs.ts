// Runs that are never lost (src/runs/runsDb.ts): after each committed single-image step the step,
// the run's record and the worker's adapter are written together; a reload reopens the latest run
// as it was, and the Runs list reopens, renames, deletes, exports and overlays any of them.
// Storage failures are shown (runs.storage) and the run goes on in memory.
import * as Comlink from 'comlink';
import { errorCodeOf, messageOf } from '../errors';
import { downloadBlob } from '../files/download';
import { DEMO_MODEL_ID, type ModelChoice, type WeightFormat } from '../models';
import type { StepReport } from '../protocol';
import type { RunRecord, RunsDb, StoredPicture } from '../runs/runsDb';
import { thumbnailOf } from '../runs/thumbnail';
import { downloadMetrics, idleRun } from './run';
import type { PlaygroundState, RunsSlice, Slice } from './state';
import { isRunning } from './state';

/** How a run is named until it is renamed: its question and reward. */
function defaultName(question: string, reward: string): string {
  const q = question.trim();
  return `${q.length > 40 ? `${q.slice(0, 39)}…` : q} (${reward})`;
}

/** The legend's words for a run: first what a comparison varies (reward, learning rate), then its
 * name without the "(reward)" a default name ends with, so the legend does not say the reward twice. */
export function overlayLabel(name: string, settings: RunRecord['settings']): string {
  const rewardSuffix = ` (${settings.reward})`;
  const shortName = name.endsWith(rewardSuffix) ? name.slice(0, -rewardSuffix.length) : name;
  return `${settings.reward}, lr ${settings.learning_rate} · ${shortName}`;
}

/** How to load the model a run was made on again: the demo model or a Hub repo; a picked folder
 * cannot be opened without the user. */
function choiceOf(model: RunRecord['model']): ModelChoice | null {
  const weights = model.weights as WeightFormat;
  if (model.id === DEMO_MODEL_ID) return { kind: 'demo', weights };
  return model.id.includes('/') ? { kind: 'hub', id: model.id, weights } : null;
}

const fileName = (record: RunRecord) => record.name.replace(/[^\w.-]+/g, '_').slice(0, 60);

export const createRunsSlice =
  (openDb: () => Promise<RunsDb>): Slice<RunsSlice> =>
  (set, get, _store, worker) => {
    /** The database, opened once; null (and the reason shown) when the browser refuses it. */
    let opened: Promise<RunsDb | null> | null = null;
    const database = () => {
      opened ??= openDb().then(
        (db) => {
          // Asks the browser not to evict the runs under storage pressure; a refusal changes
          // nothing else.
          globalThis.navigator?.storage?.persist?.().catch(() => {});
          return db;
        },
        (error: unknown) => {
          storageFailed(error);
          return null;
        },
      );
      return opened;
    };
    const storageFailed = (error: unknown) =>
      set((s) => ({ runs: { ...s.runs, storage: messageOf(error) } }));

    /** Replaces `record` in the list (or adds it first). */
    const listed = (s: PlaygroundState, record: RunRecord) => [
      record,
      ...s.runs.list.filter((r) => r.id !== record.id),
    ];

    /** The run on screen's record, as it stands now (its committed steps aside). */
    const currentRecord = (record: RunRecord): RunRecord => {
      const { run, comparison } = get();
      const status =
        run.status === 'finished' || run.status === 'converged' ? run.status : 'paused';
      return {
        ...record,
        updatedAt: Date.now(),
        status,
        comparison: { base: comparison.base, adapted: comparison.adapted },
      };
    };

    /** A new stored run for the run on screen: its image, thumbnail and first settings. */
    const newShown = async (imageUrl: string, runId: number) => {
      const s = get();
      const { info } = s.model;
      const blob = await (await fetch(imageUrl)).blob();
      const record: RunRecord = {
        id: crypto.randomUUID(),
        name: defaultName(s.question, s.config.reward),
        createdAt: Date.now(),
        updatedAt: Date.now(),
        model: { id: info?.id ?? '', label: info?.label ?? '', weights: info?.weights ?? 'f32' },
        settings: s.config,
        question: s.question,
        thumbnail: await thumbnailOf(blob).catch(() => null),
        steps: 0,
        status: 'paused',
        agreement: null,
        comparison: { base: null, adapted: null },
      };
      return { record, runId, pending: [] as StepReport[], imageUrl: '' };
    };

    /** The last good adapter's PEFT zip; null before any step changed it (skipped steps). */
    const adapterZip = async () =>
      worker.exportAdapter().catch((error: unknown) => {
        if (errorCodeOf(error) === 'no-adapter') return null;
        throw error;
      });

    const refreshOverlay = (record: RunRecord) =>
      set((s) => ({
        runs: {
          ...s.runs,
          overlay: s.runs.overlay.map((o) =>
            o.id === record.id
              ? {
                  id: o.id,
                  label: overlayLabel(record.name, record.settings),
                  history: s.run.history,
                }
              : o,
          ),
        },
      }));

    /** Commits one step (and any a failed write left pending) of the run `at.runId`. */
    const writeStep = async (
      report: StepReport,
      zipped: Promise<Uint8Array | null>,
      at: {
        runId: number;
        steps: number;
        settings: PlaygroundState['config'];
        question: string;
        imageUrl: string | null;
      },
    ) => {
      const db = await database();
      if (!db || !at.imageUrl) return;
      const current = get().runs.shown;
      const shown =
        current?.runId === at.runId
          ? current
          : await newShown(at.imageUrl, at.runId).catch(() => null);
      if (!shown) return;
      const pending = [...shown.pending, report];
      const record: RunRecord = {
        ...currentRecord(shown.record),
        settings: at.settings,
        question: at.question,
        steps: at.steps,
        agreement: report.metrics.agreement,
      };
      try {
        let image: StoredPicture | undefined;
        if (shown.imageUrl !== at.imageUrl) {
          const blob = await (await fetch(at.imageUrl)).blob();
          image = { bytes: new Uint8Array(await blob.arrayBuffer()), type: blob.type };
        }
        const zip = await zipped;
        await db.commit(
          record,
          pending.map((r) => ({ runId: record.id, step: r.metrics.step, report: r })),
          zip && { runId: record.id, step: at.steps, zip },
          image,
        );
      } catch (error) {
        // Kept for the next write, which catches up on them.
        set((now) => ({
          runs: { ...now.runs, shown: { ...shown, pending }, storage: messageOf(error) },
        }));
        return;
      }
      const committed = { record, runId: at.runId, pending: [], imageUrl: at.imageUrl };
      set((now) => ({
        runs: { ...now.runs, list: listed(now, record), shown: committed, storage: null },
      }));
      refreshOverlay(record);
    };
    let saving: Promise<void> = Promise.resolve();

    return {
      runs: { list: [], shown: null, storage: null, overlay: [], comparing: null },

      loadRuns: async () => {
        const db = await database();
        if (!db) return;
        try {
          const list = await db.list();
          set((s) => ({ runs: { ...s.runs, list } }));
        } catch (error) {
          storageFailed(error);
        }
      },

      saveStep: (report) => {
        // Asked before anything else is awaited: the worker answers calls in order, and
        // exportAdapter is answered at once from the adapter of the step just taken, even when
        // the next step is already queued behind it.
        const zip = adapterZip();
        zip.catch(() => {});
        const s = get();
        const snapshot = {
          runId: s.run.id,
          steps: s.run.history.length,
          settings: s.config,
          question: s.question,
          imageUrl: s.image?.url ?? null,
        };
        // One write at a time, in step order.
        saving = saving.then(() => writeStep(report, zip, snapshot));
        return saving;
      },

      saveRun: () => {
        // After the step writes before it, from the record they committed: a record written
        // beside a step's write could count other steps than the adapter stored with them.
        saving = saving.then(async () => {
          const db = await database();
          const { shown } = get().runs;
          // A run none of whose steps is stored yet (its writes failed) has no record to update.
          if (!db || !shown || shown.runId !== get().run.id || shown.record.steps === 0) return;
          const record = currentRecord(shown.record);
          try {
            await db.update(record);
            set((s) => ({
              runs: { ...s.runs, list: listed(s, record), shown: { ...shown, record } },
            }));
          } catch (error) {
            storageFailed(error);
          }
        });
        return saving;
      },

      reopenRun: async (id) => {
        const db = await database();
        if (!db || isRunning(get()) || get().datasetRun.running) return;
        let stored: Awaited<ReturnType<RunsDb['open']>>;
        try {
          stored = await db.open(id);
        } catch (error) {
          return storageFailed(error);
        }
        if (!stored) return set({ error: 'That run is no longer stored: it was deleted.' });
        const { run: record, steps, image, adapter } = stored;
        if (image)
          await get().setImageFile(new Blob([image.bytes as BlobPart], { type: image.type }));
        get().setQuestion(record.question);
        get().updateConfig(record.settings);
        const runId = get().run.id + 1;
        const last = steps.at(-1);
        set((s) => ({
          run: {
            ...idleRun(runId),
            status: record.status,
            history: steps.map((r) => r.metrics),
            distributions: steps.map((r) => r.distribution),
            completions: steps.map((r) => r.completions ?? null),
            views: last?.views?.[0] ?? null,
            note: `Reopened "${record.name}" at step ${record.steps}: Start continues it.`,
          },
          comparison: { ...record.comparison, busy: false },
          runs: {
            ...s.runs,
            shown: { record, runId, pending: [], imageUrl: s.image?.url ?? '' },
          },
        }));
        if (get().model.info?.id !== record.model.id) return; // the Runs panel offers its model
        try {
          if (adapter) {
            const zip = adapter.zip;
            await worker.importAdapter(Comlink.transfer(zip, [zip.buffer]), record.steps);
          } else {
            await worker.resetAdapter();
          }
        } catch (error) {
          get().fail(error);
        }
      },

      renameRun: async (id, name) => {
        const db = await database();
        const record = get().runs.list.find((r) => r.id === id);
        if (!db || !record || !name.trim()) return;
        const renamed = { ...record, name: name.trim() };
        try {
          await db.update(renamed);
        } catch (error) {
          return storageFailed(error);
        }
        set((s) => ({
          runs: {
            ...s.runs,
            list: s.runs.list.map((r) => (r.id === id ? renamed : r)),
            shown:
              s.runs.shown?.record.id === id
                ? { ...s.runs.shown, record: { ...s.runs.shown.record, name: renamed.name } }
                : s.runs.shown,
            overlay: s.runs.overlay.map((o) =>
              o.id === id ? { ...o, label: overlayLabel(renamed.name, renamed.settings) } : o,
            ),
          },
        }));
      },

      deleteRun: async (id) => {
        const db = await database();
        if (!db) return;
        try {
          await db.remove(id);
        } catch (error) {
          return storageFailed(error);
        }
        set((s) => ({
          runs: {
            ...s.runs,
            list: s.runs.list.filter((r) => r.id !== id),
            // The run on screen stays; its next step starts a new stored run.
            shown: s.runs.shown?.record.id === id ? null : s.runs.shown,
            overlay: s.runs.overlay.filter((o) => o.id !== id),
          },
        }));
      },

      exportRun: async (id, what) => {
        const db = await database();
        if (!db) return;
        try {
          const stored = await db.open(id);
          if (!stored) return;
          const { run: record, steps, adapter } = stored;
          const name = fileName(record);
          if (what === 'adapter') {
            if (!adapter)
              throw new Error('This run has no adapter yet: no step of it changed one.');
            downloadBlob(
              `ttrv-adapter-${name}.zip`,
              new Blob([adapter.zip as BlobPart], { type: 'application/zip' }),
            );
            return;
          }
          const history = steps.map((r) => r.metrics);
          downloadMetrics(`ttrv-metrics-${name}`, history, record.settings, what);
        } catch (error) {
          get().fail(error);
        }
      },

      toggleOverlay: async (id) => {
        if (get().runs.overlay.some((o) => o.id === id)) {
          set((s) => ({ runs: { ...s.runs, overlay: s.runs.overlay.filter((o) => o.id !== id) } }));
          return;
        }
        const db = await database();
        const record = get().runs.list.find((r) => r.id === id);
        if (!db || !record) return;
        try {
          const history = (await db.steps(id)).map((r) => r.metrics);
          const entry = { id, label: overlayLabel(record.name, record.settings), history };
          set((s) => ({ runs: { ...s.runs, overlay: [...s.runs.overlay, entry] } }));
        } catch (error) {
          storageFailed(error);
        }
      },

      loadRunModel: async () => {
        const { shown } = get().runs;
        if (!shown) return;
        const choice = choiceOf(shown.record.model);
        if (!choice) {
          set({
            error: `This run was made on the folder model "${shown.record.model.label}": pick that folder in the model picker, then reopen the run.`,
          });
          return;
        }
        await get().loadModel(choice);
        if (get().model.info?.id === shown.record.model.id) await get().reopenRun(shown.record.id);
      },

      compareRewards: async (rewards) => {
        if (isRunning(get()) || get().runs.comparing) return;
        set((s) => ({ runs: { ...s.runs, comparing: [...rewards], overlay: [] } }));
        for (const reward of rewards) {
          set((s) => ({
            runs: { ...s.runs, comparing: s.runs.comparing?.filter((r) => r !== reward) ?? null },
          }));
          // A fresh adapter each; the seed and the budget are the settings', the same for all.
          await get().resetAdapter();
          get().updateConfig({ reward });
          await get().startRun();
          const s = get();
          // Paused, or failed (the banner says why): the comparison stops there.
          if (s.run.status !== 'finished' && s.run.status !== 'converged') break;
          const shown = s.runs.shown?.runId === s.run.id ? s.runs.shown : null;
          const entry = {
            // Not stored (storage failed): overlaid from memory all the same.
            id: shown?.record.id ?? `unstored-${s.run.id}`,
            label: overlayLabel(shown?.record.name ?? defaultName(s.question, reward), s.config),
            history: s.run.history,
          };
          set((now) => ({ runs: { ...now.runs, overlay: [...now.runs.overlay, entry] } }));
        }
        set((s) => ({ runs: { ...s.runs, comparing: null } }));
      },
    };
  };
