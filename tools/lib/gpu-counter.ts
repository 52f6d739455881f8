// Counts what a GPUDevice is asked to do, by wrapping its methods: compute pipelines created,
// compute dispatches, queue submissions, host round trips (buffer mapAsync, queue
// onSubmittedWorkDone) and the bytes of the buffers each dispatch binds as read-only input. The
// counts do not depend on the GPU (SwiftShader gives the same as a real adapter for the same
// shaders), so bench:scale reports them wherever WebGPU runs. The engine knows nothing of this: it
// wraps jax-js' device from outside, as src/engine/memory.ts does for buffer bytes.

export type GpuCounts = {
  /** createComputePipeline + createComputePipelineAsync calls (jax-js caches them by source). */
  pipelines: number;
  dispatches: number;
  submits: number;
  /** Waits for the GPU: mapAsync on a buffer, or onSubmittedWorkDone. */
  hostSyncs: number;
  /** Σ over dispatches of the sizes of the buffers bound as read-only storage (the inputs). */
  bytesRead: number;
  /** Bytes written from the host with queue.writeBuffer. */
  bytesUploaded: number;
};

export type GpuCounter = {
  /** The counts since the counter started. */
  now(): GpuCounts;
  stop(): void;
};

const ZERO: GpuCounts = {
  pipelines: 0,
  dispatches: 0,
  submits: 0,
  hostSyncs: 0,
  bytesRead: 0,
  bytesUploaded: 0,
};

/** b − a, field by field. */
export function countsBetween(a: GpuCounts, b: GpuCounts): GpuCounts {
  const out = { ...ZERO };
  for (const k of Object.keys(ZERO) as (keyof GpuCounts)[]) out[k] = b[k] - a[k];
  return out;
}

type Binding = { readOnly: boolean[] };

/** Starts counting on `device`; `stop()` puts its methods back. */
export function countGpu(device: GPUDevice): GpuCounter {
  const counts = { ...ZERO };
  // Which bindings of a bind-group layout are read-only storage, followed from the layout to the
  // pipeline layout to the pipeline, so that a dispatch knows which bound buffers are inputs.
  const layoutKinds = new WeakMap<GPUBindGroupLayout, Binding>();
  const pipelineLayouts = new WeakMap<GPUPipelineLayout, GPUBindGroupLayout[]>();
  const pipelineInputs = new WeakMap<GPUComputePipeline, Binding>();
  const groupBuffers = new WeakMap<GPUBindGroup, { binding: number; size: number }[]>();
  const restore: (() => void)[] = [];
  const wrap = <T extends object, K extends keyof T>(
    target: T,
    key: K,
    make: (original: T[K]) => T[K],
  ) => {
    const original = target[key];
    target[key] = make((original as (...a: unknown[]) => unknown).bind(target) as T[K]);
    restore.push(() => {
      target[key] = original;
    });
  };

  wrap(device, 'createBindGroupLayout', (create) => (descriptor) => {
    const layout = create(descriptor);
    const readOnly: boolean[] = [];
    for (const e of descriptor.entries)
      readOnly[e.binding] = e.buffer?.type === 'read-only-storage';
    layoutKinds.set(layout, { readOnly });
    return layout;
  });
  wrap(device, 'createPipelineLayout', (create) => (descriptor) => {
    const layout = create(descriptor);
    pipelineLayouts.set(layout, [...descriptor.bindGroupLayouts] as GPUBindGroupLayout[]);
    return layout;
  });
  const notePipeline = (descriptor: GPUComputePipelineDescriptor, pipeline: GPUComputePipeline) => {
    const layouts =
      descriptor.layout === 'auto' ? undefined : pipelineLayouts.get(descriptor.layout);
    const first = layouts?.[0] && layoutKinds.get(layouts[0]);
    if (first) pipelineInputs.set(pipeline, first);
    return pipeline;
  };
  wrap(device, 'createComputePipeline', (create) => (descriptor) => {
    counts.pipelines++;
    return notePipeline(descriptor, create(descriptor));
  });
  wrap(device, 'createComputePipelineAsync', (create) => async (descriptor) => {
    counts.pipelines++;
    return notePipeline(descriptor, await create(descriptor));
  });
  wrap(device, 'createBindGroup', (create) => (descriptor) => {
    const group = create(descriptor);
    const buffers: { binding: number; size: number }[] = [];
    for (const e of descriptor.entries) {
      const resource = e.resource as GPUBufferBinding;
      if (resource && 'buffer' in resource && resource.buffer) {
        buffers.push({
          binding: e.binding,
          size: resource.size ?? resource.buffer.size - (resource.offset ?? 0),
        });
      }
    }
    groupBuffers.set(group, buffers);
    return group;
  });
  wrap(device, 'createBuffer', (create) => (descriptor) => {
    const buffer = create(descriptor);
    const map = buffer.mapAsync.bind(buffer);
    buffer.mapAsync = (...args: Parameters<GPUBuffer['mapAsync']>) => {
      counts.hostSyncs++;
      return map(...args);
    };
    return buffer;
  });
  wrap(device, 'createCommandEncoder', (create) => (descriptor) => {
    const encoder = create(descriptor);
    const begin = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (passDescriptor) => {
      const pass = begin(passDescriptor);
      let inputs: Binding | undefined;
      let group: { binding: number; size: number }[] | undefined;
      const setPipeline = pass.setPipeline.bind(pass);
      pass.setPipeline = (pipeline) => {
        inputs = pipelineInputs.get(pipeline);
        setPipeline(pipeline);
      };
      const setBindGroup = pass.setBindGroup.bind(pass) as (...a: unknown[]) => void;
      pass.setBindGroup = ((index: number, bindGroup: GPUBindGroup, ...rest: unknown[]) => {
        if (index === 0) group = groupBuffers.get(bindGroup);
        setBindGroup(index, bindGroup, ...rest);
      }) as GPUComputePassEncoder['setBindGroup'];
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x, y, z) => {
        counts.dispatches++;
        for (const b of group ?? []) if (inputs?.readOnly[b.binding]) counts.bytesRead += b.size;
        dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  });
  const queue = device.queue;
  wrap(queue, 'submit', (submit) => (buffers) => {
    counts.submits++;
    submit(buffers);
  });
  wrap(queue, 'onSubmittedWorkDone', (done) => () => {
    counts.hostSyncs++;
    return done();
  });
  wrap(queue, 'writeBuffer', (write) => (buffer, offset, data, dataOffset, size) => {
    const bytes = 'byteLength' in data ? data.byteLength : 0;
    const width = 'BYTES_PER_ELEMENT' in data ? (data.BYTES_PER_ELEMENT as number) : 1;
    counts.bytesUploaded += size !== undefined ? size * width : bytes - (dataOffset ?? 0) * width;
    write(buffer, offset, data, dataOffset, size);
  });
  return {
    now: () => ({ ...counts }),
    stop: () => {
      for (const r of restore.reverse()) r();
    },
  };
}
