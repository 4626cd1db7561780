/**
 * The poisoned-description scanner: flags text in an upstream's definitions that addresses the
 * model rather than describing the tool (tool poisoning, OWASP MCP Top 10). It reads every
 * string of a definition (name, title, description, and every string inside the schemas and
 * arguments: property names, descriptions, defaults, enums) and applies a fixed set of rules.
 * Findings name the item, the field and the rule, with an excerpt in which every invisible or
 * control character is shown escaped (`\u{200B}`), never raw.
 *
 * Plain data in, data out: no SDK, no I/O. The rules are measured against the corpus in
 * test/fixtures/scan-corpus (all poisoned found, no false positive on the clean set).
 */
import type {Definition, PinKind} from './pins.js'
import {escapeName, escapeText} from '../text/visible.js'

export type ScanRule =
  | 'invisible-character'
  | 'deceptive-name'
  | 'hidden-comment'
  | 'instruction-tag'
  | 'override-instructions'
  | 'conceal-from-user'
  | 'cross-tool'
  | 'credential-reference'
  | 'exfiltration'
  | 'too-long'

export interface Finding {
  kind: PinKind
  /** The item's name as the upstream lists it, escaped. */
  item: string
  /** `description`, `inputSchema.properties.notes.description`, `name`. */
  field: string
  rule: ScanRule
  /** The text that matched, with some context, escaped. */
  excerpt: string
}

export const SCAN_RULES: Record<ScanRule, string> = {
  'invisible-character': 'zero-width, bidi-control, Unicode tag, variation-selector or control characters that a reader cannot see',
  'deceptive-name': 'a name with characters outside ASCII letters, digits, _ . - (homoglyphs that pass for another tool)',
  'hidden-comment': 'an HTML or markdown comment, which clients do not display',
  'instruction-tag': 'an <IMPORTANT>-style tag addressed to the model',
  'override-instructions': 'an instruction to ignore or override earlier instructions',
  'conceal-from-user': 'an instruction to hide something from the user',
  'cross-tool': 'an instruction about other tools: call them first, change what they do, or use this one in their place',
  'credential-reference': 'a reference to credentials or key files (~/.ssh, id_rsa, .env, mcp.json, …)',
  exfiltration: 'a request for the conversation, the system prompt or earlier tool results',
  'too-long': 'a description longer than any tool needs (text hidden past what a client shows), or text longer, deeper or more than the scanner reads',
}

/** Longer than this, a description is flagged (the longest in the clean corpus is under 500 characters). */
export const MAX_DESCRIPTION = 2000
/** Strings are scanned up to this length; a longer one is flagged too-long (its rest is not read). */
const SCAN_CHARS = 20_000
/** A definition's strings are walked this deep, and at most this many; past either, it is flagged too-long. */
const MAX_DEPTH = 32
const MAX_STRINGS = 5000

const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0E\uFEFF\uFFA0\uFFF9-\uFFFB\u{1D173}-\u{1D17A}]|[\u{E0000}-\u{E007F}]|[\u{E0100}-\u{E01EF}]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u

/** A tool name as the protocol's safe set has it; anything else may be a lookalike. */
const PLAIN_NAME = /^[A-Za-z0-9_.\- ]*$/

interface TextRule {
  rule: ScanRule
  pattern: RegExp
}

const TEXT_RULES: readonly TextRule[] = [
  {rule: 'hidden-comment', pattern: /<!--[\s\S]*?(?:-->|$)|^\s*\[(?:\/\/|comment|hidden|note)\]:\s*(?:#|<>)/im},
  {
    rule: 'instruction-tag',
    pattern: /<\s*\/?\s*(?:important|system|instructions?|admin|critical|secret|hidden|urgent|priority|mandatory|assistant|ai|model|llm|note-to-(?:ai|assistant|model|llm))\b[^>]{0,80}>|\[\s*(?:system|important|instructions?)\s*\]|<\|(?:im_start|im_end|system|endoftext)\|>/i,
  },
  {
    rule: 'override-instructions',
    pattern:
      /\b(?:ignore|disregard|forget|override|overrule|bypass)\b[^.\n]{0,40}\b(?:previous|prior|above|earlier|preceding|other|all|any|original|existing|system|safety)\b[^.\n]{0,30}\b(?:instructions?|prompts?|rules?|directions?|guidelines?|messages?|context|constraints?|policies|policy)\b|\bnew (?:system )?instructions?\s*:|\byou are now\b|\bfrom now on\b[^.\n]{0,40}\b(?:you|always|never|must)\b|\b(?:these|this) instructions? (?:take|takes|have|has) (?:precedence|priority)\b/i,
  },
  {
    rule: 'conceal-from-user',
    pattern:
      /\b(?:do not|don't|dont|never|must not|should not|without)\s+(?:\w{1,30}\s{1,5}){0,3}(?:tell(?:ing)?|mention(?:ing)?|inform(?:ing)?|notify(?:ing)?|reveal(?:ing)?|show(?:ing)?|alert(?:ing)?|let(?:ting)?|disclos(?:e|ing)|report(?:ing)?|explain(?:ing)?)\b[^.\n]{0,40}\b(?:user|human|operator|anyone)\b|\b(?:hide|conceal|keep)\b[^.\n]{0,30}\b(?:from|secret from)\s+(?:the\s+)?(?:user|human)\b|\b(?:user|human)\s+(?:must|should|need|will)\s*(?:not|never|n't)\s+(?:know|see|notice|find out|be told)\b|\b(?:do not|don't|dont|never)\s+(?:mention|tell|reveal|disclose)\s+(?:this|that|it)\b|\bsecretly\b|\bcovertly\b|\bwithout the user'?s? (?:knowledge|knowing|consent|noticing)\b/i,
  },
  {
    rule: 'cross-tool',
    pattern:
      /\b(?:before|after|when|whenever|while)\s+(?:using|calling|invoking|running|you (?:use|call|invoke|run))\s+(?:this|any|the|other|another|each|every)\b[^.\n]{0,40}\b(?:tool|function)s?\b|\b(?:side effect|effect) on (?:the )?(?:also )?(?:present |available )?\w+ tool\b|\bwhen (?:this|the) tool is (?:available|present|loaded|installed)\b|\b(?:must|should|always|first)\s+(?:first\s+)?(?:call|invoke|run|use)\s+(?:this tool|this function)\s+(?:first|before)\b|\b(?:instead of|in place of|rather than)\s+(?:using |calling )?(?:the |any )?(?:other|original|built-?in|regular|default)\s+\w*\s*(?:tool|function)|\b(?:replaces?|overrides?|supersedes?|shadows?)\s+(?:the\s+)?(?:`?[\w.-]+`?\s+)?(?:tool|function)\b|\b(?:change|set|replace|redirect)\s+(?:the\s+)?(?:recipient|destination|to[- ]address|receiver|account|wallet|address)\b|\b(?:send|forward|bcc|cc|copy)\s+(?:all|every|each|any)\s+(?:\w{1,30}\s{1,5}){0,2}(?:emails?|messages?|mails?|requests?|files?|data)\s+to\b/i,
  },
  {
    rule: 'credential-reference',
    pattern:
      /(?:~|\$HOME|%USERPROFILE%|\/home\/\w+|\/root)\/\.(?:ssh|aws|gnupg|kube|docker|config\/gcloud|azure|npmrc|netrc|pgpass|git-credentials|cursor|claude|config\/keyward)\b|(?<![A-Za-z0-9])id_(?:rsa|dsa|ecdsa|ed25519)(?![A-Za-z0-9])|(?:^|[\s'"`(/])\.env(?:\.[\w-]+)?\b|\bmcp\.json\b|\bclaude_desktop_config\.json\b|\b\.?(?:npmrc|netrc|pgpass|git-credentials)\b|\baws[_ ]?(?:secret|credentials)\b|\.aws\/credentials|\bprivate[ _-]?keys?\b|\bauthorized_keys\b|\b(?:api[_ -]?keys?|access[_ -]?tokens?|passwords?|secrets?|credentials?)\s+(?:from|in|of)\s+(?:the\s+)?(?:user'?s?|environment|env|config(?:uration)?|file|disk|system)\b|\/etc\/(?:shadow|passwd)\b|\bkeyward\b.{0,20}\b(?:vault|key ?file)\b/i,
  },
  {
    rule: 'exfiltration',
    pattern:
      /\b(?:full|entire|whole|complete|all)\s{1,5}(?:\w{1,30}\s{1,5})?(?:conversation|chat|message|dialog(?:ue)?)\s*(?:history|log|transcript|so far)?\b[^.\n]{0,40}\b(?:as|in|into|to)\b|\bsystem prompt\b|\b(?:previous|earlier|prior|last)\s+(?:tool\s+)?(?:results?|outputs?|responses?|messages?)\b[^.\n]{0,40}\b(?:pass|include|append|send|add|put)\b|\b(?:pass|include|append|send|add|put)\b[^.\n]{0,40}\b(?:previous|earlier|prior|last)\s+(?:tool\s+)?(?:results?|outputs?|responses?|messages?|calls?)\b/i,
  },
]

function excerptAround(text: string, index: number, length: number): string {
  const start = Math.max(0, index - 30)
  const end = Math.min(text.length, index + Math.max(length, 1) + 30)
  return `${start > 0 ? '…' : ''}${escapeText(text.slice(start, end), 200)}${end < text.length ? '…' : ''}`
}

/** What the walk of a definition may still read; `unread` is where it first stopped reading, and why. */
interface Budget {
  left: number
  unread?: {field: string; why: string}
}

/** The strings of a definition, with where each is: property names count too (a schema can hide text in a key). */
function* strings(value: unknown, path: string, depth = 0, budget: Budget = {left: MAX_STRINGS}): Generator<[string, string]> {
  // What is not read cannot pass for clean: the first place the walk stops is itself a finding.
  if (budget.left <= 0 || depth > MAX_DEPTH) {
    budget.unread ??= {field: path || '(whole)', why: budget.left <= 0 ? `more than ${MAX_STRINGS} strings; the rest not scanned` : `nested deeper than ${MAX_DEPTH} levels; not scanned`}
    return
  }
  if (typeof value === 'string') {
    budget.left--
    yield [path, value]
    return
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* strings(value[i], `${path}[${i}]`, depth + 1, budget)
    return
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const here = path === '' ? key : `${path}.${key}`
      if (path !== '' && budget.left-- > 0) yield [`${here} (key)`, key]
      yield* strings(child, here, depth + 1, budget)
    }
  }
}

/**
 * Cyrillic and Greek letters drawn like Latin ones (а е о р с у х і ј ѕ ԁ ԛ ԝ, ο α ν ι κ τ…), as
 * the Latin letters a reader, and a model, takes them for: NFKD leaves them as they are.
 */
const LOOKALIKES: Record<string, string> = Object.fromEntries(
  [
    ['а', 'a'], ['в', 'b'], ['е', 'e'], ['к', 'k'], ['м', 'm'], ['н', 'h'], ['о', 'o'], ['р', 'p'], ['с', 'c'], ['т', 't'], ['у', 'y'], ['х', 'x'],
    ['і', 'i'], ['ј', 'j'], ['ѕ', 's'], ['ԁ', 'd'], ['ԛ', 'q'], ['ԝ', 'w'], ['һ', 'h'], ['ӏ', 'l'], ['ɡ', 'g'],
    ['А', 'A'], ['В', 'B'], ['Е', 'E'], ['К', 'K'], ['М', 'M'], ['Н', 'H'], ['О', 'O'], ['Р', 'P'], ['С', 'C'], ['Т', 'T'], ['У', 'Y'], ['Х', 'X'],
    ['І', 'I'], ['Ј', 'J'], ['Ѕ', 'S'], ['Ԁ', 'D'], ['Ԛ', 'Q'], ['Ԝ', 'W'], ['Һ', 'H'], ['Ӏ', 'I'],
    ['α', 'a'], ['ε', 'e'], ['ι', 'i'], ['κ', 'k'], ['ν', 'v'], ['ο', 'o'], ['ρ', 'p'], ['τ', 't'], ['υ', 'u'], ['χ', 'x'],
    ['Α', 'A'], ['Β', 'B'], ['Ε', 'E'], ['Ζ', 'Z'], ['Η', 'H'], ['Ι', 'I'], ['Κ', 'K'], ['Μ', 'M'], ['Ν', 'N'], ['Ο', 'O'], ['Ρ', 'P'], ['Τ', 'T'], ['Υ', 'Y'], ['Χ', 'X'],
  ],
)
const LOOKALIKE = new RegExp(`[${Object.keys(LOOKALIKES).join('')}]`, 'g')

function foldLookalikes(text: string): string {
  return text.replace(LOOKALIKE, (c) => LOOKALIKES[c])
}

/**
 * A line break inside a sentence: the line before does not end one (. : ; ! ?, a CRLF's \n looked
 * at behind its \r too), and the next line goes on in lowercase, at once. A line that starts
 * otherwise (a capital, an indent, a list marker, a blank line) starts something new: the
 * Args: blocks of Python docstrings and the one-line-per-fact descriptions many servers write
 * have no closing punctuation, and read joined they run facts together into false findings.
 */
const SENTENCE_BREAK = /(?<![.:;!?])(?<![.:;!?]\r)\r?\n(?=\p{Ll})/gu

/** Four or more single letters, each followed by one space: a word spaced out. */
const SPACED_LETTERS = /(?<![\p{L}\p{N}])(?:\p{L} ){3,}\p{L}(?![\p{L}\p{N}])/gu

function scanText(kind: PinKind, item: string, field: string, text: string, out: Finding[]): void {
  const scanned = text.length > SCAN_CHARS ? text.slice(0, SCAN_CHARS) : text
  // A description that long is flagged already (MAX_DESCRIPTION); any other string gets its own finding.
  if (text.length > SCAN_CHARS && field !== 'description') out.push({kind, item, field, rule: 'too-long', excerpt: `${text.length} characters; past ${SCAN_CHARS} not scanned`})
  const invisible = INVISIBLE.exec(scanned)
  if (invisible) out.push({kind, item, field, rule: 'invisible-character', excerpt: excerptAround(scanned, invisible.index, invisible[0].length)})
  // Invisible characters also split words ("ig\u200Bnore"): the rules read the text without them, and in
  // plain letters: fullwidth and mathematical ones (ＩＧＮＯＲＥ, 𝐈𝐠𝐧𝐨𝐫𝐞) as their compatibility form, accents dropped.
  const visible = foldLookalikes((invisible ? scanned.replace(new RegExp(INVISIBLE.source, 'gu'), '') : scanned).normalize('NFKD').replace(/\p{M}/gu, ''))
  const readAs = (reading: string, where: string, skip: (rule: ScanRule) => boolean = () => false) => {
    for (const {rule, pattern} of TEXT_RULES) {
      if (skip(rule)) continue
      const match = pattern.exec(reading)
      if (match) out.push({kind, item, field: where, rule, excerpt: excerptAround(reading, match.index, match[0].length)})
    }
  }
  readAs(visible, field)
  const found = (rule: ScanRule) => out.some((f) => f.field === field && f.rule === rule)
  // Letters spaced out ("I G N O R E all previous…") read as the word a model reads them as.
  const joined = visible.replace(SPACED_LETTERS, (run) => run.replace(/ /g, ''))
  if (joined !== visible) readAs(joined, field, found)
  // The rules stop at a line break; a model reads a sentence broken over lines ("ignore all
  // previous\ninstructions") as one.
  const flowing = joined.replace(SENTENCE_BREAK, ' ')
  if (flowing !== joined) readAs(flowing, field, found)
  // Text written in Unicode tag characters is ASCII a model can read: the rules read it too.
  const smuggled = invisible ? decodeTags(scanned) : ''
  if (smuggled !== '') readAs(smuggled, `${field} (in tag characters)`)
}

function decodeTags(text: string): string {
  let out = ''
  for (const ch of text) {
    const code = ch.codePointAt(0)!
    if (code >= 0xe0020 && code <= 0xe007e) out += String.fromCodePoint(code - 0xe0000)
  }
  return out
}

/** The findings for one definition. */
export function scanDefinition(kind: PinKind, def: Definition): Finding[] {
  const out: Finding[] = []
  const item = escapeName(String(def.name ?? ''))
  const name = String(def.name ?? '')
  if (!PLAIN_NAME.test(name)) out.push({kind, item, field: 'name', rule: 'deceptive-name', excerpt: escapeName(name)})
  const description = typeof def.description === 'string' ? def.description : ''
  if (description.length > MAX_DESCRIPTION) out.push({kind, item, field: 'description', rule: 'too-long', excerpt: `${description.length} characters`})
  const {name: _name, _meta: _skip, ...rest} = def
  const budget: Budget = {left: MAX_STRINGS}
  // A field's path holds the upstream's property names: escaped like any text of its own.
  for (const [field, text] of strings(rest, '', 0, budget)) scanText(kind, item, escapeText(field, 200), text, out)
  if (budget.unread) out.push({kind, item, field: escapeText(budget.unread.field, 200), rule: 'too-long', excerpt: budget.unread.why})
  if (INVISIBLE.test(name) && !out.some((f) => f.field === 'name' && f.rule === 'invisible-character')) {
    out.push({kind, item, field: 'name', rule: 'invisible-character', excerpt: escapeName(name)})
  }
  return out
}

/** The findings for every item listed, by kind. */
export function scanListing(listing: Partial<Record<PinKind, readonly Definition[]>>): Finding[] {
  const out: Finding[] = []
  for (const [kind, defs] of Object.entries(listing) as [PinKind, readonly Definition[]][]) for (const def of defs) out.push(...scanDefinition(kind, def))
  return out
}
