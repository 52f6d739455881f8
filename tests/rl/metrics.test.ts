import { describe, expect, it } from 'vitest';
import { DEFAULT_TTRV_CONFIG } from '../../src/rl/config';
import {
  completionMetrics,
  csvField,
  guardNote,
  METRIC_NAMES,
  metricsToCsv,
  metricsToJson,
  type StepMetrics,
  voteMetrics,
} from '../../src/rl/metrics';

// Typed as StepMetrics, so the compiler insists that it lists every metric.
const STEP: StepMetrics = {
  step: 0,
  learning_rate: 0.0005,
  reward: 0.75,
  reward_std: 0.25,
  frac_reward_zero_std: 0.5,
  agreement: 0.875,
  answer_entropy: 0.5,
  distinct_answers: 1.5,
  guard_skipped: null,
  perception_gap: null,
  loss: -0.125,
  kl: null,
  entropy: 1.25,
  grad_norm: 2,
  'completions/mean_length': 5.75,
  'completions/clipped_ratio': 0.5,
  'clip_ratio/region_mean': 0,
  vote_ms: 120,
  train_ms: 340,
  step_time: 0.46,
};

describe('METRIC_NAMES', () => {
  it('lists every metric once, in the CSV column order', () => {
    expect(METRIC_NAMES).toEqual([
      'step',
      'learning_rate',
      'reward',
      'reward_std',
      'frac_reward_zero_std',
      'agreement',
      'answer_entropy',
      'distinct_answers',
      'guard_skipped',
      'perception_gap',
      'loss',
      'kl',
      'entropy',
      'grad_norm',
      'completions/mean_length',
      'completions/clipped_ratio',
      'clip_ratio/region_mean',
      'vote_ms',
      'train_ms',
      'step_time',
    ]);
    expect([...METRIC_NAMES].sort()).toEqual(Object.keys(STEP).sort());
  });
});

describe('voteMetrics', () => {
  // Prompt 1: votes A A B A, trained completions A A B with frequency rewards 3/4, 3/4, 1/4.
  // Prompt 2: unanimous C, rewards all 1.
  const prompts = [
    { votes: ['A', 'A', 'B', 'A'], rewards: [0.75, 0.75, 0.25] },
    { votes: ['C', 'C', 'C', 'C'], rewards: [1, 1, 1] },
  ];

  it('averages rewards over completions and the rest over prompts', () => {
    const m = voteMetrics(prompts);
    // (0.75 + 0.75 + 0.25 + 1 + 1 + 1) / 6 = 4.75 / 6
    expect(m.reward).toBeCloseTo(4.75 / 6, 14);
    // Prompt 1: mean 7/12, squared deviations 1/36 + 1/36 + 1/9 = 1/6, std sqrt(1/6 / 2)
    // = sqrt(1/12); prompt 2: 0; mean (sqrt(1/12) + 0) / 2 = 0.14433756729740643.
    expect(m.reward_std).toBeCloseTo(0.14433756729740643, 14);
    // Only prompt 2 has equal rewards.
    expect(m.frac_reward_zero_std).toBe(0.5);
    // (3/4 + 4/4) / 2
    expect(m.agreement).toBe(0.875);
    // Prompt 1: −(0.75 ln 0.75 + 0.25 ln 0.25) = 0.5623351446188083; prompt 2: 0.
    expect(m.answer_entropy).toBeCloseTo(0.5623351446188083 / 2, 14);
    // (2 + 1) / 2
    expect(m.distinct_answers).toBe(1.5);
  });

  it('throws on no prompts or a prompt without votes', () => {
    expect(() => voteMetrics([])).toThrow(RangeError);
    expect(() => voteMetrics([{ votes: [], rewards: [1] }])).toThrow(RangeError);
  });
});

describe('guardNote', () => {
  // 3 of 8 votes for A: a majority share of 37.5 %.
  const weak = ['A', 'A', 'A', 'B', 'B', 'C', 'D', 'E'];
  const strong = ['A', 'A', 'A', 'B'];

  it('names the majority share and the threshold of a skipped prompt', () => {
    expect(guardNote([weak], [true], 0.5)).toBe(
      'skipped by the guard (majority 37.5 % < guard_threshold 50 %): no update from this prompt',
    );
  });

  it('counts the skipped prompts of a step with several', () => {
    // Unanimous, 37.5 % and 75 % (A A A B) against a threshold of 80 %.
    expect(guardNote([['A', 'A'], weak, strong], [false, true, true], 0.8)).toBe(
      '2 of 3 prompts skipped by the guard (majority 37.5 %, 75 % < guard_threshold 80 %): ' +
        'no update from them',
    );
  });

  it('is null when the guard skipped nothing or the reward has none', () => {
    expect(guardNote([strong], [false], 0.5)).toBeNull();
    expect(guardNote([weak], null, 0.5)).toBeNull();
  });
});

describe('completionMetrics', () => {
  it('averages lengths and counts unterminated completions as clipped', () => {
    const m = completionMetrics([
      { tokens: 5, terminated: true },
      { tokens: 8, terminated: false },
      { tokens: 2, terminated: true },
      { tokens: 8, terminated: false },
    ]);
    // (5 + 8 + 2 + 8) / 4 = 23 / 4; 2 of 4 did not terminate.
    expect(m).toEqual({ 'completions/mean_length': 5.75, 'completions/clipped_ratio': 0.5 });
  });

  it('throws on no completions', () => {
    expect(() => completionMetrics([])).toThrow(RangeError);
  });
});

describe('csvField', () => {
  it('quotes per RFC 4180 only when needed and leaves null empty', () => {
    expect(csvField(null)).toBe('');
    expect(csvField(1.5)).toBe('1.5');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('x\ny')).toBe('"x\ny"');
    expect(csvField('x\ry')).toBe('"x\ry"');
  });
});

describe('metricsToCsv', () => {
  it('writes the header and one row per step with CRLF line ends', () => {
    const csv = metricsToCsv([
      STEP,
      { ...STEP, step: 1, guard_skipped: 2, perception_gap: 0.75, kl: 0.002 },
    ]);
    expect(csv).toBe(
      'step,learning_rate,reward,reward_std,frac_reward_zero_std,agreement,answer_entropy,' +
        'distinct_answers,guard_skipped,perception_gap,loss,kl,entropy,grad_norm,completions/mean_length,' +
        'completions/clipped_ratio,clip_ratio/region_mean,vote_ms,train_ms,step_time\r\n' +
        // guard_skipped, perception_gap and kl null → empty cells.
        '0,0.0005,0.75,0.25,0.5,0.875,0.5,1.5,,,-0.125,,1.25,2,5.75,0.5,0,120,340,0.46\r\n' +
        '1,0.0005,0.75,0.25,0.5,0.875,0.5,1.5,2,0.75,-0.125,0.002,1.25,2,5.75,0.5,0,120,340,0.46\r\n',
    );
  });

  it('writes only the header for no steps', () => {
    expect(metricsToCsv([])).toBe(`${METRIC_NAMES.join(',')}\r\n`);
  });
});

describe('metricsToJson', () => {
  it('writes {config, steps} with a 2-space indent', () => {
    const json = metricsToJson([STEP], DEFAULT_TTRV_CONFIG);
    expect(JSON.parse(json)).toEqual({ config: DEFAULT_TTRV_CONFIG, steps: [STEP] });
    expect(json.startsWith('{\n  "config": {\n    "num_votes"')).toBe(true);
  });

  it('writes config null when none is given', () => {
    expect(JSON.parse(metricsToJson([STEP]))).toEqual({ config: null, steps: [STEP] });
  });
});
