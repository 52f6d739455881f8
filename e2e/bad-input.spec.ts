// Every bad input of the playground issue: a clear message in the error banner, the app keeps
// working, and the adapter and run survive. The first test takes its steps on the CPU (Wasm):
// what it checks is the messages, not WebGPU, and a step there is several times faster.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { zipSync } from 'fflate';
import {
  ADAPTER_CONFIG_FILE,
  ADAPTER_WEIGHTS_FILE,
  adapterConfig,
  packAdapterZip,
} from '../src/formats/peftAdapter';
import { serializeSafetensors } from '../src/formats/safetensors';
import { targetModulesPattern } from '../src/layout/textLayout';
import {
  dismissError,
  expectError,
  openPlayground,
  pngOf,
  stepCount,
  uploadImage,
  withoutWebGpu,
} from './helpers';

test('bad images, questions and adapters get clear messages and lose nothing', async ({ page }) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await uploadImage(page, 'scene.png', await pngOf(64, 64));
  await expect(page.getByTestId('image-preview')).toBeVisible();

  // One real step, so there is a run and an adapter to lose.
  await page.getByTestId('question-input').fill('How many shapes are there?');
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 300_000,
  });
  const previewBefore = await page.getByTestId('image-preview').getAttribute('src');

  // Not an image.
  await uploadImage(page, 'notes.txt', Buffer.from('just some text'), 'text/plain');
  await expectError(page, /notes\.txt.*not an image/);
  await dismissError(page);
  // A corrupt PNG: the signature and then garbage.
  const corrupt = Buffer.concat([(await pngOf(32, 32)).subarray(0, 40), Buffer.alloc(200, 7)]);
  await uploadImage(page, 'broken.png', corrupt);
  await expectError(page, /broken\.png.*corrupt/);
  await dismissError(page);
  // An empty file.
  await uploadImage(page, 'empty.png', Buffer.alloc(0));
  await expectError(page, /empty\.png.*empty \(0 bytes\)/);
  await dismissError(page);
  // The image and the run are still there.
  await expect(page.getByTestId('image-preview')).toHaveAttribute('src', previewBefore as string);
  expect(await stepCount(page)).toBe(1);

  // An empty question and a 5,000-character one.
  await page.getByTestId('question-input').fill('   ');
  await page.getByTestId('step-button').click();
  await expectError(page, 'The question is empty');
  await dismissError(page);
  await page.getByTestId('question-input').fill('x'.repeat(5000));
  await page.getByTestId('step-button').click();
  await expectError(page, /5,000 characters long/);
  await dismissError(page);
  expect(await stepCount(page)).toBe(1);

  // An adapter zip for another model (hidden size 576, as SmolVLM-256M).
  const wrongModel = packAdapterZip({
    config: adapterConfig({
      base_model_name_or_path: 'HuggingFaceTB/SmolVLM-256M-Instruct',
      r: 8,
      lora_alpha: 16,
      lora_dropout: 0,
      target_modules: targetModulesPattern('model.text_model.', ['q_proj']),
    }),
    tensors: [
      {
        name: 'base_model.model.model.text_model.layers.0.self_attn.q_proj.lora_A.weight',
        dtype: 'F32',
        shape: [8, 576],
        data: new Float32Array(8 * 576),
      },
      {
        name: 'base_model.model.model.text_model.layers.0.self_attn.q_proj.lora_B.weight',
        dtype: 'F32',
        shape: [576, 8],
        data: new Float32Array(576 * 8),
      },
    ],
  });
  await page.getByTestId('import-adapter').setInputFiles({
    name: 'smolvlm-adapter.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(wrongModel),
  });
  await expectError(page, /does not fit.*hidden size 576/);
  await dismissError(page);

  // A malformed safetensors file: the header claims more bytes than the file holds.
  const good = serializeSafetensors([
    { name: 'x', dtype: 'F32', shape: [4], data: new Float32Array(4) },
  ]);
  const truncated = good.subarray(0, good.length - 8);
  const malformed = zipSync({
    [ADAPTER_CONFIG_FILE]: new TextEncoder().encode(
      JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'] }),
    ),
    [ADAPTER_WEIGHTS_FILE]: truncated,
  });
  await page.getByTestId('import-adapter').setInputFiles({
    name: 'malformed.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(malformed),
  });
  await expectError(page, /adapter_model\.safetensors/);
  await dismissError(page);
  // Not a zip at all.
  await page.getByTestId('import-adapter').setInputFiles({
    name: 'adapter.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from('not a zip'),
  });
  await expect(page.getByTestId('error-banner')).toBeVisible();
  await dismissError(page);

  // The run and its adapter survived all of it: export still works, one more step still runs.
  const download = page.waitForEvent('download');
  await page.getByTestId('export-adapter').click();
  expect((await download).suggestedFilename()).toMatch(/\.zip$/);
  await page.getByTestId('question-input').fill('How many shapes are there?');
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '2', {
    timeout: 300_000,
  });
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready');
});

test('a 12000 × 12000 image is scaled down, not fatal', async ({ page }) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  await uploadImage(page, 'huge.png', await pngOf(12000, 12000, { r: 30, g: 90, b: 200 }));
  await expect(page.getByTestId('image-preview')).toBeVisible({ timeout: 120_000 });
  await expect(page.locator('.image-caption')).toContainText('scaled down from 12000 × 12000');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('a download that fails half way says what failed, and a retry resumes', async ({ page }) => {
  test.setTimeout(300_000);
  const weights = '**/models/ttrv-demo-shapes/model.safetensors';
  const served: string[] = [];
  let failNext = true;
  // Where the tensors start: the header (its length, then its JSON) is read by the picker's
  // estimate and by the loader alike; the cut must come after the loader's header.
  const file = readFileSync('public/models/ttrv-demo-shapes/model.safetensors');
  const dataStart = 8 + Number(file.readBigUInt64LE(0));
  await page.context().route(weights, async (route) => {
    const range = route.request().headers().range ?? 'all';
    served.push(range);
    // The loader reads on in one open-ended request (`bytes=0-`): the first one stops 1000 bytes
    // into the tensors, as a dropped connection leaves it.
    const from = /^bytes=(\d+)-$/.exec(range)?.[1];
    if (failNext && from !== undefined) {
      failNext = false;
      const end = dataStart + 1000;
      await route.fulfill({
        status: 206,
        headers: { 'Content-Range': `bytes ${from}-${end - 1}/${file.length}` },
        body: file.subarray(Number(from), end),
      });
      return;
    }
    await route.continue();
  });
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'error', {
    timeout: 120_000,
  });
  await expectError(page, /model\.safetensors stopped at byte .*Retry to resume/);
  const beforeRetry = served.length;
  await dismissError(page);
  await page.getByRole('button', { name: 'Demo model' }).click();
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000,
  });
  // The retry did not fetch the header again: it came from the kept pieces, and the download
  // went on from the first tensor.
  const retried = served.slice(beforeRetry);
  expect(retried).toContain(`bytes=${dataStart}-`);
  for (const range of served.slice(0, beforeRetry)) expect(retried).not.toContain(range);
});
