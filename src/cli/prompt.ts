/**
 * Interactive prompts. Inquirer is loaded only when a prompt is shown, prompts draw on stderr
 * so that stdout stays clean for pipes and $(...), and nothing prompts without a terminal.
 */
import {KeywardError} from '../errors/index.js'

export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}

const context = () => ({output: process.stderr, clearPromptOnDone: false})

function requireTty(what: string, alternative: string): void {
  if (!canPrompt()) throw new KeywardError('INPUT_REQUIRED', `${what} is needed and there is no terminal to ask on; ${alternative}`)
}

export async function askSecret(message: string, alternative: string): Promise<string> {
  requireTty(message.toLowerCase().replace(/:$/, ''), alternative)
  const {password} = await import('@inquirer/prompts')
  return password({message, mask: false}, context())
}

/** Asks twice for a new secret and checks that both answers match and pass `validate`. */
export async function askNewSecret(message: string, alternative: string, validate: (value: string) => string | true): Promise<string> {
  requireTty(message.toLowerCase().replace(/:$/, ''), alternative)
  const {password} = await import('@inquirer/prompts')
  const first = await password({message, mask: false, validate}, context())
  const second = await password({message: 'Repeat to confirm:', mask: false}, context())
  if (first !== second) throw new KeywardError('INVALID_INPUT', 'the two entries did not match; nothing was changed')
  return first
}

export async function askConfirm(message: string, alternative: string): Promise<boolean> {
  requireTty('confirmation', alternative)
  const {confirm} = await import('@inquirer/prompts')
  return confirm({message, default: false}, context())
}

/** A prompt validator from a core check that throws: the check's message becomes the hint. */
export function validatorFrom(check: (value: string) => unknown, optional = false): (value: string) => string | true {
  return (value) => {
    if (optional && value.trim() === '') return true
    try {
      check(value)
      return true
    } catch (err) {
      return (err as Error).message
    }
  }
}

export async function askInput(message: string, options: {validate?: (v: string) => string | true; default?: string} = {}): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  return input({message, validate: options.validate, default: options.default}, context())
}

export async function askSelect<T>(message: string, choices: {name: string; value: T; description?: string}[]): Promise<T> {
  const {select} = await import('@inquirer/prompts')
  return select({message, choices, pageSize: 12}, context())
}

export async function askCheckbox<T>(message: string, choices: {name: string; value: T; checked?: boolean}[], validate?: (picked: readonly unknown[]) => string | true): Promise<T[]> {
  const {checkbox} = await import('@inquirer/prompts')
  return checkbox({message, choices, pageSize: 14, validate: validate as never}, context())
}
