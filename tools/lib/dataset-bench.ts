// What the dataset-mode benchmarks share (bench:quality, bench:zoo): the served app's splits, a
// split's line of their JSON from the app's own dataset report, and means over seeds.
import { labeledItems, scoreAnswers } from '../../src/dataset/items';
import type { SideAnswers } from '../../src/dataset/report';
import type { DatasetRunResult, OpenedDataset } from '../../src/dataset/run';
import { openDataset, runDataset } from '../../src/dataset/run';
import { fetchSplitIndex, type ServedSplit } from '../../src/dataset/splits';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import type { DatasetProgress, DatasetProtocol, DatasetReport } from '../../src/protocol';
import { mean } from '../../src/rl/stats';
import type { PlaygroundSettings } from '../../src/settings';
import { greedyAnswers } from '../../src/ttrv/answers';
import { disposeTrainState } from '../../src/ttrv/step';
import type { PreparedPrompt } from '../../src/vlm/visionLanguageModel';
import { preparePrompt } from '../../src/vlm/visionLanguageModel';
import type { NodeApp } from './node-app';

/** Four decimals: the precision of the benchmarks' JSON. */
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

/** The split of that name, or an error naming the ones there are. */
function splitNamed(splits: readonly ServedSplit[], name: string): ServedSplit {
  const split = splits.find((s) => s.name === name);
  if (!split) throw new Error(`No split "${name}": ${splits.map((s) => s.name).join(', ')}`);
  return split;
}

/**
 * The served app's splits (only those named, if any), the clean one, and the clean split's
 * prompts, to score every shifted split's adapter on it (forgetting). `close` frees the prompts.
 */
export async function openBenchSplits(app: NodeApp, only: string[] | null) {
  const { vlm } = app;
  const indexUrl = app.datasetUrl('index.json');
  const splits = await fetchSplitIndex(indexUrl);
  if (!splits) throw new Error(`${indexUrl} is missing`);
  const names = splits.map((split) => split.name).filter((s) => !only || only.includes(s));
  const cleanName = splits.find((split) => !split.shifted)?.name;
  if (!cleanName) throw new Error('index.json names no clean (unshifted) split');
  const files = { read: () => Promise.reject(new Error('no picked files here')), url: () => '' };
  const open = (name: string): Promise<OpenedDataset> =>
    openDataset(splitNamed(splits, name).source, files);
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
    shifted: names.filter((s) => splitNamed(splits, s).shifted),
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

/**
 * Dataset mode on split `name` through the app's own run (runDataset), its adapter scored on the
 * clean split and then released: the split's line of the JSON, and the base model's answers (a
 * later run with the same seed and sampling settings may pass them back as `baseAnswers`).
 */
export async function benchSplit(
  app: NodeApp,
  splits: Awaited<ReturnType<typeof openBenchSplits>>,
  name: string,
  settings: PlaygroundSettings,
  protocol: DatasetProtocol,
  onProgress: (progress: DatasetProgress) => void,
  baseAnswers?: SideAnswers,
): Promise<{ result: SplitResult; base: SideAnswers }> {
  const run = await runDataset(
    app.vlm,
    await splits.open(name),
    settings,
    loraSettingsOf(settings),
    protocol,
    onProgress,
    undefined,
    baseAnswers,
  );
  const after = await splits.cleanAfter(name, run, settings);
  disposeTrainState(run.trained);
  return { result: splitResult(run.report, after), base: run.base };
}
