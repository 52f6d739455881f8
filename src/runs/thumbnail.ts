// A run's thumbnail for the Runs list: the image scaled to fit THUMBNAIL_PX, as JPEG bytes.
import type { StoredPicture } from './runsDb';

const THUMBNAIL_PX = 96;

/** The thumbnail of `image`, or null where the browser cannot draw off screen (Node tests). */
export async function thumbnailOf(image: Blob): Promise<StoredPicture | null> {
  if (typeof createImageBitmap !== 'function' || typeof OffscreenCanvas === 'undefined')
    return null;
  const bitmap = await createImageBitmap(image);
  const scale = THUMBNAIL_PX / Math.max(bitmap.width, bitmap.height, 1);
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = new OffscreenCanvas(width, height);
  canvas.getContext('2d')?.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  return { bytes: new Uint8Array(await blob.arrayBuffer()), type: blob.type };
}
