// A non-finite loss or gradient (issue 5, point 5): the step is skipped and the page says so; the
// adapter is left exactly as it was and still exports, and the next step trains again. An update
// that overflows the weights themselves is undone the same way.
import { expect, test } from '@playwright/test';
import { dismissError, downloadAdapter, expectError, openWithOneStep, stepCount } from './helpers';

test('a step whose loss or gradient is not finite is skipped, shown, and leaves the adapter alone', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openWithOneStep(page);
  const adapterAfterStep1 = await downloadAdapter(page);

  // A setting the form accepts (temperature > 0) that float32 does not survive: the training pass
  // divides the logits by the temperature on the GPU, where logits / 1e-38 overflow to ±Infinity
  // and the gradient comes out NaN. (Sampling divides in float64 on the CPU: the votes are fine.)
  await page.getByTestId('setting-temperature').fill('1e-38');
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '2', {
    timeout: 240_000,
  });
  await expect(page.getByTestId('run-note')).toHaveText(
    /^Step 2 skipped: non-finite (loss|gradient); the adapter was left as it was\.$/,
  );
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('chart-loss')).toHaveAttribute('data-points', '2');
  await page.screenshot({ path: test.info().outputPath('skipped-step.png'), fullPage: true });
  const adapterAfterSkip = await downloadAdapter(page);
  expect(
    Buffer.from(adapterAfterSkip.safetensorsBytes).equals(adapterAfterStep1.safetensorsBytes),
  ).toBe(true);

  // A learning rate past float32's range: loss and gradient are finite, the update is not.
  await page.getByTestId('setting-temperature').fill('1');
  await page.getByTestId('setting-learning_rate').fill('1e39');
  await page.getByTestId('step-button').click();
  await expectError(page, /The update made the adapter's weights non-finite.*undone/);
  await page.screenshot({ path: test.info().outputPath('overflowed-update.png') });
  expect(await stepCount(page)).toBe(2);
  const adapterAfterOverflow = await downloadAdapter(page);
  expect(
    Buffer.from(adapterAfterOverflow.safetensorsBytes).equals(adapterAfterStep1.safetensorsBytes),
  ).toBe(true);
  await dismissError(page);

  // Back to sane settings, training goes on from the same adapter.
  await page.getByTestId('setting-learning_rate').fill('0.0005');
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '3', {
    timeout: 240_000,
  });
  const adapterAfterStep3 = await downloadAdapter(page);
  expect(
    Buffer.from(adapterAfterStep3.safetensorsBytes).equals(adapterAfterStep1.safetensorsBytes),
  ).toBe(false);
});
