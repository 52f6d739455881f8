// Dataset mode (spec §3) on the demo model, for every shipped split, through the app's own code
// (tools/node-app.ts): adapt a fresh adapter on the split's unlabeled random subset,
// then greedy accuracy on the whole split before and after, the clean split's accuracy with each
// adapter (forgetting), majority-of-16 at temperature 1 as a label-free reference, and the
// agreement of num_votes samples per item before and after. Labels only score, never reward.
//
// `npm run bench:quality -- [--json] [--backend wasm|webgpu] [--splits clean,sketch,…]
//   [--subset 20] [--epochs 2] [--prompts-per-step 8] [--set <TtrvConfig field>=<value> …]
//   [--root DIR]`  (serve DIR/public, e.g. a candidate model from build.py --out DIR)
// Progress goes to stderr; the last line on stdout is one JSON object.
import { parseArgs } from 'node:util';
import { RawImage } from '@huggingface/transformers';
import type { Accuracy, LabeledItem } from '../src/dataset/items';
import { labeledItems, parseItems, scoreAnswers } from '../src/dataset/items';
import { adaptOnDataset, greedyAnswers } from '../src/dataset/run';
import type { DatasetSchedule } from '../src/dataset/schedule';
import { adaptationBatches, PAPER_DATASET_SCHEDULE } from '../src/dataset/schedule';
import type { IndexFile } from '../src/dataset/splits';
import type { Adapter } from '../src/engine/model';
import { seededRandom } from '../src/engine/sampling';
import type { TtrvConfig } from '../src/rl/config';
import { DEFAULT_TTRV_CONFIG, validateTtrvConfig } from '../src/rl/config';
import { countVotes, majorityAnswer } from '../src/rl/rewards';
import { mean } from '../src/rl/stats';
import { loraConfigOf } from '../src/session/playground';
import { disposeTrainState, freshTrainState, stepSeed, vote } from '../src/session/ttrvStep';
import type { PreparedPrompt, VisionLanguageModel } from '../src/session/visionLanguageModel';
import { preparePrompt } from '../src/session/visionLanguageModel';
import type { BenchBackend, NodeApp } from './node-app';
import { BENCH_OPTIONS, openNodeApp } from './node-app';

/** base_majority16_accuracy: the majority of this many samples at the config's temperature. */
const MAJORITY_SAMPLES = 16;

/** The issue's targets, checked without labels ever reaching the reward. */
const TARGETS = { bestGain: 0.1, meanGain: 0.05, cleanDrop: 0.02, typeDrop: 0.05 };

type Args = {
  json: boolean;
  backend: BenchBackend;
  root: string;
  splits: string[] | null;
  schedule: DatasetSchedule;
  overrides: Partial<TtrvConfig>;
};

/** `--set name=value`: a TtrvConfig field, parsed as the default's type. */
function configOverrides(assignments: readonly string[]): Partial<TtrvConfig> {
  const overrides: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const [field = '', raw = ''] = assignment.split('=');
    if (!(field in DEFAULT_TTRV_CONFIG)) throw new Error(`--set: unknown setting "${field}"`);
    const current = DEFAULT_TTRV_CONFIG[field as keyof TtrvConfig];
    overrides[field] = Array.isArray(current)
      ? raw.split(',')
      : raw === 'null'
        ? null
        : typeof current === 'string'
          ? raw
          : Number(raw);
  }
  return overrides as Partial<TtrvConfig>;
}

function readArgs(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...BENCH_OPTIONS,
      splits: { type: 'string' },
      subset: { type: 'string', default: String(PAPER_DATASET_SCHEDULE.subset) },
      epochs: { type: 'string', default: String(PAPER_DATASET_SCHEDULE.epochs) },
      'prompts-per-step': {
        type: 'string',
        default: String(PAPER_DATASET_SCHEDULE.promptsPerStep),
      },
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  return {
    json: values.json,
    backend: values.backend as BenchBackend,
    root: values.root,
    splits: values.splits?.split(',') ?? null,
    schedule: {
      subset: Number(values.subset),
      epochs: Number(values.epochs),
      promptsPerStep: Number(values['prompts-per-step']),
    },
    overrides: configOverrides(values.set),
  };
}

type Split = { name: string; shifted: boolean; items: LabeledItem[]; prompts: PreparedPrompt[] };

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.text();
}

/** A split's items and their prompts (image features computed once, as the app does). */
async function loadSplit(app: NodeApp, name: string, file: string, shifted: boolean) {
  const url = app.datasetUrl(file);
  const items = labeledItems(parseItems(await fetchText(url), url));
  if (!items) throw new Error(`${url}: every item needs an answer to score the split`);
  const prompts: PreparedPrompt[] = [];
  for (const item of items) {
    prompts.push(await preparePrompt(app.vlm, await RawImage.fromURL(item.image), item.question));
  }
  return { name, shifted, items, prompts } satisfies Split;
}

/** The extracted answers of `rows` samples per prompt, at the config's temperature. */
async function sampledAnswers(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompts: readonly PreparedPrompt[],
  config: TtrvConfig,
  rows: number,
): Promise<string[][]> {
  const answers: string[][] = [];
  const sampling = { ...config, num_votes: rows };
  for (const [i, prompt] of prompts.entries()) {
    const seed = stepSeed(config.seed, -1, i);
    answers.push((await vote(vlm, adapter, prompt, sampling, seed)).answers);
  }
  return answers;
}

/** Mean over items of the share of votes for the most common answer. */
function agreement(votes: readonly string[][]): number {
  return mean(votes.map((v) => Math.max(...countVotes(v).values()) / v.length));
}

const round = (x: number) => Number(x.toFixed(4));

type SplitResult = {
  items_adapted: number;
  items_evaluated: number;
  base_accuracy: number;
  adapted_accuracy: number;
  base_majority16_accuracy: number;
  clean_accuracy_after: number;
  agreement_before: number;
  agreement_after: number;
  per_type: Record<string, { base: number; adapted: number }>;
};

function splitResult(
  itemsAdapted: number,
  itemsEvaluated: number,
  base: Accuracy,
  adapted: Accuracy,
  majority: Accuracy,
  cleanAfter: Accuracy,
  agreementBefore: number,
  agreementAfter: number,
): SplitResult {
  return {
    items_adapted: itemsAdapted,
    items_evaluated: itemsEvaluated,
    base_accuracy: round(base.accuracy),
    adapted_accuracy: round(adapted.accuracy),
    base_majority16_accuracy: round(majority.accuracy),
    clean_accuracy_after: round(cleanAfter.accuracy),
    agreement_before: round(agreementBefore),
    agreement_after: round(agreementAfter),
    per_type: Object.fromEntries(
      Object.entries(base.per_type).map(([type, accuracy]) => [
        type,
        { base: round(accuracy), adapted: round(adapted.per_type[type] ?? 0) },
      ]),
    ),
  };
}

/** The issue's targets over the shifted splits (type drops over every split). */
function checkTargets(results: Record<string, SplitResult>, shifted: string[], clean: SplitResult) {
  const gains = shifted.map(
    (s) => (results[s]?.adapted_accuracy ?? 0) - (results[s]?.base_accuracy ?? 0),
  );
  const cleanDrops = shifted.map(
    (s) => clean.base_accuracy - (results[s]?.clean_accuracy_after ?? 0),
  );
  const typeDrops = Object.values(results).flatMap((r) =>
    Object.values(r.per_type).map((t) => t.base - t.adapted),
  );
  const summary = {
    best_shifted_gain: round(Math.max(...gains)),
    mean_shifted_gain: round(mean(gains)),
    max_clean_drop: round(Math.max(...cleanDrops)),
    max_type_drop: round(Math.max(...typeDrops)),
  };
  const met =
    summary.best_shifted_gain >= TARGETS.bestGain &&
    summary.mean_shifted_gain >= TARGETS.meanGain &&
    summary.max_clean_drop <= TARGETS.cleanDrop &&
    summary.max_type_drop <= TARGETS.typeDrop;
  return { ...summary, met };
}

export async function main(argv: string[]): Promise<void> {
  const started = performance.now();
  const args = readArgs(argv);
  const config: TtrvConfig = { ...DEFAULT_TTRV_CONFIG, ...args.overrides };
  const issues = validateTtrvConfig(config);
  if (issues.length > 0) throw new Error(issues.map((i) => i.message).join('; '));
  const progress = (message: string) =>
    console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${message}`);

  const app = await openNodeApp(args.backend, args.root);
  const { vlm } = app;
  const index = JSON.parse(await fetchText(app.datasetUrl('index.json'))) as IndexFile;
  const names = Object.keys(index.splits).filter((s) => !args.splits || args.splits.includes(s));
  const cleanName = Object.keys(index.splits).find((s) => !index.splits[s]?.shifted);
  if (!cleanName) throw new Error('index.json names no clean (unshifted) split');
  // Clean first: every shifted split's adapter is re-evaluated on it.
  names.sort((a, b) => Number(a !== cleanName) - Number(b !== cleanName));
  const clean = await loadSplit(app, cleanName, index.splits[cleanName]?.items ?? '', false);
  const cleanBase = scoreAnswers(
    clean.items,
    await greedyAnswers(vlm, null, clean.prompts, config.max_completion_length),
  );

  const results: Record<string, SplitResult> = {};
  for (const name of names) {
    const entry = index.splits[name] ?? { items: '', shifted: true };
    const split =
      name === cleanName ? clean : await loadSplit(app, name, entry.items, entry.shifted);
    const greedy = (adapter: Adapter | null, on: Split) =>
      greedyAnswers(vlm, adapter, on.prompts, config.max_completion_length);
    const base =
      name === cleanName ? cleanBase : scoreAnswers(split.items, await greedy(null, split));
    const rows = Math.max(MAJORITY_SAMPLES, config.num_votes);
    const votesBefore = await sampledAnswers(vlm, null, split.prompts, config, rows);
    const majority = scoreAnswers(
      split.items,
      votesBefore.map((v) => majorityAnswer(v.slice(0, MAJORITY_SAMPLES))),
    );
    progress(
      `${name}: base ${base.accuracy.toFixed(3)}, majority-16 ${majority.accuracy.toFixed(3)}`,
    );

    const batches = adaptationBatches(split.items.length, args.schedule, seededRandom(config.seed));
    const { state: trained } = await adaptOnDataset(
      vlm,
      freshTrainState(vlm, loraConfigOf(config), config.seed),
      split.prompts,
      batches,
      config,
      ({ metrics: m, skipped }) =>
        progress(
          `${name} step ${m.step}/${batches.length}: agreement ${m.agreement.toFixed(3)}, ` +
            `reward_std ${m.reward_std.toFixed(3)}, loss ${m.loss.toFixed(4)}, ` +
            `grad_norm ${m.grad_norm.toFixed(3)}${skipped ? ` (skipped: ${skipped})` : ''}`,
        ),
    );
    const adapted = scoreAnswers(split.items, await greedy(trained.adapter, split));
    const votesAfter = await sampledAnswers(
      vlm,
      trained.adapter,
      split.prompts,
      config,
      config.num_votes,
    );
    const cleanAfter =
      name === cleanName
        ? adapted
        : scoreAnswers(clean.items, await greedy(trained.adapter, clean));
    disposeTrainState(trained);
    if (split !== clean) for (const prompt of split.prompts) prompt.embeds.dispose();

    results[name] = splitResult(
      new Set(batches.flat()).size,
      split.items.length,
      base,
      adapted,
      majority,
      cleanAfter,
      agreement(votesBefore.map((v) => v.slice(0, config.num_votes))),
      agreement(votesAfter),
    );
    progress(
      `${name}: adapted ${adapted.accuracy.toFixed(3)}, clean after ${cleanAfter.accuracy.toFixed(3)}`,
    );
  }
  for (const prompt of clean.prompts) prompt.embeds.dispose();
  await app.close();

  const shifted = names.filter((s) => index.splits[s]?.shifted);
  const cleanResult = results[cleanName];
  const result = {
    model: vlm.id,
    backend: args.backend,
    settings: {
      subset: args.schedule.subset,
      epochs: args.schedule.epochs,
      prompts_per_step: args.schedule.promptsPerStep,
      num_votes: config.num_votes,
      num_generations: config.num_generations,
      learning_rate: config.learning_rate,
      ...args.overrides,
    },
    splits: results,
    targets: cleanResult && shifted.length > 0 ? checkTargets(results, shifted, cleanResult) : null,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  if (!args.json) printTable(result.splits);
  console.log(JSON.stringify(result));
}

function printTable(splits: Record<string, SplitResult>): void {
  const percent = (x: number) => `${(100 * x).toFixed(1)}`.padStart(6);
  console.log('split     base  adapted  maj16  clean-after  agree-before  agree-after');
  for (const [name, r] of Object.entries(splits)) {
    console.log(
      `${name.padEnd(8)}${percent(r.base_accuracy)}${percent(r.adapted_accuracy)}   ` +
        `${percent(r.base_majority16_accuracy)}${percent(r.clean_accuracy_after)}       ` +
        `${percent(r.agreement_before)}        ${percent(r.agreement_after)}`,
    );
  }
}
