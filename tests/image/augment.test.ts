// Augmented views for view_consistency: deterministic for a seed, view 0 the image itself, crops
// inside the image, flips that undo themselves, colour changes that stay small.
import { describe, expect, it } from 'vitest';
import {
  applyView,
  COLOR_JITTER,
  cropWindow,
  describeView,
  MASKED_VIEW,
  MAX_CROP,
  MIN_CROP,
  type Pixels,
  type ViewPlan,
  viewPlans,
} from '../../src/image/augment';
import { VIEW_AUGMENTATIONS } from '../../src/rl/config';

/** An RGBA image whose pixel (x, y) holds x in red, y in green, a mix in blue, alpha 200. */
function gradient(width: number, height: number): Pixels {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([x, y, (x * 7 + y * 3) % 256, 200], (y * width + x) * 4);
    }
  }
  return { data, width, height, channels: 4 };
}

const ALL = VIEW_AUGMENTATIONS;

describe('viewPlans', () => {
  it('are the same for a seed and differ between seeds', () => {
    expect(viewPlans(5, ALL, 3)).toEqual(viewPlans(5, ALL, 3));
    expect(viewPlans(5, ALL, 3)).not.toEqual(viewPlans(5, ALL, 4));
  });

  it('keep view 0 the image itself, and fewer views are a prefix of more', () => {
    const plans = viewPlans(6, ALL, 0);
    expect(plans[0]).toEqual({ crop: null, flip: false, color: null, mask: false });
    expect(describeView(plans[0] as ViewPlan)).toBe('original');
    expect(viewPlans(1, ALL, 0)).toEqual([plans[0]]);
    expect(viewPlans(3, ALL, 0)).toEqual(plans.slice(0, 3));
  });

  it('apply only the augmentations that are on, each drawn as if the others were on too', () => {
    const all = viewPlans(4, ALL, 7);
    const cropOnly = viewPlans(4, ['crop'], 7);
    cropOnly.slice(1).forEach((plan, i) => {
      expect(plan).toEqual({ crop: all[i + 1]?.crop, flip: false, color: null, mask: false });
      expect(describeView(plan)).toBe('crop');
    });
    expect(viewPlans(4, [], 7).map(describeView)).toEqual(Array(4).fill('original'));
    // The flip alternates: odd views are flipped.
    expect(all.map((plan) => plan.flip)).toEqual([false, true, false, true]);
    expect(all.slice(1).map(describeView)).toEqual([
      'crop, flip, color',
      'crop, color',
      'crop, flip, color',
    ]);
  });

  it('draw crops of MIN_CROP to MAX_CROP of each side, inside the image', () => {
    for (let seed = 0; seed < 50; seed++) {
      for (const plan of viewPlans(4, ['crop'], seed).slice(1)) {
        const crop = plan.crop as NonNullable<ViewPlan['crop']>;
        expect(crop.size).toBeGreaterThanOrEqual(MIN_CROP);
        expect(crop.size).toBeLessThanOrEqual(MAX_CROP);
        expect(crop.left).toBeGreaterThanOrEqual(0);
        expect(crop.top).toBeGreaterThanOrEqual(0);
        expect(crop.left + crop.size).toBeLessThanOrEqual(1);
        expect(crop.top + crop.size).toBeLessThanOrEqual(1);
        for (const [w, h] of [
          [1, 1],
          [3, 17],
          [64, 48],
        ] as const) {
          const window = cropWindow(plan, w, h);
          expect(window.width).toBeGreaterThanOrEqual(1);
          expect(window.height).toBeGreaterThanOrEqual(1);
          expect(window.x + window.width).toBeLessThanOrEqual(w);
          expect(window.y + window.height).toBeLessThanOrEqual(h);
        }
      }
    }
  });
});

describe('applyView', () => {
  const image = gradient(40, 30);

  it('masks every colour channel to mid-gray and keeps alpha under the masked view', () => {
    const view = applyView(image, MASKED_VIEW);
    expect(describeView(MASKED_VIEW)).toBe('masked');
    expect([view.width, view.height]).toEqual([image.width, image.height]);
    for (let i = 0; i < view.data.length; i++) {
      expect(view.data[i], `byte ${i}`).toBe(i % 4 === 3 ? image.data[i] : 128);
    }
    const gray = {
      data: Uint8ClampedArray.from([10, 99, 20, 98]),
      width: 2,
      height: 1,
      channels: 2,
    };
    expect(Array.from(applyView(gray as Pixels, MASKED_VIEW).data)).toEqual([128, 99, 128, 98]);
  });

  it('leaves the image as it is under view 0', () => {
    const view = applyView(image, viewPlans(1, ALL, 0)[0] as ViewPlan);
    expect(view).toEqual({ ...image, data: image.data });
    expect(view.data).not.toBe(image.data);
  });

  it('crops to the window: each kept pixel is the one at the same place in the image', () => {
    const plan = viewPlans(2, ['crop'], 11)[1] as ViewPlan;
    const window = cropWindow(plan, image.width, image.height);
    const view = applyView(image, plan);
    expect([view.width, view.height]).toEqual([window.width, window.height]);
    expect(view.width).toBeLessThan(image.width);
    for (const [x, y] of [
      [0, 0],
      [view.width - 1, view.height - 1],
      [3, 5],
    ] as const) {
      const at = (y * view.width + x) * 4;
      expect([view.data[at], view.data[at + 1]]).toEqual([window.x + x, window.y + y]);
    }
  });

  it('mirrors rows under a flip, and a flip twice is the image', () => {
    const flip: ViewPlan = { crop: null, flip: true, color: null, mask: false };
    const once = applyView(image, flip);
    expect(once.data[0]).toBe(image.width - 1);
    expect(applyView(once, flip)).toEqual(image);
  });

  it('changes colours by at most what the jitter bounds allow, and never alpha', () => {
    const extreme = 1 + COLOR_JITTER;
    const plan: ViewPlan = {
      crop: null,
      flip: false,
      color: { brightness: extreme, contrast: extreme, saturation: extreme },
      mask: false,
    };
    // Each of the three steps moves a value by at most COLOR_JITTER · 255 · (growth so far).
    const bound = 255 * (extreme ** 3 - 1);
    for (const p of [plan, ...viewPlans(4, ['color'], 5).slice(1)]) {
      const view = applyView(image, p);
      let changed = 0;
      for (let i = 0; i < image.data.length; i++) {
        const delta = Math.abs((view.data[i] as number) - (image.data[i] as number));
        if (i % 4 === 3) expect(delta).toBe(0);
        else expect(delta).toBeLessThanOrEqual(bound);
        if (delta > 0) changed++;
      }
      expect(changed).toBeGreaterThan(0);
    }
  });

  it('works on gray images (saturation has nothing to change)', () => {
    const gray: Pixels = {
      data: new Uint8Array([10, 20, 30, 40]),
      width: 2,
      height: 2,
      channels: 1,
    };
    const view = applyView(gray, {
      crop: null,
      flip: true,
      color: { brightness: 1, contrast: 1, saturation: 0.5 },
      mask: false,
    });
    expect([...view.data]).toEqual([20, 10, 40, 30]);
  });
});
