import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The monitoring console (src/console/) → dist/console/, served by the service at /console.
export default defineConfig({
  root: resolve(import.meta.dirname, 'src/console'),
  base: '/console/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: resolve(import.meta.dirname, 'dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // MapLibre alone is ~800 KiB minified; it is one cached, hashed file.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
});
