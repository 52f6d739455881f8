// Every place that sets the isolation headers sets the values of src/crossOriginIsolation.ts:
// vite.config.ts imports them; the static files and the README's host snippets cannot.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cpuThreads, ISOLATION_HEADERS, ISOLATION_WORKER } from '../src/crossOriginIsolation';
import { REPO_ROOT } from '../tools/lib/repo-root';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const HEADERS = Object.entries(ISOLATION_HEADERS);

describe('cross-origin isolation headers', () => {
  it('public/_headers (Netlify, Cloudflare Pages) sets both on every path', () => {
    const text = read('public/_headers');
    expect(text).toMatch(/^\/\*$/m);
    for (const [name, value] of HEADERS) expect(text).toContain(`  ${name}: ${value}\n`);
  });

  it('vercel.json sets both on every path', () => {
    const rules = JSON.parse(read('vercel.json')).headers as {
      source: string;
      headers: { key: string; value: string }[];
    }[];
    expect(rules.map((r) => r.source)).toEqual(['/(.*)']);
    expect(Object.fromEntries(rules[0]?.headers.map((h) => [h.key, h.value]) ?? [])).toEqual(
      ISOLATION_HEADERS,
    );
  });

  it('the service worker fallback adds the same headers', () => {
    const worker = read(`public/${ISOLATION_WORKER}`);
    for (const [name, value] of HEADERS) expect(worker).toContain(`'${name}': '${value}'`);
  });

  it("the README's nginx snippet sets the same values", () => {
    const readme = read('README.md');
    for (const [name, value] of HEADERS) {
      expect(readme).toContain(`add_header ${name} ${value} always;`);
    }
  });
});

describe('cpuThreads', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('takes every core the browser reports when isolated, one thread when not', () => {
    vi.stubGlobal('navigator', { hardwareConcurrency: 8 });
    vi.stubGlobal('crossOriginIsolated', true);
    expect(cpuThreads()).toEqual({ crossOriginIsolated: true, cores: 8, threads: 8 });
    vi.stubGlobal('crossOriginIsolated', false);
    expect(cpuThreads()).toEqual({ crossOriginIsolated: false, cores: 8, threads: 1 });
  });
});
