// Dataset mode (docs/ttrv.md §3), the GPU half: greedy answers for a split's prompts, adaptation steps over
// batches of them, and the whole run the playground and bench:quality share: prepare every
// prompt (and the augmented views of the items adapted on, for view_consistency), score the base
// model, adapt a fresh adapter, score it. Labels only score (./items.ts),
// never reward.
import { RawImage } from '@huggingface/transformers';
import type { Adapter, TrainState } from '../engine';
import { errorCodeOf, messageOf, PlaygroundError } from '../errors';
import type { Float32Tensor } from '../formats/safetensors';
import { augmentedViewPlans, type ViewPlan } from '../image/augment';
import type { LoraSettings } from '../layout/loraSettings';
import type {
  DatasetProgress,
  DatasetProtocol,
  DatasetReport,
  DatasetSource,
  StepReport,
} from '../protocol';
import type { TtrvConfig } from '../rl/config';
import { majorityAnswer } from '../rl/rewards';
import { greedyAnswers, sampledAnswers } from '../ttrv/answers';
import type { PromptViews } from '../ttrv/step';
import {
  addedViews,
  checkedAdapterTensors,
  disposeTrainState,
  freshTrainState,
  stepReport,
  ttrvStep,
} from '../ttrv/step';
import type { PreparedPrompt, VisionLanguageModel } from '../vlm/visionLanguageModel';
import { preparePrompt, prepareViewPrompts } from '../vlm/visionLanguageModel';
import { datasetError } from './errors';
import type { DatasetItem, LabeledItem } from './items';
import { labeledItems } from './items';
import type { SideAnswers } from './report';
import { AVG_SAMPLES, MAJORITY_SAMPLES, scoreDataset } from './report';
import { datasetRunSettings, protocolBatches, scoredIndices } from './schedule';
import { openDatasetFiles } from './source';

/** A dataset's items and a way to read each one's image. */
export type OpenedDataset = {
  name: string;
  items: DatasetItem[];
  image: (index: number) => Promise<RawImage>;
  /** A URL the page can show item `index`'s image from. */
  imageUrl: (index: number) => string;
};

/** How the host turns a picked file into the processor's image, and into a URL the page shows. */
export type ImageFiles = {
  read: (file: Blob) => Promise<RawImage>;
  url: (file: File) => string;
};

/** Opens a shipped split (by URL) or a picked folder; a folder's unreadable image names its line. */
export async function openDataset(
  source: DatasetSource,
  files: ImageFiles,
): Promise<OpenedDataset> {
  const { name, items, images } = await openDatasetFiles(source);
  return {
    name,
    items,
    image: async (i) => {
      const image = images[i] as File | string;
      if (typeof image === 'string') return RawImage.fromURL(image);
      try {
        return await files.read(image);
      } catch (error) {
        if (errorCodeOf(error) !== 'bad-image') throw error;
        const item = items[i] as DatasetItem;
        throw datasetError(
          `${name}/items.jsonl, line ${item.line}: the image "${item.image}" cannot be used. ${messageOf(error)}`,
        );
      }
    },
    imageUrl: (i) => {
      const image = images[i] as File | string;
      return typeof image === 'string' ? image : files.url(image);
    },
  };
}

/**
 * Zero-style vote for one item: the base model's greedy answers to the image (`prompt`) and to
 * each of its augmented views under `plans`, the most common wins (the image's own on ties). The
 * views are disposed at once.
 */
export async function viewVoteAnswer(
  vlm: VisionLanguageModel,
  image: RawImage,
  prompt: PreparedPrompt,
  plans: readonly ViewPlan[],
  maxNewTokens: number,
  signal?: AbortSignal,
): Promise<string> {
  const views = await prepareViewPrompts(vlm, image, prompt.question, plans);
  try {
    return majorityAnswer(await greedyAnswers(vlm, null, [prompt, ...views], maxNewTokens, signal));
  } finally {
    for (const view of views) view.embeds.dispose();
  }
}

/**
 * One TTRV step per batch of item indices (see ./schedule.ts), each item its prompt and those of
 * its views, from `state` (consumed). Returns
 * the adapted state and its CPU copy; an adapter whose weights overflowed is refused, and on any
 * failure nothing of the run is left on the device.
 */
export async function adaptOnDataset(
  vlm: VisionLanguageModel,
  state: TrainState,
  prompts: readonly PromptViews[],
  batches: readonly number[][],
  config: TtrvConfig,
  onStep: (report: StepReport) => void = () => {},
  signal?: AbortSignal,
): Promise<{ state: TrainState; tensors: Float32Tensor[] }> {
  let current = state;
  try {
    for (const [step, batch] of batches.entries()) {
      const chosen = batch.map((i) => prompts[i] as PromptViews);
      const outcome = await ttrvStep(vlm, current, chosen, config, step, signal);
      current = outcome.state;
      onStep(stepReport(outcome));
    }
  } catch (error) {
    // A failed step leaves the state it started from (its update never happened).
    disposeTrainState(current);
    throw error;
  }
  // Disposes the state itself when it refuses it.
  return { state: current, tensors: await checkedAdapterTensors(vlm.text, current, config) };
}

export type DatasetRunResult = {
  report: DatasetReport;
  /** The base model's answers to the scored items: a later run with the same seed and sampling
   * settings on the same split may pass them back instead of computing them again. */
  base: SideAnswers;
  /** The adapter the run trained and its CPU copy: the caller keeps or disposes it. */
  trained: TrainState;
  tensors: Float32Tensor[];
};

/**
 * The whole run: answers to the scored items with the base model, a fresh adapter adapted over
 * the protocol's batches (a random subset, or one item repeated as every step's batch), answers
 * with it; scores before and after when the items have labels.
 */
export async function runDataset(
  vlm: VisionLanguageModel,
  dataset: OpenedDataset,
  settings: TtrvConfig,
  lora: LoraSettings,
  protocol: DatasetProtocol,
  onProgress: (progress: DatasetProgress) => void,
  signal?: AbortSignal,
  /** The base answers of an earlier run of this split with this seed (bench:zoo compares rewards). */
  baseAnswers?: SideAnswers,
): Promise<DatasetRunResult> {
  const { items } = dataset;
  const { schedule } = protocol;
  const config = datasetRunSettings(settings, protocol);
  const batches = protocolBatches(items.length, protocol, config.seed);
  const scored = scoredIndices(items.length, batches, protocol.evaluate);
  if (scored.length === 0) {
    throw new PlaygroundError(
      'bad-settings',
      'Held out leaves no item to score: adapt on fewer items than the split has.',
    );
  }
  const labeled = labeledItems(items);
  const sampling = protocol.sampled && labeled !== null;
  const greedyLength = config.max_completion_length;
  const plans = addedViews(config);
  const adaptedOn = new Set(batches.flat());
  const prompts: PreparedPrompt[] = [];
  /** Per item, the prompts of its augmented views: only for the items adapted on (the scores are
   * of the images themselves), so the device holds num_views prompts for those few alone. */
  const views: PreparedPrompt[][] = [];
  // The baseline that trains nothing, with the run's views (num_views, view_augmentations): voted
  // while each scored item's image is in hand, unless the caller brought the base answers.
  const votePlans = sampling && !baseAnswers ? augmentedViewPlans(config) : null;
  const viewVotes = new Map<number, string>();
  const scoredSet = new Set(scored);
  try {
    for (const [i, item] of items.entries()) {
      signal?.throwIfAborted();
      const image = await dataset.image(i);
      const prompt = await preparePrompt(vlm, image, item.question);
      prompts.push(prompt);
      views.push(
        adaptedOn.has(i) ? await prepareViewPrompts(vlm, image, item.question, plans) : [],
      );
      if (votePlans && scoredSet.has(i)) {
        viewVotes.set(i, await viewVoteAnswer(vlm, image, prompt, votePlans, greedyLength, signal));
      }
      onProgress({ phase: 'preparing', done: i + 1, total: items.length });
    }
    const scoredPrompts = scored.map((i) => prompts[i] as PreparedPrompt);
    const answersOf = async (adapter: Adapter | null, rows: number): Promise<SideAnswers> => ({
      greedy: await greedyAnswers(vlm, adapter, scoredPrompts, greedyLength, signal),
      samples: sampling
        ? await sampledAnswers(vlm, adapter, scoredPrompts, config, rows, signal)
        : null,
      viewVotes: null,
    });
    const base = baseAnswers ?? {
      ...(await answersOf(null, MAJORITY_SAMPLES)),
      viewVotes: votePlans ? scored.map((i) => viewVotes.get(i) as string) : null,
    };
    onProgress({ phase: 'evaluating base', done: scored.length, total: scored.length });
    const agreements: number[] = [];
    const { state: trained, tensors } = await adaptOnDataset(
      vlm,
      freshTrainState(vlm, lora, config.seed),
      prompts.map((prompt, i) => [prompt, ...(views[i] ?? [])]),
      batches,
      config,
      (step) => {
        agreements.push(step.metrics.agreement);
        onProgress({ phase: 'adapting', done: agreements.length, total: batches.length, step });
      },
      signal,
    );
    const adapted = await answersOf(trained.adapter, AVG_SAMPLES).catch((error: unknown) => {
      disposeTrainState(trained); // e.g. non-finite logits: this adapter is not kept
      throw error;
    });
    onProgress({ phase: 'evaluating adapted', done: scored.length, total: scored.length });
    const example = 'example' in schedule ? schedule.example : null;
    const exampleAt = example === null ? -1 : scored.indexOf(example);
    const exampleItem = example === null ? undefined : items[example];
    const report: DatasetReport = {
      split: dataset.name,
      protocol: {
        evaluate: protocol.evaluate,
        num_votes: protocol.num_votes,
        num_generations: protocol.num_generations,
        learning_rate: protocol.learning_rate,
        sampled: sampling,
      },
      itemsAdapted: new Set(batches.flat()).size,
      itemsEvaluated: scored.length,
      scores: labeled
        ? scoreDataset(
            scored.map((i) => labeled[i] as LabeledItem),
            base,
            adapted,
          )
        : null,
      agreement:
        agreements.length > 0
          ? { first: agreements[0] as number, last: agreements.at(-1) as number }
          : null,
      example:
        example === null || !exampleItem
          ? null
          : {
              number: example + 1,
              image: dataset.imageUrl(example),
              question: exampleItem.question,
              label: exampleItem.answer,
              // A held-out run does not score the example it adapted on.
              base: base.greedy[exampleAt] ?? null,
              adapted: adapted.greedy[exampleAt] ?? null,
            },
    };
    return { report, base, trained, tensors };
  } finally {
    for (const prompt of [...prompts, ...views.flat()]) prompt.embeds.dispose();
  }
}
