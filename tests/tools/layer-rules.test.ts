// The layer rules of docs/architecture.md are lint errors (biome.json's noRestrictedImports
// overrides): probe files that break each rule, and files that keep it, are linted with the
// project's own configuration in a scratch folder.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIOME = path.resolve('node_modules/.bin/biome');
const scratch = mkdtempSync(path.join(tmpdir(), 'ttrv-layers-'));
const config = JSON.parse(readFileSync('biome.json', 'utf8'));
// The scratch folder is no git checkout, and its probes only need the import rules.
delete config.$schema;
config.vcs = { enabled: false };
config.assist = { enabled: false };
config.formatter = { enabled: false };
writeFileSync(path.join(scratch, 'biome.json'), JSON.stringify(config));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The messages biome gives for a file at `file` that imports `source`. */
function lintImport(file: string, source: string): string {
  const full = path.join(scratch, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, `import { x } from '${source}';\n\nexport const y = x;\n`);
  const result = spawnSync(BIOME, ['lint', '--max-diagnostics=5', file], {
    cwd: scratch,
    encoding: 'utf8',
  });
  rmSync(full);
  return result.stdout + result.stderr;
}

const RESTRICTED = 'noRestrictedImports';

describe('layer rules', () => {
  it.each([
    ['src/rl/probe.ts', '../engine/sampling'],
    ['src/rl/probe.ts', '../dataset/items'],
    ['src/rl/probe.ts', 'zustand'],
    ['src/formats/probe.ts', '../rl/config'],
    ['src/formats/probe.ts', '../engine/lora'],
    ['src/engine/probe.ts', '../rl/config'],
    ['src/engine/probe.ts', '../session/playground'],
    ['src/engine/probe.ts', '../net/resumableReader'],
    ['src/engine/probe.ts', '../store'],
    ['src/components/probe.ts', '../engine/lora'],
    ['src/components/probe.ts', '../session/ttrvStep'],
    ['src/components/charts/probe.ts', '../../session/playground'],
    ['src/components/probe.ts', '../../workers/playground.worker'],
    ['src/trl/probe.ts', '../engine/lora'],
    ['src/trl/probe.ts', '../session/playground'],
    ['src/trl/probe.ts', '../store'],
  ])('%s may not import %s', (file, source) => {
    expect(lintImport(file, source)).toContain(RESTRICTED);
  });

  it.each([
    ['src/rl/probe.ts', './answers'],
    ['src/formats/probe.ts', './safetensors'],
    ['src/engine/probe.ts', '../formats/safetensors'],
    ['src/components/probe.ts', '../store'],
    ['src/session/probe.ts', '../engine/lora'],
    ['src/trl/probe.ts', '../dataset/schedule'],
  ])('%s may import %s', (file, source) => {
    expect(lintImport(file, source)).not.toContain(RESTRICTED);
  });
});
