// Dataset mode in the app: adapt on a few unlabeled items of a shipped split (or on one item
// repeated as the batch), then greedy accuracy on the whole split before and after, overall and
// per question type.
//
// On the CPU (Wasm): what is checked here is dataset mode, not WebGPU, and scoring the whole split
// twice on SwiftShader's WebGPU took 7.5 minutes a test. Dataset mode on WebGPU is exercised by
// e2e/dataset-folder.spec.ts.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { downloadTrlProject, openPlayground, withoutWebGpu } from './helpers';

const QUESTION_TYPES = (
  JSON.parse(readFileSync('public/datasets/shapes/index.json', 'utf8')) as {
    question_types: string[];
  }
).question_types;

test('dataset mode adapts on a subset and scores the whole split before and after', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-state', 'unavailable');
  const panel = page.getByTestId('dataset-panel');
  await panel.getByLabel('split').selectOption('sketch');
  await panel.getByLabel('items adapted').fill('4');
  await panel.getByLabel('epochs').fill('1');
  await panel.getByLabel('prompts per step').fill('4');
  // Greedy scores only: sampling 48 answers for each of 300 items is many times the work.
  await panel.getByTestId('dataset-sampled').uncheck();
  await page.getByTestId('dataset-run').click();
  await expect(page.getByTestId('dataset-progress')).toBeVisible();
  const results = page.getByTestId('dataset-results');
  await expect(results).toBeVisible({ timeout: 540_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('dataset-adapted-accuracy')).toHaveText(/^\d+\.\d %$/);
  // One row per question type of the split, plus the total.
  await expect(results.locator('tbody tr')).toHaveCount(QUESTION_TYPES.length + 1);
  await expect(panel).toContainText(
    "4 items adapted on, 300 evaluated (the whole split: TTRV's protocol; 32 votes, 16 trained, learning rate 0.005)",
  );
  // The adaptation steps drew the charts.
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');

  // The run's recipe as a TRL project: the 4 items it adapted on, unlabeled; the split to score.
  await expect(page.getByTestId('export-trl-source')).toContainText('the dataset run on sketch');
  const project = await downloadTrlProject(page);
  const train = project.rows('data/train.jsonl');
  expect(train).toHaveLength(4);
  expect(train.every((row) => !('answer' in row) && row.item_id?.startsWith('sketch-'))).toBe(true);
  expect(project.rows('data/eval.jsonl')).toHaveLength(300);
  expect(project.rows('data/eval.jsonl').every((row) => typeof row.answer === 'string')).toBe(true);
  expect(project.text('train_ttrv.py')).toMatch(/num_generations=32,[^\n]*\n/);
  expect(project.text('train_ttrv.py')).toContain('prompts_per_step=4,');
  expect(project.text('train_ttrv.py')).toContain('learning_rate=0.005,');
});

test('single-example mode adapts on one item repeated as the batch, then scores the whole split', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await withoutWebGpu(page);
  await openPlayground(page);
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-state', 'unavailable');
  const panel = page.getByTestId('dataset-panel');
  await panel.getByLabel('split').selectOption('sketch');
  await panel.getByLabel('adapt on').selectOption('single example');
  await expect(panel.getByLabel('items adapted')).toHaveCount(0);
  await panel.getByLabel('example number').fill('7');
  await panel.getByLabel('steps').fill('1');
  await panel.getByLabel('copies per step').fill('2');
  await panel.getByLabel('votes per prompt').fill('8');
  await panel.getByLabel('of them trained').fill('4');
  await panel.getByTestId('dataset-sampled').uncheck();
  await page.getByTestId('dataset-run').click();
  const results = page.getByTestId('dataset-results');
  await expect(results).toBeVisible({ timeout: 540_000 });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  await expect(page.getByTestId('dataset-adapted-accuracy')).toHaveText(/^\d+\.\d %$/);
  await expect(page.getByTestId('dataset-example')).toHaveText(
    /^Example 7, “.+” \(label .+\): base answer .+, adapted .+\.$/,
  );
  await expect(panel).toContainText('Adapted on example 7 alone, 300 evaluated');
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1');
  await panel.screenshot({ path: test.info().outputPath('single-example.png') });
});
