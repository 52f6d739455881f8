// The store's runs against a fake worker and fake-indexeddb: steps are saved with the adapter the
// worker had after each, a new store (a reload) reopens the run as it was and hands its adapter
// back to the worker, a full disk leaves the run going in memory with a message, and a run made
// on another model says so and blocks Start.
import 'fake-indexeddb/auto';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Comparison, ImageInfo, ModelInfo } from '../../src/protocol';
import { createPlaygroundStore, otherRunModel, type WorkerApi } from '../../src/store';
import { stepReport } from './step-report';

// A 1×1 PNG: the page's image, fetchable in Node.
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

const report = (step: number) => stepReport(step, step / 4, [{ answer: 'star', count: step }]);

/** A worker whose adapter after step k is the bytes [k, k, k]. */
function fakeWorker() {
  let steps = 0;
  return {
    step: vi.fn(async () => report(++steps)),
    compare: vi.fn(
      async (): Promise<Comparison> => ({
        base: { greedy: 'circle', greedyText: 'circle', distribution: [], votes: 4 },
        adapted: null,
      }),
    ),
    stop: vi.fn(async () => {}),
    resetAdapter: vi.fn(async () => {}),
    exportAdapter: vi.fn(async () => new Uint8Array([steps, steps, steps])),
    importAdapter: vi.fn(async (_bytes: Uint8Array, _steps?: number) => ({})),
    setImage: vi.fn(
      async (file: Blob): Promise<ImageInfo> => ({
        preview: file,
        width: 1,
        height: 1,
        originalWidth: 1,
        originalHeight: 1,
      }),
    ),
  };
}

const MODEL = { id: 'ttrv-demo-shapes', label: 'demo', weights: 'f32' } as ModelInfo;

function readyStore(worker: unknown, model: ModelInfo = MODEL) {
  const store = createPlaygroundStore(worker as WorkerApi);
  store.setState({
    model: {
      state: 'ready',
      label: model.label,
      info: model,
      progress: {},
      phases: {},
      stepMs: null,
      message: null,
    },
    image: { url: PNG, caption: '1 × 1' },
    question: 'What shape is blue?',
  });
  store.getState().updateConfig({ max_steps: 3, early_stop_agreement: null, learning_rate: 0.02 });
  return store;
}

/** Waits for the writes the run loop left running. */
const saved = (store: ReturnType<typeof readyStore>, steps: number) =>
  vi.waitFor(() => expect(store.getState().runs.list[0]?.steps).toBe(steps));

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
});

afterEach(() => vi.restoreAllMocks());

describe('runs in the store', () => {
  it('a reload reopens the last run as it was, and its adapter of the last step goes back to the worker', async () => {
    const first = readyStore(fakeWorker());
    await first.getState().startRun();
    await saved(first, 3);
    expect(first.getState().runs.list[0]).toMatchObject({
      name: 'What shape is blue? (ttrv)',
      status: 'finished',
      agreement: 0.75,
      model: { id: 'ttrv-demo-shapes' },
    });

    const worker = fakeWorker();
    const reloaded = readyStore(worker);
    reloaded.setState({ image: null, question: '' });
    await reloaded.getState().loadRuns();
    await reloaded.getState().reopenRun(reloaded.getState().runs.list[0]?.id ?? '');
    const s = reloaded.getState();
    expect(s.run.history.map((m) => m.step)).toEqual([1, 2, 3]);
    expect(s.run.distributions[2]).toEqual([{ answer: 'star', count: 3 }]);
    expect(s.run.status).toBe('finished');
    expect(s.question).toBe('What shape is blue?');
    expect(s.config.learning_rate).toBe(0.02);
    expect(s.comparison.base?.greedy).toBe('circle');
    expect(s.image).not.toBeNull();
    expect(worker.setImage).toHaveBeenCalledTimes(1);
    expect(worker.importAdapter).toHaveBeenCalledTimes(1);
    const [bytes, steps] = worker.importAdapter.mock.calls[0] ?? [];
    expect([...(bytes ?? [])]).toEqual([3, 3, 3]);
    expect(steps).toBe(3);
  });

  it('a continued run goes on in the same stored run', async () => {
    const first = readyStore(fakeWorker());
    await first.getState().stepOnce();
    await saved(first, 1);
    const reloaded = readyStore(fakeWorker());
    await reloaded.getState().loadRuns();
    const id = reloaded.getState().runs.list[0]?.id ?? '';
    await reloaded.getState().reopenRun(id);
    await reloaded.getState().stepOnce();
    await saved(reloaded, 2);
    expect(reloaded.getState().runs.list.map((r) => r.id)).toEqual([id]);
  });

  it('a full disk: a message, the run goes on in memory, and the next write catches up', async () => {
    const store = readyStore(fakeWorker());
    const put = IDBObjectStore.prototype.put;
    const full = vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args
    ) {
      if (this.name === 'adapters') throw new DOMException('full', 'QuotaExceededError');
      return put.apply(this, args);
    });
    await store.getState().stepOnce();
    await store.getState().stepOnce();
    await vi.waitFor(() => expect(store.getState().runs.storage).toMatch(/storage .* is full/));
    expect(store.getState().run.history).toHaveLength(2);
    expect(store.getState().error).toBeNull();
    expect(store.getState().runs.list).toEqual([]);

    full.mockRestore();
    await store.getState().stepOnce();
    await saved(store, 3);
    expect(store.getState().runs.storage).toBeNull();
    const reloaded = readyStore(fakeWorker());
    await reloaded.getState().loadRuns();
    await reloaded.getState().reopenRun(reloaded.getState().runs.list[0]?.id ?? '');
    expect(reloaded.getState().run.history.map((m) => m.step)).toEqual([1, 2, 3]);
  });

  it('a run made on another model says so, blocks Start, and leaves the worker’s adapter alone', async () => {
    const first = readyStore(fakeWorker(), {
      ...MODEL,
      id: 'HuggingFaceTB/SmolVLM-256M-Instruct',
      label: 'SmolVLM-256M-Instruct',
      weights: 'q8',
    });
    await first.getState().stepOnce();
    await saved(first, 1);

    const worker = fakeWorker();
    const demo = readyStore(worker);
    await demo.getState().loadRuns();
    await demo.getState().reopenRun(demo.getState().runs.list[0]?.id ?? '');
    expect(otherRunModel(demo.getState())).toMatchObject({ label: 'SmolVLM-256M-Instruct' });
    expect(worker.importAdapter).not.toHaveBeenCalled();
    await demo.getState().startRun();
    expect(worker.step).not.toHaveBeenCalled();
    expect(demo.getState().error).toMatch(/made on SmolVLM-256M-Instruct: load that model/);
    await demo.getState().resetAdapter();
    expect(otherRunModel(demo.getState())).toBeNull();
  });

  it('overlays ticked runs, renames and deletes them', async () => {
    const store = readyStore(fakeWorker());
    await store.getState().stepOnce();
    await saved(store, 1);
    const id = store.getState().runs.list[0]?.id ?? '';
    await store.getState().toggleOverlay(id);
    expect(store.getState().runs.overlay).toEqual([
      { id, label: 'ttrv, lr 0.02 · What shape is blue?', history: [report(1).metrics] },
    ]);
    await store.getState().renameRun(id, 'blue');
    expect(store.getState().runs.overlay[0]?.label).toBe('ttrv, lr 0.02 · blue');
    await store.getState().deleteRun(id);
    expect(store.getState().runs.list).toEqual([]);
    expect(store.getState().runs.overlay).toEqual([]);
  });
});
