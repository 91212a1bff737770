// The cabinet is served by kopilkad at /lk/ (scripts/lk.sh builds it; handlers/ops.c serves it).
// JSX is compiled by Vite's esbuild for Preact: no Babel, no plugin.
export default {
  base: '/lk/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2020',
    assetsInlineLimit: 0, // every asset a file of its own: the CSP forbids data: scripts and styles
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
};
