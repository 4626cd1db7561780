/**
 * A real browser for the console's tests: Debian's chromium driven by playwright-core (the
 * Playwright browser download is not reachable here), axe-core for accessibility, and
 * screenshots under test/artifacts/ (gitignored) for a reviewer.
 */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import path from 'node:path'

import {chromium, type Browser, type Page} from 'playwright-core'

import {ROOT} from './cli.js'

export const CHROMIUM = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium'
export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts')

export function haveChromium(): boolean {
  return existsSync(CHROMIUM)
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // --no-sandbox: Chromium's own sandbox cannot start as root (CI containers).
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, {recursive: true})
  const file = path.join(ARTIFACTS, `${name}.png`)
  await page.screenshot({path: file, fullPage: true})
  return file
}

const AXE = readFileSync(path.join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

export interface Violation {
  id: string
  impact: string
  help: string
  nodes: string[]
}

/**
 * axe-core's violations of impact serious or critical. The script is evaluated through the
 * DevTools protocol, which the page's CSP does not govern; nothing is added to the page.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
  await page.evaluate(AXE)
  const all = (await page.evaluate(`axe.run(document, {resultTypes: ['violations']}).then((r) =>
    r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)})))`)) as Violation[]
  return all.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}
