// What a dataset report says of a labeled split, before and after adaptation (docs/ttrv.md §3, "What to
// report"): greedy accuracy (TTRV's number), avg@16 (mean accuracy of 16 samples at the run's
// temperature: TTRL's pass@1), the base model's maj@32 (the sharpening ceiling: an agreement reward
// teaches at most the model's own majority), a Zero-style vote over augmented views of the image
// (a baseline that trains nothing), the format-failure rate, and flips. Overall and per question
// type. Labels only score here; they never reach the reward.

import type { DatasetScores, ScoreGroup, SideScores } from '../protocol';
import { majorityAnswer } from '../rl/rewards';
import { mean } from '../rl/stats';
import type { LabeledItem } from './items';
import { labelAnswer } from './items';

/** avg@AVG_SAMPLES and maj@MAJORITY_SAMPLES, as the spec and TTRV's protocol name them. */
export const AVG_SAMPLES = 16;
export const MAJORITY_SAMPLES = 32;

/** A model's extracted answers to every item: greedy, and sampled at the run's temperature. */
export type SideAnswers = {
  greedy: readonly string[];
  /** Per item; null when the run did not sample (then avg@16 and maj@32 are null). */
  samples: readonly (readonly string[])[] | null;
  /**
   * Per item, the most common of the greedy answers to the image and its augmented views (Zero,
   * arXiv 2405.18330, without its confidence filter); null when not computed (the adapted side,
   * or a run that did not sample).
   */
  viewVotes: readonly string[] | null;
};

/**
 * Each question type's answer space: every label of that type in the split, extracted as answers
 * are. A reply outside it ("a red thing" to "What color…?", an empty one, "E" to a four-option
 * question) is a format failure, whichever item it answers.
 */
export function answerSpaces(items: readonly LabeledItem[]): Map<string, Set<string>> {
  const spaces = new Map<string, Set<string>>();
  for (const item of items) {
    const space = spaces.get(item.type) ?? new Set<string>();
    space.add(labelAnswer(item));
    spaces.set(item.type, space);
  }
  return spaces;
}

function sideScores(
  items: readonly LabeledItem[],
  indices: readonly number[],
  side: SideAnswers,
  spaces: Map<string, Set<string>>,
): SideScores {
  const label = (i: number) => labelAnswer(items[i] as LabeledItem);
  const samplesOf = (i: number) => side.samples?.[i] ?? [];
  const enough = (count: number) =>
    side.samples !== null && indices.every((i) => samplesOf(i).length >= count);
  const share = (hit: (i: number) => boolean) => mean(indices.map((i) => (hit(i) ? 1 : 0)));
  return {
    accuracy: share((i) => side.greedy[i] === label(i)),
    avg16: enough(AVG_SAMPLES)
      ? mean(
          indices.map((i) =>
            mean(
              samplesOf(i)
                .slice(0, AVG_SAMPLES)
                .map((a) => (a === label(i) ? 1 : 0)),
            ),
          ),
        )
      : null,
    maj32: enough(MAJORITY_SAMPLES)
      ? share((i) => majorityAnswer(samplesOf(i).slice(0, MAJORITY_SAMPLES)) === label(i))
      : null,
    view_vote: side.viewVotes ? share((i) => side.viewVotes?.[i] === label(i)) : null,
    format_failures: share(
      (i) => !spaces.get((items[i] as LabeledItem).type)?.has(side.greedy[i] ?? ''),
    ),
  };
}

function group(
  items: readonly LabeledItem[],
  indices: readonly number[],
  base: SideAnswers,
  adapted: SideAnswers,
  spaces: Map<string, Set<string>>,
): ScoreGroup {
  const right = (side: SideAnswers, i: number) =>
    side.greedy[i] === labelAnswer(items[i] as LabeledItem);
  return {
    n_items: indices.length,
    base: sideScores(items, indices, base, spaces),
    adapted: sideScores(items, indices, adapted, spaces),
    flips: {
      to_correct: indices.filter((i) => !right(base, i) && right(adapted, i)).length,
      to_wrong: indices.filter((i) => right(base, i) && !right(adapted, i)).length,
    },
  };
}

/** The report of a labeled split from the base model's and the adapted model's answers. */
export function scoreDataset(
  items: readonly LabeledItem[],
  base: SideAnswers,
  adapted: SideAnswers,
): DatasetScores {
  const spaces = answerSpaces(items);
  const all = items.map((_, i) => i);
  const types = [...new Set(items.map((item) => item.type))].sort();
  return {
    ...group(items, all, base, adapted, spaces),
    per_type: Object.fromEntries(
      types.map((type) => [
        type,
        group(
          items,
          all.filter((i) => items[i]?.type === type),
          base,
          adapted,
          spaces,
        ),
      ]),
    ),
  };
}
