// Dataset mode in the app: adapt on a few unlabeled items of a shipped split, then greedy accuracy
// on the whole split before and after, overall and per question type.
import { expect, test } from '@playwright/test';
import { openPlayground } from './helpers';

test('dataset mode adapts on a subset and scores the whole split before and after', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openPlayground(page);
  const panel = page.getByTestId('dataset-panel');
  await panel.getByRole('combobox').selectOption('sketch');
  await panel.getByLabel('items adapted').fill('4');
  await panel.getByLabel('epochs').fill('1');
  await panel.getByLabel('prompts per step').fill('4');
  await page.getByTestId('dataset-run').click();
  await expect(page.getByTestId('dataset-progress')).toBeVisible();
  const results = page.getByTestId('dataset-results');
  await expect(results).toBeVisible({ timeout: 540_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('dataset-adapted-accuracy')).toHaveText(/^\d+\.\d %$/);
  // One row per question type of the split, plus the total.
  await expect(results.locator('tbody tr')).toHaveCount(6);
  await expect(panel).toContainText(/4 items adapted on, \d+ evaluated/);
  // The adaptation steps drew the charts.
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');
});
