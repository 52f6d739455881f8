import { describe, expect, it } from 'vitest';
import { fitWithin, MAX_WORKING_EDGE } from '../../src/image/prepareImage';

describe('fitWithin', () => {
  it('leaves small images alone', () => {
    expect(fitWithin(640, 480, MAX_WORKING_EDGE)).toEqual({ width: 640, height: 480 });
  });
  it('scales the longest edge down to the limit and keeps the aspect ratio', () => {
    expect(fitWithin(12000, 12000, 1536)).toEqual({ width: 1536, height: 1536 });
    expect(fitWithin(12000, 3000, 1536)).toEqual({ width: 1536, height: 384 });
    expect(fitWithin(1000, 4000, 1000)).toEqual({ width: 250, height: 1000 });
  });
  it('never returns an empty side', () => {
    expect(fitWithin(100000, 1, 1536)).toEqual({ width: 1536, height: 1 });
  });
});
