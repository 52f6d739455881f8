import { describe, expect, it } from 'vitest';
import { closedFormGradient } from '../../src/gpu/gradientCheck';

describe('closedFormGradient', () => {
  it('matches a central finite difference of tanh(x) * x', () => {
    const f = (x: number) => Math.tanh(x) * x;
    for (const x of [-3, -0.7, 0, 0.2, 2.5]) {
      const h = 1e-5;
      const numeric = (f(x + h) - f(x - h)) / (2 * h);
      expect(closedFormGradient(x)).toBeCloseTo(numeric, 8);
    }
  });
});
