// tools/gpu-check.sh's cheap half, in seconds: the bundle it carries builds, stays small, and the
// script's dry run finds everything it needs in a copy laid out as `pack` lays it out. The packing
// itself (xz of Node, about a minute) and the 64 MiB limit are checked by `pack`, not here.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/lib/repo-root';

const copy = mkdtempSync(path.join(tmpdir(), 'ttrv-gpu-check-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('tools/gpu-check.sh', () => {
  it('bundles bench:scale, the check and the parity test without node_modules', () => {
    const bundle = path.join(copy, '.gpu-check/bundle');
    const built = spawnSync(
      process.execPath,
      [path.join(REPO_ROOT, 'tools/bin/gpu-check-bundle.mjs'), bundle],
      { encoding: 'utf8' },
    );
    expect(built.status, built.stderr).toBe(0);
    const files = readdirSync(bundle);
    for (const f of ['run.mjs', 'bench-scale.mjs', 'gpu-check.mjs', 'parity.mjs']) {
      expect(files).toContain(f);
    }
    const js = files.filter((f) => f.endsWith('.mjs'));
    const bytes = js.reduce((sum, f) => sum + statSync(path.join(bundle, f)).size, 0);
    // Measured 2026-12-07: about 1 MB; transformers.js, Vite or Playwright pulled in would be 7+.
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
  }, 60_000);

  it('dry run: finds Node, the bundle and Dawn, and prints the four steps', () => {
    mkdirSync(path.join(copy, 'tools'), { recursive: true });
    cpSync(path.join(REPO_ROOT, 'tools/gpu-check.sh'), path.join(copy, 'tools/gpu-check.sh'));
    const run = spawnSync(
      'sh',
      [path.join(copy, 'tools/gpu-check.sh'), '--swiftshader', '--dry-run'],
      {
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const steps = run.stderr.split('\n').filter((l) => l.startsWith('+ '));
    expect(steps.map((l) => l.split(' ').slice(3, 5).join(' '))).toEqual([
      'gpu-check adapter',
      'gpu-check parity',
      'gpu-check checkpoint',
      'bench-scale --json',
    ]);
  });
});
