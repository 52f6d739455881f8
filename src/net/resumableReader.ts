// Downloads of large weight files that survive a dropped connection and a page reload: reads are
// split into pieces of at most PIECE_BYTES, each piece is kept in the browser's Cache API once it
// has arrived, so a retry (or the next visit) fetches only what is still missing.
import type { RangeReader } from '../formats/safetensors';

export const PIECE_BYTES = 8 * 2 ** 20;
const CACHE_NAME = 'ttrv-weights-v1';

export type ByteProgress = (loadedBytes: number) => void;

export class DownloadError extends Error {}

function pieceKey(url: string, start: number, end: number): string {
  // A Cache API key must be an http(s) URL; the range goes in the query.
  return `${url}${url.includes('?') ? '&' : '?'}ttrv-range=${start}-${end}`;
}

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // Private windows and some sandboxes refuse storage: download without caching.
  }
}

/** `read`, reporting the bytes delivered so far to `onProgress` (for files not worth caching). */
export function countingReader(read: RangeReader, onProgress: ByteProgress): RangeReader {
  let loaded = 0;
  const counted: RangeReader = async (start, end) => {
    const bytes = await read(start, end);
    loaded += bytes.length;
    onProgress(loaded);
    return bytes;
  };
  counted.totalBytes = () => read.totalBytes?.();
  return counted;
}

/**
 * Wraps `read` (HTTP Range reads of `url`) so that every byte is fetched at most once across
 * retries and reloads, and reports the bytes delivered so far to `onProgress`.
 */
export async function resumableReader(
  url: string,
  read: RangeReader,
  onProgress: ByteProgress = () => {},
): Promise<RangeReader> {
  const cache = /^https?:/.test(url) ? await openCache() : null;
  // The file's size lets the loader check that the header covers the whole file; when every piece
  // comes from the cache no response tells it, so it is cached too.
  const sizeKey = pieceKey(url, 0, 0);
  const cachedSize = await cache?.match(sizeKey);
  let totalBytes: number | undefined = cachedSize ? Number(await cachedSize.text()) : undefined;
  let loaded = 0;
  const piece = async (start: number, end: number): Promise<Uint8Array> => {
    const key = pieceKey(url, start, end);
    const hit = await cache?.match(key);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    let bytes: Uint8Array;
    try {
      bytes = await read(start, end);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DownloadError(
        `Download of ${url} stopped at byte ${start.toLocaleString()}: ${reason}. ` +
          'Retry to resume: the parts already downloaded are kept.',
      );
    }
    await cache?.put(key, new Response(bytes.slice().buffer)).catch(() => {});
    const size = read.totalBytes?.();
    if (size !== undefined && totalBytes === undefined) {
      totalBytes = size;
      await cache?.put(sizeKey, new Response(String(size))).catch(() => {});
    }
    return bytes;
  };
  const resumable: RangeReader = async (start, end) => {
    const out = new Uint8Array(end - start);
    for (let at = start; at < end; at += PIECE_BYTES) {
      const stop = Math.min(end, at + PIECE_BYTES);
      out.set(await piece(at, stop), at - start);
      loaded += stop - at;
      onProgress(loaded);
    }
    return out;
  };
  resumable.totalBytes = () => totalBytes ?? read.totalBytes?.();
  return resumable;
}
