// Augmented views of an image for the view_consistency reward (src/rl/rewards.ts): a random crop,
// a horizontal flip and a small colour change, drawn from a seed; and the masked view the
// perception reward re-scores completions after. Plain TypeScript over a pixel
// buffer laid out as transformers.js' RawImage ({data, width, height, channels}, row-major,
// interleaved channels), so the worker and Node make the same views.

import { seededRandom } from '../random';
import type { TtrvConfig, ViewAugmentation } from '../rl/config';

export type Pixels = {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
};

/**
 * A crop keeps this share of each side at least, and at most MAX_CROP: enough that the object a
 * question asks about usually stays in view (a crop that cuts it off turns agreement into noise).
 * The processor resizes every view to the model's tile anyway.
 */
export const MIN_CROP = 0.7;
export const MAX_CROP = 0.95;
/**
 * Brightness, contrast and saturation factors lie in 1 ± COLOR_JITTER. Small, and no hue change:
 * a question about colour must keep its answer.
 */
export const COLOR_JITTER = 0.1;

/** One view's changes, as plain data: the same plan fits any image size. */
export type ViewPlan = {
  /** The kept window: its left and top edges and its side, as shares of the image's; null: all. */
  crop: { left: number; top: number; size: number } | null;
  flip: boolean;
  /** Factors near 1; null: colours unchanged. */
  color: { brightness: number; contrast: number; saturation: number } | null;
  /** Every pixel mid-gray (alpha kept): the image with nothing left to see. */
  mask: boolean;
};

const ORIGINAL: ViewPlan = { crop: null, flip: false, color: null, mask: false };

/** The perception reward's view: the whole image masked, as PAPO's and DVRP's masked inputs. */
export const MASKED_VIEW: ViewPlan = { ...ORIGINAL, mask: true };

/** The gray a masked pixel takes: the middle of 0–255, which the processor maps to about 0. */
const MASK_GRAY = 128;

/** Uniform numbers each view draws, whatever is on: turning one augmentation off leaves the
 * others' draws, and so their views, as they were. */
const DRAWS_PER_VIEW = 6;

/**
 * The plans of `count` views from `seed`. View 0 is always the image itself (so one view is the
 * plain step). Crop and colour are drawn for every other view; the flip alternates (odd views
 * flipped), so any two views hold both orientations rather than whatever a coin gave. The plans
 * of fewer views are a prefix of those of more.
 */
export function viewPlans(
  count: number,
  augmentations: readonly ViewAugmentation[],
  seed: number,
): ViewPlan[] {
  const random = seededRandom(seed);
  const on = new Set(augmentations);
  const jitter = (u: number) => 1 + COLOR_JITTER * (2 * u - 1);
  const plans = [ORIGINAL];
  for (let view = 1; view < count; view++) {
    const [s = 0, l = 0, t = 0, b = 0, c = 0, a = 0] = Array.from(
      { length: DRAWS_PER_VIEW },
      random,
    );
    const size = MIN_CROP + (MAX_CROP - MIN_CROP) * s;
    plans.push({
      crop: on.has('crop') ? { left: (1 - size) * l, top: (1 - size) * t, size } : null,
      flip: on.has('flip') && view % 2 === 1,
      color: on.has('color')
        ? { brightness: jitter(b), contrast: jitter(c), saturation: jitter(a) }
        : null,
      mask: false,
    });
  }
  return plans;
}

/**
 * The plans of a run's views besides the image itself (viewPlans without view 0): num_views − 1
 * augmented views drawn from the run's seed, the same for every image of the run.
 */
export function augmentedViewPlans(
  config: Pick<TtrvConfig, 'num_views' | 'view_augmentations' | 'seed'>,
): ViewPlan[] {
  return viewPlans(config.num_views, config.view_augmentations, config.seed).slice(1);
}

/** What a view changed, in words for the page: "original", or e.g. "crop, flip". */
export function describeView(plan: ViewPlan): string {
  if (plan.mask) return 'masked';
  const changed = [plan.crop && 'crop', plan.flip && 'flip', plan.color && 'color'].filter(
    (name): name is string => typeof name === 'string',
  );
  return changed.length > 0 ? changed.join(', ') : 'original';
}

/** The crop's window in pixels: inside the image, at least one pixel on each side. */
export function cropWindow(plan: ViewPlan, width: number, height: number) {
  if (!plan.crop) return { x: 0, y: 0, width, height };
  const { left, top, size } = plan.crop;
  const w = Math.min(width, Math.max(1, Math.round(size * width)));
  const h = Math.min(height, Math.max(1, Math.round(size * height)));
  return {
    x: Math.min(width - w, Math.round(left * width)),
    y: Math.min(height - h, Math.round(top * height)),
    width: w,
    height: h,
  };
}

/** The view of `image` under `plan`: crop, then flip, then colour; a new buffer (alpha kept). */
export function applyView(image: Pixels, plan: ViewPlan): Pixels {
  const { channels } = image;
  const window = cropWindow(plan, image.width, image.height);
  const data = new Uint8ClampedArray(window.width * window.height * channels);
  for (let y = 0; y < window.height; y++) {
    for (let x = 0; x < window.width; x++) {
      const sourceX = window.x + (plan.flip ? window.width - 1 - x : x);
      const from = ((window.y + y) * image.width + sourceX) * channels;
      data.set(image.data.subarray(from, from + channels), (y * window.width + x) * channels);
    }
  }
  if (plan.color) jitterColors(data, channels, plan.color);
  if (plan.mask) {
    const colors = channels % 2 === 0 ? channels - 1 : channels; // alpha is the last, if any
    for (let i = 0; i < data.length; i++) if (i % channels < colors) data[i] = MASK_GRAY;
  }
  return { data, width: window.width, height: window.height, channels };
}

/** ITU-R 601 luma, as torchvision's rgb_to_grayscale. */
function luma(data: Float32Array, at: number, channels: number): number {
  if (channels < 3) return data[at] as number;
  return (
    0.299 * (data[at] as number) +
    0.587 * (data[at + 1] as number) +
    0.114 * (data[at + 2] as number)
  );
}

/**
 * Brightness, contrast, saturation in that order, as torchvision's ColorJitter adjusts them:
 * scale; blend with the mean gray; blend with each pixel's own gray (no-op for a gray image). In
 * place, rounded and clamped to 0–255 once at the end (by the clamped array); alpha is untouched.
 */
function jitterColors(
  data: Uint8ClampedArray,
  channels: number,
  factors: NonNullable<ViewPlan['color']>,
): void {
  const colors = channels >= 3 ? 3 : 1;
  const pixels = data.length / channels;
  const values = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) values[i] = (data[i] as number) * factors.brightness;
  let meanGray = 0;
  for (let p = 0; p < pixels; p++) meanGray += luma(values, p * channels, channels);
  meanGray /= pixels;
  for (let p = 0; p < pixels; p++) {
    const at = p * channels;
    for (let c = 0; c < colors; c++) {
      values[at + c] = meanGray + factors.contrast * ((values[at + c] as number) - meanGray);
    }
    const gray = luma(values, at, channels);
    for (let c = 0; c < colors; c++) {
      values[at + c] = gray + factors.saturation * ((values[at + c] as number) - gray);
    }
    for (let c = 0; c < colors; c++) data[at + c] = values[at + c] as number;
  }
}
