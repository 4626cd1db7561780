/**
 * Opens the console in the user's browser without putting the login link on a command line,
 * where `ps` shows it to every user: the link goes in a private file (0600, in a 0700 directory
 * under the state dir) whose page moves on to it, and the browser is given the file. `BROWSER`
 * (a command; `%s` stands for the address, else it is appended) beats the platform's opener.
 * The browser gets the environment without keyward's own variables, as every opener does.
 */
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {promises as fs} from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

import {browserEnv, openerFor} from '../cli/browser.js'
import {createPrivateFile, defaultStateDir} from '../vault/index.js'

export interface OpenedLink {
  /** The private file the browser was given. */
  file: string
  /** Removes the file (once the link was used, or at exit). */
  cleanup(): Promise<void>
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export async function openInBrowser(loginUrl: string, env: NodeJS.ProcessEnv = process.env): Promise<OpenedLink> {
  const file = path.join(defaultStateDir(env), 'ui', `open-${process.pid}-${randomBytes(6).toString('hex')}.html`)
  const href = escape(loginUrl)
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${href}"><title>keyward console</title></head><body><a href="${href}">Open the keyward console</a></body></html>\n`
  await createPrivateFile(file, Buffer.from(page), 'console link file')
  const cleanup = () => fs.rm(file, {force: true})
  const opener = openerFor(pathToFileURL(file).href, env)
  if (!opener) {
    await cleanup()
    throw new Error('BROWSER names no command')
  }
  const {command, args} = opener
  try {
    await new Promise<void>((resolve, reject) => {
      // Not `env` itself: the vault's passphrase (KEYWARD_PASSPHRASE) must not reach the browser.
      const child = spawn(command, args, {stdio: 'ignore', detached: true, env: browserEnv(env)})
      child.once('error', reject)
      child.once('spawn', () => {
        child.unref()
        resolve()
      })
    })
  } catch (err) {
    await cleanup()
    throw new Error(`cannot start ${command} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return {file, cleanup}
}
