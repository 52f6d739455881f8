// Inside a step (the completions table): on the shipped demo model in Node on Wasm, every vote of
// every prompt comes back with its answer, reward, advantage, whether it was trained, and its
// per-token log-probs before and after the update, for a reward from votes, from views and with
// the perception term. With a learning rate of 0 the adapter does not move, so "after"
// (teacher-forced) must equal "before" (as sampled): the two are the same quantity.
import type { RawImage } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loraSettingsOf } from '../../src/layout/loraSettings';
import type { StepCompletion } from '../../src/protocol';
import { mean } from '../../src/rl/stats';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';
import { addedViews, disposeTrainState, freshTrainState, ttrvStep } from '../../src/ttrv/step';
import type { PreparedPrompt, VisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { preparePrompt, prepareViewPrompts } from '../../src/vlm/visionLanguageModel';
import { type NodeApp, openNodeApp } from '../../tools/lib/node-app';
import { firstCleanSample } from './sample-image';

const BASE: PlaygroundSettings = {
  ...DEFAULT_SETTINGS,
  num_votes: 4,
  num_generations: 2,
  max_completion_length: 4,
  num_views: 2,
};
const QUESTION = 'What color is the star?';

describe('a step’s completions', () => {
  let app: NodeApp;
  let vlm: VisionLanguageModel;
  let image: RawImage;
  const made: PreparedPrompt[] = [];

  beforeAll(async () => {
    app = await openNodeApp('wasm');
    vlm = app.vlm;
    image = await firstCleanSample();
  });

  afterAll(async () => {
    for (const prompt of made) prompt.embeds.dispose();
    await app?.close();
  });

  const stepOf = async (config: PlaygroundSettings): Promise<StepCompletion[]> => {
    const original = await preparePrompt(vlm, image, QUESTION);
    const views = [
      original,
      ...(await prepareViewPrompts(vlm, image, QUESTION, addedViews(config))),
    ];
    made.push(...views);
    const state = freshTrainState(vlm, loraSettingsOf(config), config.seed);
    const outcome = await ttrvStep(vlm, state, [views], config, 0, undefined, true);
    disposeTrainState(outcome.state);
    expect(outcome.completions).not.toBeNull();
    const rows = outcome.completions as StepCompletion[];
    // The trained rows' rewards are the step's rewards.
    const trained = rows.filter((r) => r.reward !== null).map((r) => r.reward as number);
    expect(mean(trained)).toBeCloseTo(outcome.metrics.reward, 12);
    return rows;
  };

  for (const reward of ['ttrv', 'view_consistency', 'perception'] as const) {
    it(`reports every vote under ${reward}`, async () => {
      const rows = await stepOf({ ...BASE, reward });
      const prompts = reward === 'view_consistency' ? BASE.num_views : 1;
      expect(rows).toHaveLength(prompts * BASE.num_votes);
      expect(new Set(rows.map((r) => r.view)).size).toBe(prompts);
      for (const [k, row] of rows.entries()) {
        const inGroup = k % BASE.num_votes < BASE.num_generations;
        expect(row.trained).toBe(inGroup);
        expect(row.reward === null).toBe(!inGroup);
        expect(row.advantage === null).toBe(!inGroup);
        expect(row.tokens.length).toBeGreaterThan(0);
        expect(row.before).toHaveLength(row.tokens.length);
        expect(row.after).toHaveLength(row.tokens.length);
        expect(row.after.every(Number.isFinite)).toBe(true);
      }
    });
  }

  it('log-probs after a step that moves nothing equal those sampled before it', async () => {
    const rows = await stepOf({ ...BASE, reward: 'perception', learning_rate: 0 });
    for (const row of rows) {
      row.after.forEach((after, t) => {
        expect(after).toBeCloseTo(row.before[t] as number, 3);
      });
    }
  });
});
