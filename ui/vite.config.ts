/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Tauri serves `ui/dist` from its own origin; relative asset paths keep the bundle
// working there and when opened from a static server for screenshots.
export default defineConfig({
  base: './',
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The CSP allows scripts from 'self' only; the preload polyfill would otherwise be
    // harmless but unnecessary in a webview that supports modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // CSS is otherwise read as empty in tests; lib/fontstack.test.ts reads app.css.
    css: { include: [/app\.css/] },
  },
});
