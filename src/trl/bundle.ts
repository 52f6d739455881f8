// The TRL project a run exports (issue 13): train_ttrv.py with the run's settings, the rewards in
// plain Python with the vectors that hold them to src/rl, the run's items (labels only in the
// evaluation file), accelerate configs and a README. Pure: the page zips it, the CLI writes it.
import { protocolBatches, scoredIndices } from '../dataset/schedule';
import type { PlaygroundSettings } from '../settings';
import { renderRunSettings, type TrlRunShape, trlRecipe } from './mapping';
import multiGpuConfig from './python/accelerate/multi_gpu_zero2.yaml?raw';
import singleGpuConfig from './python/accelerate/single_gpu.yaml?raw';
import trainTemplate from './python/train_ttrv.py?raw';
import rewardVectorsJson from './python/ttrv_reward_vectors.json?raw';
import rewardsSource from './python/ttrv_rewards.py?raw';

/** Where train_ttrv.py's template takes the run's settings. */
const SETTINGS_MARKER = '# @@RUN_SETTINGS@@';

/** One item of the run: its image file's bytes travel with it. */
export type TrlItem = {
  id: string;
  question: string;
  type: string;
  /** The label; only ever written to the evaluation file. */
  answer: string | null;
  image: { extension: string; bytes: Uint8Array };
};

export type TrlBundleInput = {
  baseModel: string;
  settings: PlaygroundSettings;
  run: TrlRunShape;
  /** What the items are, in words: "the page's image", "split sketch". */
  source: string;
  /** The items adapted on, once per prompt of a step (single-example copies appear repeatedly). */
  train: TrlItem[];
  /** The labelled items scored before and after; empty when the items have no labels. */
  evaluate: TrlItem[];
  exportedAt: Date;
};

export type BundleFiles = Map<string, string | Uint8Array>;

/** Which of a split's items a run trains on and scores, as the playground's dataset run draws
 * them (its seed); a single-example run's example is repeated once per prompt of a step. */
export function trlSelection(
  itemCount: number,
  run: Extract<TrlRunShape, { kind: 'dataset' }>,
  seed: number,
  labeled: boolean,
): { train: number[]; evaluate: number[] } {
  const batches = protocolBatches(itemCount, run.protocol, seed);
  const { schedule } = run.protocol;
  const train =
    'example' in schedule
      ? Array<number>(schedule.promptsPerStep).fill(schedule.example)
      : [...new Set(batches.flat())];
  return {
    train,
    evaluate: labeled ? scoredIndices(itemCount, batches, run.protocol.evaluate) : [],
  };
}

/** The file name an item's image gets in data/images/. */
function imageName(item: TrlItem): string {
  return `images/${item.id.replace(/[^\w.-]+/g, '_')}.${item.image.extension}`;
}

function jsonl(rows: object[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length > 0 ? '\n' : '');
}

export function trlBundle(input: TrlBundleInput): BundleFiles {
  const recipe = trlRecipe(input.settings, input.run);
  const files: BundleFiles = new Map();
  const images = new Map<string, Uint8Array>();
  const row = (item: TrlItem, copy: number | null) => {
    const image = imageName(item);
    images.set(image, item.image.bytes);
    // Copies of one item are separate prompts: each gets its own votes, so its own id.
    const id = copy === null ? item.id : `${item.id}#${copy}`;
    return { item_id: id, image, question: item.question, type: item.type };
  };
  const copies = new Map<string, number>();
  const trainRows = input.train.map((item) => {
    const seen = copies.get(item.id) ?? 0;
    copies.set(item.id, seen + 1);
    const repeated = input.train.filter((other) => other.id === item.id).length > 1;
    return row(item, repeated ? seen + 1 : null);
  });
  const evaluateRows = input.evaluate.map((item) => {
    if (item.answer === null) throw new RangeError(`evaluation item ${item.id} has no label`);
    return { ...row(item, null), answer: item.answer };
  });
  const script = trainTemplate.replace(SETTINGS_MARKER, renderRunSettings(recipe, input.baseModel));
  if (script === trainTemplate) throw new Error(`train_ttrv.py lost its ${SETTINGS_MARKER} line`);
  files.set('train_ttrv.py', script);
  files.set('ttrv_rewards.py', rewardsSource);
  files.set('ttrv_reward_vectors.json', rewardVectorsJson);
  files.set('accelerate/single_gpu.yaml', singleGpuConfig);
  files.set('accelerate/multi_gpu_zero2.yaml', multiGpuConfig);
  files.set('data/train.jsonl', jsonl(trainRows));
  if (evaluateRows.length > 0) files.set('data/eval.jsonl', jsonl(evaluateRows));
  for (const [name, bytes] of images) files.set(`data/${name}`, bytes);
  files.set(
    'playground_settings.json',
    `${JSON.stringify({ base_model: input.baseModel, run: input.run, settings: input.settings }, null, 2)}\n`,
  );
  files.set('README.md', readme(input, recipe, trainRows.length, evaluateRows.length));
  return files;
}

function readme(
  input: TrlBundleInput,
  recipe: ReturnType<typeof trlRecipe>,
  trainCount: number,
  evaluateCount: number,
): string {
  const table = (rows: typeof recipe.grpo) =>
    rows.map((s) => `| \`${s.name}\` | \`${JSON.stringify(s.value)}\` | ${s.from} |`).join('\n');
  const what =
    input.run.kind === 'image'
      ? 'single-image test-time RL on one unlabeled image (the same prompt every step)'
      : `dataset mode on ${input.source}: ${trainCount} unlabeled prompts per epoch`;
  return `# TTRV with TRL: exported from TTRV Playground

Exported ${input.exportedAt.toISOString()} from a playground run: ${what}.
Base model: \`${input.baseModel}\`. Items: \`data/train.jsonl\` (${trainCount} rows: \`item_id\`,
\`image\`, \`question\`, \`type\`; no labels)${
    evaluateCount > 0
      ? `, and \`data/eval.jsonl\` (${evaluateCount} labelled rows, read only to score greedy answers before and after)`
      : '; the items have no labels, so nothing is scored'
  }.

## Set up and run

\`\`\`sh
python3 ttrv_rewards.py --self-test        # the rewards match the playground's (standard library only)
pip install "trl[peft]==1.9.0" deepspeed pillow   # and torch for your CUDA; vllm for --use-vllm
accelerate launch --config_file accelerate/single_gpu.yaml train_ttrv.py
accelerate launch --config_file accelerate/multi_gpu_zero2.yaml train_ttrv.py --model Qwen/Qwen2.5-VL-7B-Instruct
\`\`\`

\`--model\` takes a Hub id or a local folder (default: the run's${
    input.baseModel === 'ttrv-demo-shapes'
      ? "; the playground's built-in demo model is the folder `public/models/ttrv-demo-shapes` of its repository"
      : ''
  }). The adapter is saved in PEFT's layout under \`--output-dir\` (default \`ttrv-lora\`), with
\`ttrv_report.json\`: greedy accuracy before and after (TTRV's number) when \`data/eval.jsonl\` exists.
In multi-GPU runs set \`num_processes\` in the accelerate config to your GPU count; it must divide
prompts per step × \`num_generations\` (the script says so otherwise).

## The run's settings, by name

\`train_ttrv.py\` starts with them as \`GRPO_SETTINGS\` (TRL's \`GRPOConfig\`), \`LORA_SETTINGS\`
(PEFT's \`LoraConfig\`) and \`TTRV_SETTINGS\` (what the script implements itself).

| GRPOConfig | value | from the playground's |
| --- | --- | --- |
${table(recipe.grpo)}

| LoraConfig | value | from the playground's |
| --- | --- | --- |
${table(recipe.lora)}

| TTRV (the script) | value | meaning |
| --- | --- | --- |
${table(recipe.ttrv)}

The reward (\`ttrv_rewards.py\`) extracts each completion's answer as the playground does and rewards
it by its prompt's votes; TRL spreads one prompt's completions over GPUs and gathers the rewards
afterwards, so the script gathers the answers first (\`item_id\` names the prompt). One optimizer step
is one generation round of prompts per step × \`num_generations\` completions, as in the playground.

## What differs from the playground

${recipe.differences.map((d) => `- ${d}`).join('\n')}
- TTRV's entropy term (\`alpha\`) is one value per prompt: under TRL's group-mean baseline it cancels
  exactly, as it does in the playground and in TTRV's own code.
- The playground's adapter covers the text model's projections only; \`target_modules\` is a regex
  that keeps PEFT off the vision tower's modules of the same names.

## Versions, and what was run where

Written against TRL 1.9.0 (its \`GRPOConfig\` fields, the reward-function keyword arguments, the
\`RepeatSampler\` that spreads a prompt's completions over processes), PEFT's \`LoraConfig\` (regex
\`target_modules\`), accelerate ≥ 1.4 and transformers ≥ 4.56.2 (TRL 1.9's requirements).
Checked where it was exported: \`ttrv_rewards.py --self-test\` and \`python3 -m py_compile\` on every
script. **Not run end to end there**: TRL cannot be installed on the machines that built the
playground, so the first real run of this script is yours.
`;
}
