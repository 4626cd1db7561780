// Bundles the CLI (our commands, @oclif/core, and the MCP SDK with zod) into dist/commands/index.js,
// over tsc's output for that file. The SDK and zod are bundled because resolving and linking their
// hundreds of ES modules costs about 90 ms at every `serve` start; splitting keeps them in chunks that
// only serve and the gateway commands load. Native, optional or rarely used packages stay external.
import {readdir, readFile, writeFile} from 'node:fs/promises'

import {build} from 'esbuild'

// jsonc-parser's "main" is a UMD build whose require('./impl/…') calls esbuild cannot follow; Node loads it fine.
const external = ['ioredis', 'ajv', 'ajv-formats', 'jsonc-parser', '@inquirer/prompts', '@node-rs/argon2', 'proper-lockfile', 'typescript', 'ts-node', 'tsx']

/**
 * Three of @oclif/core's dependencies cost start-up time for work keyward does not need from
 * them, so @oclif/core gets a stand-in for each (about 12 ms of every command's start):
 * - semver (45 KB) serves only oclif's check of its own engines, which first requires oclif's
 *   package.json from beside the chunk, where the bundle has none: it never warns here. Node's
 *   version is keyward's own package.json's engines' business.
 * - tinyglobby serves only the "pattern" command discovery; keyward's is "explicit".
 * - minimatch (with brace-expansion, 41 KB) serves only matching package.json's oclif.plugins
 *   against the dependencies' names, at every start; keyward names its one plugin exactly, and an
 *   exact name is matched as minimatch matches a pattern without wildcards. A wildcard there
 *   fails every command at once, saying so.
 */
const stubs = {
  semver: 'module.exports = {satisfies: () => true}',
  tinyglobby: "module.exports = {glob: async () => { throw new Error('keyward discovers its commands explicitly: no glob') }}",
  minimatch: String.raw`module.exports = {minimatch: (name, pattern) => {
    if (/[*?[\]{}()!+@]/.test(pattern.replace(/^@/, ''))) throw new Error('keyward matches oclif.plugins by exact name: no wildcard (' + pattern + ')')
    return name === pattern
  }}`,
}
const oclifStubs = {
  name: 'oclif-stubs',
  setup(b) {
    b.onResolve({filter: /^(semver|tinyglobby|minimatch)$/}, (args) => (/[/\\]@oclif[/\\]core[/\\]/.test(args.importer) ? {path: args.path, namespace: 'oclif-stub'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'oclif-stub'}, (args) => ({contents: stubs[args.path], loader: 'js'}))
  },
}

await build({
  entryPoints: {index: 'commands/index.ts'},
  plugins: [oclifStubs],
  outdir: 'dist/commands',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
  banner: {
    // CommonJS dependencies (oclif) bundled into ESM still call require() and read __dirname.
    js: [
      "import {createRequire as __kwCreateRequire} from 'node:module'",
      "import {fileURLToPath as __kwFileURLToPath} from 'node:url'",
      "import {dirname as __kwDirname} from 'node:path'",
      'const require = __kwCreateRequire(import.meta.url)',
      'const __filename = __kwFileURLToPath(import.meta.url)',
      'const __dirname = __kwDirname(__filename)',
    ].join('\n'),
  },
})

// The console's client (keyward ui): Preact and uPlot into one script and one stylesheet under
// dist/ui, read only by the ui command. Nothing is fetched from elsewhere at run time.
await build({
  entryPoints: {app: 'src/ui/client/main.tsx'},
  outdir: 'dist/ui',
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
})
// boot.js, evaluated first, asks for the first page's data while app.js loads (first-data.ts).
await build({
  entryPoints: {boot: 'src/ui/client/boot.ts'},
  outdir: 'dist/ui',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  logLevel: 'warning',
})
// The page names the chunks the first page needs, so the browser fetches them with app.js.
const chunks = (await readdir('dist/ui')).filter((name) => name.endsWith('.js') && name !== 'app.js' && name !== 'boot.js')
const preload = chunks.map((name) => `<link rel="modulepreload" href="/assets/${name}">`).join('\n')
const page = await readFile('src/ui/client/index.html', 'utf8')
await writeFile('dist/ui/index.html', page.replace('<!-- chunks -->', preload))
