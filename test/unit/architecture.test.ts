/**
 * The shape of src/ (issue 17), checked on every run: no import cycle, no import from a layer
 * above, no function over 80 lines, and no JSON-RPC error code written out anywhere but the one
 * table. Imports are read with the TypeScript compiler's own scanner, dynamic imports and
 * type-only imports included: a type import is a dependency too.
 */
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import ts from 'typescript'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SRC = path.join(ROOT, 'src')

/**
 * Modules from the bottom up: a module may import from the layers below its own, never from its
 * own layer's other modules or from above. src/server's parts are layered the same way inside
 * `server`; files directly in src/server belong to the layer named by their file name.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'regex', 'text'],
  ['vault', 'policy', 'net', 'ratelimit'],
  ['audit', 'keys', 'secrets'],
  ['guard', 'redis'],
  ['upstreams'],
  ['config'],
  ['auth'],
  ['server'],
  ['cli'],
  ['ui'],
]

/** Inside src/server: the refusal and the protection settings at the bottom, the wiring of `serve` on top. */
export const SERVER_LAYERS: readonly (readonly string[])[] = [
  ['defaults', 'log', 'refusal', 'protection'],
  ['era'],
  ['live-vault', 'tools'],
  ['bridge'],
  ['runtime'],
  ['context'],
  ['pipeline'],
  ['options', 'mcp'],
  ['gateway', 'transports'],
  ['stages'],
  ['cluster', 'open-audit', 'open-request-state', 'assemble'],
  ['routes', 'shutdown', 'start-cluster', 'start-gateway'],
  ['start-http', 'start-stdio'],
  ['index'],
]

const MAX_FUNCTION_LINES = 80

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(full))
    else if (entry.name.endsWith('.ts')) out.push(full)
  }
  return out.sort()
}

const FILES = sourceFiles(SRC)
const rel = (file: string) => path.relative(ROOT, file)

/** The files of src/ a file imports, relative to the repository root. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => rel(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))))
}

const GRAPH = new Map(FILES.map((file) => [rel(file), importsOf(file)]))

/** A file's module: `keys`, or for src/server `server/stages`, `server/mcp` (a file directly in src/server). */
function moduleOf(file: string): string {
  const parts = file.split('/')
  if (parts[1] === 'server' && parts.length > 3) return `server/${parts[2]}`
  if (parts[1] === 'server') return `server/${parts[2].replace(/\.ts$/, '')}`
  return parts.length > 2 ? parts[1] : parts[1].replace(/\.ts$/, '')
}

function layerOf(module: string): number {
  if (module.startsWith('server/')) return LAYERS.findIndex((l) => l.includes('server'))
  return LAYERS.findIndex((l) => l.includes(module))
}

function serverLayerOf(module: string): number {
  return SERVER_LAYERS.findIndex((l) => l.includes(module.slice('server/'.length)))
}

/** Every cycle among the files (Tarjan's strongly connected components of more than one file, or a file importing itself). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      component.push(w)
    } while (w !== v)
    if (component.length > 1 || graph.get(v)?.includes(v)) found.push(component.sort())
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('architecture', () => {
  it('every module of src/ has a layer', () => {
    const modules = new Set([...GRAPH.keys()].map(moduleOf))
    const missing = [...modules].filter((m) => layerOf(m) === -1 || (m.startsWith('server/') && serverLayerOf(m) === -1))
    assert.deepEqual(missing, [], 'add each new module to LAYERS or SERVER_LAYERS')
  })

  it('no file imports another that imports it back, directly or in a loop', () => {
    assert.deepEqual(cycles(GRAPH), [])
    const modules = new Map<string, string[]>()
    for (const [file, deps] of GRAPH) {
      const from = moduleOf(file)
      const into = modules.get(from) ?? []
      for (const dep of deps) if (moduleOf(dep) !== from) into.push(moduleOf(dep))
      modules.set(from, into)
    }
    assert.deepEqual(cycles(modules), [], 'modules in a loop')
  })

  it('no module imports from its own layer or one above it', () => {
    const upward: string[] = []
    for (const [file, deps] of GRAPH) {
      const from = moduleOf(file)
      for (const dep of deps) {
        const to = moduleOf(dep)
        if (to === from) continue
        const [a, b] = [layerOf(from), layerOf(to)]
        const bothServer = from.startsWith('server/') && to.startsWith('server/')
        if (bothServer ? serverLayerOf(to) >= serverLayerOf(from) : b >= a) upward.push(`${file} -> ${dep}`)
      }
    }
    assert.deepEqual(upward, [])
  })

  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    const long: string[] = []
    for (const file of FILES) {
      const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
      const visit = (node: ts.Node) => {
        if (ts.isFunctionLike(node) && 'body' in node && node.body) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line
          const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
          if (last - first + 1 > MAX_FUNCTION_LINES) long.push(`${rel(file)}:${first + 1} (${last - first + 1} lines)`)
        }
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
    assert.deepEqual(long, [])
  })

  it('serve() only wires its parts: under 60 lines', () => {
    const file = path.join(SRC, 'server/index.ts')
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    const serve = source.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === 'serve')
    assert.ok(serve, 'serve() is in src/server/index.ts')
    const lines = source.getLineAndCharacterOfPosition(serve.getEnd()).line - source.getLineAndCharacterOfPosition(serve.getStart(source)).line + 1
    assert.ok(lines < 60, `serve() has ${lines} lines`)
  })

  it('JSON-RPC error codes are written out in one table only (src/server/refusal.ts)', () => {
    const raw: string[] = []
    for (const file of FILES) {
      if (rel(file) === 'src/server/refusal.ts') continue
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/(?<![\w.])-32[0-9]{3}\b/.test(line)) raw.push(`${rel(file)}:${i + 1}: ${line.trim()}`)
        })
    }
    assert.deepEqual(raw, [])
  })
})
