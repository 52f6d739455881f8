// Out of GPU memory (issue 5, point 5): a real out-of-memory error from the GPU driver in the
// middle of a step. Nothing computed under it may be shown or kept: the banner says so, the run
// keeps its steps, the adapter stays the last good step's and still exports, and training goes on.
import { expect, test } from '@playwright/test';
import {
  comparedAnswers,
  type Diagnostics,
  dismissError,
  downloadAdapter,
  expectError,
  openWithOneStep,
  playgroundWorker,
  stepCount,
} from './helpers';

test('out of GPU memory during a step is reported, and nothing computed under it is kept', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openWithOneStep(page);
  const answersAfterStep1 = await comparedAnswers(page);
  const adapterAfterStep1 = await downloadAdapter(page);

  // Within maxBufferSize, so no validation error, but more than SwiftShader can back with one
  // allocation: vkAllocateMemory fails with VK_ERROR_OUT_OF_DEVICE_MEMORY, inside the error scope
  // of the next step's GPU work.
  await playgroundWorker(page).evaluate(() => {
    const diagnostics = (self as unknown as { ttrvDiagnostics: Diagnostics }).ttrvDiagnostics;
    const device = diagnostics.gpuDevice;
    diagnostics.inNextGpuWork = () =>
      device
        .createBuffer({ size: device.limits.maxBufferSize, usage: GPUBufferUsage.STORAGE })
        .destroy();
  });
  await page.getByTestId('step-button').click();
  await expectError(
    page,
    /The GPU ran out of memory \(.*OUT_OF_DEVICE_MEMORY\)\. Nothing computed/,
  );
  await page.screenshot({ path: test.info().outputPath('out-of-memory.png'), fullPage: true });
  expect(await stepCount(page)).toBe(1);
  // The step's update was thrown away: the answers and the exported adapter are step 1's.
  expect(await comparedAnswers(page)).toEqual(answersAfterStep1);
  const adapterNow = await downloadAdapter(page);
  expect(adapterNow.config).toEqual(adapterAfterStep1.config);
  expect(Buffer.from(adapterNow.safetensorsBytes).equals(adapterAfterStep1.safetensorsBytes)).toBe(
    true,
  );

  // The app keeps working: the next step trains on from the last good adapter.
  await dismissError(page);
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '2', {
    timeout: 240_000,
  });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  const adapterAfterStep2 = await downloadAdapter(page);
  expect(
    Buffer.from(adapterAfterStep2.safetensorsBytes).equals(adapterAfterStep1.safetensorsBytes),
  ).toBe(false);
});
