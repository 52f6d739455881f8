import { expect, test } from '@playwright/test';

test('the worker reports a SwiftShader WebGPU adapter and a correct jax-js gradient', async ({
  page,
}) => {
  await page.goto('/');
  const status = page.getByTestId('gpu-status');
  await expect(status).toHaveAttribute('data-state', 'ready');
  await expect(status).toHaveAttribute('data-architecture', 'swiftshader');
  await expect(page.getByTestId('adapter-architecture')).toHaveText('swiftshader');
  await expect(page.getByTestId('gradient-check')).toHaveAttribute('data-ok', 'true');
  await page.screenshot({ path: 'test-results/screenshots/gpu-status.png', fullPage: true });
});

test('a browser without WebGPU runs on the CPU, says so and why, and still takes a step', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.addInitScript(() => {
    // What a browser without WebGPU looks like to the page.
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  const status = page.getByTestId('gpu-status');
  await expect(status).toHaveAttribute('data-state', 'unavailable');
  await expect(page.getByTestId('webgpu-unavailable')).toContainText('WebGPU is not available');
  await expect(page.getByTestId('webgpu-unavailable')).toContainText('Chrome');
  await page.screenshot({ path: 'test-results/screenshots/no-webgpu.png', fullPage: true });

  // Not a dead end: the demo model loads and steps on the CPU (WebAssembly).
  await expect(page.getByTestId('webgpu-unavailable')).toContainText(
    'runs on the CPU (WebAssembly): every feature works',
  );
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000,
  });
  await page.locator('.sample').nth(0).click();
  await expect(page.getByTestId('image-preview')).toBeVisible();
  await page.getByTestId('step-button').click();
  await expect(page.getByTestId('step-count')).toHaveAttribute('data-value', '1', {
    timeout: 240_000,
  });
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
