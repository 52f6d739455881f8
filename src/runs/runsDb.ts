// Runs kept in the browser (IndexedDB, through `idb`): a run's settings, model, image, question,
// every committed step's report, the base-vs-adapted comparison, and the adapter of its last
// committed step. A step's records and its adapter are written in one transaction, so a tab killed
// mid-write leaves the run as it was after the step before, adapter included, byte for byte
// (docs/decisions/0040-runs-in-indexeddb.md). Page side only: the store uses it; every failure
// leaves as a PlaygroundError with code 'storage' and a sentence naming the fix.
import { type DBSchema, type IDBPDatabase, type IDBPTransaction, openDB } from 'idb';
import { messageOf, PlaygroundError } from '../errors';
import type { AnswerSummary, StepReport } from '../protocol';
import type { PlaygroundSettings } from '../settings';

export const RUNS_DB_NAME = 'ttrv-playground-runs';
const VERSION = 1;

/** Bytes of a picture and their MIME type (Blobs do not clone in every IndexedDB). */
export type StoredPicture = { bytes: Uint8Array; type: string };

/** The model a run was made on. */
export type StoredModel = { id: string; label: string; weights: string };

/** What the Runs list shows of a run, and what the run's other records hang from. */
export type RunRecord = {
  /** crypto.randomUUID() */
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  model: StoredModel;
  /** The settings of its latest step. */
  settings: PlaygroundSettings;
  question: string;
  thumbnail: StoredPicture | null;
  /** Committed steps: the steps store holds 1..steps, the adapter is step `steps`' one. */
  steps: number;
  status: 'paused' | 'finished' | 'converged';
  /** Agreement of its latest step. */
  agreement: number | null;
  comparison: { base: AnswerSummary | null; adapted: AnswerSummary | null };
};

export type StepRecord = { runId: string; step: number; report: StepReport };

/** The PEFT zip of the adapter after step `step` (the worker's exportAdapter). */
export type AdapterRecord = { runId: string; step: number; zip: Uint8Array };

/** A run as reopened: its record, its steps in order, its image and its last adapter. */
export type StoredRun = {
  run: RunRecord;
  steps: StepReport[];
  image: StoredPicture | null;
  adapter: AdapterRecord | null;
};

interface RunsSchema extends DBSchema {
  runs: { key: string; value: RunRecord };
  /** Keyed [runId, step]. */
  steps: { key: [string, number]; value: StepRecord };
  adapters: { key: string; value: AdapterRecord };
  images: { key: string; value: StoredPicture & { runId: string } };
}

/** Every step of run `id`, in step order. */
const stepsOf = (id: string) => IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);

/** A storage failure as the page says it: what happened and what to do. */
export function storageError(error: unknown, doing: string): PlaygroundError {
  if (error instanceof PlaygroundError) return error;
  const name = (error as { name?: string } | null)?.name;
  const why =
    name === 'QuotaExceededError'
      ? "the browser's storage for this site is full: delete old runs in the Runs list or free space in the site's settings"
      : name === 'InvalidStateError' || name === 'SecurityError' || name === 'UnknownError'
        ? `the browser refuses to store anything for this page (${messageOf(error)}); a private window or blocked site data does that: allow site data for this page`
        : messageOf(error);
  return new PlaygroundError(
    'storage',
    `Could not ${doing}: ${why}. The run goes on in memory and is lost on reload until storage works again.`,
  );
}

export type RunsDb = {
  /** Every run, the most recently changed first. */
  list(): Promise<RunRecord[]>;
  /**
   * One committed step of `run` (or several, when earlier writes failed): the run's record, the
   * steps and the adapter in one transaction, so either all of them land or none does. `image`
   * is written with it when given (the run's first write, or a new image).
   */
  commit(
    run: RunRecord,
    steps: StepRecord[],
    adapter: AdapterRecord | null,
    image?: StoredPicture,
  ): Promise<void>;
  /** The run's record alone (a new name, the comparison after a run ends). */
  update(run: RunRecord): Promise<void>;
  open(id: string): Promise<StoredRun | null>;
  /** The run's step reports, in order (for the overlay). */
  steps(id: string): Promise<StepReport[]>;
  remove(id: string): Promise<void>;
  close(): void;
};

const ALL: Stores = ['runs', 'steps', 'adapters', 'images'];
type Stores = ['runs', 'steps', 'adapters', 'images'];

/** Opens (or creates) the runs database; a private window or blocked storage fails here. */
export async function openRunsDb(name = RUNS_DB_NAME): Promise<RunsDb> {
  let db: IDBPDatabase<RunsSchema>;
  try {
    if (typeof indexedDB === 'undefined') throw new Error('this browser has no IndexedDB');
    db = await openDB<RunsSchema>(name, VERSION, {
      upgrade(created) {
        created.createObjectStore('runs', { keyPath: 'id' });
        created.createObjectStore('steps', { keyPath: ['runId', 'step'] });
        created.createObjectStore('adapters', { keyPath: 'runId' });
        created.createObjectStore('images', { keyPath: 'runId' });
      },
      blocked() {
        // Another tab holds an older version open: it closes when that tab reloads.
      },
    });
  } catch (error) {
    throw storageError(error, 'open the browser storage that keeps runs');
  }

  /**
   * Runs `write` in one read-write transaction over every store: all of it lands, or none. `write`
   * hands each request to `add` as it makes it.
   */
  const transaction = async (
    doing: string,
    write: (
      tx: IDBPTransaction<RunsSchema, Stores, 'readwrite'>,
      add: (request: Promise<unknown>) => void,
    ) => void,
  ) => {
    const tx = db.transaction(ALL, 'readwrite');
    const requests: Promise<unknown>[] = [];
    try {
      write(tx, (request) => requests.push(request));
      await Promise.all([...requests, tx.done]);
    } catch (error) {
      // A request that threw before reaching the database would not stop the others from
      // committing: abort, so nothing of this write lands.
      for (const request of [...requests, tx.done]) request.catch(() => {});
      try {
        tx.abort();
      } catch {
        // already finished or aborted
      }
      throw storageError(error, doing);
    }
  };

  return {
    async list() {
      try {
        const runs = await db.getAll('runs');
        return runs.sort((a, b) => b.updatedAt - a.updatedAt);
      } catch (error) {
        throw storageError(error, 'read the stored runs');
      }
    },

    commit(run, steps, adapter, image) {
      return transaction(`save step ${run.steps} of "${run.name}"`, (tx, add) => {
        for (const step of steps) add(tx.objectStore('steps').put(step));
        if (image) add(tx.objectStore('images').put({ ...image, runId: run.id }));
        if (adapter) add(tx.objectStore('adapters').put(adapter));
        add(tx.objectStore('runs').put(run));
      });
    },

    update(run) {
      return transaction(`save run "${run.name}"`, (tx, add) =>
        add(tx.objectStore('runs').put(run)),
      );
    },

    async open(id) {
      try {
        const tx = db.transaction(ALL, 'readonly');
        const [run, steps, image, adapter] = await Promise.all([
          tx.objectStore('runs').get(id),
          tx.objectStore('steps').getAll(stepsOf(id)),
          tx.objectStore('images').get(id),
          tx.objectStore('adapters').get(id),
          tx.done,
        ]);
        if (!run) return null;
        return {
          run,
          steps: steps.map((s) => s.report),
          image: image ? { bytes: image.bytes, type: image.type } : null,
          adapter: adapter ?? null,
        };
      } catch (error) {
        throw storageError(error, 'read the stored run');
      }
    },

    async steps(id) {
      try {
        return (await db.getAll('steps', stepsOf(id))).map((s) => s.report);
      } catch (error) {
        throw storageError(error, 'read the stored run');
      }
    },

    remove(id) {
      return transaction('delete the run', (tx, add) => {
        add(tx.objectStore('runs').delete(id));
        add(tx.objectStore('steps').delete(stepsOf(id)));
        add(tx.objectStore('adapters').delete(id));
        add(tx.objectStore('images').delete(id));
      });
    },

    close() {
      db.close();
    },
  };
}
