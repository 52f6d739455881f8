// The page describes the model that is loaded: the picker's estimate line follows the source a
// person loads (here the demo model's own files picked as a local folder), and without WebGPU the
// status bar says what a step costs at the loaded size, measured in the page (issue 26). The
// vision encoder's session, created after "ready", is shown loading until it is there.
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { openPlayground, stepCount, withoutWebGpu } from './helpers';

const DEMO_FOLDER = fileURLToPath(new URL('../public/models/ttrv-demo-shapes', import.meta.url));

test('a picked folder replaces the demo estimate, and the CPU line says what a step costs here', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  const estimate = page.getByTestId('model-estimate');
  await expect(estimate).toContainText(/^Built-in demo model \(shapes\): downloads/);
  // No step yet: no cost to tell.
  await expect(page.getByTestId('cpu-step-cost')).toHaveCount(0);

  await page.getByTestId('model-folder-input').setInputFiles(DEMO_FOLDER);
  const status = page.getByTestId('model-status');
  await expect(status).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(status).toContainText('Local folder: ttrv-demo-shapes');
  await expect(estimate).toHaveAttribute('data-state', 'ready');
  await expect(estimate).toContainText(
    /^Local folder: ttrv-demo-shapes: reads [\d.]+ MB of text weights \+ [\d.]+ MB vision encoder \(fp32\) from the folder; text weights in memory \(CPU\)/,
  );
  await expect(estimate).not.toContainText('Built-in demo model');
  // The vision encoder's session comes after "ready": the progress list stays until its phases
  // have ended, then closes with every phase done.
  await expect(page.getByTestId('vision-pending')).toHaveCount(0, { timeout: 60_000 });
  await expect(page.getByTestId('download-progress')).toHaveCount(0);

  await page.locator('.sample').nth(0).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect.poll(() => stepCount(page), { timeout: 240_000 }).toBe(1);
  await expect(page.getByTestId('cpu-step-cost')).toHaveText(
    /^~[\d.]+ s a step at this size on the CPU \(the last step, measured here\)\.$/,
  );
  await expect(page.getByTestId('webgpu-unavailable')).not.toContainText('impractical');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
