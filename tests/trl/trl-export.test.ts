import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { protocolBatches, TTRV_PROTOCOL } from '../../src/dataset/schedule';
import { DEFAULT_SETTINGS, type PlaygroundSettings } from '../../src/settings';
import { type TrlItem, trlBundle, trlSelection } from '../../src/trl/bundle';
import { pythonLiteral, targetModulesRegex, trlRecipe } from '../../src/trl/mapping';
import { rewardVectors } from '../../src/trl/rewardVectors';
import { exportTrl, VECTORS_FILE } from '../../tools/bin/export-trl';

const scratch = mkdtempSync(path.join(tmpdir(), 'ttrv-trl-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Settings with a distinct value in every field, so a field mapped from the wrong one shows. */
const RUN_SETTINGS: PlaygroundSettings = {
  ...DEFAULT_SETTINGS,
  num_votes: 24,
  num_generations: 12,
  temperature: 0.9,
  top_p: 0.95,
  top_k: 40,
  max_completion_length: 10,
  reward: 'guarded_majority',
  alpha: 0.5,
  guard_threshold: 0.65,
  beta: 0.004,
  epsilon: 0.3,
  num_iterations: 2,
  scale_rewards: 'batch',
  entropy_coef: -0.01,
  learning_rate: 0.002,
  lr_scheduler_type: 'cosine',
  warmup_steps: 3,
  max_steps: 17,
  max_grad_norm: 0.5,
  weight_decay: 0.02,
  seed: 7,
  r: 4,
  lora_alpha: 12,
  lora_dropout: 0.05,
  target_modules: ['q_proj', 'v_proj'],
};

const mapped = (settings: readonly { name: string; value: unknown }[], name: string) =>
  settings.find((s) => s.name === name)?.value;

describe('TRL mapping', () => {
  const recipe = trlRecipe(RUN_SETTINGS, { kind: 'image' });

  it('maps every setting that TRL and PEFT share by name', () => {
    for (const name of [
      'temperature',
      'top_p',
      'top_k',
      'max_completion_length',
      'beta',
      'epsilon',
      'num_iterations',
      'scale_rewards',
      'entropy_coef',
      'learning_rate',
      'lr_scheduler_type',
      'warmup_steps',
      'max_steps',
      'max_grad_norm',
      'weight_decay',
      'seed',
    ] as const) {
      expect(mapped(recipe.grpo, name), name).toBe(RUN_SETTINGS[name]);
    }
    for (const name of ['r', 'lora_alpha', 'lora_dropout'] as const) {
      expect(mapped(recipe.lora, name), name).toBe(RUN_SETTINGS[name]);
    }
    for (const name of ['reward', 'alpha', 'guard_threshold', 'early_stop_agreement'] as const) {
      expect(mapped(recipe.ttrv, name), name).toBe(RUN_SETTINGS[name]);
    }
    expect(mapped(recipe.ttrv, 'prompts_per_step')).toBe(1);
  });

  it('maps what has no equal name to the nearest TRL setting and says what differs', () => {
    // TRL trains every sampled completion: its num_generations is the number of votes.
    expect(mapped(recipe.grpo, 'num_generations')).toBe(24);
    expect(recipe.differences.join(' ')).toMatch(/trains on the first 12/);
    expect(mapped(recipe.grpo, 'loss_type')).toBe('dapo');
    expect(
      mapped(
        trlRecipe({ ...RUN_SETTINGS, loss_type: 'sequence_mean' }, { kind: 'image' }).grpo,
        'loss_type',
      ),
    ).toBe('grpo');
    expect(
      mapped(trlRecipe({ ...RUN_SETTINGS, top_k: null }, { kind: 'image' }).grpo, 'top_k'),
    ).toBe(0);
    const batch = trlRecipe({ ...RUN_SETTINGS, baseline: 'batch' }, { kind: 'image' });
    expect(batch.differences.join(' ')).toMatch(/baseline "batch" has no TRL equivalent/);
    expect(recipe.differences.join(' ')).not.toMatch(/baseline/);
  });

  it('refuses the confidence reward (log-probs) and view_consistency (views), which a TRL reward function is not given', () => {
    expect(() => trlRecipe({ ...RUN_SETTINGS, reward: 'confidence' }, { kind: 'image' })).toThrow(
      /^The "confidence" reward cannot be exported to TRL: .*log-probs.* Choose another reward \(ttrv, frequency, majority, guarded_majority\)/,
    );
    expect(() =>
      trlRecipe({ ...RUN_SETTINGS, reward: 'view_consistency' }, { kind: 'image' }),
    ).toThrow(
      /^The "view_consistency" reward cannot be exported to TRL: it pools the votes of augmented views .* Choose another reward \(ttrv, frequency, majority, guarded_majority\)/,
    );
    expect(() => trlRecipe({ ...RUN_SETTINGS, reward: 'perception' }, { kind: 'image' })).toThrow(
      /^The "perception" reward cannot be exported to TRL: its perception term re-scores every completion after a masked image/,
    );
    // The guard's batch std differs only under batch scaling.
    expect(recipe.differences.join(' ')).toMatch(/TRL's batch std includes the zero rewards/);
    const groupScaled = trlRecipe({ ...RUN_SETTINGS, scale_rewards: 'group' }, { kind: 'image' });
    expect(groupScaled.differences.join(' ')).not.toMatch(/guard/);
  });

  it('takes votes, epochs and prompts per step from a dataset protocol', () => {
    const dataset = trlRecipe(RUN_SETTINGS, { kind: 'dataset', protocol: TTRV_PROTOCOL });
    expect(mapped(dataset.grpo, 'num_generations')).toBe(32);
    // Dataset mode has its own learning rate, the protocol's.
    expect(mapped(dataset.grpo, 'learning_rate')).toBe(TTRV_PROTOCOL.learning_rate);
    expect(mapped(dataset.grpo, 'num_train_epochs')).toBe(2);
    expect(mapped(dataset.grpo, 'max_steps')).toBe(-1);
    expect(mapped(dataset.ttrv, 'prompts_per_step')).toBe(8);
    expect(mapped(dataset.ttrv, 'early_stop_agreement')).toBeNull();
    // 20 items at 8 per step: TRL drops the last 4 of each epoch.
    expect(dataset.differences.join(' ')).toMatch(/drops an epoch's incomplete last batch/);
    const single = trlRecipe(RUN_SETTINGS, {
      kind: 'dataset',
      protocol: { ...TTRV_PROTOCOL, schedule: { example: 3, steps: 5, promptsPerStep: 4 } },
    });
    expect(mapped(single.grpo, 'max_steps')).toBe(5);
    expect(mapped(single.ttrv, 'prompts_per_step')).toBe(4);
  });

  it('uses only fields that TRL 1.9.0 GRPOConfig has, in the recipe and in train_ttrv.py', () => {
    const fields = JSON.parse(readFileSync('tests/fixtures/trl-1.9.0-config-fields.json', 'utf8'));
    const known = new Set<string>([
      ...fields.grpo_config,
      ...fields.base_config,
      ...fields.training_arguments,
    ]);
    for (const { name } of recipe.grpo) expect(known, name).toContain(name);
    const script = readFileSync('src/trl/python/train_ttrv.py', 'utf8');
    const call = script.slice(
      script.indexOf('config = GRPOConfig('),
      script.indexOf('**settings,'),
    );
    const keywords = [...call.matchAll(/^\s+(\w+)=/gm)].map((m) => m[1]);
    expect(keywords.length).toBeGreaterThan(8);
    for (const name of keywords) expect(known, name).toContain(name);
    expect(known).not.toContain('num_votes');
  });

  it('keeps the LoRA on the language model only', () => {
    const regex = new RegExp(targetModulesRegex(['q_proj', 'down_proj']));
    expect(regex.test('model.text_model.layers.3.self_attn.q_proj')).toBe(true);
    expect(regex.test('model.language_model.layers.0.mlp.down_proj')).toBe(true);
    expect(regex.test('model.vision_model.encoder.layers.0.self_attn.q_proj')).toBe(false);
    expect(regex.test('model.visual.blocks.0.attn.q_proj')).toBe(false);
    expect(regex.test('model.text_model.layers.3.self_attn.k_proj')).toBe(false);
  });

  it('writes Python literals', () => {
    expect(pythonLiteral(null)).toBe('None');
    expect(pythonLiteral(true)).toBe('True');
    expect(pythonLiteral(3e-7)).toBe('3e-7');
    expect(pythonLiteral('a "b"\n')).toBe('"a \\"b\\"\\n"');
    expect(pythonLiteral(['q_proj', 'v_proj'])).toBe('["q_proj", "v_proj"]');
    expect(() => pythonLiteral(Number.NaN)).toThrow();
  });
});

describe('TRL bundle', () => {
  const item = (i: number, answer: string | null): TrlItem => ({
    id: `split-${i}`,
    question: `Question ${i}?`,
    type: 'color',
    answer,
    image: { extension: 'png', bytes: new Uint8Array([i, 1, 2]) },
  });

  it('selects the items the playground adapts on, and scores the split only when labelled', () => {
    const run = { kind: 'dataset', protocol: TTRV_PROTOCOL } as const;
    const picked = trlSelection(300, run, 5, true);
    expect(new Set(picked.train)).toEqual(new Set(protocolBatches(300, TTRV_PROTOCOL, 5).flat()));
    expect(picked.train).toHaveLength(20);
    expect(picked.evaluate).toHaveLength(300);
    const heldOut = {
      kind: 'dataset',
      protocol: { ...TTRV_PROTOCOL, evaluate: 'held out' },
    } as const;
    expect(trlSelection(300, heldOut, 5, true).evaluate).toHaveLength(280);
    expect(trlSelection(300, run, 5, false).evaluate).toEqual([]);
    const single = {
      kind: 'dataset',
      protocol: { ...TTRV_PROTOCOL, schedule: { example: 9, steps: 5, promptsPerStep: 8 } },
    } as const;
    expect(trlSelection(300, single, 5, true).train).toEqual(Array(8).fill(9));
  });

  it('keeps labels out of the training file and writes the settings into the script', () => {
    const files = trlBundle({
      baseModel: 'HuggingFaceTB/SmolVLM-256M-Instruct',
      settings: RUN_SETTINGS,
      run: { kind: 'dataset', protocol: TTRV_PROTOCOL },
      source: 'split test',
      train: [item(1, 'red'), item(2, 'blue')],
      evaluate: [item(1, 'red'), item(2, 'blue'), item(3, 'green')],
      exportedAt: new Date('2026-12-02T00:00:00Z'),
    });
    const train = String(files.get('data/train.jsonl'));
    expect(train).not.toMatch(/red|blue|answer/);
    expect(
      train
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { item_id: 'split-1', image: 'images/split-1.png', question: 'Question 1?', type: 'color' },
      { item_id: 'split-2', image: 'images/split-2.png', question: 'Question 2?', type: 'color' },
    ]);
    expect(String(files.get('data/eval.jsonl')).trim().split('\n')).toHaveLength(3);
    expect(files.get('data/images/split-3.png')).toEqual(new Uint8Array([3, 1, 2]));
    const script = String(files.get('train_ttrv.py'));
    expect(script).not.toContain('@@RUN_SETTINGS@@');
    expect(script).toContain('BASE_MODEL = "HuggingFaceTB/SmolVLM-256M-Instruct"');
    expect(script).toContain('learning_rate=0.005,'); // a dataset run: the protocol's rate
    expect(script).toContain('num_generations=32,');
    expect(String(files.get('README.md'))).toContain('Not run end to end there');
    for (const name of [
      'ttrv_rewards.py',
      'ttrv_reward_vectors.json',
      'accelerate/single_gpu.yaml',
    ]) {
      expect(files.has(name), name).toBe(true);
    }
  });

  it('gives copies of one item their own prompt ids, and writes no eval file without labels', () => {
    const files = trlBundle({
      baseModel: 'm',
      settings: RUN_SETTINGS,
      run: { kind: 'image' },
      source: "the page's image",
      train: [item(4, null), item(4, null)],
      evaluate: [],
      exportedAt: new Date(),
    });
    const ids = String(files.get('data/train.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).item_id);
    expect(ids).toEqual(['split-4#1', 'split-4#2']);
    expect(files.has('data/eval.jsonl')).toBe(false);
  });
});

describe('the exported Python, run by python3 alone', () => {
  const python = (args: string[]) => spawnSync('python3', args, { encoding: 'utf8' });

  it('holds src/rl and ttrv_rewards.py to the same vectors', () => {
    // A change to src/rl shows here first: rewrite the file with
    // `npm run export:trl -- --write-vectors`, then the Python self-test holds Python to it.
    expect(JSON.parse(readFileSync(VECTORS_FILE, 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(rewardVectors())),
    );
    const run = python(['src/trl/python/ttrv_rewards.py', '--self-test']);
    expect(run.stdout + run.stderr).toMatch(/(\d+) of \1 vectors match/);
    expect(run.status).toBe(0);
  });

  it('fails the self-test on a vector Python disagrees with', () => {
    const vectors = rewardVectors();
    const first = vectors.rewards[0];
    if (!first) throw new Error('no reward vectors');
    first.ttrv[0] = (first.ttrv[0] ?? 0) + 1e-6;
    const file = path.join(scratch, 'wrong-vectors.json');
    writeFileSync(file, JSON.stringify(vectors));
    const run = python(['src/trl/python/ttrv_rewards.py', '--self-test', file]);
    expect(run.stdout).toContain('MISMATCH ttrv');
    expect(run.status).toBe(1);
  });

  it('fails the self-test on a guarded_majority or confidence vector Python disagrees with', () => {
    for (const wrong of ['guarded_majority', 'confidence'] as const) {
      const vectors = rewardVectors();
      const rewards = (
        wrong === 'confidence' ? vectors.confidence[0]?.confidence : vectors.rewards[0]?.[wrong]
      ) as number[];
      rewards[0] = (rewards[0] ?? 0) + 1e-6;
      const file = path.join(scratch, `wrong-${wrong}.json`);
      writeFileSync(file, JSON.stringify(vectors));
      const run = python(['src/trl/python/ttrv_rewards.py', '--self-test', file]);
      expect(run.stdout).toContain(`MISMATCH ${wrong}`);
      expect(run.status).toBe(1);
    }
  });

  it('exports a shipped split that compiles, self-tests and rewards across processes', async () => {
    const out = path.join(scratch, 'sketch');
    const summary = await exportTrl(['--split', 'sketch', '--out', out, '--set', 'seed=3']);
    expect(summary).toMatchObject({ train_items: 20, eval_items: 300 });
    const scripts = readdirSync(out).filter((f) => f.endsWith('.py'));
    expect(scripts.sort()).toEqual(['train_ttrv.py', 'ttrv_rewards.py']);
    const compiled = python(['-m', 'py_compile', ...scripts.map((f) => path.join(out, f))]);
    expect(compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const selfTest = python([path.join(out, 'ttrv_rewards.py'), '--self-test']);
    expect(selfTest.status).toBe(0);
    const checked = python(['tests/trl/check_train_script.py', out]);
    expect(checked.stderr).toBe('');
    expect(checked.stdout.trim()).toBe('ok');
    expect(readdirSync(path.join(out, 'data/images'))).toHaveLength(300);
  });

  it('refuses an unknown split, a non-empty folder and bad settings with sentences', async () => {
    await expect(exportTrl(['--split', 'nope', '--out', path.join(scratch, 'x')])).rejects.toThrow(
      /No split "nope": the shipped splits are .*sketch/,
    );
    await expect(exportTrl(['--split', 'clean', '--out', scratch])).rejects.toThrow(/not empty/);
    await expect(
      exportTrl(['--split', 'clean', '--out', path.join(scratch, 'y'), '--set', 'temperature=0']),
    ).rejects.toThrow(/temperature must be > 0/);
    await expect(
      exportTrl([
        '--split',
        'clean',
        '--out',
        path.join(scratch, 'z'),
        '--set',
        'reward=confidence',
      ]),
    ).rejects.toThrow(/"confidence" reward cannot be exported to TRL/);
  });
});
