// Every benchmark's JSON echoes the settings its runs used, built by tools/lib/run-settings.ts
// from the settings the runs were given. bench:quality once printed settings.learning_rate 0.003
// (the single-image default) for runs at its protocol's 5e-3: the first case fails on that.
import { describe, expect, it } from 'vitest';
import { datasetRunSettings, TTRV_PROTOCOL } from '../../src/dataset/schedule';
import { DEFAULT_SETTINGS } from '../../src/settings';
import { benchStep, benchStepSettings } from '../../tools/lib/bench-step';
import {
  benchSettings,
  datasetRunEcho,
  protocolLearningRate,
  settingsEcho,
} from '../../tools/lib/run-settings';

describe("a dataset benchmark's settings (bench:quality, bench:zoo)", () => {
  it('carry the learning rate, votes and trained completions the runs use, not the page defaults', () => {
    // The premise: dataset mode has its own rate, apart from the single-image one.
    expect(TTRV_PROTOCOL.learning_rate).not.toBe(DEFAULT_SETTINGS.learning_rate);
    const echo = datasetRunEcho(benchSettings({}), TTRV_PROTOCOL, ['seed']);
    expect(echo.learning_rate).toBe(TTRV_PROTOCOL.learning_rate);
    expect(echo.num_votes).toBe(TTRV_PROTOCOL.num_votes);
    expect(echo.num_generations).toBe(TTRV_PROTOCOL.num_generations);
    expect(echo).toMatchObject({ subset: 20, epochs: 2, promptsPerStep: 8 });
    expect(echo.evaluate).toBe('whole split');
  });

  it('are the settings datasetRunSettings gives the run, every one but those that vary', () => {
    const settings = benchSettings({ temperature: 0.7 }, { seed: 2 });
    const echo = datasetRunEcho(settings, TTRV_PROTOCOL, ['seed']);
    const { seed: _, ...used } = datasetRunSettings(settings, TTRV_PROTOCOL);
    expect(echo).toMatchObject(used);
    expect(Object.keys(echo)).not.toContain('seed');
    expect(echo.temperature).toBe(0.7);
  });

  it('follow `--set learning_rate`, which sets the protocol’s rate', () => {
    const overrides = { learning_rate: 0.01 };
    const protocol = { ...TTRV_PROTOCOL, learning_rate: protocolLearningRate(overrides) };
    expect(datasetRunEcho(benchSettings(overrides), protocol).learning_rate).toBe(0.01);
    expect(protocolLearningRate({})).toBe(TTRV_PROTOCOL.learning_rate);
  });
});

describe('settingsEcho', () => {
  it('leaves out the fields that vary from run to run, and leaves the settings as they were', () => {
    const settings = benchSettings({}, { reward: 'majority', seed: 1 });
    const echo = settingsEcho(settings, ['reward', 'seed']);
    expect(Object.keys(echo).sort()).toEqual(
      Object.keys(DEFAULT_SETTINGS)
        .filter((key) => key !== 'reward' && key !== 'seed')
        .sort(),
    );
    expect(settings.reward).toBe('majority');
  });
});

describe('benchSettings', () => {
  it('refuses settings the page would refuse', () => {
    expect(() => benchSettings({ num_votes: 2, num_generations: 4 })).toThrow(/Settings:/);
  });
});

describe("an engine benchmark's settings (bench:engine, bench:scale)", () => {
  it('are the GRPO step it times', () => {
    expect(benchStepSettings(8).grpo).toEqual(benchStep(8));
  });
});
