// tools/real-size/build.py on its tiny shape (SmolVLM's files, vocabulary, special tokens, chat
// template and 512-px / 64-token image geometry; a small text and vision model), built twice
// into temporary folders, then checked as tools/lib/real-size-check.ts checks the 256M / 500M
// shapes (`npm run check:real-size -- --shape 256m`): the engine on Wasm and transformers.js
// against the PyTorch reference the build wrote.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEngine, checkGradients, checkTransformersJs } from '../../tools/lib/real-size-check';
import { REPO_ROOT } from '../../tools/lib/repo-root';

let tmp = '';
const build = (out: string, seed: number) => {
  execFileSync(
    '/usr/bin/python3',
    ['tools/real-size/build.py', '--shape', 'tiny', '--seed', String(seed), '--out', out],
    { cwd: REPO_ROOT, env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' } },
  );
  return JSON.parse(readFileSync(path.join(out, 'ttrv/build.json'), 'utf8')) as {
    files: string[];
    sha256: Record<string, string>;
  };
};

describe('a tiny SmolVLM-shaped checkpoint (tools/real-size)', () => {
  let first: ReturnType<typeof build>;
  let again: ReturnType<typeof build>;
  let other: ReturnType<typeof build>;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'ttrv-real-size-'));
    first = build(path.join(tmp, 'a'), 3);
    again = build(path.join(tmp, 'b'), 3);
    other = build(path.join(tmp, 'c'), 4);
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('has the Hub layout, and the same seed gives the same bytes in every file', () => {
    for (const file of [
      'config.json',
      'generation_config.json',
      'preprocessor_config.json',
      'processor_config.json',
      'chat_template.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'added_tokens.json',
      'vocab.json',
      'merges.txt',
      'model.safetensors',
      'onnx/vision_encoder.onnx',
      'onnx/vision_encoder_fp16.onnx',
      'onnx/embed_tokens.onnx',
      'onnx/decoder_model_merged.onnx',
    ])
      expect(first.files).toContain(file);
    expect(again.sha256).toEqual(first.sha256);
    expect(other.sha256['model.safetensors']).not.toBe(first.sha256['model.safetensors']);
    expect(other.sha256['tokenizer.json']).toBe(first.sha256['tokenizer.json']);
  });

  it('loads in the engine (BF16 safetensors, Wasm): logits equal PyTorch float32 on the same weights', async () => {
    const r = await checkEngine(path.join(tmp, 'a'), 'wasm');
    expect(r.prompt_tokens).toBeGreaterThan(64);
    expect(r.logits_max_abs).toBeGreaterThan(0.1);
    expect(r.logits_max_abs_error).toBeLessThanOrEqual(1e-4);
    expect(r.argmax_equal).toBe(true);
  });

  it('a seeded LoRA under PEFT keys round-trips, its GRPO gradients equal PyTorch float32, and a step at V = 49,280 updates it', async () => {
    const r = await checkGradients(path.join(tmp, 'a'));
    expect(r.lora_tensors).toBe(2 * 7 * 2); // 2 layers × 7 projections × (A, B)
    expect(r.round_trip_equal).toBe(true);
    expect(Math.abs(r.loss - r.loss_expected)).toBeLessThanOrEqual(1e-5);
    expect(r.grad_keys).toHaveLength(6);
    expect(r.grad_max_abs).toBeGreaterThan(1e-3);
    expect(r.grad_max_abs_error).toBeLessThanOrEqual(1e-4 * r.grad_max_abs);
    expect(r.step_changed_adapter).toBe(true);
  });

  it('transformers.js: the processor gives 64 <image> tokens for one 512-px tile, the vision encoder (fp32, fp16) and generate() equal PyTorch', async () => {
    const r = await checkTransformersJs(path.join(tmp, 'a'), { generate: true });
    expect(r.processor.vocab_size).toBe(49280);
    expect(r.processor.special_ids).toEqual({
      '<|im_start|>': 1,
      '<|im_end|>': 2,
      '<global-img>': 49152,
      '<fake_token_around_image>': 49189,
      '<image>': 49190,
      '<end_of_utterance>': 49279,
    });
    expect(r.processor.prompt_text).toBe(
      '<|im_start|>User:<image>What is in the image?<end_of_utterance>\nAssistant:',
    );
    expect(r.processor.image_tokens).toBe(64);
    expect(r.processor.image_block).toEqual([
      '<fake_token_around_image>',
      '<global-img>',
      '<image>x64',
      '<fake_token_around_image>',
    ]);
    expect(r.processor.pixel_values).toEqual([1, 1, 3, 512, 512]);
    // The Hub's default (do_image_splitting: true): the image is resized to 2048 px and cut into
    // 4 x 4 tiles plus the global one, 17 x 64 image tokens.
    expect(r.processor.hub_default_image_tokens).toBe(17 * 64);
    for (const v of r.vision) {
      expect(v.features).toEqual([1, 64, 96]);
      expect(v.max_abs_error).toBeLessThanOrEqual(1e-4);
    }
    expect(r.generate?.equal).toBe(true);
  });
});

/** `bench:scale --browser` (with `args`) on a tiny checkpoint built into `dir`, at the rows CI
 * can afford (2 votes × 3 tokens, 2 trained): its JSON. */
function benchScaleTiny(dir: string, args: string[]) {
  const tiny = path.join(dir, 'tiny');
  build(tiny, 3);
  const stdout = execFileSync(
    process.execPath,
    [
      ...['tools/bin/run-ts.mjs', 'tools/bin/bench-scale.ts', '--json', '--browser', ...args],
      ...['--shapes', 'tiny', '--dir-tiny', tiny, '--rows', '2', '--new-tokens', '3'],
      ...['--train-rows', '2'],
    ],
    { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 280_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) as string);
}

/** What every engine row of `bench:scale --browser` holds, whatever its backend and isolation. */
function expectEngineRows(out: ReturnType<typeof benchScaleTiny>) {
  for (const s of out.shapes) {
    expect(s.transformersjs_device).toBe(s.backend);
    expect(s.logits_max_abs_error).toBeLessThanOrEqual(1e-4);
    expect(s.prompt_tokens).toBeGreaterThan(64);
    expect([s.rows, s.new_tokens, s.train_rows]).toEqual([2, 3, 2]);
    for (const key of [
      'load_ms',
      'prefill_ms',
      'vote_ms',
      'grpo_step_ms',
      'transformersjs_vote_ms',
      'vision_encoder_ms',
    ])
      expect(s[key]).toBeGreaterThan(0);
    // Every core the browser reports when isolated (this machine: 2), one thread when not.
    expect(s.threads).toBe(s.cross_origin_isolated ? cpus().length : 1);
    // ratio = their vote time / ours (from unrounded times: within the milliseconds' rounding).
    expect(Math.abs((s.ratio * s.vote_ms) / s.transformersjs_vote_ms - 1)).toBeLessThan(0.05);
    // The weights alone are params_text float32 values: the peak holds at least them.
    expect(s.peak_bytes).toBeGreaterThan(4 * s.params_text);
  }
}

const backendAndIsolation = (out: ReturnType<typeof benchScaleTiny>) =>
  out.shapes.map((s: { backend: string; cross_origin_isolated: boolean }) => [
    s.backend,
    s.cross_origin_isolated,
  ]);

// One run on Wasm, isolated and not, with the app's own path: the WebGPU row of the page took
// ~170 s of CI's 20 minutes on SwiftShader (2026-12-07); WebGPU in the page stays covered by the
// e2e suite (playground run, GPU status, lost device, out of memory) and `bench:scale --browser`
// measures it outside CI (decision 0038).
describe('bench:scale --browser on the tiny shape (Wasm, isolated and not, and the app path)', () => {
  let out: ReturnType<typeof benchScaleTiny>;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ttrv-bench-scale-'));
    out = benchScaleTiny(dir, ['--backends', 'wasm', '--isolation', 'on,off']);
  }, 300_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('measures the engine and transformers.js in headless Chromium, isolated (every core) and not (one thread), and prints the JSON', () => {
    expect(out.backend).toBe('browser');
    expect(out.browser).toMatch(/\d+\.\d+/);
    expect(backendAndIsolation(out)).toEqual([
      ['wasm', true],
      ['wasm', false],
    ]);
    expectEngineRows(out);
    for (const row of out.shapes) {
      expect(row.peak_gpu_bytes).toBeNull();
      expect(row.gpu_adapter).toBeNull();
    }
  });

  it('loads and steps through the app worker from a picked folder and over HTTP, with the load split into phases', () => {
    expect(out.app_path.map((r: { source: string }) => r.source)).toEqual(['folder', 'http']);
    for (const r of out.app_path) {
      expect(r).toMatchObject({ path: 'app', backend: 'wasm', weights: 'f32' });
      expect([r.num_votes, r.max_completion_length, r.num_generations]).toEqual([2, 3, 2]);
      const phases = Object.values(r.load_phases) as number[];
      expect(Object.keys(r.load_phases)).toEqual([
        'read_files_ms',
        'convert_weights_ms',
        'vision_session_ms',
        'processor_ms',
        'first_prompt_ms',
      ]);
      for (const ms of phases) expect(ms).toBeGreaterThan(0);
      // Phases before "ready" lie within the load; the vision encoder's session is created
      // after it (reading sums two reads that run at different times, and the first prompt
      // comes after the load).
      for (const key of ['convert_weights_ms', 'processor_ms'])
        expect(r.load_phases[key]).toBeLessThanOrEqual(r.load_ms);
      expect(r.vision_ready_ms).toBeGreaterThan(r.load_ms);
      expect(r.load_phases.vision_session_ms).toBeLessThan(r.vision_ready_ms - r.load_ms);
      for (const key of ['load_ms', 'vote_ms', 'grpo_step_ms', 'step_ms', 'compare_ms'])
        expect(r[key]).toBeGreaterThan(0);
      // A step as the page runs it holds its vote and its update; the first one also prepares
      // the prompt (the vision encoder), which a later step on the same image does not.
      expect(r.step_ms).toBeGreaterThanOrEqual(r.vote_ms + r.grpo_step_ms);
      expect(r.step_first_ms).toBeGreaterThan(r.load_phases.first_prompt_ms);
      expect(r.completions_mean_length).toBeGreaterThan(0);
      expect(r.load_average).toHaveLength(2);
    }
  });
});
