// A perception step on the shipped demo model, in Node on Wasm: the masked view is prepared once
// beside the image and never voted on; it re-scores the image's trained completions (an auxiliary
// group), the metrics report how much the answers lean on the image, and perception_coef 0 is
// TTRV's own step, weights and all.
import type { RawImage } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completionLogprobs, exportLoraTensors } from '../../src/engine';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import { mean } from '../../src/rl/stats';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';
import { stepSeed, vote } from '../../src/ttrv/answers';
import {
  addedViews,
  disposeTrainState,
  freshTrainState,
  perceptionGroups,
  type StepOutcome,
  ttrvStep,
} from '../../src/ttrv/step';
import type { PreparedPrompt, VisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { preparePrompt, prepareViewPrompts } from '../../src/vlm/visionLanguageModel';
import { type NodeApp, openNodeApp } from '../../tools/lib/node-app';
import { firstCleanSample } from './sample-image';

const CONFIG: PlaygroundSettings = {
  ...DEFAULT_SETTINGS,
  reward: 'perception',
  perception_coef: 0.5,
  num_votes: 6,
  num_generations: 4,
  max_completion_length: 4,
};
const QUESTION = 'What color is the star?';

function decided(outcome: StepOutcome) {
  const {
    vote_ms: _,
    train_ms: __,
    step_time: ___,
    perception_gap: ____,
    ...metrics
  } = outcome.metrics;
  return { votes: outcome.votes, metrics };
}

describe('a perception step', () => {
  let app: NodeApp;
  let vlm: VisionLanguageModel;
  let image: RawImage;
  const prompts: PreparedPrompt[] = [];

  beforeAll(async () => {
    app = await openNodeApp('wasm');
    vlm = app.vlm;
    image = await firstCleanSample();
    const original = await preparePrompt(vlm, image, QUESTION);
    prompts.push(original, ...(await prepareViewPrompts(vlm, image, QUESTION, addedViews(CONFIG))));
  });

  afterAll(async () => {
    for (const prompt of prompts) prompt.embeds.dispose();
    await app?.close();
  });

  it('adds the masked view only, votes on the image only, and reports the log-prob drop', async () => {
    expect(prompts.map((p) => p.view)).toEqual(['original', 'masked']);
    expect(addedViews({ ...CONFIG, reward: 'ttrv' })).toEqual([]);
    const [original, masked] = prompts as [PreparedPrompt, PreparedPrompt];

    const state = freshTrainState(vlm, loraSettingsOf(CONFIG), CONFIG.seed);
    // The step's own votes, drawn again with its seed, to score them independently.
    const votes = await vote(vlm, state.adapter, original, CONFIG, stepSeed(CONFIG.seed, 0, 0));
    const outcome = await ttrvStep(vlm, state, [[original, masked]], CONFIG, 0);
    expect(outcome.votes).toHaveLength(1); // the masked view is not voted on
    expect(outcome.votes[0]).toHaveLength(CONFIG.num_votes);
    expect(outcome.views).toBeNull();
    disposeTrainState(outcome.state);

    // perception_gap = token-mean log-prob with the image − with it masked, at the adapter the
    // step started from (a fresh one: the base model), over the trained completions.
    const fresh = freshTrainState(vlm, loraSettingsOf(CONFIG), CONFIG.seed);
    const trained = votes.tokens.slice(0, CONFIG.num_generations);
    const score = async (p: PreparedPrompt) =>
      (await completionLogprobs(vlm.text, fresh.adapter, p.embeds, trained)).logprobs.flat();
    const withImage = await score(original);
    const withoutImage = await score(masked);
    disposeTrainState(fresh);
    expect(outcome.votes[0]).toEqual(votes.answers);
    const gap = outcome.metrics.perception_gap as number;
    expect(gap).toBeCloseTo(mean(withImage) - mean(withoutImage), 4);
    expect(Math.abs(gap)).toBeGreaterThan(1e-3);
  });

  it('is TTRV’s step at perception_coef 0, and moves the adapter differently at 0.5', async () => {
    const [original, masked] = prompts as [PreparedPrompt, PreparedPrompt];
    const stepWith = async (config: PlaygroundSettings, views: PreparedPrompt[]) => {
      const state = freshTrainState(vlm, loraSettingsOf(config), config.seed);
      const outcome = await ttrvStep(vlm, state, [views], config, 0);
      const weights = await exportLoraTensors(vlm.text, outcome.state.adapter.params);
      disposeTrainState(outcome.state);
      return { ...decided(outcome), weights, gap: outcome.metrics.perception_gap };
    };
    const off = await stepWith({ ...CONFIG, perception_coef: 0 }, [original, masked]);
    const ttrv = await stepWith({ ...CONFIG, reward: 'ttrv' }, [original]);
    const on = await stepWith(CONFIG, [original, masked]);
    expect(ttrv.gap).toBeNull();
    expect(off.votes).toEqual(ttrv.votes);
    expect(off.metrics).toEqual(ttrv.metrics);
    expect(off.weights).toEqual(ttrv.weights);
    expect(on.votes).toEqual(ttrv.votes);
    expect(on.weights).not.toEqual(ttrv.weights);
  });

  it('raises the image groups’ advantages by γ and re-scores them after the masked image at −γ', () => {
    const [original, masked] = prompts as [PreparedPrompt, PreparedPrompt];
    const groups = [
      {
        promptEmbeds: original.embeds,
        completions: [
          { tokens: [1, 2], advantage: 0.5 },
          { tokens: [3], advantage: -0.5, oldLogprobs: [-1] },
        ],
      },
    ];
    const out = perceptionGroups(groups, [masked], 0.25);
    expect(out).toHaveLength(2);
    expect(out[0]?.auxiliary).toBeUndefined();
    expect(out[0]?.completions.map((c) => c.advantage)).toEqual([0.75, -0.25]);
    expect(out[0]?.completions[1]?.oldLogprobs).toEqual([-1]);
    expect(out[1]?.auxiliary).toBe(true);
    expect(out[1]?.promptEmbeds).toBe(masked.embeds);
    expect(out[1]?.completions).toEqual([
      { tokens: [1, 2], advantage: -0.25 },
      { tokens: [3], advantage: -0.25 },
    ]);
  });
});
