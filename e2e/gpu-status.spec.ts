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

test('a browser without WebGPU gets a plain message saying what to do', async ({ page }) => {
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
});
