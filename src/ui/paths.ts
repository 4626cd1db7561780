/**
 * Where the console's files are: the package root is the nearest directory above this module
 * that holds package.json and bin/run.js, whether this code runs from src/ (tests, through tsx),
 * from dist/src/, or bundled into dist/commands/.
 */
import {existsSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export function packageRoot(from = import.meta.url): string | undefined {
  let dir = path.dirname(fileURLToPath(from))
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bin', 'run.js'))) return dir
    const parent = path.dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** The built client (npm run build puts it there). */
export function assetsDir(): string | undefined {
  const root = packageRoot()
  return root && path.join(root, 'dist', 'ui')
}
