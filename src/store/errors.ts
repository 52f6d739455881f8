import { errorCodeOf, messageOf } from '../errors';
import type { ErrorSlice, Slice } from './state';

export const createErrorSlice: Slice<ErrorSlice> = (set) => ({
  error: null,
  fail: (error) => {
    const code = errorCodeOf(error);
    if (code === 'stopped') return; // asked for: Pause, Reset or Cancel
    const message = messageOf(error);
    if (code === 'gpu-lost') set({ gpu: { state: 'lost', message } });
    set({ error: message });
  },
  dismissError: () => set({ error: null }),
});
