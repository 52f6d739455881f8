// The gpu test tier's setup (vitest.config.ts): Float16Array, iterator helpers and navigator.gpu
// (Dawn on SwiftShader) for jax-js in Node, as tools/lib/node-gpu.ts gives them.
import '../../tools/lib/node-webgpu';
