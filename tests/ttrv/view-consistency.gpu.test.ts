// A view_consistency step on the shipped demo model, in Node on Wasm: the vision encoder runs
// once per view, each view is voted and trained as a group of its own, every reward is its
// answer's share of the votes of all the views, and one view is the frequency reward's step.
import type { RawImage } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewVoteAnswer } from '../../src/dataset/run';
import { exportLoraTensors } from '../../src/engine';
import { viewPlans } from '../../src/image/augment';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import { agreement, majorityAnswer, viewConsistencyRewards } from '../../src/rl/rewards';
import { mean } from '../../src/rl/stats';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';
import { greedyAnswers } from '../../src/ttrv/answers';
import {
  addedViews,
  disposeTrainState,
  freshTrainState,
  type StepOutcome,
  ttrvStep,
} from '../../src/ttrv/step';
import type { PreparedPrompt, VisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { preparePrompt, prepareViewPrompts } from '../../src/vlm/visionLanguageModel';
import { type NodeApp, openNodeApp } from '../../tools/lib/node-app';
import { firstCleanSample } from './sample-image';

const CONFIG: PlaygroundSettings = {
  ...DEFAULT_SETTINGS,
  reward: 'view_consistency',
  num_views: 3,
  num_votes: 6,
  num_generations: 4,
  max_completion_length: 4,
};
const QUESTION = 'What color is the star?';

/** What a step decided, without its timings. */
function decided(outcome: StepOutcome) {
  const { vote_ms: _, train_ms: __, step_time: ___, ...metrics } = outcome.metrics;
  return { votes: outcome.votes, metrics };
}

describe('a view_consistency step', () => {
  let app: NodeApp;
  let vlm: VisionLanguageModel;
  let visionRuns = 0;
  let image: RawImage;
  const prompts: PreparedPrompt[] = [];

  beforeAll(async () => {
    app = await openNodeApp('wasm');
    // The vision encoder, counted: transformers.js models are called as functions.
    const encoder = (await app.vlm.vision) as unknown as (inputs: unknown) => Promise<unknown>;
    const counted = (inputs: unknown) => {
      visionRuns += 1;
      return encoder(inputs);
    };
    vlm = {
      ...app.vlm,
      vision: Promise.resolve(counted) as unknown as VisionLanguageModel['vision'],
    };
    image = await firstCleanSample();
  });

  afterAll(async () => {
    for (const prompt of prompts) prompt.embeds.dispose();
    await app?.close();
  });

  it('runs the vision encoder once per view, and pools the votes of all views', async () => {
    const plans = addedViews(CONFIG);
    expect(plans).toHaveLength(CONFIG.num_views - 1);
    expect(addedViews({ ...CONFIG, reward: 'frequency' })).toEqual([]);
    const original = await preparePrompt(vlm, image, QUESTION);
    const views = [original, ...(await prepareViewPrompts(vlm, image, QUESTION, plans))];
    prompts.push(...views);
    expect(visionRuns).toBe(CONFIG.num_views);
    expect(views.map((v) => v.view)).toEqual(['original', 'crop, flip, color', 'crop, color']);
    // A crop changes the pixels the encoder sees, never the prompt's tokens.
    expect(views.map((v) => v.inputIds)).toEqual(Array(3).fill(original.inputIds));

    const state = freshTrainState(vlm, loraSettingsOf(CONFIG), CONFIG.seed);
    const outcome = await ttrvStep(vlm, state, [views], CONFIG, 0);
    disposeTrainState(outcome.state);
    expect(visionRuns).toBe(CONFIG.num_views); // the step reuses the prepared views

    // One group per view, each with its own num_votes votes.
    expect(outcome.votes).toHaveLength(CONFIG.num_views);
    for (const votes of outcome.votes) expect(votes).toHaveLength(CONFIG.num_votes);
    const rewards = viewConsistencyRewards(outcome.votes, CONFIG.num_generations);
    expect(outcome.metrics.reward).toBeCloseTo(mean(rewards.flat()), 12);
    expect(outcome.metrics.agreement).toBeCloseTo(agreement(outcome.votes.flat()), 12);
    expect(outcome.views?.[0]?.map((v) => v.view)).toEqual(views.map((v) => v.view));
    outcome.views?.[0]?.forEach((view, k) => {
      expect(view.votes).toBe(CONFIG.num_votes);
      const counted = view.distribution.reduce((n, share) => n + share.count, 0);
      expect(counted, `view ${k}`).toBe(CONFIG.num_votes);
    });
    expect(Number.isFinite(outcome.metrics.loss)).toBe(true);
  });

  it('is the frequency reward’s step with one view', async () => {
    const [original] = prompts as [PreparedPrompt];
    const stepWith = async (config: PlaygroundSettings) => {
      const state = freshTrainState(vlm, loraSettingsOf(config), config.seed);
      const outcome = await ttrvStep(vlm, state, [[original]], config, 0);
      const weights = await exportLoraTensors(vlm.text, outcome.state.adapter.params);
      disposeTrainState(outcome.state);
      return { ...decided(outcome), weights, views: outcome.views };
    };
    const one = await stepWith({ ...CONFIG, num_views: 1 });
    const frequency = await stepWith({ ...CONFIG, reward: 'frequency' });
    expect(one.views?.[0]?.map((v) => v.view)).toEqual(['original']);
    expect(frequency.views).toBeNull();
    expect(one.votes).toEqual(frequency.votes);
    expect(one.metrics).toEqual(frequency.metrics);
    expect(one.weights).toEqual(frequency.weights);
  });

  it('gives the dataset report’s view vote: the most common greedy answer over the views', async () => {
    const [original] = prompts as [PreparedPrompt];
    const greedy = await greedyAnswers(vlm, null, [original], CONFIG.max_completion_length);
    // No views: the vote is the greedy answer itself.
    expect([await viewVoteAnswer(vlm, image, original, [], 4)]).toEqual(greedy);
    const plans = viewPlans(5, ['crop', 'flip', 'color'], 3).slice(1);
    const views = await prepareViewPrompts(vlm, image, QUESTION, plans);
    const each = await greedyAnswers(vlm, null, [original, ...views], 4);
    for (const view of views) view.embeds.dispose();
    const before = visionRuns;
    expect(await viewVoteAnswer(vlm, image, original, plans, 4)).toBe(majorityAnswer(each));
    expect(visionRuns - before).toBe(plans.length);
  });
});
