// Single-image TTRV as the playground runs it, on fixed items of the demo's splits: for each item,
// a fresh adapter, then steps with the playground's default settings until its stop rule ends the
// run (src/rl/stopRule.ts: early_stop_agreement or max_steps), through the playground's own core
// (src/core/playground.ts) in Node on Wasm. It measures whether agreement converges, how fast,
// and what it converges to: the base model's majority of 32 samples (sharpening) or something
// else (collapse). Labels only score.
//
// `npm run bench:converge -- [--json] [--per-type 12] [--set <setting>=<value> …] [--root DIR]`
// Progress goes to stderr; the last line on stdout is one JSON object (`settings`: every setting
// the runs used, tools/lib/run-settings.ts):
// {"items", "converged_share", "median_steps_to_converge", "majority_kept_share",
//  "base_greedy_accuracy", "base_majority_accuracy", "adapted_greedy_accuracy", "step_ms", …}
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultDevice, init } from '@jax-js/jax';
import { createPlayground } from '../../src/core/playground';
import type { DatasetItem, LabeledItem } from '../../src/dataset/items';
import { labelAnswer, labeledItems, parseItems } from '../../src/dataset/items';
import { MAJORITY_SAMPLES } from '../../src/dataset/report';
import { DEMO_DATASET, fetchSplitIndex } from '../../src/dataset/splits';
import { mean } from '../../src/rl/stats';
import { stopReason } from '../../src/rl/stopRule';
import { BENCH_OPTIONS, nodePlaygroundHost, serveDemoApp } from '../lib/node-app';
import { REPO_ROOT } from '../lib/repo-root';
import { benchSettings, settingsEcho } from '../lib/run-settings';
import { settingOverrides } from '../lib/setting-overrides';
import { middle } from '../lib/timing';

/** Agreement at or above this share is "converged" (the measure). */
const CONVERGED_AGREEMENT = 0.9;

/** Issue 24's targets: converged share, median steps, majority kept, and the adapted greedy
 * accuracy's lead over the base greedy accuracy on these items. */
const TARGETS = { convergedShare: 0.85, medianSteps: 12, majorityKept: 0.8, adaptedGain: 0.05 };

type Item = LabeledItem & { split: string; shifted: boolean };

/**
 * `perType` items of every question type, taken in turn from each split (clean and shifted) in
 * file order: the same items every run.
 */
function chooseItems(
  splits: { name: string; shifted: boolean; items: DatasetItem[] }[],
  perType: number,
) {
  const types = [...new Set(splits.flatMap((s) => s.items.map((item) => item.type)))].sort();
  const chosen: Item[] = [];
  for (const type of types) {
    const queues = splits.map((s) =>
      s.items
        .filter((item) => item.type === type && item.answer !== null)
        .map((item) => ({ ...(item as LabeledItem), split: s.name, shifted: s.shifted })),
    );
    for (
      let taken = 0, round = 0;
      taken < perType && queues.some((q) => q.length > round);
      round++
    ) {
      for (const queue of queues) {
        const item = queue[round];
        if (item && taken < perType) {
          chosen.push(item);
          taken++;
        }
      }
    }
  }
  return chosen;
}

export async function main(argv: string[]): Promise<void> {
  const started = performance.now();
  const { values } = parseArgs({
    args: argv,
    options: {
      json: BENCH_OPTIONS.json,
      root: BENCH_OPTIONS.root,
      'per-type': { type: 'string', default: '12' },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  const overrides = settingOverrides(values.set);
  const settings = benchSettings(overrides);
  const progress = (message: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`);

  await init('wasm');
  defaultDevice('wasm');
  const served = await serveDemoApp(values.root ?? REPO_ROOT);
  const indexUrl = `${served.origin}${DEMO_DATASET}index.json`;
  const listed = await fetchSplitIndex(indexUrl);
  if (!listed) throw new Error(`${indexUrl} is missing`);
  const splits = await Promise.all(
    listed.map(async ({ name, shifted, source }) => {
      const url = source.itemsUrl;
      const items = parseItems(await (await fetch(url)).text(), url);
      if (!labeledItems(items)) throw new Error(`${name}: every item needs an answer`);
      return { name, shifted, items };
    }),
  );
  const items = chooseItems(splits, Number(values['per-type']));

  const playground = createPlayground(nodePlaygroundHost(served));
  await playground.loadModel({ kind: 'demo' }, () => {});
  const rows: {
    type: string;
    shifted: boolean;
    converged_at: number | null;
    steps: number;
    base_greedy_correct: boolean;
    base_majority_correct: boolean;
    adapted_greedy_correct: boolean;
    majority_kept: boolean;
  }[] = [];
  const stepMs: number[] = [];
  for (const [n, item] of items.entries()) {
    await playground.setImage(await (await fetch(item.image)).blob());
    await playground.resetAdapter();
    const label = labelAnswer(item);
    const base = (
      await playground.compare(item.question, { ...settings, num_votes: MAJORITY_SAMPLES })
    ).base;
    const baseMajority = base.distribution[0]?.answer ?? '';
    let convergedAt: number | null = null;
    let steps = 0;
    let last = null;
    while (!stopReason(steps, last, settings)) {
      const report = await playground.step(item.question, settings);
      steps += 1;
      last = report.metrics;
      stepMs.push(report.metrics.step_time * 1000);
      if (convergedAt === null && last.agreement >= CONVERGED_AGREEMENT) convergedAt = steps;
    }
    const adapted = (await playground.compare(item.question, settings)).adapted;
    const adaptedGreedy = adapted?.greedy ?? base.greedy;
    rows.push({
      type: item.type,
      shifted: item.shifted,
      converged_at: convergedAt,
      steps,
      base_greedy_correct: base.greedy === label,
      base_majority_correct: baseMajority === label,
      adapted_greedy_correct: adaptedGreedy === label,
      majority_kept: adaptedGreedy === baseMajority,
    });
    progress(
      `${n + 1}/${items.length} ${item.split} ${item.type}: ${steps} steps, ` +
        `converged ${convergedAt ?? 'no'}, base ${base.greedy} / maj ${baseMajority} → ${adaptedGreedy} (label ${label})`,
    );
  }
  await served.close();

  const share = (hit: (row: (typeof rows)[number]) => boolean) =>
    Number(mean(rows.map((row) => (hit(row) ? 1 : 0))).toFixed(4));
  const converged = rows.flatMap((row) => (row.converged_at === null ? [] : [row.converged_at]));
  const result = {
    items: rows.length,
    converged_share: share((row) => row.converged_at !== null),
    median_steps_to_converge: converged.length > 0 ? middle(converged) : null,
    majority_kept_share: share((row) => row.majority_kept),
    base_greedy_accuracy: share((row) => row.base_greedy_correct),
    base_majority_accuracy: share((row) => row.base_majority_correct),
    adapted_greedy_accuracy: share((row) => row.adapted_greedy_correct),
    step_ms: Math.round(middle(stepMs)),
    per_type: Object.fromEntries(
      [...new Set(rows.map((row) => row.type))].map((type) => {
        const of = rows.filter((row) => row.type === type);
        return [
          type,
          {
            items: of.length,
            converged: of.filter((row) => row.converged_at !== null).length,
            majority_kept: of.filter((row) => row.majority_kept).length,
          },
        ];
      }),
    ),
    settings: settingsEcho(settings),
    targets: TARGETS,
    load_average: loadavg().map((x) => Number(x.toFixed(2))),
    seconds: Math.round((performance.now() - started) / 1000),
  };
  if (!values.json) {
    console.log(
      `converged ${result.converged_share} (median ${result.median_steps_to_converge} steps), ` +
        `majority kept ${result.majority_kept_share}, accuracy ${result.base_greedy_accuracy} → ` +
        `${result.adapted_greedy_accuracy} (base maj@32 ${result.base_majority_accuracy})`,
    );
  }
  console.log(JSON.stringify(result));
}
