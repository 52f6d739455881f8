// A non-finite loss or gradient (issue 5, point 5): the step is skipped and the page says so; the
// adapter is left exactly as it was and still exports, and the next step trains again. An update
// that overflows the weights themselves is undone the same way. An adapter whose weights make the
// logits non-finite is refused when sampling, in the error banner, and its CPU copy still exports.
import { expect, test } from '@playwright/test';
import { type PeftLoraConfig, packAdapterZip } from '../src/formats/peftAdapter';
import { decodeTensorToFloat32, parseSafetensors } from '../src/formats/safetensors';
import {
  dismissError,
  downloadAdapter,
  expectError,
  openWithOneStep,
  stepCount,
  withoutWebGpu,
} from './helpers';

// On the CPU path (Wasm), as decision 0038 says for flows whose point is the page: float32
// overflows there alike, and the engine's guard is checked on WebGPU in Node
// (tests/engine/train-step.gpu.test.ts).
test.beforeEach(async ({ page }) => {
  await withoutWebGpu(page);
});

/** Every weight of an adapter zip as it decodes. */
function weightsOf(safetensorsBytes: Uint8Array): number[] {
  return parseSafetensors(safetensorsBytes).tensors.flatMap((t) =>
    Array.from(decodeTensorToFloat32(t.dtype, t.data)),
  );
}

test('a step whose loss or gradient is not finite is skipped, shown, and leaves the adapter alone', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openWithOneStep(page);
  const adapterAfterStep1 = await downloadAdapter(page);

  // A setting the form accepts (temperature > 0) that float32 does not survive: the training pass
  // divides the logits by the temperature in float32, where logits / 1e-38 overflow to ±Infinity
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

test('an adapter that makes the logits non-finite is refused clearly and still exports', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openWithOneStep(page);
  const trained = await downloadAdapter(page);
  // Finite weights, so import takes them, but far past what a forward pass survives in float32:
  // x·A is ~1e31, times B overflows, and the next layers turn ±Infinity into NaN.
  const huge = Math.fround(1e30);
  const diverged = packAdapterZip({
    config: trained.config as unknown as PeftLoraConfig,
    tensors: parseSafetensors(trained.safetensorsBytes).tensors.map((t) => ({
      name: t.name,
      dtype: 'F32' as const,
      shape: t.shape,
      data: new Float32Array(t.shape.reduce((a, b) => a * b, 1)).fill(huge),
    })),
  });
  await page.getByTestId('import-adapter').setInputFiles({
    name: 'diverged.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(diverged),
  });
  // Import asks base and adapted again: the adapted side cannot sample.
  const message =
    'The model produced non-finite logits (NaN/Infinity): the adapter may have diverged; reset or re-import it.';
  await expectError(page, message);
  await dismissError(page);
  await page.getByTestId('step-button').click();
  await expectError(page, message);
  expect(await stepCount(page)).toBe(0);
  // The imported adapter is kept as it came, on the CPU: it still exports.
  const kept = await downloadAdapter(page);
  expect(weightsOf(kept.safetensorsBytes).every((w) => w === huge)).toBe(true);
});
