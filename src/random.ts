// The seeded uniform generator every reproducible choice uses: token sampling (src/engine) and
// dataset mode's schedule (src/dataset), so a run and its TRL export draw the same items.

/** mulberry32: a fast 32-bit seeded generator of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
