// Peak size of jax-js' Wasm linear memory. jax-js creates its WebAssembly.Memory when its module is
// evaluated, so this module must be imported before @jax-js/jax (first in the entry's imports): from
// then on every WebAssembly.Memory made is watched. A Wasm memory only grows, so its current size
// is the peak it reached.
const memories: WebAssembly.Memory[] = [];
class WatchedMemory extends WebAssembly.Memory {
  constructor(descriptor: WebAssembly.MemoryDescriptor) {
    super(descriptor);
    memories.push(this);
  }
}
WebAssembly.Memory = WatchedMemory;

/** Bytes of every Wasm memory made since this module was imported (0 before jax-js loads). */
export function wasmMemoryPeak(): number {
  return memories.reduce((n, m) => n + m.buffer.byteLength, 0);
}
