// Runs that are never lost (issue 23): a reload in the middle of a step and a closed and reopened
// page bring the run back with the adapter of its last committed step, byte for byte; a full disk
// leaves the run going in memory with a message; two rewards on one image overlay; a step's
// completions can be read. On the CPU
// (Wasm, withoutWebGpu) with few votes and steps: this is the storage and the page, not the GPU.
import { expect, type Page, test } from '@playwright/test';
import { downloadAdapter, openPlayground, stepCount, withoutWebGpu } from './helpers';

const STEP_TIMEOUT = { timeout: 240_000 };
/** Steps of each compared run: 3 in CI; the README's overlay screenshot was taken with
 * E2E_COMPARE_STEPS=12 (test-results/screenshots/runs-overlay.png). */
const COMPARE_STEPS = Number(process.env.E2E_COMPARE_STEPS ?? 3);

/** A demo sample (the first, or the first shifted one), and settings that keep a step short. */
async function smallRun(page: Page, maxSteps: number, shifted = false): Promise<void> {
  await page
    .locator(shifted ? '.sample[title*="(shifted)"]' : '.sample')
    .first()
    .click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('setting-num_votes').fill('8');
  await page.getByTestId('setting-num_generations').fill('4');
  await page.getByTestId('setting-max_steps').fill(String(maxSteps));
  // Every run takes its max_steps: no early stop.
  await page.getByTestId('setting-early_stop_agreement').fill('');
}

/** Waits until the Runs list shows the run stored with `steps` committed steps. */
async function stored(page: Page, steps: number): Promise<void> {
  await expect(page.getByTestId('run-entry').first()).toHaveAttribute(
    'data-steps',
    String(steps),
    STEP_TIMEOUT,
  );
}

/** The adapter's tensors (adapter_model.safetensors) from Export adapter. */
async function adapterTensors(page: Page): Promise<number[]> {
  return [...(await downloadAdapter(page)).safetensorsBytes];
}

test('a reload mid-step and a closed, reopened page bring the run back with its last committed adapter', async ({
  page,
  context,
}) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await smallRun(page, 20);
  await page.getByTestId('step-button').click();
  await stored(page, 1);
  const afterStep1 = await adapterTensors(page);

  // Inside the step: its 8 votes, the first 4 trained, and a completion's tokens coloured.
  const table = page.getByTestId('step-completions');
  await expect(table.getByTestId('completion-row')).toHaveCount(8);
  await expect(table.locator('td', { hasText: /^yes$/ })).toHaveCount(4);
  await table.getByTestId('completion-row').first().click();
  const tokens = table.getByTestId('completion-tokens').locator('span');
  expect(await tokens.count()).toBeGreaterThan(0);
  expect(Number(await tokens.first().getAttribute('data-delta'))).not.toBeNaN();

  // Step 2 is in flight (it takes seconds on Wasm) when the page reloads.
  await page.getByTestId('step-button').click();
  await page.reload();
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000,
  });
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');
  await expect(page.getByTestId('chart-agreement')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('run-note')).toContainText('Start continues it');
  await expect(page.getByTestId('start-button')).toHaveText('Continue');
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await expect(page.getByTestId('setting-num_votes')).toHaveValue('8');
  await expect(page.getByTestId('completion-row')).toHaveCount(8);
  expect(await adapterTensors(page)).toEqual(afterStep1);

  // Continue goes on from step 2 of the same stored run.
  await page.getByTestId('start-button').click();
  await stored(page, 3);
  await page.getByTestId('pause-button').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-value', 'paused');
  const steps = await stepCount(page);
  await stored(page, steps);
  await expect(page.getByTestId('run-entry')).toHaveCount(1);
  const afterLast = await adapterTensors(page);

  await page.close();
  const reopened = await context.newPage();
  await withoutWebGpu(reopened);
  await openPlayground(reopened);
  await expect(reopened.getByTestId('step-count')).toHaveAttribute('data-value', String(steps));
  await expect(reopened.getByTestId('chart-agreement')).toHaveAttribute(
    'data-points',
    String(steps),
  );
  await expect(reopened.getByTestId('run-entry').first()).toContainText('steps');
  expect(await adapterTensors(reopened)).toEqual(afterLast);
  await expect(reopened.getByTestId('error-banner')).toHaveCount(0);
});

test('a full disk: the page says so and the run goes on in memory', async ({ page }) => {
  test.setTimeout(300_000);
  await withoutWebGpu(page);
  await page.addInitScript(() => {
    // The adapter is the biggest record: the write that fills the disk.
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args) {
      if (this.name === 'adapters') throw new DOMException('disk full', 'QuotaExceededError');
      return put.apply(this, args);
    } as typeof put;
  });
  await openPlayground(page);
  await smallRun(page, 2);
  await page.getByTestId('start-button').click();
  await expect(page.getByTestId('run-status')).toHaveAttribute(
    'data-value',
    /finished|converged/,
    STEP_TIMEOUT,
  );
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '2');
  await expect(page.getByTestId('storage-note')).toContainText('storage for this site is full');
  await expect(page.getByTestId('storage-note')).toContainText('goes on in memory');
  await expect(page.getByTestId('run-entry')).toHaveCount(0);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('Compare rewards on this image overlays two rewards, run from a fresh adapter each', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  // The first shifted sample: the base model is unsure there, so the two rewards have votes to
  // weigh differently (on the first, clean sample v4 agrees with itself from step 1).
  await smallRun(page, COMPARE_STEPS, true);
  await expect(page.getByTestId('compare-reward-ttrv')).toBeChecked();
  await expect(page.getByTestId('compare-reward-majority')).toBeChecked();
  await page.getByTestId('compare-rewards').click();
  const overlay = page.getByTestId('runs-overlay');
  await expect(overlay).toHaveAttribute('data-runs', '2', { timeout: 480_000 });
  await expect(page.getByTestId('compare-rewards')).toHaveText('Compare rewards on this image');
  for (const chart of ['overlay-agreement', 'overlay-reward', 'overlay-kl', 'overlay-entropy']) {
    await expect(page.getByTestId(chart)).toHaveAttribute('data-points', String(COMPARE_STEPS));
  }
  await expect(page.getByTestId('overlay-agreement')).toContainText('ttrv, lr ');
  await expect(page.getByTestId('overlay-agreement')).toContainText('majority, lr ');
  const entries = page.getByTestId('run-entry');
  await expect(entries).toHaveCount(2);
  await expect(page.getByTestId('runs-list').getByTestId('run-reward')).toHaveText([
    'majority',
    'ttrv',
  ]);
  await page.getByTestId('runs-list').scrollIntoViewIfNeeded();
  await page
    .locator('.runs-panel')
    .screenshot({ path: 'test-results/screenshots/runs-overlay.png' });

  // Rename the ttrv run, untick it, delete it.
  const ttrv = entries.filter({ hasText: 'ttrv ·' });
  await ttrv.getByTestId('run-rename').click();
  await ttrv.getByTestId('run-name-input').fill('ttrv on the sample');
  await ttrv.getByTestId('run-name-input').press('Enter');
  await expect(page.getByTestId('overlay-agreement')).toContainText('· ttrv on the sample');
  await page.getByTestId('run-overlay-toggle').last().uncheck();
  await expect(overlay).toHaveAttribute('data-runs', '1');
  await entries.filter({ hasText: 'ttrv on the sample' }).getByTestId('run-delete').click();
  await expect(entries).toHaveCount(1);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
