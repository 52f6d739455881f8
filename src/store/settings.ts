import { DEFAULT_TTRV_CONFIG, validateTtrvConfig } from '../rl/config';
import type { SettingsSlice, Slice } from './state';

export const createSettingsSlice: Slice<SettingsSlice> = (set, get) => ({
  config: { ...DEFAULT_TTRV_CONFIG, target_modules: [...DEFAULT_TTRV_CONFIG.target_modules] },
  configIssues: [],
  updateConfig: (patch) => {
    const config = { ...get().config, ...patch };
    set({ config, configIssues: validateTtrvConfig(config) });
  },
});
