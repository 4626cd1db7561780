/**
 * The shapes of well-known credentials, in one list: the redactor finds them inside text that
 * reaches a client, and `looksLikeToken` refuses them where a credential does not belong (a
 * setting, an upstream's argument or literal variable). keyward's own key shape comes from
 * src/keys/format.ts, which owns it.
 */
import {KEY_IN_TEXT, KEY_START} from '../keys/format.js'

export interface TokenShape {
  /** As redacted: `[REDACTED:NAME]`. */
  name: string
  /** A literal every match contains: a cheap test before the expression runs. */
  hint: string
  /** The whole token, as found inside text (bounded: one pass per text, whatever it holds). */
  inText: string
  /** What a value starts with when it is one of these (default: `inText`). */
  start?: RegExp
  /**
   * False for shapes too generic to look for in free text (`sk-…`, `eyJ…`): a tool's ordinary
   * output would be redacted. A whole value of such a shape is still refused as a credential.
   */
  redact: boolean
}

export const TOKEN_SHAPES: readonly TokenShape[] = [
  {name: 'api-key', hint: '_', inText: KEY_IN_TEXT, start: KEY_START, redact: true},
  {name: 'github-token', hint: '_', inText: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`, redact: true},
  {name: 'aws-access-key', hint: 'A', inText: String.raw`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`, redact: true},
  // Bot, user, app, refresh, session, configuration and legacy tokens.
  {name: 'slack-token', hint: 'xox', inText: String.raw`\bxox[abeoprs]-[A-Za-z0-9-]{10,250}`, redact: true},
  // Bounded, so that a BEGIN line with no END costs one pass, not one per BEGIN.
  {
    name: 'private-key',
    hint: '-----BEGIN ',
    inText: String.raw`-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[\s\S]{0,65536}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----`,
    start: /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----/,
    redact: true,
  },
  {name: 'openai-key', hint: 'sk-', inText: String.raw`\bsk-[A-Za-z0-9_-]{16,}`, redact: false},
  {name: 'jwt', hint: 'eyJ', inText: String.raw`\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.`, redact: false},
]

const STARTS = TOKEN_SHAPES.map((shape) => shape.start ?? new RegExp(`^(?:${shape.inText})`))

/** True when a value is a credential of a known shape, which belongs in the vault rather than here. */
export function looksLikeToken(value: string): boolean {
  return STARTS.some((re) => re.test(value))
}
