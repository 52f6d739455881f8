// Dataset mode on a picked folder (tests/fixtures/dataset-folder): an unlabeled folder of three
// items is listed with its count, adapts (single-example mode) and reports agreement but no
// accuracy; a folder that is not usable is refused in the error banner, naming what and where.
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { downloadTrlProject, expectError, openPlayground, withoutWebGpu } from './helpers';

// On the CPU path (Wasm), as decision 0038 says for flows whose point is the page: this is the
// folder reader and the dataset panel, not the GPU.
test.beforeEach(async ({ page }) => {
  await withoutWebGpu(page);
});

const FOLDERS = fileURLToPath(new URL('../tests/fixtures/dataset-folder/', import.meta.url));

test('an unlabeled folder is listed with its items, adapts on one of them and reports agreement only', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openPlayground(page);
  const panel = page.getByTestId('dataset-panel');
  await page.getByTestId('dataset-folder-input').setInputFiles(`${FOLDERS}shapes-3`);
  await expect(panel.getByLabel('split')).toHaveValue('folder shapes-3');
  await expect(panel.getByLabel('split').locator('option:checked')).toHaveText(
    'folder shapes-3 (3, unlabeled)',
  );
  await expect(page.getByTestId('dataset-description')).toContainText(
    'The picked folder shapes-3: 3 items, question types color, count, shape; no labels',
  );
  await panel.getByLabel('adapt on').selectOption('single example');
  await panel.getByLabel('example number').fill('2');
  await panel.getByLabel('steps').fill('1');
  await panel.getByLabel('copies per step').fill('3');
  await page.getByTestId('dataset-run').click();
  await expect(page.getByTestId('dataset-no-labels')).toBeVisible({ timeout: 240_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('dataset-results')).toHaveCount(0);
  await expect(page.getByTestId('dataset-agreement')).toHaveText(
    /^Agreement of the sampled answers: \d+\.\d % at the first adaptation step, \d+\.\d % at the last\.$/,
  );
  const example = page.getByTestId('dataset-example');
  await expect(example).toHaveText(
    /^Example 2, “What shape is blue\?”: base answer .+, adapted .+\.$/,
  );
  // The picked file's image is shown (a Blob URL made in the worker).
  await expect(example.locator('img')).toHaveJSProperty('complete', true);
  expect(
    await example.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth),
  ).toBeGreaterThan(0);
  await expect(panel).toContainText('Adapted on example 2 alone, 3 evaluated');
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');
  await panel.screenshot({ path: test.info().outputPath('unlabeled-folder.png') });

  // Exported for TRL: example 2's three copies as three prompts, its picked image, no labels.
  const project = await downloadTrlProject(page);
  expect(project.rows('data/train.jsonl').map((row) => row.question)).toEqual(
    Array(3).fill('What shape is blue?'),
  );
  expect(new Set(project.rows('data/train.jsonl').map((row) => row.item_id)).size).toBe(3);
  expect(project.files['data/eval.jsonl']).toBeUndefined();
  expect(Object.keys(project.files).filter((name) => name.startsWith('data/images/'))).toHaveLength(
    1,
  );
});

test('a folder with an unreadable image or no items.jsonl is refused with a clear message', async ({
  page,
}) => {
  await openPlayground(page);
  const input = page.getByTestId('dataset-folder-input');
  await input.setInputFiles(`${FOLDERS}broken-image`);
  await expectError(
    page,
    'broken-image/items.jsonl, line 2: the image "images/0001.png" cannot be used.',
  );
  await expectError(page, 'not an image this browser can read');
  // Nothing was added: the shipped splits are still the only ones.
  await expect(page.getByTestId('dataset-panel').getByLabel('split')).not.toContainText('folder');
  await input.setInputFiles(`${FOLDERS}shapes-3/images`);
  await expectError(page, 'images has no items.jsonl: pick a folder holding items.jsonl');
});
