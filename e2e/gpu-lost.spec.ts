import { expect, test } from '@playwright/test';
import { type Diagnostics, expectError, openWithOneStep, playgroundWorker } from './helpers';

test('a lost GPU device is reported, and the adapter from the last good step still exports', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openWithOneStep(page);
  await playgroundWorker(page).evaluate(() => {
    (self as unknown as { ttrvDiagnostics: Diagnostics }).ttrvDiagnostics.gpuDevice.destroy();
  });

  await page.getByTestId('step-button').click();
  await expectError(page, /The GPU was lost.*export it/);
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');

  const download = page.waitForEvent('download');
  await page.getByTestId('export-adapter').click();
  expect((await download).suggestedFilename()).toMatch(/^ttrv-adapter-.*\.zip$/);
});
