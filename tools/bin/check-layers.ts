// `npm run lint` (after Biome): the layer rules that need the whole import graph — no cycle
// between layers, what a layer must never load, the engine only through its index
// (tools/lib/layers.ts). Prints each broken rule and exits 1, or prints nothing.
import { checkLayers } from '../lib/layers';
import { REPO_ROOT } from '../lib/repo-root';

export async function main(): Promise<void> {
  const broken = checkLayers(REPO_ROOT);
  for (const sentence of broken) console.error(sentence);
  if (broken.length > 0) process.exit(1);
}
