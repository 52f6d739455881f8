// The shipped demo model runs through transformers.js in headless Chromium (onnxruntime-web,
// Wasm backend) and its greedy answers equal PyTorch's token for token
// (tests/fixtures/golden/greedy_reference.json, written by tools/demo-model/build.py).
//
// Self-contained: every request under /__demo-model__/ on the app's origin is answered by
// page.route from files on disk — a blank page, transformers.js' browser bundle and ORT's Wasm
// files from node_modules, the model and images from public/ — so the spec depends neither on
// the app's UI nor on what the app bundles, and nothing can come from the network.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PREFIX = '/__demo-model__/';
const TJS_DIST = path.join(ROOT, 'node_modules/@huggingface/transformers/dist');
const ORT_DIST = path.join(ROOT, 'node_modules/onnxruntime-web/dist');

interface ReferenceItem {
  split: string;
  index: number;
  image: string;
  question: string;
  input_ids: number[];
  generated_ids: number[];
}
const reference = JSON.parse(
  readFileSync(path.join(ROOT, 'tests/fixtures/golden/greedy_reference.json'), 'utf8'),
) as { max_new_tokens: number; items: ReferenceItem[] };

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** Maps a path under PREFIX to a file on disk, or null. */
function resolve(rel: string): string | null {
  const map: [string, string][] = [
    ['tjs/', TJS_DIST],
    ['ort/', ORT_DIST],
    ['public/', path.join(ROOT, 'public')],
  ];
  for (const [p, dir] of map) {
    if (!rel.startsWith(p)) continue;
    const file = path.resolve(dir, rel.slice(p.length));
    return file.startsWith(dir + path.sep) ? file : null;
  }
  return null;
}

test('demo model: transformers.js greedy answers in Chromium equal PyTorch', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(240_000);
  const origin = baseURL ?? 'http://127.0.0.1:4173';
  await page.route(`${origin}${PREFIX}**`, async (route) => {
    const rel = new URL(route.request().url()).pathname.slice(PREFIX.length);
    if (rel === 'index.html') {
      await route.fulfill({
        contentType: 'text/html',
        body: '<!doctype html><title>parity</title>',
      });
      return;
    }
    const file = resolve(rel);
    if (!file) {
      await route.fulfill({ status: 404 });
      return;
    }
    try {
      const body = await readFile(file);
      await route.fulfill({
        body,
        contentType: TYPES[path.extname(file)] ?? 'application/octet-stream',
      });
    } catch {
      await route.fulfill({ status: 404 });
    }
  });
  await page.goto(`${origin}${PREFIX}index.html`);

  const results = await page.evaluate(
    async ({ prefix, items, maxNew }) => {
      // transformers.js' self-contained browser bundle (it carries onnxruntime-web).
      const url = `${prefix}tjs/transformers.js`;
      const t = await import(/* @vite-ignore */ url);
      t.env.allowLocalModels = true;
      t.env.allowRemoteModels = false;
      t.env.localModelPath = `${prefix}public/models/`;
      t.env.useBrowserCache = false;
      t.env.backends.onnx.wasm.wasmPaths = `${prefix}ort/`;
      const processor = await t.AutoProcessor.from_pretrained('ttrv-demo-shapes');
      const model = await t.Idefics3ForConditionalGeneration.from_pretrained('ttrv-demo-shapes', {
        dtype: 'fp32',
        device: 'wasm',
      });
      const out: { id: string; promptIds: number[]; generated: number[] }[] = [];
      for (const item of items) {
        const image = await t.RawImage.fromURL(prefix + item.image);
        const messages = [
          { role: 'user', content: [{ type: 'image' }, { type: 'text', text: item.question }] },
        ];
        const text = processor.apply_chat_template(messages, { add_generation_prompt: true });
        const inputs = await processor(text, [image]);
        const promptIds = Array.from(inputs.input_ids.data as BigInt64Array, Number);
        const seq = await model.generate({ ...inputs, max_new_tokens: maxNew, do_sample: false });
        const all = Array.from(seq.data as BigInt64Array, Number);
        out.push({
          id: `${item.split}-${item.index}`,
          promptIds,
          generated: all.slice(promptIds.length),
        });
      }
      await model.dispose();
      return out;
    },
    { prefix: PREFIX, items: reference.items, maxNew: reference.max_new_tokens },
  );

  expect(results.length).toBeGreaterThanOrEqual(2);
  for (const [i, item] of reference.items.entries()) {
    const r = results[i];
    expect(r?.promptIds).toEqual(item.input_ids);
    expect({ id: r?.id, generated: r?.generated }).toEqual({
      id: `${item.split}-${item.index}`,
      generated: item.generated_ids,
    });
  }
});
