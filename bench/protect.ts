/**
 * The Protect stages' own costs, in process: redacting a 100 KB result with 10,000 secrets in
 * the vault (against the loop over secrets it replaces), and the memory the rate limits hold
 * for 100,000 distinct callers (against the heap before, and after their window ended).
 */
import {randomBytes} from 'node:crypto'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

import {Redactor} from '../src/guard/redactor.js'
import {RateLimits} from '../src/ratelimit/limits.js'
import {median, type Row} from './util.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapMb(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}

function redaction(): Row[] {
  const secrets: [string, string][] = []
  for (let i = 0; i < 10_000; i++) secrets.push([`SECRET_${i}`, randomBytes(18).toString('base64url')])
  const build = performance.now()
  const redactor = new Redactor(secrets)
  const buildMs = performance.now() - build
  // A realistic result: text with a few secrets in it, 100 KB.
  let text = ''
  while (text.length < 100_000) text += `${randomBytes(600).toString('base64')} ${secrets[Math.floor(Math.random() * secrets.length)][1]}\n`
  text = text.slice(0, 100_000)
  const result = {content: [{type: 'text', text}]}
  const times: number[] = []
  for (let i = 0; i < 200; i++) {
    const t = performance.now()
    redactor.value(result)
    times.push(performance.now() - t)
  }
  const naive: number[] = []
  for (let i = 0; i < 5; i++) {
    const t = performance.now()
    let out = text
    for (const [name, value] of secrets) if (out.includes(value)) out = out.split(value).join(`[REDACTED:${name}]`)
    naive.push(performance.now() - t)
  }
  const ms = median(times.slice(50))
  const naiveMs = median(naive)
  const group = 'secret redaction, 10,000 secrets in the vault'
  return [
    {group, metric: 'build the matcher (at vault load and reload)', value: buildMs, unit: 'ms'},
    {group, metric: 'a loop of includes() over every secret, per 100 KB result', value: naiveMs, unit: 'ms'},
    {
      group,
      metric: 'keyward’s matcher, per 100 KB result',
      value: ms,
      unit: 'ms',
      baseline: {name: 'loop over secrets', value: naiveMs},
      ratio: naiveMs / ms,
      target: '>= 20x faster than the loop, < 5 ms',
      pass: naiveMs / ms >= 20 && ms < 5,
    },
  ]
}

async function rateLimitMemory(): Promise<Row[]> {
  const limits = new RateLimits()
  const rate = {limit: 100, windowSeconds: 2}
  const before = heapMb()
  for (let i = 0; i < 100_000; i++) await limits.consume('principal', `key:caller-${i}`, rate)
  const during = heapMb() - before
  await new Promise((resolve) => setTimeout(resolve, 2500))
  const after = heapMb() - before
  const group = 'rate limits, 100,000 distinct callers in one window'
  return [
    {group, metric: 'heap held while their window runs', value: during, unit: 'MB', target: '< 100 MB', pass: during < 100},
    {group, metric: 'heap held once the window ended', value: Math.max(0, after), unit: 'MB', baseline: {name: 'while it ran', value: during}, ratio: Math.max(0, after) / during, target: '< 0.1x (released)', pass: after / during < 0.1},
  ]
}

export async function benchProtect(): Promise<Row[]> {
  return [...redaction(), ...(await rateLimitMemory())]
}
