// The playground's settings: the TTRV run's and the LoRA adapter's, one flat object with one
// validation, under the names (and in the order) the settings panel and the metrics JSON show.
import { describe, expect, it } from 'vitest';
import { sameLoraSettings } from '../src/layout/loraSettings';
import { metricsToJson } from '../src/rl/metrics';
import { REWARD_KINDS } from '../src/rl/rewards';
import { DEFAULT_SETTINGS, type PlaygroundSettings, validateSettings } from '../src/settings';
import { settingOverrides } from '../tools/lib/setting-overrides';

describe('settings', () => {
  it('default to r 8, lora_alpha 16 on all seven modules, after the TTRV settings', () => {
    const keys = Object.keys(DEFAULT_SETTINGS);
    expect(keys.slice(0, 1)).toEqual(['num_votes']);
    expect(keys.slice(-4)).toEqual(['r', 'lora_alpha', 'target_modules', 'lora_dropout']);
    expect(DEFAULT_SETTINGS).toMatchObject({
      r: 8,
      lora_alpha: 16,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
      lora_dropout: 0,
    });
    expect(validateSettings(DEFAULT_SETTINGS)).toEqual([]);
  });

  it('are written whole into the metrics JSON', () => {
    const json = JSON.parse(metricsToJson([], DEFAULT_SETTINGS));
    expect(json.config).toEqual(DEFAULT_SETTINGS);
  });

  it('report TTRV issues first, then LoRA issues, as sentences for the UI', () => {
    const bad = {
      ...DEFAULT_SETTINGS,
      temperature: 0,
      r: 0,
      lora_alpha: -1,
      target_modules: ['q_proj', 'q_proj', 'fc1'],
      lora_dropout: 1,
    } as unknown as PlaygroundSettings;
    expect(validateSettings(bad)).toEqual([
      {
        field: 'temperature',
        message:
          'temperature must be > 0: at 0 every vote is the greedy answer and no reward varies',
      },
      { field: 'r', message: 'r (the LoRA rank) must be a positive integer' },
      { field: 'lora_alpha', message: 'lora_alpha must be > 0' },
      {
        field: 'target_modules',
        message:
          'target_modules must list some of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, each once (unknown: fc1)',
      },
      { field: 'lora_dropout', message: 'lora_dropout must be in [0, 1)' },
    ]);
    expect(validateSettings({ ...DEFAULT_SETTINGS, target_modules: [] })).toEqual([
      {
        field: 'target_modules',
        message:
          'target_modules must list some of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, each once',
      },
    ]);
  });

  it('accept every reward, with ttrv the default, and name the choices for an unknown one', () => {
    expect(DEFAULT_SETTINGS.reward).toBe('ttrv');
    for (const reward of REWARD_KINDS) {
      expect(validateSettings({ ...DEFAULT_SETTINGS, reward }), reward).toEqual([]);
    }
    const unknown = { ...DEFAULT_SETTINGS, reward: 'entropy' } as unknown as PlaygroundSettings;
    expect(validateSettings(unknown)).toEqual([
      {
        field: 'reward',
        message:
          'reward must be one of "ttrv", "frequency", "majority", "guarded_majority", "confidence", "view_consistency", "perception"',
      },
    ]);
  });

  it('refuse a guard_threshold outside (0, 1] with a sentence that says what it means', () => {
    expect(DEFAULT_SETTINGS.guard_threshold).toBe(0.5);
    for (const guard_threshold of [1, 0.01]) {
      expect(validateSettings({ ...DEFAULT_SETTINGS, guard_threshold })).toEqual([]);
    }
    for (const guard_threshold of [0, -0.5, 1.01, Number.NaN]) {
      const issues = validateSettings({ ...DEFAULT_SETTINGS, guard_threshold });
      expect(
        issues.map((i) => i.field),
        String(guard_threshold),
      ).toEqual(['guard_threshold']);
      expect(issues[0]?.message).toMatch(
        /^guard_threshold must be in \(0, 1\], a share of the votes: 0\.5 skips/,
      );
    }
  });

  it('refuse num_views and view_augmentations that make no views, naming the fix', () => {
    expect(DEFAULT_SETTINGS).toMatchObject({
      num_views: 4,
      view_augmentations: ['crop', 'flip', 'color'],
    });
    for (const num_views of [0, 1.5, Number.NaN]) {
      const issues = validateSettings({ ...DEFAULT_SETTINGS, num_views });
      expect(
        issues.map((i) => i.field),
        String(num_views),
      ).toEqual(['num_views']);
      expect(issues[0]?.message).toMatch(/^num_views must be a positive integer: 1 is the image/);
    }
    const wrong = {
      ...DEFAULT_SETTINGS,
      view_augmentations: ['crop', 'crop', 'rotate'],
    } as unknown as PlaygroundSettings;
    expect(validateSettings(wrong)).toEqual([
      {
        field: 'view_augmentations',
        message:
          'view_augmentations must list some of crop, flip, color, each once (unknown: rotate)',
      },
    ]);
    // A flip alone makes one view besides the image.
    expect(
      validateSettings({ ...DEFAULT_SETTINGS, num_views: 2, view_augmentations: ['flip'] }),
    ).toEqual([]);
    expect(
      validateSettings({ ...DEFAULT_SETTINGS, num_views: 3, view_augmentations: ['flip'] }),
    ).toEqual([
      {
        field: 'num_views',
        message:
          'num_views (3) is more than 2 with flip alone: the image and its mirror are the only ' +
          'views it makes; set num_views to 2 or turn on crop or color',
      },
    ]);
    // No augmentation is fine for the image alone, not for more views of it.
    expect(validateSettings({ ...DEFAULT_SETTINGS, num_views: 1, view_augmentations: [] })).toEqual(
      [],
    );
    expect(validateSettings({ ...DEFAULT_SETTINGS, view_augmentations: [] })).toEqual([
      {
        field: 'view_augmentations',
        message:
          'view_augmentations is empty, so every view would be the image itself: turn on crop, ' +
          'flip or color, or set num_views to 1',
      },
    ]);
  });

  it('take the new reward settings from --set on the command line', () => {
    expect(settingOverrides(['reward=guarded_majority', 'guard_threshold=0.7'])).toEqual({
      reward: 'guarded_majority',
      guard_threshold: 0.7,
    });
    expect(settingOverrides(['num_views=3', 'view_augmentations=crop,flip'])).toEqual({
      num_views: 3,
      view_augmentations: ['crop', 'flip'],
    });
  });

  it('keep an adapter while r, lora_alpha and target_modules are unchanged', () => {
    const same = { ...DEFAULT_SETTINGS, lora_dropout: 0.1 };
    expect(sameLoraSettings(DEFAULT_SETTINGS, same)).toBe(true);
    expect(sameLoraSettings(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, r: 4 })).toBe(false);
    expect(sameLoraSettings(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, lora_alpha: 8 })).toBe(false);
    expect(
      sameLoraSettings(DEFAULT_SETTINGS, { ...DEFAULT_SETTINGS, target_modules: ['q_proj'] }),
    ).toBe(false);
  });
});
