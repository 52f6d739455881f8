import { expect, test } from '@playwright/test';
import { expectError, openPlayground, pngOf, uploadImage } from './helpers';

test('a lost GPU device is reported, and the adapter from the last good step still exports', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  await uploadImage(page, 'scene.png', await pngOf(64, 64));
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 240_000,
  });

  const [worker] = page.workers();
  expect(worker).toBeDefined();
  await worker?.evaluate(() => {
    const diagnostics = (self as unknown as { ttrvDiagnostics: { gpuDevice: GPUDevice } })
      .ttrvDiagnostics;
    diagnostics.gpuDevice.destroy();
  });

  await page.getByTestId('step-button').click();
  await expectError(page, /The GPU was lost.*export it/);
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');

  const download = page.waitForEvent('download');
  await page.getByTestId('export-adapter').click();
  expect((await download).suggestedFilename()).toMatch(/^ttrv-adapter-.*\.zip$/);
});
