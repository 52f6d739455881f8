// Turns whatever the user dropped, pasted or picked into a bounded working image, in the worker.
// The processor later resizes to the model's tile (512 px for SmolVLM), so nothing above
// MAX_WORKING_EDGE is ever needed; downscaling here keeps a 12000 × 12000 photo from holding
// half a gigabyte of pixels for the whole session.

export const MAX_WORKING_EDGE = 1536;
export const MAX_IMAGE_FILE_BYTES = 200 * 2 ** 20;

export class ImageInputError extends Error {}

export type PreparedImage = {
  bitmap: ImageBitmap;
  width: number;
  height: number;
  originalWidth: number;
  originalHeight: number;
  /** A PNG of the working copy, for the page to show. */
  preview: Blob;
};

export function fitWithin(width: number, height: number, maxEdge: number) {
  const scale = Math.min(1, maxEdge / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

function fileLabel(file: Blob): string {
  return file instanceof File && file.name ? `"${file.name}"` : 'The file';
}

export async function prepareImage(file: Blob): Promise<PreparedImage> {
  if (file.size === 0) throw new ImageInputError(`${fileLabel(file)} is empty (0 bytes).`);
  if (file.size > MAX_IMAGE_FILE_BYTES) {
    throw new ImageInputError(
      `${fileLabel(file)} is ${(file.size / 2 ** 20).toFixed(0)} MB; images up to ${MAX_IMAGE_FILE_BYTES / 2 ** 20} MB are accepted.`,
    );
  }
  let original: ImageBitmap;
  try {
    original = await createImageBitmap(file);
  } catch {
    const kind = file.type ? ` (${file.type})` : '';
    throw new ImageInputError(
      `${fileLabel(file)}${kind} is not an image this browser can read, or it is corrupt. ` +
        'Use a PNG, JPEG, WebP, GIF or BMP file.',
    );
  }
  const originalWidth = original.width;
  const originalHeight = original.height;
  const size = fitWithin(originalWidth, originalHeight, MAX_WORKING_EDGE);
  let bitmap = original;
  if (size.width !== originalWidth || size.height !== originalHeight) {
    bitmap = await createImageBitmap(original, {
      resizeWidth: size.width,
      resizeHeight: size.height,
      resizeQuality: 'high',
    });
    original.close();
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d');
  if (!context) throw new ImageInputError('This browser cannot draw images in a worker.');
  context.drawImage(bitmap, 0, 0);
  const preview = await canvas.convertToBlob({ type: 'image/png' });
  return { bitmap, ...size, originalWidth, originalHeight, preview };
}
