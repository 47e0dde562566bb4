import { defineConfig } from 'vite';

// The app is served by the gateway under a strict CSP: scripts and styles only from
// files of our own origin, nothing inline.
export default defineConfig({
  root: import.meta.dirname,
  // Preact's automatic JSX runtime through esbuild: no framework plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Vite's module-preload polyfill would be the one script we did not write; modern browsers need none.
    modulePreload: { polyfill: false },
    // Never inline assets as data: URLs (the CSP's img-src is 'self' and blob: only).
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npm run dev -w @flixtube/web`: the API is proxied to a running fleet's gateway.
    proxy: process.env.FLIXTUBE_GATEWAY
      ? {
          '/api': { target: process.env.FLIXTUBE_GATEWAY, changeOrigin: true, secure: false },
          '/config.json': { target: process.env.FLIXTUBE_GATEWAY, changeOrigin: true, secure: false },
        }
      : {},
  },
});
