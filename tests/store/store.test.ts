// The store against a fake worker: the run loop's identity, stops between tokens, one appendStep
// for single-image and dataset runs, and what a lost GPU leaves usable.
import { describe, expect, it, vi } from 'vitest';
import { PlaygroundError } from '../../src/errors';
import type {
  Comparison,
  DatasetProgress,
  DatasetReport,
  LoadProgress,
  ModelInfo,
  StepReport,
} from '../../src/protocol';
import type { StepMetrics } from '../../src/rl/metrics';
import { canCompute, cpuStepCost, createPlaygroundStore, type WorkerApi } from '../../src/store';
import { estimateKey } from '../../src/store/session';
import { stepReport } from './step-report';

function report(step: number, answers: string[] = ['a', 'a', 'b']): StepReport {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  return stepReport(
    step,
    0.5,
    [...counts].map(([answer, count]) => ({ answer, count })),
  );
}

/**
 * A worker whose steps finish only when the test says so, and fail with 'stopped' when stopped
 * before that (as the real one does between two decoded tokens).
 */
function fakeWorker() {
  const pending: { resolve: (r: StepReport) => void; reject: (e: unknown) => void }[] = [];
  let steps = 0;
  const stopAll = () => {
    for (const p of pending.splice(0)) p.reject(new PlaygroundError('stopped', 'Stopped.'));
  };
  const worker = {
    step: vi.fn(
      () =>
        new Promise<StepReport>((resolve, reject) => {
          pending.push({ resolve: (r) => resolve(r), reject });
        }),
    ),
    compare: vi.fn(
      async (): Promise<Comparison> => ({
        base: { greedy: 'a', greedyText: 'a', distribution: [], votes: 0 },
        adapted: null,
      }),
    ),
    stop: vi.fn(async () => stopAll()),
    resetAdapter: vi.fn(async () => {}),
    exportAdapter: vi.fn(async () => new Uint8Array([1, 2, 3])),
    runDataset: vi.fn(),
  };
  /** Finishes the oldest step in flight. */
  const finishStep = async () => {
    await vi.waitFor(() => expect(pending.length).toBeGreaterThan(0));
    steps += 1;
    pending.shift()?.resolve(report(steps));
  };
  return { worker, finishStep, inFlight: () => pending.length };
}

function readyStore(worker: unknown) {
  const store = createPlaygroundStore(worker as WorkerApi);
  store.setState({
    model: {
      state: 'ready',
      label: 'demo',
      info: null,
      progress: {},
      phases: {},
      message: null,
      stepMs: null,
    },
    image: { url: 'blob:image', caption: '64 × 64' },
  });
  return store;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('the run loop', () => {
  it('runs steps until max_steps, then finishes with the rule’s note', async () => {
    const fake = fakeWorker();
    const store = readyStore(fake.worker);
    store.getState().updateConfig({ max_steps: 2, early_stop_agreement: null });
    const run = store.getState().startRun();
    await fake.finishStep();
    await fake.finishStep();
    await run;
    const state = store.getState().run;
    expect(state.history.map((m) => m.step)).toEqual([1, 2]);
    expect(state.status).toBe('finished');
    expect(state.note).toBe('Reached max_steps (2).');
  });

  it("shows the latest step's guard note, and drops it when the next step skipped nothing", () => {
    const store = readyStore(fakeWorker().worker);
    const guard = 'skipped by the guard (majority 37.5 % < guard_threshold 50 %): no update';
    store.getState().appendStep({ ...report(1), guard });
    expect(store.getState().run.guard).toBe(`Step 1: ${guard}.`);
    store.getState().appendStep(report(2));
    expect(store.getState().run.guard).toBeNull();
  });

  it("shows the latest single-image step's votes per view, and none of a dataset run's steps", async () => {
    const fake = fakeWorker();
    const views = [
      { view: 'original', distribution: [{ answer: 'star', count: 3 }], votes: 3 },
      { view: 'crop, flip', distribution: [{ answer: 'circle', count: 3 }], votes: 3 },
    ];
    fake.worker.step.mockImplementation(async () => ({ ...report(1), views: [views] }));
    const store = readyStore(fake.worker);
    await store.getState().stepOnce();
    expect(store.getState().run.views).toEqual(views);
    store.getState().appendStep(report(2));
    expect(store.getState().run.views).toBeNull();
    // A dataset run's step is of one of its items, not of the page's image.
    store.setState((s) => ({ run: { ...s.run, dataset: {} as never } }));
    store.getState().appendStep({ ...report(3), views: [views] });
    expect(store.getState().run.views).toBeNull();
  });

  it('ends converged at early_stop_agreement, and warns when the run agreed on another answer than the base majority', async () => {
    const fake = fakeWorker();
    // The base model's most common sampled answer is 'a'; the run's votes all end on 'b'.
    fake.worker.compare.mockResolvedValue({
      base: { greedy: 'a', greedyText: 'a', distribution: [{ answer: 'a', count: 3 }], votes: 4 },
      adapted: null,
    });
    fake.worker.step.mockImplementation(async () => ({
      metrics: { step: 1, agreement: 1, kl: null } as StepMetrics,
      distribution: [{ answer: 'b', count: 4 }],
      views: null,
      skipped: null,
      guard: null,
      promptMs: 0,
      completions: null,
    }));
    const store = readyStore(fake.worker);
    store.getState().updateConfig({ max_steps: 5, early_stop_agreement: 0.9 });
    await store.getState().startRun();
    const { run } = store.getState();
    expect(run.history).toHaveLength(1);
    expect(run.status).toBe('converged');
    expect(run.note).toBe('Converged: agreement 100 % reached early_stop_agreement.');
    expect(run.warning).toMatch(/“b”.*“a”/);
  });

  it('Pause stops the step in flight: no step is added, no error is shown, the run is paused', async () => {
    const fake = fakeWorker();
    const store = readyStore(fake.worker);
    const run = store.getState().startRun();
    await fake.finishStep();
    await vi.waitFor(() => expect(fake.inFlight()).toBe(1));
    await store.getState().pauseRun();
    await run;
    expect(fake.worker.stop).toHaveBeenCalledTimes(1);
    expect(store.getState().run.history).toHaveLength(1);
    expect(store.getState().run.status).toBe('paused');
    expect(store.getState().error).toBeNull();
  });

  it('Start, Pause, Reset, Start: the first run’s loop changes nothing of the second', async () => {
    const fake = fakeWorker();
    // A step that finishes although it was asked to stop (its update had begun): the old loop
    // then returns with a report, after the new run has started.
    const store = readyStore(fake.worker);
    store.getState().updateConfig({ max_steps: 5, early_stop_agreement: null });
    const first = store.getState().startRun();
    await fake.finishStep();
    await vi.waitFor(() => expect(fake.inFlight()).toBe(1));
    // These stops come too late for the step in flight: its update runs to its end.
    fake.worker.stop.mockImplementation(async () => {});
    void store.getState().pauseRun();
    await store.getState().resetAdapter();
    expect(store.getState().run.history).toHaveLength(0);
    const second = store.getState().startRun();
    await tick();
    expect(store.getState().run.status).toBe('running');
    await fake.finishStep(); // the old run's step ends now
    await first;
    expect(store.getState().run.status).toBe('running');
    expect(store.getState().run.history).toHaveLength(0);
    await fake.finishStep();
    await vi.waitFor(() => expect(store.getState().run.history).toHaveLength(1));
    expect(store.getState().run.status).toBe('running');
    await store.getState().pauseRun();
    await fake.finishStep();
    await second;
    expect(store.getState().run.status).toBe('paused');
    expect(store.getState().run.history).toHaveLength(2);
  });
});

const SPLIT = {
  name: 's',
  source: { kind: 'url' as const, itemsUrl: '/x' },
  itemCount: 2,
  labeled: false,
  shifted: false,
  description: '',
};
const PROTOCOL = {
  schedule: { subset: 2, epochs: 1, promptsPerStep: 1 },
  num_votes: 4,
  num_generations: 2,
  learning_rate: 5e-3,
  evaluate: 'whole split' as const,
  sampled: false,
};

describe('one appendStep for every kind of run', () => {
  it('a dataset run’s steps fill the history and the answer distributions', async () => {
    const fake = fakeWorker();
    fake.worker.runDataset.mockImplementation(
      async (_source: unknown, _config: unknown, _schedule: unknown, onProgress: unknown) => {
        const progress = onProgress as (p: DatasetProgress) => void;
        progress({ phase: 'adapting', done: 1, total: 2, step: report(1, ['x', 'y']) });
        progress({ phase: 'adapting', done: 2, total: 2, step: report(2, ['x', 'x']) });
        const done: DatasetReport = {
          split: 's',
          protocol: {
            evaluate: 'whole split',
            num_votes: 4,
            num_generations: 2,
            learning_rate: 5e-3,
            sampled: false,
          },
          itemsAdapted: 2,
          itemsEvaluated: 2,
          scores: null,
          agreement: null,
          example: null,
        };
        return done;
      },
    );
    const store = readyStore(fake.worker);
    await store.getState().runDataset(SPLIT, PROTOCOL);
    const { run, datasetRun } = store.getState();
    expect(run.history.map((m) => m.step)).toEqual([1, 2]);
    expect(run.distributions).toEqual([
      [
        { answer: 'x', count: 1 },
        { answer: 'y', count: 1 },
      ],
      [{ answer: 'x', count: 2 }],
    ]);
    expect(datasetRun.running).toBe(false);
    expect(datasetRun.report?.itemsAdapted).toBe(2);
  });

  it('Cancel stops a dataset run: no error, the note says the adapter is the one from before', async () => {
    const fake = fakeWorker();
    fake.worker.runDataset.mockImplementation(
      () =>
        new Promise((_resolve, reject) => {
          fake.worker.stop.mockImplementationOnce(async () =>
            reject(new PlaygroundError('stopped', 'Stopped.')),
          );
        }),
    );
    const store = readyStore(fake.worker);
    const run = store.getState().runDataset(SPLIT, PROTOCOL);
    expect(store.getState().datasetRun.running).toBe(true);
    await store.getState().cancelDataset();
    await run;
    expect(store.getState().datasetRun.running).toBe(false);
    expect(store.getState().datasetRun.report).toBeNull();
    expect(store.getState().error).toBeNull();
    expect(store.getState().run.note).toMatch(/cancelled/);
  });
});

describe('a lost GPU', () => {
  it('is shown as lost, refuses Start and Step, and leaves Export working', async () => {
    const fake = fakeWorker();
    fake.worker.step.mockImplementationOnce(async () => {
      throw Object.assign(
        new Error(
          'The GPU was lost (destroyed). Your adapter is safe: export it, then reload the page.',
        ),
        {
          code: 'gpu-lost',
        },
      );
    });
    const store = readyStore(fake.worker);
    await store.getState().stepOnce();
    const state = store.getState();
    expect(state.gpu).toEqual({ state: 'lost', message: expect.stringMatching(/GPU was lost/) });
    expect(state.error).toMatch(/export it/);
    expect(canCompute(state)).toBe(false);
    await store.getState().startRun();
    expect(fake.worker.step).toHaveBeenCalledTimes(1);
    expect(store.getState().run.status).not.toBe('running');

    const click = vi.fn();
    vi.stubGlobal('document', { createElement: () => ({ click }) });
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:zip');
    await store.getState().exportAdapter();
    vi.unstubAllGlobals();
    expect(store.getState().error).toMatch(/export it/); // nothing new went wrong
    expect(fake.worker.exportAdapter).toHaveBeenCalledTimes(1);
    expect(click).toHaveBeenCalledTimes(1);
  });
});

describe('the model estimate', () => {
  const estimate = (label: string) => ({
    label,
    kind: 'hub',
    textFileBytes: 1,
    textDeviceBytes: { f32: 4, q8: 1, q4: 1 },
    largestTensorBytes: { f32: 4, q8: 1, q4: 1 },
    vision: null,
    notes: [],
  });

  it('keeps only the answer for the latest choice, and a failure as a message', async () => {
    const answers: Record<string, (value: unknown) => void> = {};
    const failures: Record<string, (error: unknown) => void> = {};
    const worker = {
      estimateModel: vi.fn(
        (choice: { kind: string; id?: string }) =>
          new Promise((resolve, reject) => {
            const key = choice.id ?? choice.kind;
            answers[key] = resolve;
            failures[key] = reject;
          }),
      ),
    };
    const store = createPlaygroundStore(worker as unknown as WorkerApi);
    const first = store.getState().estimateModel({ kind: 'demo' });
    const second = store.getState().estimateModel({ kind: 'hub', id: 'a/b' });
    expect(store.getState().estimate).toMatchObject({ key: 'hub:a/b|default', state: 'loading' });
    answers['a/b']?.(estimate('hub'));
    answers.demo?.(estimate('demo')); // late: for a choice no longer shown
    await Promise.all([first, second]);
    expect(store.getState().estimate).toMatchObject({ state: 'ready', estimate: { label: 'hub' } });
    // The same choice again is not asked twice.
    await store.getState().estimateModel({ kind: 'hub', id: 'a/b' });
    expect(worker.estimateModel).toHaveBeenCalledTimes(2);

    const third = store.getState().estimateModel({ kind: 'hub', id: 'c/d', vision: 'q4' });
    failures['c/d']?.(new PlaygroundError('load-failed', 'Failed to fetch'));
    await third;
    expect(store.getState().estimate).toEqual({
      key: 'hub:c/d|q4',
      state: 'failed',
      estimate: null,
      message: 'Failed to fetch',
    });
    expect(store.getState().error).toBeNull();
  });

  it('follows a picked folder: another folder is another estimate, not the last one kept', () => {
    const file = (path: string) =>
      Object.assign(new Blob([]), { webkitRelativePath: path }) as File;
    const a = [file('smolvlm-a/config.json'), file('smolvlm-a/model.safetensors')];
    const b = [file('smolvlm-b/config.json'), file('smolvlm-b/model.safetensors')];
    expect(estimateKey({ kind: 'folder', files: a })).toBe('folder:smolvlm-a:2|default');
    expect(estimateKey({ kind: 'folder', files: b })).not.toBe(
      estimateKey({ kind: 'folder', files: a }),
    );
    expect(estimateKey({ kind: 'demo' })).toBe('demo|default');
  });
});

describe('what a step costs on the CPU', () => {
  it('is the last step as the page timed it, said only without WebGPU and once a step ran', async () => {
    const fake = fakeWorker();
    const store = readyStore(fake.worker);
    store.setState({ gpu: { state: 'unavailable', message: 'no WebGPU' } });
    expect(cpuStepCost(store.getState())).toBeNull();
    const now = vi.spyOn(performance, 'now').mockReturnValue(1_000);
    const step = store.getState().stepOnce();
    await tick();
    now.mockReturnValue(26_400);
    await fake.finishStep();
    await step;
    now.mockRestore();
    expect(cpuStepCost(store.getState())).toBe(
      '~25 s a step at this size on the CPU (the last step, measured here).',
    );
    store.setState((s) => ({ model: { ...s.model, stepMs: 870 } }));
    expect(cpuStepCost(store.getState())).toMatch(/^~0\.9 s a step/);
    // On a GPU the status bar shows the adapter instead.
    store.setState({ gpu: { state: 'checking' } });
    expect(cpuStepCost(store.getState())).toBeNull();
  });
});

describe('loading a model', () => {
  /** A worker whose loads finish when the test says, keeping each load's progress callback. */
  function loadingWorker() {
    const loads: { onProgress: (p: LoadProgress) => void; resolve: (info: ModelInfo) => void }[] =
      [];
    const worker = {
      loadModel: vi.fn(
        (_choice: unknown, onProgress: (p: LoadProgress) => void) =>
          new Promise<ModelInfo>((resolve) => loads.push({ onProgress, resolve })),
      ),
    };
    return { worker, loads };
  }
  const info = (label: string) =>
    ({ label, visionDtype: 'fp32', notes: [] }) as unknown as ModelInfo;

  it("shows the vision encoder's phases after ready, turns a failure there into an error, and ignores a replaced load's reports", async () => {
    const { worker, loads } = loadingWorker();
    const store = createPlaygroundStore(worker as unknown as WorkerApi);
    const first = store.getState().loadModel({ kind: 'demo' });
    loads[0]?.onProgress({ kind: 'phase', phase: 'text-convert', ms: 12 });
    loads[0]?.resolve(info('demo'));
    await first;
    // Ready, and the vision encoder's session is still being created.
    loads[0]?.onProgress({ kind: 'phase', phase: 'vision-session', ms: null });
    expect(store.getState().model).toMatchObject({
      state: 'ready',
      phases: { 'text-convert': 12, 'vision-session': null },
    });
    loads[0]?.onProgress({ kind: 'phase', phase: 'vision-session', ms: 3400 });
    expect(store.getState().model.phases['vision-session']).toBe(3400);

    // Another model: the first load's late reports change nothing of it.
    const second = store.getState().loadModel({ kind: 'hub', id: 'a/b' });
    loads[1]?.resolve(info('a/b'));
    await second;
    loads[0]?.onProgress({ kind: 'failed', message: 'stale' });
    expect(store.getState().model).toMatchObject({ state: 'ready', label: 'a/b', phases: {} });
    // Its own vision encoder failing after ready makes the model unusable, and says so.
    loads[1]?.onProgress({ kind: 'failed', message: "a/b's vision encoder did not load" });
    expect(store.getState().model).toMatchObject({
      state: 'error',
      message: "a/b's vision encoder did not load",
    });
    expect(store.getState().error).toBe(
      "Loading the model failed: a/b's vision encoder did not load.",
    );
  });
});
