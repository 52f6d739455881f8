// Every label-free reward (src/rl/rewards.ts REWARDS) under TTRV's protocol on every split of the
// demo dataset, in one run, through the app's own dataset mode (src/dataset/run.ts), as
// bench:quality runs one: greedy accuracy before and after, avg@16, flips, the clean split's
// accuracy with each shifted split's adapter (forgetting), and the time per step. Beside them the
// dataset report's baselines that train nothing: self-consistency (the base model's maj@32) and a
// Zero-style vote over num_views views (src/dataset/run.ts viewVoteAnswers). Labels only score.
//
// `npm run bench:zoo -- [--json] [--rewards ttrv,frequency,…] [--seeds 0,1,2] [--splits …]
//   [--set <setting>=<value> …] [--root DIR]`
// Progress goes to stderr; the last line on stdout is one JSON object (`settings`: every setting
// the runs used but their reward and seed, tools/lib/run-settings.ts):
// {"rewards": {"<name>": {"mean_greedy_gain", "best_greedy_gain", "per_split": {…}, "clean_drop",
//  "step_ms"}}, "baselines": {"greedy", "self_consistency", "zero_views"}, …}
// Numbers are means over the seeds; the base model's answers are computed once per split and
// seed and shared by every reward (they depend on neither).
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { SideAnswers } from '../../src/dataset/report';
import { datasetRunSettings, TTRV_PROTOCOL } from '../../src/dataset/schedule';
import { REWARD_KINDS, type RewardKind } from '../../src/rl/rewards';
import { mean } from '../../src/rl/stats';
import type { PlaygroundSettings } from '../../src/settings';
import {
  benchSplit,
  meanResult,
  openBenchSplits,
  round,
  type SplitResult,
} from '../lib/dataset-bench';
import { BENCH_OPTIONS, openNodeApp } from '../lib/node-app';
import { benchSettings, settingsEcho } from '../lib/run-settings';
import { settingOverrides } from '../lib/setting-overrides';

type Args = {
  json: boolean;
  root: string;
  rewards: RewardKind[];
  seeds: number[];
  splits: string[] | null;
  overrides: Partial<PlaygroundSettings>;
};

function readArgs(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      json: BENCH_OPTIONS.json,
      root: BENCH_OPTIONS.root,
      rewards: { type: 'string', default: REWARD_KINDS.join(',') },
      seeds: { type: 'string', default: '0,1,2' },
      splits: { type: 'string' },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const rewards = values.rewards.split(',');
  const unknown = rewards.filter((r) => !(REWARD_KINDS as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new Error(
      `--rewards: unknown ${unknown.join(', ')}; choose from ${REWARD_KINDS.join(', ')}`,
    );
  }
  return {
    json: values.json,
    root: values.root,
    rewards: rewards as RewardKind[],
    seeds: values.seeds.split(',').map(Number),
    splits: values.splits?.split(',') ?? null,
    overrides: settingOverrides(values.set),
  };
}

export async function main(argv: string[]): Promise<void> {
  const started = performance.now();
  const args = readArgs(argv);
  const progress = (message: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`);

  const app = await openNodeApp('wasm', args.root);
  const { vlm } = app;
  const splits = await openBenchSplits(app, args.splits);
  const { names, cleanName, shifted } = splits;

  /** results[reward][seed][split], and each reward's step times. */
  const results = new Map<RewardKind, Record<string, SplitResult>[]>();
  const stepSeconds = new Map<RewardKind, number[]>();
  for (const seed of args.seeds) {
    const base = new Map<string, SideAnswers>();
    for (const reward of args.rewards) {
      const config = benchSettings(args.overrides, { reward, seed });
      const perSplit: Record<string, SplitResult> = {};
      for (const name of names) {
        const run = await benchSplit(
          app,
          splits,
          name,
          config,
          TTRV_PROTOCOL,
          ({ step }) => {
            if (!step) return;
            stepSeconds.set(reward, [...(stepSeconds.get(reward) ?? []), step.metrics.step_time]);
          },
          base.get(name),
        );
        base.set(name, run.base);
        perSplit[name] = run.result;
        const r = run.result;
        progress(`seed ${seed} ${reward} ${name}: ${r.base_accuracy} → ${r.adapted_accuracy}`);
      }
      results.set(reward, [...(results.get(reward) ?? []), perSplit]);
    }
  }
  splits.close();
  await app.close();

  const rewards: Record<string, unknown> = {};
  let reference: Record<string, SplitResult> = {};
  for (const [reward, runs] of results) {
    const averaged = Object.fromEntries(
      names.map((name) => [name, meanResult(runs.map((r) => r[name] as SplitResult))]),
    );
    reference = averaged;
    const gain = (name: string) =>
      (averaged[name]?.adapted_accuracy ?? 0) - (averaged[name]?.base_accuracy ?? 0);
    const cleanBase = averaged[cleanName]?.base_accuracy ?? null;
    rewards[reward] = {
      mean_greedy_gain: shifted.length > 0 ? round(mean(shifted.map(gain))) : null,
      best_greedy_gain: shifted.length > 0 ? round(Math.max(...shifted.map(gain))) : null,
      per_split: Object.fromEntries(
        names.map((name) => {
          const r = averaged[name] as SplitResult;
          return [
            name,
            {
              base: r.base_accuracy,
              adapted: r.adapted_accuracy,
              gain: round(gain(name)),
              base_avg16: r.base_avg16,
              adapted_avg16: r.adapted_avg16,
              flips: r.flips,
              clean_after: r.clean_accuracy_after,
            },
          ];
        }),
      ),
      clean_drop:
        cleanBase === null || shifted.length === 0
          ? null
          : round(
              Math.max(...shifted.map((s) => cleanBase - (averaged[s]?.clean_accuracy_after ?? 0))),
            ),
      step_ms: Math.round(1000 * mean(stepSeconds.get(reward) ?? [Number.NaN])),
    };
  }
  const perSplitOf = (f: (name: string) => number | null) =>
    Object.fromEntries(names.map((name) => [name, f(name)]));
  const result = {
    model: vlm.id,
    backend: 'wasm',
    protocol: {
      ...TTRV_PROTOCOL.schedule,
      num_votes: TTRV_PROTOCOL.num_votes,
      num_generations: TTRV_PROTOCOL.num_generations,
      learning_rate: TTRV_PROTOCOL.learning_rate,
      evaluate: TTRV_PROTOCOL.evaluate,
    },
    // What every run used but its reward (rewards) and seed (seeds).
    settings: settingsEcho(datasetRunSettings(benchSettings(args.overrides), TTRV_PROTOCOL), [
      'reward',
      'seed',
    ]),
    seeds: args.seeds,
    rewards,
    baselines: {
      greedy: perSplitOf((name) => reference[name]?.base_accuracy ?? null),
      self_consistency: perSplitOf((name) => reference[name]?.base_maj32 ?? null),
      zero_views: perSplitOf((name) => reference[name]?.base_view_vote ?? null),
    },
    load_average: loadavg().map((x) => Number(x.toFixed(2))),
    seconds: Math.round((performance.now() - started) / 1000),
  };
  if (!args.json) {
    for (const [reward, r] of Object.entries(rewards)) {
      const { mean_greedy_gain, best_greedy_gain, clean_drop, step_ms } = r as Record<
        string,
        unknown
      >;
      console.log(
        `${reward.padEnd(18)} mean gain ${mean_greedy_gain}  best ${best_greedy_gain}  clean drop ${clean_drop}  ${step_ms} ms/step`,
      );
    }
  }
  console.log(JSON.stringify(result));
}
