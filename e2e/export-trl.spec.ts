// "TRL project": the page's image, question and settings leave as a TRL GRPOTrainer project
// (train_ttrv.py, the rewards in plain Python, the image, accelerate configs); dataset runs export
// their split (e2e/dataset-mode.spec.ts and dataset-folder.spec.ts check those bundles).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { downloadTrlProject, openPlayground, withoutWebGpu } from './helpers';

// On the CPU path (Wasm), as decision 0038 says for flows whose point is the page: this is the
// export, not the GPU.
test.beforeEach(async ({ page }) => {
  await withoutWebGpu(page);
});

test('the single-image run exports as a TRL project that compiles and self-tests', async ({
  page,
}) => {
  await openPlayground(page);
  await expect(page.getByTestId('export-trl')).toBeDisabled();
  await page.locator('.sample').nth(2).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('setting-learning_rate').fill('0.002');
  await expect(page.getByTestId('export-trl-source')).toContainText('the image and question');
  const project = await downloadTrlProject(page);

  const question = await page.getByTestId('question-input').inputValue();
  expect(project.rows('data/train.jsonl')).toEqual([
    { item_id: 'image', image: 'images/image.png', question, type: 'untyped' },
  ]);
  expect(project.files['data/eval.jsonl']).toBeUndefined();
  // The sample's own PNG bytes.
  const png = project.files['data/images/image.png'];
  expect(Array.from(png?.subarray(0, 4) ?? [])).toEqual([0x89, 0x50, 0x4e, 0x47]);
  const script = project.text('train_ttrv.py');
  expect(script).toContain('BASE_MODEL = "ttrv-demo-shapes"');
  expect(script).toContain('learning_rate=0.002,');
  expect(script).toMatch(/early_stop_agreement=0\.9,/);
  expect(project.text('README.md')).toContain('What differs from the playground');

  // Debian's python3 alone: the rewards match src/rl, every script compiles.
  const dir = mkdtempSync(path.join(tmpdir(), 'ttrv-trl-e2e-'));
  try {
    for (const [name, bytes] of Object.entries(project.files)) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), bytes);
    }
    const selfTest = execFileSync('python3', [path.join(dir, 'ttrv_rewards.py'), '--self-test'], {
      encoding: 'utf8',
    });
    expect(selfTest).toMatch(/(\d+) of \1 vectors match/);
    execFileSync('python3', [
      '-m',
      'py_compile',
      path.join(dir, 'train_ttrv.py'),
      path.join(dir, 'ttrv_rewards.py'),
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
