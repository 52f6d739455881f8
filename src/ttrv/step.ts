// One TTRV step, docs/ttrv.md §1: vote (sample num_votes completions per prompt), extract answers, reward
// the first num_generations (by agreement or by the policy's confidence, the chosen reward), GRPO
// advantages, and one LoRA update. Images share nothing but the adapter, so single-example and
// dataset mode are the same code with 1 or N images; each image is one prompt, or one per view
// under view_consistency, whose views pool their votes; under perception the image's masked view
// re-scores its trained completions (perceptionGroups).
import { tree } from '@jax-js/jax';
import type { GrpoOptions, PromptGroup, TrainState } from '../engine';
import {
  completionLogprobs,
  exportLoraTensors,
  grpoStep,
  initLora,
  initTrainState,
} from '../engine';
import { PlaygroundError } from '../errors';
import type { Float32Tensor } from '../formats/safetensors';
import { augmentedViewPlans, MASKED_VIEW, type ViewPlan } from '../image/augment';
import type { LoraSettings } from '../layout/loraSettings';
import type { TextLayout } from '../layout/textLayout';
import type { StepCompletion, StepReport, ViewVotes } from '../protocol';
import { computeAdvantages } from '../rl/advantages';
import type { TtrvConfig } from '../rl/config';
import type { StepMetrics } from '../rl/metrics';
import { completionMetrics, guardNote, voteMetrics } from '../rl/metrics';
import { guardedPrompts, imageRewards, REWARDS } from '../rl/rewards';
import { learningRateAt } from '../rl/schedule';
import type { PreparedPrompt, VisionLanguageModel } from '../vlm/visionLanguageModel';
import { decodeCompletion } from '../vlm/visionLanguageModel';
import { answerDistribution, stepSeed, type Votes, vote } from './answers';

/** Rows per jit(valueAndGrad) call: bounds activation memory whatever num_generations is. */
const TRAIN_MICROBATCH = 8;

/** The engine's options for one GRPO update under these settings, at the step's `learningRate`. */
export function grpoOptions(config: TtrvConfig, learningRate: number): GrpoOptions {
  return {
    lossType: config.loss_type,
    learningRate,
    maxGradNorm: config.max_grad_norm,
    microBatchSize: TRAIN_MICROBATCH,
    epsilon: config.epsilon,
    beta: config.beta,
    entropyCoef: config.entropy_coef,
    temperature: config.temperature,
    adamw: { weightDecay: config.weight_decay },
  };
}

/**
 * One image's prompts, one per view: view 0 is the image itself; view_consistency adds augmented
 * views, perception the masked image (addedViews).
 */
export type PromptViews = readonly PreparedPrompt[];

/**
 * The views each image gets besides itself: num_views − 1 augmented ones for a reward computed
 * from views (view_consistency), the masked image for perception, none for the others. The same
 * plans for every image of a run, drawn from its seed, so a run is reproducible and its view k
 * means one thing.
 */
export function addedViews(
  config: Pick<TtrvConfig, 'reward' | 'num_views' | 'view_augmentations' | 'seed'>,
): ViewPlan[] {
  const { input } = REWARDS[config.reward];
  if (input === 'masked') return [MASKED_VIEW];
  if (input !== 'views') return [];
  return augmentedViewPlans(config);
}

/**
 * The perception term (PAPO / DVRP style) as GRPO groups: the loss gains
 *   −γ · Σ_t w_t · (logp(y_t | image) − logp(y_t | masked image))
 * over the trained completions, so answers that the image makes likelier are pushed up and the
 * same answers without the image are pushed down. With ratio 1 the policy-gradient term of a
 * completion with advantage A is −A · logp, so the term is the image's groups with every
 * advantage raised by γ, and one auxiliary group per image (src/engine/train.ts) holding the same
 * completions after the masked image with advantage −γ. tests/engine/perception-gradcheck.gpu.test.ts
 * checks that gradient against finite differences.
 */
export function perceptionGroups(
  groups: readonly PromptGroup[],
  masked: readonly PreparedPrompt[],
  coef: number,
): PromptGroup[] {
  const raised = groups.map((g) => ({
    ...g,
    completions: g.completions.map((c) => ({ ...c, advantage: c.advantage + coef })),
  }));
  const auxiliary = groups.map((g, i) => ({
    promptEmbeds: (masked[i] as PreparedPrompt).embeds,
    auxiliary: true,
    completions: g.completions.map((c) => ({ tokens: c.tokens, advantage: -coef })),
  }));
  return [...raised, ...auxiliary];
}

export function stepReport(outcome: StepOutcome, promptMs = 0): StepReport {
  return {
    promptMs,
    metrics: outcome.metrics,
    distribution: answerDistribution(outcome.votes.flat()),
    views: outcome.views,
    skipped: outcome.skipped,
    guard: outcome.guard,
    completions: outcome.completions,
  };
}

export type StepOutcome = {
  state: TrainState;
  metrics: StepMetrics;
  /** Every vote's answer, per prompt (every view of every image). */
  votes: string[][];
  /** Per image, each view's votes (view_consistency), or null. */
  views: ViewVotes[][] | null;
  /** Why the update was skipped (non-finite loss or gradient), or null. */
  skipped: string | null;
  /** Which prompts the guard skipped and why, in words (guarded_majority), or null. */
  guard: string | null;
  /** Every vote as the completions table shows it (`inspect`), or null. */
  completions: StepCompletion[] | null;
};

/**
 * Every vote of the step with its reward, advantage and per-token log-probs before the update (as
 * sampled) and after it (teacher-forced under the updated adapter, at the sampling temperature, so
 * the two are the same quantity): one forward pass over the votes.
 */
async function inspectCompletions(
  vlm: VisionLanguageModel,
  after: TrainState,
  prompts: readonly PreparedPrompt[],
  voted: readonly Votes[],
  groups: readonly { completions: readonly { advantage: number }[] }[],
  rewards: readonly number[][],
  trainedPrompt: (i: number) => boolean,
  config: TtrvConfig,
): Promise<StepCompletion[]> {
  const rows: StepCompletion[] = [];
  for (const [i, prompt] of prompts.entries()) {
    const votes = voted[i] as Votes;
    const { logprobs } = await completionLogprobs(
      vlm.text,
      after.adapter,
      prompt.embeds,
      votes.tokens,
      { temperature: config.temperature, microBatchSize: TRAIN_MICROBATCH },
    );
    votes.tokens.forEach((tokens, j) => {
      const inGroup = j < config.num_generations;
      rows.push({
        prompt: i,
        view: prompt.view,
        text: decodeCompletion(vlm, tokens),
        answer: votes.answers[j] ?? '',
        reward: inGroup ? (rewards[i]?.[j] ?? null) : null,
        advantage: inGroup ? (groups[i]?.completions[j]?.advantage ?? null) : null,
        trained: inGroup && trainedPrompt(i),
        tokens: tokens.map((t) => decodeCompletion(vlm, [t])),
        before: votes.logprobs[j] ?? [],
        after: logprobs[j] ?? [],
      });
    });
  }
  return rows;
}

export async function ttrvStep(
  vlm: VisionLanguageModel,
  state: TrainState,
  images: readonly PromptViews[],
  config: TtrvConfig,
  /** 0-based TTRV step (an optimiser step per iteration may happen several times within one). */
  step: number,
  /** Stops the votes between tokens; once they are in, the update runs to its end. */
  signal?: AbortSignal,
  /** Also report every completion for the completions table (StepCompletion). */
  inspect = false,
): Promise<StepOutcome> {
  const started = performance.now();
  // Under perception an image's second prompt is its masked view: it is not voted on, it only
  // re-scores the image's completions.
  const perception = REWARDS[config.reward].input === 'masked';
  const voters = perception ? images.map((views) => views.slice(0, 1)) : images;
  const masked = perception ? images.map((views) => views[1] as PreparedPrompt) : [];
  // Every view of every image is a prompt of its own: its votes, its GRPO group, its seed (the
  // prompt's index, so a step with one view per image draws what it drew before views existed).
  const prompts = voters.flat();
  const votedPerImage: Votes[][] = [];
  let index = 0;
  for (const views of voters) {
    const voted: Votes[] = [];
    for (const prompt of views) {
      const seed = stepSeed(config.seed, step, index++);
      voted.push(await vote(vlm, state.adapter, prompt, config, seed, signal));
    }
    votedPerImage.push(voted);
  }
  signal?.throwIfAborted();
  const voteMs = performance.now() - started;

  const voted = votedPerImage.flat();
  const rewards = votedPerImage.flatMap((views) => imageRewards(views, config));
  const answers = voted.map((v) => v.answers);
  // Agreement, answer entropy and distinct answers describe an image's votes over all its views:
  // the pool view_consistency rewards by (one view: its own votes).
  const pooled = votedPerImage.flatMap((views) => {
    const all = views.flatMap((v) => v.answers);
    return views.map(() => all);
  });
  const guarded = guardedPrompts(answers, config);
  const advantages = computeAdvantages(
    rewards,
    config.baseline,
    config.scale_rewards,
    guarded ?? [],
  );
  const trained = voted.map((v) => ({
    tokens: v.tokens.slice(0, config.num_generations),
    logprobs: v.logprobs.slice(0, config.num_generations),
    terminated: v.terminated.slice(0, config.num_generations),
  }));
  // With one update per batch logp_old is the current policy's (ratio 1); with more, the
  // sampling policy's, so the clip acts (docs/ttrv.md §1.6).
  const reuse = config.num_iterations > 1;
  const policyGroups = prompts.map((prompt, i) => ({
    promptEmbeds: prompt.embeds,
    completions: (trained[i]?.tokens ?? []).map((tokens, j) => ({
      tokens,
      advantage: advantages[i]?.[j] ?? 0,
      oldLogprobs: reuse ? trained[i]?.logprobs[j] : undefined,
    })),
  }));
  const groups = perception
    ? perceptionGroups(policyGroups, masked, config.perception_coef)
    : policyGroups;
  const learningRate = learningRateAt(step, config);
  const trainStarted = performance.now();
  const options = grpoOptions(config, learningRate);
  const update = (from: TrainState) => grpoStep(vlm.text, from, groups, options);
  let result = await update(state);
  for (let k = 1; k < config.num_iterations && !result.skipped; k++) {
    result = await update(result.state);
  }
  const trainMs = performance.now() - trainStarted;
  const completions = inspect
    ? await inspectCompletions(
        vlm,
        result.state,
        prompts,
        voted,
        groups,
        rewards,
        (i) => !result.skipped && !guarded?.[i],
        config,
      )
    : null;
  const lengths = trained.flatMap((t) =>
    t.tokens.map((tokens, j) => ({ tokens: tokens.length, terminated: t.terminated[j] ?? false })),
  );
  const metrics: StepMetrics = {
    step: step + 1,
    learning_rate: learningRate,
    ...voteMetrics(pooled.map((votes, i) => ({ votes, rewards: rewards[i] ?? [] }))),
    guard_skipped: guarded === null ? null : guarded.filter(Boolean).length,
    perception_gap: perception ? result.metrics.logp - result.metrics.auxiliaryLogp : null,
    loss: result.metrics.loss,
    kl: config.beta > 0 ? result.metrics.kl : null,
    entropy: result.metrics.entropy,
    grad_norm: result.metrics.gradNorm,
    ...completionMetrics(lengths),
    'clip_ratio/region_mean': result.metrics.clipFraction,
    vote_ms: voteMs,
    train_ms: trainMs,
    step_time: (performance.now() - started) / 1000,
  };
  return {
    state: result.state,
    metrics,
    votes: answers,
    views:
      REWARDS[config.reward].input === 'views'
        ? votedPerImage.map((views, i) =>
            views.map((v, k) => ({
              view: voters[i]?.[k]?.view ?? '',
              distribution: answerDistribution(v.answers),
              votes: v.answers.length,
            })),
          )
        : null,
    skipped: result.skipped,
    guard: guardNote(answers, guarded, config.guard_threshold),
    completions,
  };
}

/** A fresh adapter (PEFT init: B = 0, so it starts as the base model) and its optimiser state. */
export function freshTrainState(
  vlm: VisionLanguageModel,
  lora: LoraSettings,
  seed: number,
): TrainState {
  return initTrainState({ config: lora, params: initLora(vlm.text.config, lora, seed) });
}

export function disposeTrainState(state: TrainState): void {
  tree.dispose([state.adapter.params, state.moments]);
}

/**
 * The adapter's tensors copied to the CPU: what export and a failed step fall back on. A finite
 * loss and gradient can still overflow the update itself (a huge learning_rate); such an adapter
 * would only ever answer garbage, so it is disposed and refused here.
 */
export async function checkedAdapterTensors(
  model: TextLayout,
  state: TrainState,
  config: Pick<TtrvConfig, 'learning_rate'>,
): Promise<Float32Tensor[]> {
  const tensors = await exportLoraTensors(model, state.adapter.params);
  if (tensors.every((t) => t.data.every(Number.isFinite))) return tensors;
  disposeTrainState(state);
  throw new PlaygroundError(
    'non-finite',
    `The update made the adapter's weights non-finite (is learning_rate ${config.learning_rate} too large?). It was undone; the adapter is the last good one.`,
  );
}
