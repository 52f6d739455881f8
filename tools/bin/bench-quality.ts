// Dataset mode (spec §3) on the demo model, for every shipped split, through the app's own run
// (src/dataset/run.ts, the code the playground's dataset panel calls): TTRV's protocol by default
// (20 unlabeled items of the split, 2 epochs, 32 votes / 16 trained, greedy accuracy over the whole
// split), reported as the spec asks: greedy accuracy before and after, avg@16, the base model's
// maj@32, format failures, flips, per question type; and the clean split's accuracy with each
// shifted split's adapter (forgetting). Labels only score, never reward. Every seed runs the
// whole protocol; `splits` is the first seed's, `seeds.mean` the mean over all of them.
//
// `npm run bench:quality -- [--json] [--backend wasm|webgpu] [--splits clean,sketch,…]
//   [--seeds 0,1,2] [--subset 20] [--epochs 2] [--prompts-per-step 8] [--votes 32]
//   [--trained 16] [--held-out] [--set <setting>=<value> …] [--root DIR]`
//   (--root serves DIR/public, e.g. a candidate model from build.py --out DIR)
// Progress goes to stderr; the last line on stdout is one JSON object.
import { parseArgs } from 'node:util';
import { labeledItems, scoreAnswers } from '../../src/dataset/items';
import type { DatasetRunResult, OpenedDataset } from '../../src/dataset/run';
import { greedyAnswers, openDataset, runDataset } from '../../src/dataset/run';
import { TTRV_PROTOCOL } from '../../src/dataset/schedule';
import type { IndexFile } from '../../src/dataset/splits';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import type { DatasetProtocol, DatasetReport } from '../../src/protocol';
import { mean } from '../../src/rl/stats';
import type { PlaygroundSettings } from '../../src/settings';
import { DEFAULT_SETTINGS, validateSettings } from '../../src/settings';
import { disposeTrainState } from '../../src/ttrv/step';
import type { PreparedPrompt } from '../../src/vlm/visionLanguageModel';
import { preparePrompt } from '../../src/vlm/visionLanguageModel';
import type { BenchBackend } from '../lib/node-app';
import { BENCH_OPTIONS, type NodeApp, openNodeApp, weightFormatArg } from '../lib/node-app';
import { settingOverrides } from '../lib/setting-overrides';

/** The issue's targets, checked without labels ever reaching the reward. */
const TARGETS = { bestGain: 0.1, meanGain: 0.05, cleanDrop: 0.02, typeDrop: 0.05 };

type Args = {
  json: boolean;
  backend: BenchBackend;
  root: string;
  weights: string;
  splits: string[] | null;
  seeds: number[];
  protocol: DatasetProtocol;
  overrides: Partial<PlaygroundSettings>;
};

function readArgs(argv: string[]): Args {
  const schedule = TTRV_PROTOCOL.schedule as {
    subset: number;
    epochs: number;
    promptsPerStep: number;
  };
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BENCH_OPTIONS,
      splits: { type: 'string' },
      seeds: { type: 'string', default: '0' },
      subset: { type: 'string', default: String(schedule.subset) },
      epochs: { type: 'string', default: String(schedule.epochs) },
      'prompts-per-step': { type: 'string', default: String(schedule.promptsPerStep) },
      votes: { type: 'string', default: String(TTRV_PROTOCOL.num_votes) },
      trained: { type: 'string', default: String(TTRV_PROTOCOL.num_generations) },
      'held-out': { type: 'boolean', default: false },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  return {
    json: values.json,
    backend: values.backend as BenchBackend,
    root: values.root,
    weights: values.weights,
    splits: values.splits?.split(',') ?? null,
    seeds: values.seeds.split(',').map(Number),
    protocol: {
      schedule: {
        subset: Number(values.subset),
        epochs: Number(values.epochs),
        promptsPerStep: Number(values['prompts-per-step']),
      },
      num_votes: Number(values.votes),
      num_generations: Number(values.trained),
      // `--set learning_rate=…` sets dataset mode's rate (the protocol's, not the settings').
      learning_rate: settingOverrides(values.set).learning_rate ?? TTRV_PROTOCOL.learning_rate,
      evaluate: values['held-out'] ? 'held out' : 'whole split',
      sampled: true,
    },
    overrides: settingOverrides(values.set),
  };
}

export const round = (x: number | null) => (x === null ? null : Number(x.toFixed(4)));

/** One split's line of the JSON contract, from the app's report. */
export function splitResult(report: DatasetReport, cleanAfter: number | null) {
  const scores = report.scores;
  if (!scores) throw new Error(`${report.split}: every item needs an answer to score the split`);
  return {
    items_adapted: report.itemsAdapted,
    items_evaluated: report.itemsEvaluated,
    base_accuracy: round(scores.base.accuracy) as number,
    adapted_accuracy: round(scores.adapted.accuracy) as number,
    clean_accuracy_after: round(cleanAfter),
    base_avg16: round(scores.base.avg16),
    adapted_avg16: round(scores.adapted.avg16),
    base_maj32: round(scores.base.maj32),
    base_view_vote: round(scores.base.view_vote),
    format_failures_base: round(scores.base.format_failures),
    format_failures_adapted: round(scores.adapted.format_failures),
    flips: scores.flips,
    agreement_first_step: round(report.agreement?.first ?? null),
    agreement_last_step: round(report.agreement?.last ?? null),
    per_type: Object.fromEntries(
      Object.entries(scores.per_type).map(([type, group]) => [
        type,
        { base: round(group.base.accuracy), adapted: round(group.adapted.accuracy) },
      ]),
    ),
  };
}

export type SplitResult = ReturnType<typeof splitResult>;

/** The issue's targets over the shifted splits (type drops over every split). */
function checkTargets(results: Record<string, SplitResult>, shifted: string[], clean: string) {
  const gains = shifted.map(
    (s) => (results[s]?.adapted_accuracy ?? 0) - (results[s]?.base_accuracy ?? 0),
  );
  const cleanBase = results[clean]?.base_accuracy ?? 0;
  const cleanDrops = shifted.map((s) => cleanBase - (results[s]?.clean_accuracy_after ?? 0));
  const typeDrops = Object.values(results).flatMap((r) =>
    Object.values(r.per_type).map((t) => (t.base ?? 0) - (t.adapted ?? 0)),
  );
  const summary = {
    best_shifted_gain: round(Math.max(...gains)) as number,
    mean_shifted_gain: round(mean(gains)) as number,
    max_clean_drop: round(Math.max(...cleanDrops)) as number,
    max_type_drop: round(Math.max(...typeDrops)) as number,
  };
  const met =
    summary.best_shifted_gain >= TARGETS.bestGain &&
    summary.mean_shifted_gain >= TARGETS.meanGain &&
    summary.max_clean_drop <= TARGETS.cleanDrop &&
    summary.max_type_drop <= TARGETS.typeDrop;
  return { ...summary, met };
}

/** The mean over seeds of every number of a split's result (flips too), same shape. */
export function meanResult(runs: SplitResult[]): SplitResult {
  const average = (values: unknown[]): unknown => {
    const first = values[0];
    if (typeof first === 'number') return round(mean(values as number[]));
    if (first && typeof first === 'object') {
      return Object.fromEntries(
        Object.keys(first).map((key) => [
          key,
          average(values.map((v) => (v as Record<string, unknown>)[key])),
        ]),
      );
    }
    return first;
  };
  return average(runs) as SplitResult;
}

/**
 * The served app's splits (only those named, if any), the clean one, and the clean split's
 * prompts, to score every shifted split's adapter on it (forgetting). `close` frees the prompts.
 */
export async function openBenchSplits(app: NodeApp, only: string[] | null) {
  const { vlm } = app;
  const response = await fetch(app.datasetUrl('index.json'));
  if (!response.ok) throw new Error(`index.json: HTTP ${response.status}`);
  const index = (await response.json()) as IndexFile;
  const names = Object.keys(index.splits).filter((s) => !only || only.includes(s));
  const cleanName = Object.keys(index.splits).find((s) => !index.splits[s]?.shifted);
  if (!cleanName) throw new Error('index.json names no clean (unshifted) split');
  const files = { read: () => Promise.reject(new Error('no picked files here')), url: () => '' };
  const open = (name: string): Promise<OpenedDataset> =>
    openDataset({ kind: 'url', itemsUrl: app.datasetUrl(index.splits[name]?.items ?? '') }, files);
  const clean = await open(cleanName);
  const cleanItems = labeledItems(clean.items);
  if (!cleanItems) throw new Error(`${cleanName}: every item needs an answer`);
  const cleanPrompts: PreparedPrompt[] = [];
  for (const [i, item] of clean.items.entries()) {
    cleanPrompts.push(await preparePrompt(vlm, await clean.image(i), item.question));
  }
  return {
    names,
    cleanName,
    shifted: names.filter((s) => index.splits[s]?.shifted),
    open,
    /** The clean split's greedy accuracy with the adapter a run on split `name` trained. */
    cleanAfter: async (name: string, run: DatasetRunResult, config: PlaygroundSettings) =>
      name === cleanName
        ? (run.report.scores?.adapted.accuracy ?? null)
        : scoreAnswers(
            cleanItems,
            await greedyAnswers(
              vlm,
              run.trained.adapter,
              cleanPrompts,
              config.max_completion_length,
            ),
          ).accuracy,
    close: () => {
      for (const prompt of cleanPrompts) prompt.embeds.dispose();
    },
  };
}

export async function main(argv: string[]): Promise<void> {
  const started = performance.now();
  const args = readArgs(argv);
  const progress = (message: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`);

  const app = await openNodeApp(args.backend, args.root, weightFormatArg(args.weights));
  const { vlm } = app;
  const { names, cleanName, shifted, open, cleanAfter, close } = await openBenchSplits(
    app,
    args.splits,
  );

  const perSeed: Record<string, SplitResult>[] = [];
  for (const seed of args.seeds) {
    const config: PlaygroundSettings = { ...DEFAULT_SETTINGS, ...args.overrides, seed };
    const issues = validateSettings(config);
    if (issues.length > 0) throw new Error(issues.map((i) => i.message).join('; '));
    const results: Record<string, SplitResult> = {};
    for (const name of names) {
      const dataset = await open(name);
      const run = await runDataset(
        vlm,
        dataset,
        config,
        loraSettingsOf(config),
        args.protocol,
        ({ phase, done, total, step }) => {
          if (step) {
            const m = step.metrics;
            progress(
              `seed ${seed} ${name} step ${done}/${total}: agreement ${m.agreement.toFixed(3)}, ` +
                `loss ${m.loss.toFixed(4)}${step.skipped ? ` (skipped: ${step.skipped})` : ''}`,
            );
          } else if (done === total) progress(`seed ${seed} ${name}: ${phase} done`);
        },
      );
      const after = await cleanAfter(name, run, config);
      disposeTrainState(run.trained);
      results[name] = splitResult(run.report, after);
      progress(
        `seed ${seed} ${name}: base ${results[name].base_accuracy}, adapted ${results[name].adapted_accuracy}, maj@32 ${results[name].base_maj32}`,
      );
    }
    perSeed.push(results);
  }
  close();
  await app.close();

  const first = perSeed[0] ?? {};
  const meanSplits = Object.fromEntries(
    names.map((name) => [name, meanResult(perSeed.map((r) => r[name] as SplitResult))]),
  );
  const targetsOf = (results: Record<string, SplitResult>) =>
    names.includes(cleanName) && shifted.length > 0
      ? checkTargets(results, shifted, cleanName)
      : null;
  const result = {
    model: vlm.id,
    weights: vlm.text.format,
    backend: args.backend,
    settings: {
      ...args.protocol.schedule,
      num_votes: args.protocol.num_votes,
      num_generations: args.protocol.num_generations,
      evaluate: args.protocol.evaluate,
      learning_rate: DEFAULT_SETTINGS.learning_rate,
      ...args.overrides,
    },
    splits: first,
    seeds: { seeds: args.seeds, mean: meanSplits },
    targets: { first_seed: targetsOf(first), mean: targetsOf(meanSplits) },
    seconds: Math.round((performance.now() - started) / 1000),
  };
  if (!args.json) printTable(first);
  console.log(JSON.stringify(result));
}

function printTable(splits: Record<string, SplitResult>): void {
  const percent = (x: number | null) =>
    x === null ? '     –' : `${(100 * x).toFixed(1)}`.padStart(6);
  console.log('split     base adapted  avg16→  avg16  maj32 clean-after  fmt→   fmt  flips');
  for (const [name, r] of Object.entries(splits)) {
    console.log(
      `${name.padEnd(8)}${percent(r.base_accuracy)}${percent(r.adapted_accuracy)}` +
        `${percent(r.base_avg16)}${percent(r.adapted_avg16)}${percent(r.base_maj32)}` +
        `${percent(r.clean_accuracy_after)}     ${percent(r.format_failures_base)}` +
        `${percent(r.format_failures_adapted)}  +${r.flips.to_correct}/-${r.flips.to_wrong}`,
    );
  }
}
