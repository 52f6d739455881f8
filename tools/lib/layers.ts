// The layer rules that need the whole import graph (docs/architecture.md). biome.json's
// noRestrictedImports overrides check each import against its own folder's list; what one import
// cannot show is checked here, on the graph tools/lib/import-graph.ts reads:
// 1. No cycle between the app's layers: the top-level folders of src/ (a file directly under src/
//    is a layer of its own) and workers/, whether two import each other or the cycle runs
//    through a third. Type imports count: a type names a dependency as much as a value does.
// 2. What a layer must never load, however indirectly (run-time imports only: a type import is
//    erased and loads nothing).
// 3. A folder with a public entry is imported only through it from outside.
// `npm run lint` runs it (tools/bin/check-layers.ts); tests/tools/layer-rules.test.ts shows each
// rule firing on a tree that breaks it.
import { type ImportGraph, readImportGraph } from './import-graph';

/** The folders whose files are read: the app (src, workers) and what imports it. */
export const CHECKED_FOLDERS = ['src', 'workers', 'tools', 'tests', 'e2e'] as const;

/** A layer must never load `never` (files under a path, or packages), however indirectly. */
export type ReachRule = { from: string; never: readonly string[]; why: string };

/** Outside `insiders`, `folder` is imported through `entry` alone. */
export type EntryRule = { folder: string; entry: string; insiders: readonly string[]; why: string };

export type LayerRules = { reach: readonly ReachRule[]; entries: readonly EntryRule[] };

/** The model code: the worker's side of the app. */
const MODEL_CODE = [
  '@jax-js/jax',
  '@huggingface/transformers',
  'onnxruntime-web',
  'src/engine',
  'src/vlm',
  'src/ttrv',
  'src/core',
  'workers',
];

export const PROJECT_RULES: LayerRules = {
  reach: [
    {
      from: 'src/main.tsx',
      never: MODEL_CODE,
      why: "the page's main thread loads no model code: the worker runs it, and the page would download it a second time",
    },
    {
      from: 'src/trl',
      never: [...MODEL_CODE, 'src/store', 'src/components'],
      why: 'a TRL project is built on the page, without the worker, from settings and items alone',
    },
    {
      from: 'src/protocol.ts',
      never: ['*'],
      why: 'the protocol is types only: page and worker import it, and it loads nothing into either',
    },
  ],
  entries: [
    {
      folder: 'src/engine',
      entry: 'src/engine/index.ts',
      insiders: ['src/engine', 'tests/engine'],
      why: 'its index is its public API; the lower pieces are the engine’s own (its tests excepted)',
    },
  ],
};

const under = (file: string, prefix: string) =>
  prefix === '*' || file === prefix || file.startsWith(`${prefix}/`);

/** The app layer a file belongs to (src/<folder>, a file directly under src/, workers), or null. */
export function layerOf(file: string): string | null {
  const parts = file.split('/');
  if (parts[0] === 'workers') return 'workers';
  if (parts[0] !== 'src' || parts.length < 2) return null;
  return parts.length > 2 ? `src/${parts[1]}` : file;
}

/** Each cycle of the layer graph, once, with one file import behind each step of it. */
export function layerCycles(graph: ImportGraph): string[] {
  // layer → layer it imports → one file import that makes the edge
  const edges = new Map<string, Map<string, string>>();
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (!from) continue;
    for (const { to } of imports) {
      const target = layerOf(to);
      if (!target || target === from) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(target)) out.set(target, `${file} imports ${to}`);
      edges.set(from, out);
    }
  }
  const cycles: string[] = [];
  const reported = new Set<string>();
  for (const start of [...edges.keys()].sort()) {
    // The shortest way back to `start`, breadth first.
    const previous = new Map<string, string>();
    const queue = [start];
    let closing: string | null = null;
    while (queue.length > 0 && !closing) {
      const at = queue.shift() as string;
      for (const next of [...(edges.get(at)?.keys() ?? [])].sort()) {
        if (next === start) {
          closing = at;
          break;
        }
        if (!previous.has(next)) {
          previous.set(next, at);
          queue.push(next);
        }
      }
    }
    if (!closing) continue;
    const path = [start];
    for (let at = closing; at !== start; at = previous.get(at) as string) path.splice(1, 0, at);
    const key = [...path].sort().join(' ');
    if (reported.has(key)) continue;
    reported.add(key);
    const steps = path.map((at, i) => edges.get(at)?.get(path[(i + 1) % path.length] as string));
    cycles.push(
      `import cycle between layers: ${[...path, start].join(' → ')} (${steps.join('; ')}). ` +
        'Layers import downward only: move what both need into a layer below them.',
    );
  }
  return cycles;
}

/** Each reach rule broken, with the chain of run-time imports that breaks it. */
export function reachViolations(graph: ImportGraph, rules: readonly ReachRule[]): string[] {
  const found: string[] = [];
  for (const rule of rules) {
    const previous = new Map<string, string | null>();
    const queue = [...graph.keys()].filter((file) => under(file, rule.from)).sort();
    for (const file of queue) previous.set(file, null);
    const seen = new Set<string>();
    while (queue.length > 0) {
      const at = queue.shift() as string;
      for (const { to, runtime } of graph.get(at) ?? []) {
        if (!runtime || previous.has(to)) continue;
        previous.set(to, at);
        const banned = rule.never.find((prefix) => under(to, prefix) && !under(to, rule.from));
        if (banned) {
          if (seen.has(banned)) continue;
          seen.add(banned);
          const chain = [to];
          for (let back = previous.get(to); back; back = previous.get(back)) chain.unshift(back);
          const what = banned === '*' ? 'anything at run time' : banned;
          found.push(`${rule.from} loads ${what}: ${chain.join(' → ')}. Not allowed: ${rule.why}.`);
        } else if (graph.has(to)) queue.push(to);
      }
    }
  }
  return found;
}

/** Each import of a folder's inside from outside it, past its entry. */
export function entryViolations(graph: ImportGraph, rules: readonly EntryRule[]): string[] {
  const found: string[] = [];
  for (const rule of rules) {
    for (const [file, imports] of graph) {
      if (rule.insiders.some((inside) => under(file, inside))) continue;
      // A file may name one module twice (a type import beside a value import): report it once.
      for (const to of new Set(imports.map((edge) => edge.to))) {
        if (under(to, rule.folder) && to !== rule.entry) {
          found.push(
            `${file} imports ${to}: outside ${rule.folder}, import ${rule.entry} (${rule.why}).`,
          );
        }
      }
    }
  }
  return found;
}

/** Every broken layer rule of the tree at `root`, as sentences; none: the tree keeps them all. */
export function checkLayers(root: string, rules: LayerRules = PROJECT_RULES): string[] {
  const graph = readImportGraph(root, CHECKED_FOLDERS);
  return [
    ...layerCycles(graph),
    ...reachViolations(graph, rules.reach),
    ...entryViolations(graph, rules.entries),
  ];
}
