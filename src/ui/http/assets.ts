/**
 * The console's client, as `npm run build` left it under dist/ui: read into memory once, when
 * `keyward ui` starts (no other command reads it). The page gets the session's CSRF token in a
 * meta element, since the CSP allows no inline script.
 */
import {promises as fs} from 'node:fs'
import path from 'node:path'

import {KeywardError} from '../../errors/index.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
}

export interface Asset {
  body: Buffer
  type: string
}

export class Assets {
  private constructor(
    private readonly files: Map<string, Asset>,
    private readonly page: string,
  ) {}

  /** Every file of `dir` (one level, plus index.html as the page template). */
  static async load(dir: string): Promise<Assets> {
    let names: string[]
    let page: string
    try {
      names = await fs.readdir(dir)
      page = await fs.readFile(path.join(dir, 'index.html'), 'utf8')
    } catch {
      throw new KeywardError('NOT_FOUND', `the console's files are missing from ${dir}; run npm run build`)
    }
    const files = new Map<string, Asset>()
    for (const name of names) {
      const type = TYPES[path.extname(name)]
      if (!type || name === 'index.html') continue
      files.set(`/assets/${name}`, {body: await fs.readFile(path.join(dir, name)), type})
    }
    return new Assets(files, page)
  }

  /** For tests of the server without a built client. */
  static of(files: Record<string, string>, page: string): Assets {
    return new Assets(new Map(Object.entries(files).map(([p, body]) => [p, {body: Buffer.from(body), type: TYPES[path.extname(p)] ?? 'application/octet-stream'}])), page)
  }

  file(urlPath: string): Asset | undefined {
    return this.files.get(urlPath)
  }

  /** The page, with the session's CSRF token where the template has `__CSRF_TOKEN__`. */
  pageFor(csrf: string): string {
    return this.page.replace('__CSRF_TOKEN__', csrf)
  }
}
