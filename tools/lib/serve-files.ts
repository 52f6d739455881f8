// A localhost HTTP server for files held in memory, the stand-in for the app's origin (or the
// Hub) in Node: it answers Range requests with 206, as any static host does, and logs every byte
// range asked for, so tests can prove what a loader fetched. And the same answers for folders on
// disk, as a handler for a dev server (bench:scale --browser).
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/** Every file under `<root>/<folder>`, keyed by its URL path (`/<folder>/...`). */
export function filesUnder(root: string, folder: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const entry of readdirSync(path.join(root, folder), {
    recursive: true,
    withFileTypes: true,
  })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[`/${path.relative(root, file).split(path.sep).join('/')}`] = readFileSync(file);
  }
  return files;
}

export type RangeServer = {
  url: string;
  /** [start, end) of every Range request, per path. */
  requests: { path: string; start: number; end: number }[];
  close(): Promise<void>;
};

/** The byte range a request asks for, [start, end), or null for the whole file; `bytes=N-` runs
 * to the end, as the app's resumable download asks. */
export function askedRange(req: IncomingMessage, size: number): [number, number] | null {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (!range) return null;
  return [Number(range[1]), range[2] ? Math.min(Number(range[2]) + 1, size) : size];
}

export function rangeHeaders(start: number, end: number, size: number) {
  return { 'content-length': end - start, 'content-range': `bytes ${start}-${end - 1}/${size}` };
}

export async function serveBytes(files: Record<string, Uint8Array>): Promise<RangeServer> {
  const requests: RangeServer['requests'] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = files[path];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    const range = askedRange(req, body.length);
    if (!range) {
      res.writeHead(200, { 'content-length': body.length }).end(body);
      return;
    }
    const [start, end] = range;
    requests.push({ path, start, end });
    res.writeHead(206, rangeHeaders(start, end, body.length)).end(body.subarray(start, end));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A request handler (Connect-style, as Vite's middlewares take) that serves folders from disk
 * under URL prefixes, streaming (a 500M checkpoint is too big to hold in memory), with Range. */
export function serveFolders(mounts: Record<string, string>) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = Object.keys(mounts).find((p) => urlPath.startsWith(`${p}/`));
    if (!prefix) return next();
    const root = mounts[prefix] as string;
    const file = path.join(root, urlPath.slice(prefix.length + 1));
    if (
      !file.startsWith(path.join(root, path.sep)) ||
      !existsSync(file) ||
      !statSync(file).isFile()
    ) {
      res.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    const range = askedRange(req, size);
    if (!range) {
      res.writeHead(200, { 'content-length': size });
      createReadStream(file).pipe(res);
      return;
    }
    const [start, end] = range;
    res.writeHead(206, rangeHeaders(start, end, size));
    createReadStream(file, { start, end: end - 1 }).pipe(res);
  };
}
