import type { CpuThreads } from '../protocol';

/** The engine's backend and the CPU path's threads; without isolation, what that costs. */
export function ThreadsStatus({
  threads,
  backend,
}: {
  threads: CpuThreads;
  backend: 'WebGPU' | 'Wasm';
}) {
  const { crossOriginIsolated, cores, threads: count } = threads;
  return (
    <span
      data-testid="status-threads"
      data-threads={count}
      data-cores={cores}
      data-isolated={crossOriginIsolated}
      data-backend={backend.toLowerCase()}
    >
      Backend: {backend}; CPU: {count} {count === 1 ? 'thread' : 'threads'} of {cores}{' '}
      {cores === 1 ? 'core' : 'cores'}
      {crossOriginIsolated ? (
        ' (cross-origin isolated)'
      ) : (
        <strong className="status-warning">
          {' '}
          — this page is not cross-origin isolated, so the CPU path (the text model on Wasm, the
          vision encoder without WebGPU) runs on one thread and leaves {cores - 1} of {cores} cores
          idle. Serve it with the COOP/COEP headers in the README (Hosting).
        </strong>
      )}
    </span>
  );
}
