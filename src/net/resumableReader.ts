// Downloads of large weight files that survive a dropped connection and a page reload, at the
// speed of one plain download: the bytes come from one open-ended Range request that runs on from
// read to read (a request per piece cost twice the time in Chromium, decision 0051), and are cut
// into pieces of at most PIECE_BYTES, each kept in the browser's Cache API once it has arrived
// (written in the background, a few at a time), so a retry (or the next visit) fetches only what
// is still missing.
import type { RangeReader } from '../formats/safetensors';
import type { ByteStream } from './httpRangeReader';

export const PIECE_BYTES = 8 * 2 ** 20;
const CACHE_NAME = 'ttrv-weights-v1';
/** Cache writes in flight at most: they overlap the download, and hold this many pieces at most. */
export const PUTS_IN_FLIGHT = 4;
/** A forward gap between reads up to this size is read through; a larger one starts a new request
 * (one round trip costs less than downloading bytes nobody wants). */
const SKIP_BYTES = 256 * 2 ** 10;

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

/** A response body taken in exact byte counts from where it starts in the file. */
class BodyCursor {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private held: Uint8Array = new Uint8Array(0);

  constructor(
    body: ReadableStream<Uint8Array>,
    /** The file offset of the next byte `take` returns. */
    public position: number,
  ) {
    this.reader = body.getReader();
  }

  /** The next `count` bytes; a body that ends or fails before them throws. */
  async take(count: number): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      if (this.held.length === 0) {
        const { done, value } = await this.reader.read();
        if (done)
          throw new Error(`the answer ended at byte ${(this.position + filled).toLocaleString()}`);
        this.held = value;
      }
      const part = this.held.subarray(0, count - filled);
      out.set(part, filled);
      filled += part.length;
      this.held = this.held.subarray(part.length);
    }
    this.position += count;
    return out;
  }

  close(): void {
    this.reader.cancel().catch(() => {});
  }
}

/**
 * A RangeReader over `open` (the open-ended Range requests of `url`) that fetches every byte at
 * most once across retries and reloads, and reports the bytes delivered so far to `onProgress`.
 * Reads run one after another; `close` ends the request still open after the last one.
 */
export async function resumableReader(
  url: string,
  open: ByteStream,
  onProgress: ByteProgress = () => {},
): Promise<RangeReader> {
  const cache = /^https?:/.test(url) ? await openCache() : null;
  // The file's size lets the loader check that the header covers the whole file; when every piece
  // comes from the cache no response tells it, so it is cached too.
  const sizeKey = pieceKey(url, 0, 0);
  const cachedSize = await cache?.match(sizeKey);
  let totalBytes: number | undefined = cachedSize ? Number(await cachedSize.text()) : undefined;
  let loaded = 0;
  let cursor: BodyCursor | null = null;
  const puts = new Set<Promise<void>>();

  const keep = async (key: string, body: BodyInit) => {
    if (!cache) return;
    while (puts.size >= PUTS_IN_FLIGHT) await Promise.race(puts);
    const put: Promise<void> = cache
      .put(key, new Response(body))
      .catch(() => {}) // a full or refused cache costs the resume, not the download
      .then(() => void puts.delete(put));
    puts.add(put);
  };
  const closeCursor = () => {
    cursor?.close();
    cursor = null;
  };
  const fromNetwork = async (start: number, end: number): Promise<Uint8Array<ArrayBuffer>> => {
    if (cursor && (start < cursor.position || start - cursor.position > SKIP_BYTES)) closeCursor();
    if (!cursor) {
      const answer = await open(start);
      cursor = new BodyCursor(answer.body, start);
      if (totalBytes === undefined && answer.totalBytes !== undefined) {
        totalBytes = answer.totalBytes;
        await keep(sizeKey, String(totalBytes));
      }
    }
    if (start > cursor.position) await cursor.take(start - cursor.position);
    return cursor.take(end - start);
  };
  const piece = async (start: number, end: number): Promise<Uint8Array> => {
    const key = pieceKey(url, start, end);
    const hit = await cache?.match(key);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = await fromNetwork(start, end);
    } catch (error) {
      closeCursor();
      await Promise.all(puts); // "kept" below must be true when it is said
      const reason = error instanceof Error ? error.message : String(error);
      throw new DownloadError(
        `Download of ${url} stopped at byte ${start.toLocaleString()}: ${reason}. ` +
          'Retry to resume: the parts already downloaded are kept.',
      );
    }
    await keep(key, bytes);
    return bytes;
  };
  const readRange = async (start: number, end: number) => {
    const out = new Uint8Array(end - start);
    for (let at = start; at < end; at += PIECE_BYTES) {
      const stop = Math.min(end, at + PIECE_BYTES);
      out.set(await piece(at, stop), at - start);
      loaded += stop - at;
      onProgress(loaded);
    }
    return out;
  };
  // One read at a time: each takes up the body where the last one left it.
  let previous: Promise<unknown> = Promise.resolve();
  const resumable: RangeReader = (start, end) => {
    const result = previous.then(() => readRange(start, end));
    previous = result.catch(() => {});
    return result;
  };
  resumable.totalBytes = () => totalBytes;
  resumable.close = closeCursor;
  return resumable;
}
