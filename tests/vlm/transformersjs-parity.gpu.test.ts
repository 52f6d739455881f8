// The shipped demo model (public/models/ttrv-demo-shapes) loads through transformers.js' own
// SmolVLM/Idefics3 path — AutoProcessor + Idefics3ForConditionalGeneration, served over HTTP from
// 127.0.0.1 — and its greedy answers equal PyTorch's token for token. The PyTorch side is
// tests/fixtures/golden/greedy_reference.json, written by tools/demo-model/build.py.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AutoProcessor,
  env,
  Idefics3ForConditionalGeneration,
  type PreTrainedModel,
  type Processor,
  RawImage,
  type Tensor,
} from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/lib/repo-root';
import { filesUnder, type RangeServer, serveBytes } from '../../tools/lib/serve-files';

const MODEL = 'ttrv-demo-shapes';

interface ReferenceItem {
  split: string;
  index: number;
  image: string; // repository-relative, under public/
  question: string;
  prompt_text: string;
  input_ids: number[];
  generated_ids: number[];
  min_logit_margin: number;
}
interface GreedyReference {
  model: string;
  max_new_tokens: number;
  items: ReferenceItem[];
}
interface TokenizerReference {
  texts: string[];
  ids: number[][];
}

const readJson = <T>(rel: string): T =>
  JSON.parse(readFileSync(path.join(REPO_ROOT, rel), 'utf8')) as T;
const reference = readJson<GreedyReference>('tests/fixtures/golden/greedy_reference.json');
const tokenizerReference = readJson<TokenizerReference>(
  'tests/fixtures/golden/tokenizer_reference.json',
);

const toNumbers = (t: Tensor): number[] => Array.from(t.data as BigInt64Array, Number);

let server: RangeServer;
let processor: Processor;
let model: PreTrainedModel;
let cacheDir = '';

beforeAll(async () => {
  const publicDir = path.join(REPO_ROOT, 'public');
  server = await serveBytes({
    ...filesUnder(publicDir, `models/${MODEL}`),
    ...filesUnder(publicDir, 'datasets/shapes'),
  });
  // The localhost server stands in for the Hub: in Node, transformers.js 4.3.1 only fetches
  // a model over HTTP through its "remote" path (an http:// env.localModelPath is skipped by
  // its file-metadata probe), and hands ONNX files to onnxruntime-node through its file cache.
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = `${server.url}/`; // http://127.0.0.1:<port>/ — nothing leaves this machine
  env.remotePathTemplate = 'models/{model}/';
  env.useFSCache = true;
  cacheDir = mkdtempSync(path.join(tmpdir(), 'ttrv-demo-model-cache-'));
  env.cacheDir = cacheDir;
  env.useBrowserCache = false;
  processor = await AutoProcessor.from_pretrained(MODEL);
  model = await Idefics3ForConditionalGeneration.from_pretrained(MODEL, { dtype: 'fp32' });
});

afterAll(async () => {
  await model?.dispose();
  await server?.close();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

describe('demo model through transformers.js (Node)', () => {
  it('is an idefics3 model with the three SmolVLM sessions', () => {
    expect(model.config.model_type).toBe('idefics3');
    expect(Object.keys((model as unknown as { sessions: object }).sessions).sort()).toEqual([
      'decoder_model_merged',
      'embed_tokens',
      'vision_encoder',
    ]);
  });

  it('tokenizes every domain text exactly as the training script did', () => {
    const tok = processor.tokenizer;
    if (!tok) throw new Error('no tokenizer');
    expect(tokenizerReference.texts.length).toBeGreaterThan(100);
    const mismatches = tokenizerReference.texts.filter(
      (text, i) =>
        JSON.stringify(tok.encode(text, { add_special_tokens: false })) !==
        JSON.stringify(tokenizerReference.ids[i]),
    );
    expect(mismatches).toEqual([]);
  });

  it('greedy answers equal PyTorch token for token on every reference prompt', async () => {
    expect(reference.items.length).toBeGreaterThanOrEqual(20);
    for (const item of reference.items) {
      const image = await RawImage.fromURL(server.url + item.image.replace(/^public/, ''));
      expect([image.width, image.height, image.channels]).toEqual([64, 64, 3]);
      const messages = [
        { role: 'user', content: [{ type: 'image' }, { type: 'text', text: item.question }] },
      ];
      const text = processor.apply_chat_template(messages as never, {
        add_generation_prompt: true,
      }) as string;
      expect(text).toBe(item.prompt_text);
      const inputs = await processor(text, [image]);
      const promptIds = toNumbers(inputs.input_ids);
      expect(promptIds).toEqual(item.input_ids);
      const out = (await model.generate({
        ...inputs,
        max_new_tokens: reference.max_new_tokens,
        do_sample: false,
      })) as Tensor;
      const generated = toNumbers(out).slice(promptIds.length);
      expect({ id: `${item.split}-${item.index}`, generated }).toEqual({
        id: `${item.split}-${item.index}`,
        generated: item.generated_ids,
      });
    }
  });
});
