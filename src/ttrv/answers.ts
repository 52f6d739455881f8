// The answers a model gives to a prompt, as TTRV and the page read them: num_votes sampled
// completions and their extracted answers (a step's votes), the greedy answer (what the spec calls
// the model's answer, and what dataset mode scores), and the distribution of the votes. One step
// (./step.ts), the compare panel and dataset mode's scores all answer through here.
import type { Adapter } from '../engine';
import { sample } from '../engine';
import type { AnswerShare, AnswerSummary } from '../protocol';
import { extractAnswer } from '../rl/answers';
import type { TtrvConfig } from '../rl/config';
import { countVotes } from '../rl/rewards';
import type { PreparedPrompt, VisionLanguageModel } from '../vlm/visionLanguageModel';
import { decodeCompletion } from '../vlm/visionLanguageModel';

/** A prompt's sampled completions: what a step votes and trains on. */
export type Votes = {
  answers: string[];
  tokens: number[][];
  /** Per-token log-probs under the sampling policy (logp_old when num_iterations > 1). */
  logprobs: number[][];
  /** Whether each completion ended with an end-of-sequence token (else it was cut). */
  terminated: boolean[];
};

/** A distinct seed for every (run seed, step, prompt), so runs are reproducible. */
export function stepSeed(seed: number, step: number, prompt: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ prompt) >>> 0;
}

/**
 * The step whose seeds evaluation draws from (the compare panel, dataset mode's avg@16 and
 * maj@32): no training step has it, so evaluating never repeats a step's votes, and the same run
 * seed evaluates with the same draws.
 */
const EVALUATION_STEP = -1;

/** The seed of the evaluation samples of prompt `prompt` in a run seeded `seed`. */
export function evaluationSeed(seed: number, prompt: number): number {
  return stepSeed(seed, EVALUATION_STEP, prompt);
}

/** The answers and how many votes each got, most votes first (ties in alphabetical order). */
export function answerDistribution(answers: readonly string[]): AnswerShare[] {
  return [...countVotes(answers)]
    .map(([answer, count]) => ({ answer, count }))
    .sort((a, b) => b.count - a.count || a.answer.localeCompare(b.answer));
}

/** `config.num_votes` completions of `prompt` sampled from `seed`, and their extracted answers. */
export async function vote(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompt: PreparedPrompt,
  config: TtrvConfig,
  seed: number,
  signal?: AbortSignal,
): Promise<Votes> {
  const samples = await sample(vlm.text, adapter, prompt.embeds, {
    numRows: config.num_votes,
    maxNewTokens: config.max_completion_length,
    temperature: config.temperature,
    topK: config.top_k,
    topP: config.top_p,
    seed,
    signal,
  });
  const eos = new Set(vlm.text.config.eosTokenIds);
  return {
    answers: samples.tokens.map((t) => extractAnswer(decodeCompletion(vlm, t), prompt.question)),
    tokens: samples.tokens,
    logprobs: samples.logprobs,
    terminated: samples.tokens.map((t) => t.length > 0 && eos.has(t.at(-1) as number)),
  };
}

/**
 * The greedy (temperature 0) completion of `prompt` and the answer extracted from it: the model's
 * answer, as the spec scores it.
 */
export async function greedyAnswer(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompt: PreparedPrompt,
  maxNewTokens: number,
  signal?: AbortSignal,
): Promise<{ text: string; answer: string }> {
  const { tokens } = await sample(vlm.text, adapter, prompt.embeds, {
    numRows: 1,
    maxNewTokens,
    temperature: 0,
    seed: 0,
    signal,
  });
  const text = decodeCompletion(vlm, tokens[0] ?? []);
  return { text, answer: extractAnswer(text, prompt.question) };
}

/** The greedy answer to each prompt (greedyAnswer), one prompt after another. */
export async function greedyAnswers(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompts: readonly PreparedPrompt[],
  maxNewTokens: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const answers: string[] = [];
  for (const prompt of prompts) {
    answers.push((await greedyAnswer(vlm, adapter, prompt, maxNewTokens, signal)).answer);
  }
  return answers;
}

/** `rows` extracted answers to each prompt, sampled at the config's temperature (evaluation). */
export async function sampledAnswers(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompts: readonly PreparedPrompt[],
  config: TtrvConfig,
  rows: number,
  signal?: AbortSignal,
): Promise<string[][]> {
  const answers: string[][] = [];
  const sampling = { ...config, num_votes: rows };
  for (const [i, prompt] of prompts.entries()) {
    const seed = evaluationSeed(config.seed, i);
    answers.push((await vote(vlm, adapter, prompt, sampling, seed, signal)).answers);
  }
  return answers;
}

/** Greedy answer and the distribution of num_votes sampled answers, for base or adapted. */
export async function summarizeAnswers(
  vlm: VisionLanguageModel,
  adapter: Adapter | null,
  prompt: PreparedPrompt,
  config: TtrvConfig,
  signal?: AbortSignal,
): Promise<AnswerSummary> {
  const greedy = await greedyAnswer(vlm, adapter, prompt, config.max_completion_length, signal);
  const sampled = await vote(vlm, adapter, prompt, config, evaluationSeed(config.seed, 0), signal);
  return {
    greedy: greedy.answer,
    greedyText: greedy.text,
    distribution: answerDistribution(sampled.answers),
    votes: sampled.answers.length,
  };
}
