// bench:scale on the playground's own path, in a page opened by tools/lib/scale/app-path.ts: the
// worker the app starts (src/workerClient.ts → workers/playground.worker.ts → src/core), called
// as the store calls it: load a model (a picked folder, or files over HTTP at the URL the demo
// model is served from), an image, two steps, a comparison. The result is left in
// `window.benchApp` (a promise) for the launcher to await.
import type { Device } from '@jax-js/jax';
import * as Comlink from 'comlink';
import type { ModelChoice, WeightFormat } from '../../../src/models';
import type { LoadPhase, LoadProgress, ModelInfo, StepReport } from '../../../src/protocol';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../../src/settings';
import { startPlaygroundWorker } from '../../../src/workerClient';

/** Where the model's files come from: a picked folder, or HTTP (Range requests, as from the Hub). */
export type AppSource = 'folder' | 'http';

/** What the launcher passes in the page's query string (`?job=<JSON>`). */
export type AppJob = {
  source: AppSource;
  backend: Device;
  weights: WeightFormat;
  /** num_votes, max_completion_length and num_generations of the steps. */
  rows: number;
  newTokens: number;
  trainRows: number;
};

export type AppResult = {
  info: ModelInfo;
  /** loadModel's time as the page waits for it, and each phase's time as the worker reported it. */
  loadMs: number;
  /** From the same start until the vision encoder's session was reported created (after ready). */
  visionReadyMs: number;
  phases: Partial<Record<LoadPhase, number>>;
  /** Two steps as the page runs them: each call's time, and what the worker reported. */
  stepWallMs: number[];
  steps: StepReport[];
  /** compare() after the steps (greedy and sampled answers, adapter off and on). */
  compareMs: number;
  settings: Pick<
    PlaygroundSettings,
    'num_votes' | 'max_completion_length' | 'num_generations' | 'temperature' | 'seed'
  >;
};

/** The sample a person clicks first, and the question the issue asked. */
const IMAGE_URL = '/samples/clean-0000.png';
const QUESTION = 'How many shapes are there?';

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const out = await work();
  return [out, performance.now() - started];
}

/** The files the launcher picks in the page's folder input. */
function pickedFolder(): Promise<File[]> {
  const input = document.getElementById('folder') as HTMLInputElement;
  return new Promise((resolve) => {
    input.addEventListener('change', () => resolve(Array.from(input.files ?? [])), { once: true });
  });
}

async function run(job: AppJob, folder: Promise<File[]>): Promise<AppResult> {
  const worker = startPlaygroundWorker();
  if (job.backend === 'webgpu') {
    const report = await worker.probeGpu();
    if (!report.ok) throw new Error(`The worker has no WebGPU: ${report.reason}`);
  }
  const choice: ModelChoice =
    job.source === 'folder'
      ? { kind: 'folder', files: await folder, weights: job.weights }
      : { kind: 'demo', weights: job.weights };
  // The worker's modules loaded, as they are by the time a person picks a model: the clock then
  // times the load alone, from either source (a picked folder gave the worker that time anyway).
  await worker.cpuThreads();
  const phases: Partial<Record<LoadPhase, number>> = {};
  const started = performance.now();
  let visionReadyMs = Number.NaN;
  const onProgress = Comlink.proxy((p: LoadProgress) => {
    if (p.kind === 'phase' && p.ms !== null) {
      phases[p.phase] = p.ms;
      if (p.phase === 'vision-session') visionReadyMs = performance.now() - started;
      console.log(`  ${p.phase} ${Math.round(p.ms)} ms`);
    }
  });
  const info = await worker.loadModel(choice, onProgress);
  const loadMs = performance.now() - started;
  console.log(`  ready in ${Math.round(loadMs)} ms`);
  const image = await fetch(IMAGE_URL).then((r) => r.blob());
  await worker.setImage(image);
  const settings = {
    num_votes: job.rows,
    max_completion_length: job.newTokens,
    num_generations: job.trainRows,
    temperature: DEFAULT_SETTINGS.temperature,
    seed: DEFAULT_SETTINGS.seed,
  };
  const config: PlaygroundSettings = { ...DEFAULT_SETTINGS, ...settings };
  const steps: StepReport[] = [];
  const stepWallMs: number[] = [];
  for (let i = 0; i < 2; i++) {
    const [report, ms] = await timed(() => worker.step(QUESTION, config));
    steps.push(report);
    stepWallMs.push(ms);
    console.log(`  step ${i + 1}: ${Math.round(ms)} ms (prompt ${Math.round(report.promptMs)} ms)`);
  }
  const [, compareMs] = await timed(() => worker.compare(QUESTION, config));
  console.log(`  compare ${Math.round(compareMs)} ms`);
  return { info, loadMs, visionReadyMs, phases, stepWallMs, steps, compareMs, settings };
}

const job = JSON.parse(new URLSearchParams(location.search).get('job') ?? 'null') as AppJob;
(window as unknown as { benchApp: Promise<AppResult> }).benchApp = run(job, pickedFolder());
