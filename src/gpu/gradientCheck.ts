// The smallest end-to-end proof that jax-js can train on this device: the gradient of
// f(x) = sum(tanh(x) * x), checked against its closed form f'(x) = tanh(x) + x * (1 - tanh(x)^2).
// Shared by the worker's start-up probe and the Node GPU tests, so both check the same thing.
import type { Device } from '@jax-js/jax';
import { grad, numpy as np } from '@jax-js/jax';

export const GRADIENT_CHECK_POINTS = [-2, -0.5, 0, 0.1, 0.5, 1.5, 3];

export function closedFormGradient(x: number): number {
  const t = Math.tanh(x);
  return t + x * (1 - t * t);
}

export type GradientCheckResult = {
  device: Device;
  values: number[];
  maxAbsError: number;
};

export async function runGradientCheck(device: Device): Promise<GradientCheckResult> {
  const f = (x: np.Array) => np.sum(np.tanh(x.ref).mul(x));
  const x = np.array(GRADIENT_CHECK_POINTS, { device });
  const values = Array.from(await grad(f)(x).data(), Number);
  const maxAbsError = Math.max(
    ...values.map((v, i) => Math.abs(v - closedFormGradient(GRADIENT_CHECK_POINTS[i] ?? 0))),
  );
  return { device, values, maxAbsError };
}
