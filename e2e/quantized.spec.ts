// The model picker's weight formats: the demo model with 4-bit text weights, and a vision dtype its
// folder does not ship (a note and the fp32 encoder, not a failure); a TTRV step then runs on them.
import { expect, test } from '@playwright/test';
import { openPlayground, stepCount, withoutWebGpu } from './helpers';

// On the CPU path (Wasm), as decision 0038 says for flows whose point is the page: this is the
// picker and the weight formats; dequantising on WebGPU is checked in Node
// (tests/engine/quantized.gpu.test.ts).
test.beforeEach(async ({ page }) => {
  await withoutWebGpu(page);
});

test('q4 text weights and a missing vision dtype load with a note, and a step runs', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  const status = page.getByTestId('model-status');
  await expect(status).toContainText('text weights f32');
  // Before loading, the picker says what the demo model would take and recommends f32 here.
  const estimate = page.getByTestId('model-estimate');
  await expect(estimate).toHaveAttribute('data-state', 'ready');
  await expect(estimate).toContainText(
    /downloads [\d.]+ MB of text weights \+ [\d.]+ MB vision encoder \(fp32\)/,
  );
  await expect(estimate).toContainText(
    /text weights in memory \(CPU\): f32 [\d.]+ MB · q8 [\d.]+ MB · q4 [\d.]+ MB/,
  );
  await expect(estimate).toContainText('Recommended here: f32.');
  await expect(page.getByTestId('weight-format')).toHaveValue('f32');
  await page.getByTestId('weight-format').selectOption('q4');
  await page.getByTestId('vision-dtype').selectOption('q4');
  await expect(estimate).toContainText('has no q4 vision encoder');
  await expect(estimate).toContainText('vision encoder (fp32)');
  await page.getByRole('button', { name: 'Demo model' }).click();
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(status).toContainText('text weights q4');
  await expect(status).toContainText('vision encoder fp32');
  await expect(page.getByTestId('model-notes')).toContainText('has no q4 vision encoder');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await page.locator('.sample').nth(0).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect.poll(() => stepCount(page), { timeout: 240_000 }).toBe(1);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
