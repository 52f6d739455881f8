// Reading a remote file in byte ranges, over HTTP Range requests.
import type { RangeReader } from '../formats/safetensors';

/** A RangeReader over HTTP Range requests; a server that ignores Range is an error, not a download. */
export function httpRangeReader(url: string, fetchFn: typeof fetch = fetch): RangeReader {
  let total: number | undefined;
  const read: RangeReader = async (start, end) => {
    const response = await fetchFn(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    if (response.status !== 206) {
      throw new Error(
        `${url}: expected 206 Partial Content for a Range request, got ${response.status}`,
      );
    }
    const size = response.headers.get('Content-Range')?.match(/\/(\d+)$/)?.[1];
    if (size) total = Number(size);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== end - start) {
      throw new Error(`${url}: asked for ${end - start} bytes at ${start}, got ${bytes.length}`);
    }
    return bytes;
  };
  read.totalBytes = () => total;
  return read;
}
