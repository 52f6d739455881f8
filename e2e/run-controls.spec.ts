// Run controls clicked as quickly as a person does: a stop acts on the step in flight, an old
// run's loop never touches a new run, a dataset run can be cancelled, and a sample's
// multiple-choice question opens its builder. Start/Pause/Reset runs its steps on the CPU (Wasm):
// the buttons' timing is the point, not WebGPU, and a step there is several times faster.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import type { DemoSample } from '../src/demoSamples';
import { openPlayground, stepCount, withoutWebGpu } from './helpers';

const SAMPLES = JSON.parse(readFileSync('public/samples/samples.json', 'utf8')) as DemoSample[];

test('Start, Pause, Reset, Start: the new run keeps running until paused', async ({ page }) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await page.locator('.sample').nth(2).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('setting-max_steps').fill('50');
  await page.getByTestId('setting-early_stop_agreement').fill('');
  const status = page.getByTestId('run-status');

  await page.getByTestId('start-button').click();
  await expect.poll(() => stepCount(page), { timeout: 300_000 }).toBeGreaterThanOrEqual(1);
  // As quickly as the buttons allow, while a step is in flight.
  await page.getByTestId('pause-button').click();
  await page.getByTestId('reset-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '0');
  await page.getByTestId('start-button').click();
  await expect(status).toHaveAttribute('data-value', 'running');

  await expect.poll(() => stepCount(page), { timeout: 300_000 }).toBeGreaterThanOrEqual(2);
  await expect(status).toHaveAttribute('data-value', 'running');
  await page.getByTestId('pause-button').click();
  await expect(status).toHaveAttribute('data-value', 'paused', { timeout: 120_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('Cancel stops a dataset run; no result is shown and the adapter is the one from before', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  const panel = page.getByTestId('dataset-panel');
  await panel.getByLabel('split').selectOption('sketch');
  await page.getByTestId('dataset-run').click();
  await expect(page.getByTestId('dataset-progress')).toBeVisible();
  await page.getByTestId('dataset-cancel').click();
  await expect(page.getByTestId('dataset-cancel')).toHaveCount(0, { timeout: 120_000 });
  await expect(page.getByTestId('dataset-progress')).toHaveCount(0);
  await expect(page.getByTestId('dataset-results')).toHaveCount(0);
  await expect(page.getByTestId('run-note')).toContainText('Dataset run cancelled');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('dataset-run')).toBeEnabled();
});

test('a sample with a multiple-choice question opens the multiple-choice builder', async ({
  page,
}) => {
  await openPlayground(page);
  const sample = SAMPLES.find((s) => / A\. .* D\. /.test(s.question));
  expect(sample, 'a multiple-choice sample').toBeDefined();
  await page.locator(`.sample[title$="${sample?.question}"]`).first().click();
  await expect(page.getByTestId('question-input')).toHaveValue(sample?.question ?? '');
  await expect(page.getByRole('tab', { name: 'Multiple choice' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await expect(page.getByLabel('Option A')).toHaveValue(/\S/);
});
