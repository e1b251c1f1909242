// Builds the console into dist/console, which the API serves (src/api/routes/console.ts). Everything the app
// needs is bundled: it makes no third-party request, and no inline script (the served CSP forbids them).
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    // Inlined assets would be data: URLs; keeping them as files keeps the CSP simple.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
