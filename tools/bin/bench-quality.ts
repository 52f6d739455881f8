// Dataset mode (docs/ttrv.md §3) on the demo model, for every shipped split, through the app's own run
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
// Progress goes to stderr; the last line on stdout is one JSON object (`settings`: the protocol's
// schedule and every setting the runs used but their seed, tools/lib/run-settings.ts).
import { parseArgs } from 'node:util';
import { TTRV_PROTOCOL } from '../../src/dataset/schedule';
import type { DatasetProtocol } from '../../src/protocol';
import { mean } from '../../src/rl/stats';
import type { PlaygroundSettings } from '../../src/settings';
import {
  benchSplit,
  meanResult,
  openBenchSplits,
  round,
  type SplitResult,
} from '../lib/dataset-bench';
import type { BenchBackend } from '../lib/node-app';
import { BENCH_OPTIONS, openNodeApp, weightFormatArg } from '../lib/node-app';
import { benchSettings, datasetRunEcho, protocolLearningRate } from '../lib/run-settings';
import { settingOverrides } from '../lib/setting-overrides';

/** Issue 24's targets (greedy accuracy, adapted − base), checked without labels ever reaching the
 * reward: every shifted split gains ≥ 0.08 and the best ≥ 0.10; the clean split with a shifted
 * split's adapter loses ≤ 0.02; no question type of any split loses > 0.05. */
const TARGETS = { bestGain: 0.1, worstGain: 0.08, cleanDrop: 0.02, typeDrop: 0.05 };

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
      learning_rate: protocolLearningRate(settingOverrides(values.set)),
      evaluate: values['held-out'] ? 'held out' : 'whole split',
      sampled: true,
    },
    overrides: settingOverrides(values.set),
  };
}

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
    worst_shifted_gain: round(Math.min(...gains)) as number,
    max_clean_drop: round(Math.max(...cleanDrops)) as number,
    max_type_drop: round(Math.max(...typeDrops)) as number,
  };
  const met =
    summary.best_shifted_gain >= TARGETS.bestGain &&
    summary.worst_shifted_gain >= TARGETS.worstGain &&
    summary.max_clean_drop <= TARGETS.cleanDrop &&
    summary.max_type_drop <= TARGETS.typeDrop;
  return { ...summary, met };
}

export async function main(argv: string[]): Promise<void> {
  const started = performance.now();
  const args = readArgs(argv);
  const progress = (message: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`);

  const app = await openNodeApp(args.backend, args.root, weightFormatArg(args.weights));
  const { vlm } = app;
  const splits = await openBenchSplits(app, args.splits);
  const { names, cleanName, shifted } = splits;

  const perSeed: Record<string, SplitResult>[] = [];
  for (const seed of args.seeds) {
    const config = benchSettings(args.overrides, { seed });
    const results: Record<string, SplitResult> = {};
    for (const name of names) {
      const { result } = await benchSplit(
        app,
        splits,
        name,
        config,
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
      results[name] = result;
      progress(
        `seed ${seed} ${name}: base ${result.base_accuracy}, adapted ${result.adapted_accuracy}, maj@32 ${result.base_maj32}`,
      );
    }
    perSeed.push(results);
  }
  splits.close();
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
    // What every run used but its seed (seeds.seeds).
    settings: datasetRunEcho(benchSettings(args.overrides), args.protocol, ['seed']),
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
