// Dataset mode (spec §3), the GPU half: greedy answers for a split's prompts, and adaptation steps
// over batches of them. Scoring against labels lives in src/rl/datasetItems.ts.
import type { Adapter } from '../engine/model';
import { sample } from '../engine/sampling';
import type { TrainState } from '../engine/train';
import { extractAnswer } from '../rl/answers';
import type { TtrvConfig } from '../rl/config';
import type { StepMetrics } from '../rl/metrics';
import { ttrvStep } from './ttrvStep';
import type { PreparedPrompt, VisionLanguageModel } from './visionLanguageModel';
import { decodeCompletion } from './visionLanguageModel';

/** The greedy (temperature 0) extracted answer to each prompt: the "adapted answer" of the spec. */
export async function greedyAnswers(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompts: readonly PreparedPrompt[],
  maxNewTokens: number,
): Promise<string[]> {
  const answers: string[] = [];
  for (const prompt of prompts) {
    const { tokens } = await sample(vlm.text, adapter, prompt.embeds, {
      numRows: 1,
      maxNewTokens,
      temperature: 0,
      seed: 0,
    });
    answers.push(extractAnswer(decodeCompletion(vlm, tokens[0] ?? []), prompt.question));
  }
  return answers;
}

/** One TTRV step per batch of prompt indices (see src/rl/datasetSchedule.ts). */
export async function adaptOnDataset(
  vlm: VisionLanguageModel,
  state: TrainState,
  prompts: readonly PreparedPrompt[],
  batches: readonly number[][],
  config: TtrvConfig,
  onStep: (metrics: StepMetrics, skipped: string | null) => void = () => {},
): Promise<TrainState> {
  let current = state;
  for (const [step, batch] of batches.entries()) {
    const chosen = batch.map((i) => prompts[i] as PreparedPrompt);
    const outcome = await ttrvStep(vlm, current, chosen, config, step);
    current = outcome.state;
    onStep(outcome.metrics, outcome.skipped);
  }
  return current;
}
