// bench:scale --browser on the playground's own path: the page tools/lib/scale/app-page.ts drives
// the app's worker and core (not the engine directly, as page.ts does), so what a person meets in
// the app — transformers.js' processor and vision encoder session, the folder reader or the
// HTTP reads, the weights' conversion, the steps and comparison as the store runs them — is
// measured with the same checkpoint, beside the engine's rows. One entry per shape, backend and
// source, each in a fresh browser context.
import { loadavg } from 'node:os';
import type { Device } from '@jax-js/jax';
import type { Browser } from '@playwright/test';
import { DEMO_MODEL_ID } from '../../../src/models';
import type { AppJob, AppResult, AppSource } from './app-page';
import type { ScaleOptions } from './measure';

export const APP_SOURCES: readonly AppSource[] = ['folder', 'http'];

export type AppPathRun = {
  browser: Browser;
  /** The Vite dev server's origin, ending in '/'. */
  origin: string;
  /** The dev server's folder mounts (URL prefix → folder), read on every request: the HTTP
   * source mounts the checkpoint where the app reads the demo model from. */
  mounts: Record<string, string>;
  shape: string;
  dir: string;
  build: { repo: string; params_text: number };
  backend: Device;
  source: AppSource;
  options: ScaleOptions;
};

const ms = (x: number) => Math.round(x);
const loadAverage = () => Number((loadavg()[0] as number).toFixed(2));

/** One app-path entry of bench:scale's JSON (names in tools/bin/bench-scale.ts). */
export function appEntry(run: AppPathRun, r: AppResult, load: [number, number]) {
  const p = r.phases;
  const steady = r.steps[1] as AppResult['steps'][number];
  return {
    name: `smolvlm-${run.shape}`,
    repo_shape: run.build.repo,
    path: 'app',
    source: run.source,
    backend: r.info.device,
    weights: r.info.weights,
    vision_dtype: r.info.visionDtype,
    params_text: run.build.params_text,
    load_ms: ms(r.loadMs),
    vision_ready_ms: ms(r.visionReadyMs),
    load_phases: {
      read_files_ms: ms((p['vision-file'] ?? 0) + (p['text-file'] ?? 0)),
      convert_weights_ms: ms(p['text-convert'] ?? 0),
      vision_session_ms: ms(p['vision-session'] ?? 0),
      processor_ms: ms(p.processor ?? 0),
      first_prompt_ms: ms(r.steps[0]?.promptMs ?? 0),
    },
    step_first_ms: ms(r.stepWallMs[0] as number),
    step_ms: ms(r.stepWallMs[1] as number),
    vote_ms: ms(steady.metrics.vote_ms),
    grpo_step_ms: ms(steady.metrics.train_ms),
    compare_ms: ms(r.compareMs),
    num_votes: r.settings.num_votes,
    max_completion_length: r.settings.max_completion_length,
    num_generations: r.settings.num_generations,
    completions_mean_length: steady.metrics['completions/mean_length'],
    load_average: load,
  };
}

export async function measureAppPath(run: AppPathRun, log: (s: string) => void) {
  const job: AppJob = {
    source: run.source,
    backend: run.backend,
    weights: run.options.weights,
    rows: run.options.rows,
    newTokens: run.options.newTokens,
    trainRows: run.options.trainRows,
  };
  const demoMount = `/models/${DEMO_MODEL_ID}`;
  if (run.source === 'http') run.mounts[demoMount] = run.dir;
  log(`${run.shape} through the app (${run.source}) on ${run.backend}`);
  const before = loadAverage();
  const context = await run.browser.newContext();
  try {
    const page = await context.newPage();
    page.on('console', (message) => log(`  ${message.text()}`));
    page.on('pageerror', (error) => log(`  page error: ${error.message}`));
    await page.goto(
      `${run.origin}tools/lib/scale/app-page.html?job=${encodeURIComponent(JSON.stringify(job))}`,
    );
    await page.waitForFunction(() => 'benchApp' in window, null, { timeout: 300_000 });
    // As a person picks "Local folder…": the browser gets the folder's files, not their bytes.
    if (run.source === 'folder') await page.setInputFiles('#folder', run.dir);
    const r = (await page.evaluate(
      () => (window as unknown as { benchApp: Promise<AppResult> }).benchApp,
    )) as AppResult;
    return appEntry(run, r, [before, loadAverage()]);
  } finally {
    await context.close();
    delete run.mounts[demoMount];
  }
}
