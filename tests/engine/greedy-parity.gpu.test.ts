// The engine's greedy answers on the shipped demo model equal PyTorch's and transformers.js'
// token for token. Prompts go through the app's own path (src/vlm/visionLanguageModel.ts:
// transformers.js' processor and the frozen ONNX vision encoder, image features spliced into our
// jax-js text model), loaded from a localhost origin as bench:quality does; the reference is
// tests/fixtures/golden/greedy_reference.json (PyTorch, f32), which transformers.js' own
// generate() also matches (tests/vlm/transformersjs-parity.gpu.test.ts, and checked here).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RawImage } from '@huggingface/transformers';
import { defaultDevice } from '@jax-js/jax';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeModel } from '../../src/engine/model';
import { sample } from '../../src/engine/sampling';
import { loadTextModelFromUrl } from '../../src/vlm/textModelFromUrl';
import type { VisionLanguageModel } from '../../src/vlm/visionLanguageModel';
import { preparePrompt } from '../../src/vlm/visionLanguageModel';
import type { NodeApp } from '../../tools/lib/node-app';
import { openNodeApp } from '../../tools/lib/node-app';
import { REPO_ROOT } from '../../tools/lib/repo-root';
import { loadTransformersDemo } from '../../tools/lib/transformers-demo';

type ReferenceItem = {
  split: string;
  index: number;
  image: string; // repository-relative, under public/
  question: string;
  input_ids: number[];
  generated_ids: number[];
  /** The smallest top-1 / top-2 logit gap along PyTorch's answer. */
  min_logit_margin: number;
};
type GreedyReference = { max_new_tokens: number; items: ReferenceItem[] };

const reference = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'tests/fixtures/golden/greedy_reference.json'), 'utf8'),
) as GreedyReference;

const id = (item: ReferenceItem) => `${item.split}-${item.index}`;

describe('greedy answers on the demo model: engine = PyTorch = transformers.js', () => {
  let app: NodeApp;
  /** The engine's greedy tokens per reference item on Wasm. */
  let wasm: Record<string, number[]>;

  /** Greedy answers of the engine through the app's prompt path. */
  async function greedy(
    vlm: VisionLanguageModel,
    items: ReferenceItem[],
  ): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    for (const item of items) {
      const image = await RawImage.fromURL(`${app.origin}/${item.image.replace(/^public\//, '')}`);
      const prompt = await preparePrompt(vlm, image, item.question);
      expect(prompt.inputIds).toEqual(item.input_ids);
      const { tokens } = await sample(vlm.text, null, prompt.embeds, {
        numRows: 1,
        maxNewTokens: reference.max_new_tokens,
        temperature: 0,
        seed: 0,
      });
      prompt.embeds.dispose();
      out[id(item)] = tokens[0] as number[];
    }
    return out;
  }

  beforeAll(async () => {
    app = await openNodeApp('wasm');
    wasm = await greedy(app.vlm, reference.items);
  });

  afterAll(() => app?.close());

  const expected = (items: ReferenceItem[]) =>
    Object.fromEntries(items.map((i) => [id(i), i.generated_ids]));

  it('Wasm: every reference prompt, token for token (EOS included)', async () => {
    expect(reference.items.length).toBeGreaterThanOrEqual(20);
    expect(wasm).toEqual(expected(reference.items));
  });

  it('WebGPU: the same answers where they are closest to a tie', async () => {
    // SwiftShader is slow: the 6 prompts whose top two logits come closest (down to 7e-4).
    const close = [...reference.items]
      .sort((a, b) => a.min_logit_margin - b.min_logit_margin)
      .slice(0, 6);
    const text = await loadTextModelFromUrl(app.modelUrl, { device: 'webgpu' });
    defaultDevice('webgpu');
    try {
      expect(await greedy({ ...app.vlm, text }, close)).toEqual(expected(close));
    } finally {
      defaultDevice('wasm');
      disposeModel(text);
    }
  });

  it("equal transformers.js' generate() on the same prompts", async () => {
    const demo = await loadTransformersDemo(REPO_ROOT);
    const theirs: Record<string, number[]> = {};
    for (const item of reference.items) {
      const inputs = await demo.prompt(path.join(REPO_ROOT, item.image), item.question);
      theirs[id(item)] = (await demo.generate(inputs, 1, reference.max_new_tokens))[0] as number[];
    }
    await demo.dispose();
    expect(wasm).toEqual(theirs);
  });
});
