import { DEFAULT_SETTINGS, validateSettings } from '../settings';
import type { SettingsSlice, Slice } from './state';

export const createSettingsSlice: Slice<SettingsSlice> = (set, get) => ({
  config: { ...DEFAULT_SETTINGS, target_modules: [...DEFAULT_SETTINGS.target_modules] },
  configIssues: [],
  updateConfig: (patch) => {
    const config = { ...get().config, ...patch };
    set({ config, configIssues: validateSettings(config) });
  },
});
