// The layer rules of docs/architecture.md are lint errors, in two parts, each shown here to fire on
// a tree that breaks it and to stay quiet on one that keeps it:
// - biome.json's noRestrictedImports overrides, one import at a time: probe files are linted with
//   the project's own configuration in a scratch folder;
// - tools/lib/layers.ts, on the whole import graph (cycles between layers, what a layer loads
//   however indirectly, the engine only through its index): small scratch trees are checked with
//   the project's own rules.
// Each case the rules were written for (issue 22) has its probe: session/playground and dataset/*
// importing each other, trl reaching session/errors through dataset/source, the worker's message
// types re-exported from the implementations, the store importing the model session, deep engine
// imports, and tools' entry points importing each other or a test's CLI.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLayers } from '../../tools/lib/layers';
import { REPO_ROOT } from '../../tools/lib/repo-root';

const BIOME = path.join(REPO_ROOT, 'node_modules/.bin/biome');
const scratch = mkdtempSync(path.join(tmpdir(), 'ttrv-layers-'));
const config = JSON.parse(readFileSync(path.join(REPO_ROOT, 'biome.json'), 'utf8'));
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

describe('layer rules, one import at a time (biome.json)', () => {
  it.each([
    ['src/rl/probe.ts', '../engine/sampling'],
    ['src/rl/probe.ts', '../dataset/items'],
    ['src/rl/probe.ts', 'zustand'],
    ['src/layout/probe.ts', '../engine'],
    ['src/layout/probe.ts', '@jax-js/jax'],
    ['src/files/probe.ts', '../errors'],
    ['src/errors.ts', './settings'],
    // The worker's message types re-exported from the implementations (src/workerApi.ts).
    ['src/protocol.ts', './dataset/run'],
    ['src/protocol.ts', './core/playground'],
    ['src/protocol.ts', './ttrv/step'],
    ['src/formats/probe.ts', '../rl/config'],
    ['src/formats/probe.ts', '../engine/lora'],
    ['src/formats/probe.ts', '../layout/textLayout'],
    ['src/engine/probe.ts', '../rl/config'],
    ['src/engine/probe.ts', '../core/playground'],
    ['src/engine/probe.ts', '../vlm/visionLanguageModel'],
    ['src/engine/probe.ts', '../net/resumableReader'],
    ['src/engine/probe.ts', '../store'],
    ['src/engine/probe.ts', '../protocol'],
    ['src/vlm/probe.ts', '../ttrv/step'],
    ['src/vlm/probe.ts', '../core/playground'],
    ['src/ttrv/probe.ts', '../dataset/run'],
    ['src/ttrv/probe.ts', '../core/playground'],
    // session/playground and dataset/* imported each other.
    ['src/dataset/probe.ts', '../core/playground'],
    ['src/dataset/probe.ts', '../store'],
    ['src/core/probe.ts', '../store'],
    ['src/core/probe.ts', '../../workers/playground.worker'],
    // store/session.ts imported a type from session/visionLanguageModel.
    ['src/store/probe.ts', '../vlm/visionLanguageModel'],
    ['src/store/probe.ts', '../engine'],
    ['src/store/probe.ts', '../core/playground'],
    ['src/store/probe.ts', '@jax-js/jax'],
    ['src/components/probe.ts', '../engine/lora'],
    ['src/components/probe.ts', '../ttrv/step'],
    ['src/components/charts/probe.ts', '../../core/playground'],
    ['src/components/probe.ts', '../../workers/playground.worker'],
    ['src/components/probe.ts', 'comlink'],
    ['src/trl/probe.ts', '../engine'],
    ['src/trl/probe.ts', '../vlm/visionLanguageModel'],
    ['src/trl/probe.ts', '../dataset/run'],
    ['src/trl/probe.ts', '../store'],
    // bench-zoo imported bench-quality, bench-converge bench-engine's `middle`.
    ['tools/bin/probe.ts', './bench-quality'],
    ['tools/bin/probe.ts', './bench-engine'],
    // bench-scale imported the check:real-size CLI, tests/real-size/check.ts.
    ['tools/bin/probe.ts', '../../tests/real-size/check'],
    ['tools/lib/probe.ts', '../bin/bench-quality'],
    ['tools/lib/probe.ts', '../../tests/setup/node-webgpu'],
  ])('%s may not import %s', (file, source) => {
    expect(lintImport(file, source)).toContain(RESTRICTED);
  });

  it.each([
    ['src/rl/probe.ts', './answers'],
    ['src/layout/probe.ts', './textLayout'],
    ['src/errors.ts', './protocol'],
    ['src/protocol.ts', './settings'],
    ['src/formats/probe.ts', './safetensors'],
    ['src/engine/probe.ts', '../formats/safetensors'],
    ['src/engine/probe.ts', '../layout/loraSettings'],
    ['src/vlm/probe.ts', '../engine'],
    ['src/ttrv/probe.ts', '../vlm/visionLanguageModel'],
    ['src/dataset/probe.ts', '../ttrv/step'],
    ['src/core/probe.ts', '../dataset/run'],
    ['src/store/probe.ts', '../protocol'],
    ['src/components/probe.ts', '../store'],
    ['src/trl/probe.ts', '../dataset/schedule'],
    ['tools/bin/probe.ts', '../lib/node-app'],
    ['tools/lib/probe.ts', './serve-files'],
  ])('%s may import %s', (file, source) => {
    expect(lintImport(file, source)).not.toContain(RESTRICTED);
  });
});

/** A scratch tree of source files (path → text), checked with the project's rules. */
function checkTree(files: Record<string, string>): string[] {
  const root = mkdtempSync(path.join(scratch, 'tree-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return checkLayers(root);
}

describe('layer rules on the whole import graph (tools/lib/layers.ts)', () => {
  // It parses every source file of the repository: about a second, many on a loaded machine.
  it('finds no broken rule in this repository', { timeout: 60_000 }, () => {
    expect(checkLayers(REPO_ROOT)).toEqual([]);
  });

  it('finds two layers that import each other (the core and dataset mode)', () => {
    const broken = checkTree({
      'src/core/playground.ts': "import { runDataset } from '../dataset/run';\nrunDataset();\n",
      'src/dataset/run.ts':
        "import { PlaygroundError } from '../core/errors';\nexport const runDataset = () => new PlaygroundError();\n",
      'src/core/errors.ts': 'export class PlaygroundError {}\n',
    });
    expect(broken).toHaveLength(1);
    expect(broken[0]).toContain('src/core → src/dataset → src/core');
    expect(broken[0]).toContain('src/dataset/run.ts imports src/core/errors.ts');
  });

  it('finds a cycle through a third layer, and counts type imports in it', () => {
    const broken = checkTree({
      'src/core/a.ts': "import { b } from '../dataset/b';\nexport const a = b;\n",
      'src/dataset/b.ts': "import { c } from '../ttrv/c';\nexport const b = c;\n",
      'src/ttrv/c.ts': "import type { A } from '../core/types';\nexport const c: A = 1;\n",
      'src/core/types.ts': 'export type A = number;\n',
    });
    expect(broken).toHaveLength(1);
    expect(broken[0]).toContain('src/core → src/dataset → src/ttrv → src/core');
  });

  it('finds a layer that loads what it must not through another (trl → dataset → vlm)', () => {
    const broken = checkTree({
      'src/trl/fromRun.ts': "import { open } from '../dataset/source';\nexport const f = open;\n",
      'src/dataset/source.ts': "import { load } from '../vlm/model';\nexport const open = load;\n",
      'src/vlm/model.ts': 'export const load = 1;\n',
    });
    expect(broken).toEqual([
      expect.stringContaining(
        'src/trl loads src/vlm: src/trl/fromRun.ts → src/dataset/source.ts → src/vlm/model.ts',
      ),
    ]);
  });

  it('lets a type import through where a run-time import is refused', () => {
    const tree = (line: string) => ({
      'src/main.tsx': "import { App } from './App';\nexport const m = App;\n",
      'src/App.tsx': `${line}\nexport const App = 1;\n`,
      'src/engine/index.ts': "import '@jax-js/jax';\nexport type TextModel = number;\n",
    });
    expect(checkTree(tree("import type { TextModel } from './engine';"))).toEqual([]);
    expect(checkTree(tree("import { TextModel } from './engine';"))).toEqual([
      expect.stringContaining('src/main.tsx loads src/engine'),
    ]);
  });

  it('finds a protocol that loads anything at run time', () => {
    const broken = checkTree({
      'src/protocol.ts': "import { DEFAULT } from './settings';\nexport const d = DEFAULT;\n",
      'src/settings.ts': 'export const DEFAULT = 1;\n',
    });
    expect(broken).toEqual([expect.stringContaining('src/protocol.ts loads anything at run time')]);
  });

  it('finds an import of the engine past its index, outside the engine and its tests', () => {
    const broken = checkTree({
      'src/engine/index.ts': "export { sample } from './sampling';\n",
      'src/engine/sampling.ts': 'export const sample = 1;\n',
      'src/ttrv/step.ts':
        "import { sample } from '../engine/sampling';\nexport const s = sample;\n",
      'src/vlm/model.ts': "import { sample } from '../engine';\nexport const s = sample;\n",
      'tests/engine/sampling.gpu.test.ts': "import { sample } from '../../src/engine/sampling';\n",
      'tools/bin/bench.ts': "import { sample } from '../../src/engine/sampling';\n",
    });
    expect(broken).toEqual([
      expect.stringContaining('src/ttrv/step.ts imports src/engine/sampling.ts'),
      expect.stringContaining('tools/bin/bench.ts imports src/engine/sampling.ts'),
    ]);
  });
});
