import { readFile } from 'node:fs/promises';
import { expect, type Page, type Worker } from '@playwright/test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { type UnpackedAdapter, unpackAdapterZip } from '../src/formats/peftAdapter';
import { parseSafetensors } from '../src/formats/safetensors';

/** Opens the playground and waits for the built-in demo model. */
export async function openPlayground(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000,
  });
}

/**
 * Makes the page a browser without WebGPU, before it loads: the app then runs the model on the CPU
 * (WebAssembly), as e2e/gpu-status.spec.ts checks. For specs where WebGPU is not the point: jax-js
 * on SwiftShader's WebGPU is several times slower than on Wasm (a dataset run scoring a 300-item
 * split twice: 7.5 min against 1 min).
 */
export async function withoutWebGpu(page: Page): Promise<void> {
  await page.addInitScript(() => {
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
}

/** Opens the playground and takes one step on a plain image: a run and an adapter to lose. */
export async function openWithOneStep(page: Page): Promise<void> {
  await openPlayground(page);
  await uploadImage(page, 'scene.png', await pngOf(64, 64));
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 240_000,
  });
}

/** The worker's diagnostics handle, `self.ttrvDiagnostics`: for tests only. */
export type { Diagnostics } from '../src/protocol';

/** The playground's worker, where `self.ttrvDiagnostics` lives. */
export function playgroundWorker(page: Page): Worker {
  const [worker] = page.workers();
  if (!worker) throw new Error('the page has no worker');
  return worker;
}

export async function pngOf(
  width: number,
  height: number,
  rgb: { r: number; g: number; b: number } = { r: 220, g: 40, b: 40 },
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: rgb } })
    .png()
    .toBuffer();
}

export async function uploadImage(
  page: Page,
  name: string,
  buffer: Buffer,
  mimeType = 'image/png',
): Promise<void> {
  await page.getByTestId('image-input').setInputFiles({ name, mimeType, buffer });
}

export async function expectError(page: Page, text: string | RegExp): Promise<void> {
  await expect(page.getByTestId('error-banner')).toContainText(text);
}

export async function dismissError(page: Page): Promise<void> {
  await page.getByTestId('error-banner').getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

export async function stepCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('step-count').getAttribute('data-value'));
}

/** Clicks Export adapter; the zip it downloads, checked as Import checks one. */
export async function downloadAdapter(page: Page): Promise<UnpackedAdapter> {
  const download = page.waitForEvent('download');
  await page.getByTestId('export-adapter').click();
  const adapter = unpackAdapterZip(await readFile(await (await download).path()));
  expect(parseSafetensors(adapter.safetensorsBytes).tensors.length).toBeGreaterThan(0);
  return adapter;
}

/** Waits until the base-vs-adapted panel is not answering, and returns what its sides show. */
export async function comparedAnswers(page: Page): Promise<string[]> {
  await expect(page.getByRole('button', { name: 'Ask again' })).toBeEnabled({ timeout: 180_000 });
  return page.locator('.compare-side').allInnerTexts();
}

/** Clicks "TRL project"; the zip's files by their path inside its folder, and JSONL rows parsed. */
export async function downloadTrlProject(page: Page): Promise<{
  files: Record<string, Uint8Array>;
  text: (name: string) => string;
  rows: (name: string) => Record<string, string>[];
}> {
  const download = page.waitForEvent('download');
  await page.getByTestId('export-trl').click();
  expect((await download).suggestedFilename()).toBe('ttrv-trl-project.zip');
  const zipped = unzipSync(await readFile(await (await download).path()));
  const files = Object.fromEntries(
    Object.entries(zipped).map(([name, bytes]) => [name.replace(/^ttrv-trl-project\//, ''), bytes]),
  );
  const text = (name: string) => {
    const bytes = files[name];
    if (!bytes) throw new Error(`the TRL project has no ${name}`);
    return new TextDecoder().decode(bytes);
  };
  const rows = (name: string) =>
    text(name)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  return { files, text, rows };
}
