// Imported for its effect, first, by modules that need WebGPU in Node before jax-js loads (the gpu
// test tier's setup, ./node-app.ts): Float16Array, iterator helpers and navigator.gpu.
import { provideFloat16, provideWebGpu } from './node-gpu';

provideFloat16();
await provideWebGpu();
