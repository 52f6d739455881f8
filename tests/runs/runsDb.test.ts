// The runs database on fake-indexeddb: a step's records and adapter land together or not at all
// (a write cut half way leaves the run of the step before, adapter byte for byte), quota and
// blocked storage become 'storage' errors that say what to do.
import 'fake-indexeddb/auto';
import { IDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { errorCodeOf } from '../../src/errors';
import { openRunsDb, type RunRecord, type RunsDb } from '../../src/runs/runsDb';
import { DEFAULT_SETTINGS } from '../../src/settings';
import { stepReport } from '../store/step-report';

const report = (step: number) => stepReport(step, step / 10, [{ answer: 'star', count: step }]);

function record(steps: number): RunRecord {
  return {
    id: 'run-1',
    name: 'blue shape',
    createdAt: 1,
    updatedAt: 1 + steps,
    model: { id: 'ttrv-demo-shapes', label: 'demo', weights: 'f32' },
    settings: DEFAULT_SETTINGS,
    question: 'What shape is blue?',
    thumbnail: null,
    steps,
    status: 'paused',
    agreement: steps / 10,
    comparison: { base: null, adapted: null },
  };
}

const adapterOf = (step: number) => new Uint8Array([80, 75, step, 255 - step]);

/** Commits step `step` of run-1 with its adapter. */
const commitStep = (db: RunsDb, step: number) =>
  db.commit(
    record(step),
    [{ runId: 'run-1', step, report: report(step) }],
    { runId: 'run-1', step, zip: adapterOf(step) },
    step === 1 ? { bytes: new Uint8Array([137, 80, 78, 71]), type: 'image/png' } : undefined,
  );

let db: RunsDb;

beforeEach(async () => {
  // A fresh, empty IndexedDB for every test.
  globalThis.indexedDB = new IDBFactory();
  db = await openRunsDb();
});

afterEach(() => {
  db.close();
  vi.restoreAllMocks();
});

describe('the runs database', () => {
  it('reopens a run with its steps in order, its image and its last adapter', async () => {
    for (const step of [1, 2, 3]) await commitStep(db, step);
    const stored = await db.open('run-1');
    expect(stored?.run.steps).toBe(3);
    expect(stored?.steps.map((s) => s.metrics.step)).toEqual([1, 2, 3]);
    expect(stored?.steps[2]?.distribution).toEqual([{ answer: 'star', count: 3 }]);
    expect(stored?.image?.type).toBe('image/png');
    expect(stored?.adapter?.step).toBe(3);
    expect([...(stored?.adapter?.zip ?? [])]).toEqual([...adapterOf(3)]);
    expect((await db.list()).map((r) => r.name)).toEqual(['blue shape']);
  });

  it('a write cut half way (the adapter refused) leaves the step before, adapter byte for byte', async () => {
    await commitStep(db, 1);
    await commitStep(db, 2);
    // The step's record goes in first; the adapter's put then fails as a full disk fails.
    const put = IDBObjectStore.prototype.put;
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['put']>
    ) {
      if (this.name === 'adapters') throw new DOMException('disk full', 'QuotaExceededError');
      return put.apply(this, args);
    });
    const failed = await commitStep(db, 3).catch((error: unknown) => error);
    expect(errorCodeOf(failed)).toBe('storage');
    expect(String(failed)).toMatch(/storage for this site is full: delete old runs/);
    expect(String(failed)).toMatch(/goes on in memory/);
    vi.restoreAllMocks();

    const stored = await db.open('run-1');
    expect(stored?.run.steps).toBe(2);
    expect(stored?.steps.map((s) => s.metrics.step)).toEqual([1, 2]);
    expect(stored?.adapter?.step).toBe(2);
    expect([...(stored?.adapter?.zip ?? [])]).toEqual([...adapterOf(2)]);
  });

  it('catches up on steps a failed write missed, in one commit', async () => {
    await commitStep(db, 1);
    await db.commit(
      record(3),
      [2, 3].map((step) => ({ runId: 'run-1', step, report: report(step) })),
      { runId: 'run-1', step: 3, zip: adapterOf(3) },
    );
    const stored = await db.open('run-1');
    expect(stored?.steps.map((s) => s.metrics.step)).toEqual([1, 2, 3]);
    expect(stored?.image).not.toBeNull();
  });

  it('renames, and deletes every record of a run', async () => {
    await commitStep(db, 1);
    await db.update({ ...record(1), name: 'renamed' });
    expect((await db.list())[0]?.name).toBe('renamed');
    await db.remove('run-1');
    expect(await db.open('run-1')).toBeNull();
    expect(await db.steps('run-1')).toEqual([]);
    expect(await db.list()).toEqual([]);
  });

  it('blocked storage (no IndexedDB, as a locked-down browser) is a storage error naming the fix', async () => {
    vi.spyOn(globalThis.indexedDB, 'open').mockImplementation(() => {
      throw new DOMException('The user denied permission to access the database.', 'SecurityError');
    });
    const failed = await openRunsDb('other').catch((error: unknown) => error);
    expect(errorCodeOf(failed)).toBe('storage');
    expect(String(failed)).toMatch(/allow site data for this page/);
  });
});
