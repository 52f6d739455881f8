import * as Comlink from 'comlink';
import type { PlaygroundApi } from './protocol';

export function startPlaygroundWorker(): Comlink.Remote<PlaygroundApi> {
  const worker = new Worker(new URL('../workers/playground.worker.ts', import.meta.url), {
    type: 'module',
  });
  return Comlink.wrap<PlaygroundApi>(worker);
}
