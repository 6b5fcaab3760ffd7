// Bundles the action (dist/index.js: main and post) and the CLI (dist/cli.js). Shared code goes to one chunk, so
// the two entries stay small; minified to keep the committed dist/ small, with sourcemaps for stack traces.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

// @actions/core imports its OIDC client, and so @actions/http-client with undici (400 KB), at load; nothing here asks
// for an ID token. Marking the two packages free of side effects lets esbuild drop every module whose exports go
// unused, so the action's start does not compile undici (the GitHub client still loads what it uses, when it runs).
const TOOLKIT_FILE = /node_modules\/@actions\/(core|http-client)\//;
const resolving = Symbol('resolving');
const toolkitWithoutSideEffects = {
  name: 'toolkit-without-side-effects',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === resolving) return undefined;
      if (!/^@actions\/(core|http-client)(\/|$)/.test(args.path) && !TOOLKIT_FILE.test(args.importer)) return undefined;
      const { errors, path, external, namespace, suffix } = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: resolving,
      });
      if (errors.length > 0) return { errors };
      return { path, external, namespace, suffix, sideEffects: !TOOLKIT_FILE.test(path) };
    });
  },
};

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: { index: 'src/index.ts', cli: 'src/cli.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  plugins: [toolkitWithoutSideEffects],
  // Only the version of package.json goes into the bundle, so editing the rest of it leaves dist/ as it is.
  define: { MODEL_CANARY_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  // CommonJS dependencies inside an ESM bundle still call require().
  banner: {
    js: "import { createRequire as __mcRequire } from 'node:module'; const require = __mcRequire(import.meta.url);",
  },
});
const cli = 'dist/cli.js';
writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, 'utf8')}`);
chmodSync(cli, 0o755);
