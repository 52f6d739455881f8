import { expect, type Page } from '@playwright/test';
import sharp from 'sharp';

/** Opens the playground and waits for the built-in demo model. */
export async function openPlayground(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', {
    timeout: 120_000,
  });
}

export async function pngOf(
  width: number,
  height: number,
  rgb: { r: number; g: number; b: number } = { r: 220, g: 40, b: 40 },
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: rgb } })
    .png()
    .toBuffer();
}

export async function uploadImage(
  page: Page,
  name: string,
  buffer: Buffer,
  mimeType = 'image/png',
): Promise<void> {
  await page.getByTestId('image-input').setInputFiles({ name, mimeType, buffer });
}

export async function expectError(page: Page, text: string | RegExp): Promise<void> {
  await expect(page.getByTestId('error-banner')).toContainText(text);
}

export async function dismissError(page: Page): Promise<void> {
  await page.getByTestId('error-banner').getByRole('button', { name: 'Dismiss' }).click();
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

export async function stepCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('step-count').getAttribute('data-value'));
}
