// The vectors that hold the exported Python rewards (python/ttrv_rewards.py) to src/rl: answers
// and rewards computed here from fixed inputs, written to python/ttrv_reward_vectors.json; a
// TypeScript test checks the file against src/rl and `ttrv_rewards.py --self-test` checks Python
// against the same file.
import { extractAnswer } from '../rl/answers';
import {
  agreement,
  confidenceRewards,
  entropyReward,
  frequencyRewards,
  guardedMajorityRewards,
  majorityRewards,
  ttrvRewards,
} from '../rl/rewards';

const CHOICE =
  'Which shape is red?\nA. circle\nB. square\nC. star\nD. triangle\nAnswer with the letter.';
const RECOGNITION =
  'Look at the given image and identify what it shows. Choose the correct answer from the options ' +
  'below and respond with only the corresponding option letter (A, B, C, or D). Do not include any ' +
  'explanation or extra text. Options: A. red circle B. blue star C. red star D. green square';
const COLOR = 'What color is the star?';
const COUNT = 'How many shapes are there?';
const PRESENCE = 'Is there a blue circle?';

/** Completions whose extracted answers both sides must agree on: every rule of docs/ttrv.md §2. */
const EXTRACTION_CASES: [completion: string, question: string][] = [
  ...[
    'B',
    ' B<end_of_utterance>',
    'b',
    'The answer is d',
    'A or maybe C.',
    'B. square',
    'It is square. C',
    '(C)',
    'D) triangle',
    'C_D',
    'A1',
    'C, not ÉA',
    'square',
    'It is square.',
    '  Paris \n',
    '<end_of_utterance>',
    '',
    '<|im_start|>assistant: a<|im_end|>',
    'ß A',
  ].map((c): [string, string] => [c, CHOICE]),
  ...['B', 'It is red circle. A', 'red star', 'The answer is C<end_of_utterance>'].map(
    (c): [string, string] => [c, RECOGNITION],
  ),
  ...[
    'red',
    'Red.',
    'It is red.',
    '  The Cat.<end_of_utterance>',
    'an Apple',
    'a',
    'Theater',
    'red \n\t  car',
    'Three   dogs<|im_end|>',
    '2.5.',
    'constructor',
    'purple\u00a0',
    '\ufeffgreen',
  ].map((c): [string, string] => [c, COLOR]),
  ...['3', 'three', 'There are three.', 'ten', 'one two', 'There is one.'].map(
    (c): [string, string] => [c, COUNT],
  ),
  ...['yes', 'Yes, there is.', 'NO!', 'no', 'I see it.', 'nope', 'yes-ish'].map(
    (c): [string, string] => [c, PRESENCE],
  ),
];

/** Groups of votes: ties, a single answer, unextractable replies, num_generations below and at
 * the number of votes; guard thresholds above, below and exactly at the majority's share. */
const REWARD_CASES: {
  question: string;
  completions: string[];
  num_generations: number;
  alpha: number;
  guard_threshold: number;
}[] = [
  {
    question: CHOICE,
    completions: ['B', 'B. square', 'The answer is C', 'square', 'It is square. B', 'A', 'B', 'D'],
    num_generations: 4,
    alpha: 0.75,
    // B holds 4 of 8: exactly at the threshold, so it passes.
    guard_threshold: 0.5,
  },
  {
    question: CHOICE,
    completions: ['A', 'B', 'B', 'A'],
    num_generations: 4,
    alpha: 0.75,
    guard_threshold: 0.6,
  },
  {
    question: COLOR,
    completions: ['red', 'Red.', 'It is red.', 'blue'],
    num_generations: 4,
    alpha: 0,
    guard_threshold: 0.5,
  },
  {
    question: COLOR,
    completions: ['red', 'red', 'red'],
    num_generations: 2,
    alpha: 0.75,
    guard_threshold: 1,
  },
  {
    question: COUNT,
    completions: ['3', 'three', '', '4', 'four', 'There are three.'],
    num_generations: 6,
    alpha: 1.5,
    guard_threshold: 0.3,
  },
  {
    question: PRESENCE,
    completions: ['yes', 'no', 'Yes, there is.', 'I see it.', 'no'],
    num_generations: 3,
    alpha: 0.75,
    // 2 of 5 is the double nearest 0.4 on both sides: at the threshold, not below it.
    guard_threshold: 0.4,
  },
  {
    question: RECOGNITION,
    completions: ['B', 'C', 'D', 'A'],
    num_generations: 4,
    alpha: 0.75,
    guard_threshold: 0.5,
  },
];

/** Sampled tokens' log-probs: an empty completion, all empty, an untrained lowest one, equal
 * values (whose mean must be the value itself). */
const CONFIDENCE_CASES: { logprobs: number[][]; num_generations: number }[] = [
  { logprobs: [[-0.1, -0.3], [-2, -1, -3], [], [-0.7]], num_generations: 4 },
  { logprobs: [[], []], num_generations: 2 },
  { logprobs: [[-0.5], [], [-1.5], [-10]], num_generations: 3 },
  {
    logprobs: [
      [-0.1, -0.1, -0.1],
      [-1.2345e-5, -3.25, -0.015625],
    ],
    num_generations: 2,
  },
];

export type RewardVectors = {
  source: string;
  extraction: { completion: string; question: string; answer: string }[];
  rewards: ((typeof REWARD_CASES)[number] & {
    answers: string[];
    agreement: number;
    entropy_reward: number;
    ttrv: number[];
    frequency: number[];
    majority: number[];
    guarded_majority: number[];
  })[];
  confidence: ((typeof CONFIDENCE_CASES)[number] & { confidence: number[] })[];
};

/** The vectors, computed by src/rl now. */
export function rewardVectors(): RewardVectors {
  return {
    source: 'TTRV Playground src/rl (src/trl/rewardVectors.ts)',
    extraction: EXTRACTION_CASES.map(([completion, question]) => ({
      completion,
      question,
      answer: extractAnswer(completion, question),
    })),
    rewards: REWARD_CASES.map((c) => {
      const answers = c.completions.map((completion) => extractAnswer(completion, c.question));
      return {
        ...c,
        answers,
        agreement: agreement(answers),
        entropy_reward: entropyReward(answers),
        ttrv: ttrvRewards(answers, c.num_generations, c.alpha),
        frequency: frequencyRewards(answers, c.num_generations),
        majority: majorityRewards(answers, c.num_generations),
        guarded_majority: guardedMajorityRewards(answers, c.num_generations, c.guard_threshold),
      };
    }),
    confidence: CONFIDENCE_CASES.map((c) => ({
      ...c,
      confidence: confidenceRewards(c.logprobs, c.num_generations),
    })),
  };
}
