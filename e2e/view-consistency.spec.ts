// The view_consistency and perception rewards as a user picks them in the settings panel: three
// views and a few steps on a demo sample show the votes of each view under base vs adapted;
// perception shows the perception gap; the reward chart is named after the reward in use.
// On the CPU (Wasm): these are the rewards' settings and displays, not WebGPU, and a step there is
// several times faster than on SwiftShader's WebGPU.
import { expect, test } from '@playwright/test';
import { openPlayground, withoutWebGpu } from './helpers';

const VIEWS = 3;
const VOTES = 8;

test('view_consistency shows the votes of each view and names itself in the reward chart', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await page.locator('.sample').nth(2).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();

  // Off until a reward that reads it is chosen.
  await expect(page.getByTestId('setting-num_views')).toBeDisabled();
  await page.getByTestId('setting-reward').selectOption('view_consistency');
  await expect(page.getByTestId('setting-num_views')).toBeEnabled();
  await page.getByTestId('setting-num_views').fill(String(VIEWS));
  await page.getByTestId('setting-num_votes').fill(String(VOTES));
  await page.getByTestId('setting-num_generations').fill('4');
  await expect(page.getByTestId('setting-view_augmentations-crop')).toBeChecked();

  for (const step of [1, 2]) {
    await page.getByTestId('step-button').click();
    await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', String(step), {
      timeout: 300_000,
    });
  }

  const rows = page.getByTestId('view-votes').locator('[data-testid^="view-votes-"]');
  await expect(rows).toHaveCount(VIEWS);
  await expect(page.getByTestId('view-votes-0')).toContainText('view 0 (original):');
  await expect(page.getByTestId('view-votes-1')).toContainText('view 1 (crop, flip, color):');
  for (let k = 0; k < VIEWS; k++) {
    // Each view's answers add up to its num_votes votes.
    const text = (await page.getByTestId(`view-votes-${k}`).textContent()) ?? '';
    const counts = [...text.matchAll(/ (\d+)\/(\d+)/g)];
    expect(counts.length, text).toBeGreaterThan(0);
    expect(
      counts.reduce((n, m) => n + Number(m[1]), 0),
      text,
    ).toBe(VOTES);
    expect(
      counts.every((m) => Number(m[2]) === VOTES),
      text,
    ).toBe(true);
  }
  await expect(page.getByTestId('chart-reward')).toContainText('reward (view_consistency)');
  await expect(page.getByTestId('chart-reward')).toHaveAttribute('data-points', '2');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('perception shows how much the answers lean on the image, and names itself in the reward chart', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await page.locator('.sample').nth(2).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await expect(page.getByTestId('setting-perception_coef')).toBeDisabled();
  await page.getByTestId('setting-reward').selectOption('perception');
  await expect(page.getByTestId('setting-perception_coef')).toBeEnabled();
  await page.getByTestId('setting-num_votes').fill(String(VOTES));
  await page.getByTestId('setting-num_generations').fill('4');
  await expect(page.getByTestId('perception-gap-value')).toHaveCount(0);
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 240_000,
  });
  const gap = Number(await page.getByTestId('perception-gap-value').getAttribute('data-value'));
  expect(Number.isFinite(gap)).toBe(true);
  await expect(page.getByTestId('perception-gap-value')).toContainText(' nats');
  await expect(page.getByTestId('view-votes')).toHaveCount(0); // the masked view is not voted on
  await expect(page.getByTestId('chart-reward')).toContainText('reward (perception)');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
