/**
 * Opening a URL in the person's browser: the `BROWSER` variable when set (a command, given the
 * URL as its last argument, or in place of `%s`; of a list, the first), else the platform's opener. The browser gets
 * the environment without keyward's own variables (an unlock secret must not reach it).
 */
import {spawn} from 'node:child_process'

import {isKeywardVariable} from './client-key.js'

export interface Opener {
  command: string
  args: string[]
}

/** Splits a command line into words: spaces separate, single and double quotes group, backslash escapes (unless `escapes` is off: Windows paths are made of backslashes). */
export function words(line: string, escapes = true): string[] {
  const out: string[] = []
  let word: string | undefined
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote) {
      if (c === quote) quote = undefined
      else if (escapes && c === '\\' && quote === '"' && i + 1 < line.length) word = (word ?? '') + line[++i]
      else word = (word ?? '') + c
    } else if (c === '"' || c === "'") {
      quote = c
      word ??= ''
    } else if (escapes && c === '\\' && i + 1 < line.length) word = (word ?? '') + line[++i]
    else if (/\s/.test(c)) {
      if (word !== undefined) out.push(word)
      word = undefined
    } else word = (word ?? '') + c
  }
  if (word !== undefined) out.push(word)
  return out
}

/** The command that opens `url`: BROWSER's first entry (a list, as `sensible-browser` reads it), else the platform's opener. */
export function openerFor(url: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Opener | undefined {
  const browser = env.BROWSER?.split(platform === 'win32' ? ';' : ':')
    .map((entry) => entry.trim())
    .find(Boolean)
  if (browser) {
    const parts = words(browser, platform !== 'win32')
    if (parts.length === 0) return undefined
    const substituted = parts.some((p) => p.includes('%s'))
    const args = parts.slice(1).map((p) => p.replaceAll('%s', url))
    return {command: parts[0].replaceAll('%s', url), args: substituted ? args : [...args, url]}
  }
  if (platform === 'darwin') return {command: 'open', args: [url]}
  // Not `cmd /c start`: cmd would read the URL's & as a command separator.
  if (platform === 'win32') return {command: 'rundll32', args: ['url.dll,FileProtocolHandler', url]}
  return {command: 'xdg-open', args: [url]}
}

/** The environment a browser is started with: `env` without keyward's own variables (its unlock secrets, a client's key). */
export function browserEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(env)) if (!isKeywardVariable(name)) childEnv[name] = value
  return childEnv
}

/** Starts the browser (without waiting for it); false when it could not be started. */
export function openUrl(url: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const opener = openerFor(url, env)
  if (!opener) return Promise.resolve(false)
  return new Promise((resolve) => {
    const child = spawn(opener.command, opener.args, {env: browserEnv(env), stdio: 'ignore', detached: process.platform !== 'win32'})
    child.once('error', () => resolve(false))
    child.once('spawn', () => {
      child.unref()
      resolve(true)
    })
  })
}
