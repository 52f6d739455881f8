// The page does not wait for one worker call before making the next: Step pressed while the
// base-vs-adapted answers of the last step are still being computed must work, not fail with
// arrays one call freed under the other.
import { expect, test } from '@playwright/test';
import { openPlayground } from './helpers';

test('Step while the compare panel is still answering gives a clean second step', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  await page.locator('.sample').nth(2).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 240_000,
  });
  // Every step refreshes the compare panel; press Step again before that has finished.
  await expect(page.getByText('Answering…')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '2', {
    timeout: 120_000,
  });
  await expect(page.getByText('Answering…')).toHaveCount(0, { timeout: 120_000 });
  await expect(page.getByTestId('adapted-answer')).not.toHaveText('');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
