// The playground's settings: the TTRV run's and the LoRA adapter's, one flat object with one
// validation, under the names (and in the order) the settings panel and the metrics JSON show.
import { describe, expect, it } from 'vitest';
import { sameLoraSettings } from '../../src/engine/loraSettings';
import { metricsToJson } from '../../src/rl/metrics';
import { DEFAULT_SETTINGS, type PlaygroundSettings, validateSettings } from '../../src/settings';

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
