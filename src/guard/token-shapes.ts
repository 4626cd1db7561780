/**
 * The shapes of well-known credentials, in one list: the redactor finds them inside text that
 * reaches a client; `looksLikeToken` refuses a value of one of them where a credential does not
 * belong (a setting, an upstream's argument or literal variable); TOKEN_INSIDE finds them inside
 * a longer string (`Bearer ghp_…`, src/upstreams/credentials.ts). keyward's own key shape comes
 * from src/keys/format.ts, which owns it.
 */
import {KEY_IN_TEXT, KEY_START_TEXT} from '../keys/format.js'

export interface TokenShape {
  /** As redacted: `[REDACTED:NAME]`. */
  name: string
  /** A literal every match contains: a cheap test before the expression runs. */
  hint: string
  /** The whole token, as found inside text that reaches a client (bounded: one pass per text). */
  inText: string
  /**
   * What a value starts with when it is one of these, as a RegExp source (default: `inText`):
   * looser than `inText` where refusing a near-token costs nothing and redacting one would
   * damage text.
   */
  start?: string
  /**
   * False for shapes too generic to look for in free text (`sk-…`, `eyJ…`): a tool's ordinary
   * output would be redacted. A value of such a shape is still refused as a credential.
   */
  redact: boolean
}

export const TOKEN_SHAPES: readonly TokenShape[] = [
  {name: 'api-key', hint: '_', inText: KEY_IN_TEXT, start: KEY_START_TEXT, redact: true},
  {
    name: 'github-token',
    hint: '_',
    inText: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`,
    start: String.raw`gh[pousr]_[A-Za-z0-9]{20,}|github_pat_`,
    redact: true,
  },
  {name: 'aws-access-key', hint: 'A', inText: String.raw`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`, start: String.raw`(?:AKIA|ASIA)[A-Z0-9]{16}`, redact: true},
  // Bot, user, app, refresh, session, configuration and legacy tokens.
  {name: 'slack-token', hint: 'xox', inText: String.raw`\bxox[abeoprs]-[A-Za-z0-9-]{10,250}`, start: String.raw`xox[abeoprs]-`, redact: true},
  // Bounded, so that a BEGIN line with no END costs one pass, not one per BEGIN.
  {
    name: 'private-key',
    hint: '-----BEGIN ',
    inText: String.raw`-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----[\s\S]{0,65536}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----`,
    start: String.raw`-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----`,
    redact: true,
  },
  {name: 'openai-key', hint: 'sk-', inText: String.raw`\bsk-[A-Za-z0-9_-]{16,}`, start: String.raw`sk-[A-Za-z0-9_-]{16,}`, redact: false},
  {name: 'jwt', hint: 'eyJ', inText: String.raw`\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.`, start: String.raw`eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.`, redact: false},
]

const starts = TOKEN_SHAPES.map((shape) => shape.start ?? shape.inText)
const WHOLE = new RegExp(`^(?:${starts.join('|')})`)

/** True when a value is a credential of a known shape, which belongs in the vault rather than here. */
export function looksLikeToken(value: string): boolean {
  return WHOLE.test(value)
}

/**
 * The same shapes anywhere in a string, but only where a run of token characters starts: so
 * each run is read once, whatever the string.
 */
export const TOKEN_INSIDE = new RegExp(`(?<![A-Za-z0-9_-])(?:${starts.join('|')})`, 'g')
