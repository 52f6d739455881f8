import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { ISOLATION_HEADERS } from './src/crossOriginIsolation';

export default defineConfig({
  plugins: [react()],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  // Cross-origin isolated, so the CPU path gets threads (src/crossOriginIsolation.ts).
  server: { headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: ISOLATION_HEADERS },
});
