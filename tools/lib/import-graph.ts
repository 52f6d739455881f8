// The import graph of a source tree, file by file, read with TypeScript's parser: which module
// each import names (a file of the tree, or a package), and whether it loads code at run time or
// only names types (`import type`, or every name of the import marked `type`). tools/lib/layers.ts
// checks the layer rules on it.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type ImportEdge = {
  /** A file of the tree (its path from the root, with `/`), or a package name ('@jax-js/jax'). */
  to: string;
  /** False for an import that only names types: it is erased, so it loads nothing. */
  runtime: boolean;
};

/** Each source file of the tree (path from the root) and what it imports. */
export type ImportGraph = Map<string, ImportEdge[]>;

const SOURCE = /\.(ts|tsx|mts|mjs|js)$/;
const RESOLVED = ['', '.ts', '.tsx', '.mts', '.mjs', '.js', '/index.ts', '/index.tsx'];

function sourceFiles(root: string, folder: string): string[] {
  const dir = path.join(root, folder);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const at = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(root, at);
    return SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts') ? [at] : [];
  });
}

/** The package an import of a bare specifier loads: '@scope/name' or 'name'. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

/** The file a relative specifier names, as the bundler resolves it; null if there is none. */
function resolveFile(root: string, from: string, specifier: string): string | null {
  const base = path.posix.join(path.posix.dirname(from), specifier);
  for (const suffix of RESOLVED) {
    const full = path.join(root, base + suffix);
    if (existsSync(full) && statSync(full).isFile()) return path.posix.normalize(base + suffix);
  }
  return null;
}

/** Whether an import or export declaration loads the module at run time. */
function loadsCode(node: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return false;
    const clause = node.exportClause;
    return !(clause && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly));
  }
  const clause = node.importClause;
  if (!clause) return true; // import './side-effect'
  if (clause.isTypeOnly) return false;
  if (clause.name) return true;
  const bindings = clause.namedBindings;
  if (!bindings || ts.isNamespaceImport(bindings)) return true;
  return bindings.elements.length === 0 || !bindings.elements.every((e) => e.isTypeOnly);
}

/** The imports of one file's source text. */
function importsOf(root: string, file: string, text: string): ImportEdge[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, runtime: boolean) => {
    // `?raw`, `?url`: the bundler hands over a file's text or URL, not a module to run.
    if (specifier.includes('?')) return;
    if (!specifier.startsWith('.')) {
      if (!specifier.startsWith('node:')) edges.push({ to: packageOf(specifier), runtime });
      return;
    }
    const to = resolveFile(root, file, specifier);
    if (to) edges.push({ to, runtime });
  };
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, loadsCode(node));
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, true); // import('…')
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** The import graph of every source file under `folders` of `root`. */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of sourceFiles(root, folder)) {
      graph.set(file, importsOf(root, file, readFileSync(path.join(root, file), 'utf8')));
    }
  }
  return graph;
}
