/** Small parts every page uses: loading data, dialogs, badges, messages. */
import type {ComponentChildren} from 'preact'
import {useCallback, useEffect, useLayoutEffect, useRef, useState} from 'preact/hooks'
import {shown} from './format.js'

export interface Loaded<T> {
  data?: T
  error?: string
  reload(): Promise<void>
}

/**
 * Data from the API: loaded when `deps` change, and again every `refreshMs` (as a background
 * refresh, which does not count as the person's activity).
 */
export function useData<T>(load: (background: boolean) => Promise<T>, deps: unknown[], refreshMs = 0): Loaded<T> {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const generation = useRef(0)
  const run = useCallback(async (background: boolean) => {
    const mine = ++generation.current
    try {
      const value = await load(background)
      if (mine !== generation.current) return
      setData(value)
      setError(undefined)
    } catch (err) {
      if (mine === generation.current) setError((err as Error).message)
    }
  }, deps)
  useEffect(() => {
    void run(false)
    if (!refreshMs) return
    const timer = setInterval(() => void run(true), refreshMs)
    return () => clearInterval(timer)
  }, [run, refreshMs])
  return {data, error, reload: () => run(false)}
}

export function Dialog(props: {title: string; onClose: () => void; children: ComponentChildren; wide?: boolean}) {
  const ref = useRef<HTMLDialogElement>(null)
  const unmounting = useRef(false)
  useEffect(() => {
    const dialog = ref.current
    if (dialog && !dialog.open) dialog.showModal()
    return () => {
      // Closing it here fires 'close' later, which must not close the dialog that replaced this one.
      unmounting.current = true
      dialog?.close()
    }
  }, [])
  const closed = () => {
    if (!unmounting.current) props.onClose()
  }
  return (
    <dialog ref={ref} class={props.wide ? 'wide' : ''} aria-labelledby="dialog-title" onClose={closed}>
      <header class="dialog-head">
        <h2 id="dialog-title">{props.title}</h2>
        <button type="button" class="plain" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </header>
      {props.children}
    </dialog>
  )
}

export type Tone = 'ok' | 'warn' | 'bad' | 'muted' | 'info'

export function Badge(props: {tone: Tone; children: ComponentChildren; label?: string}) {
  return (
    <span class={`badge ${props.tone}`} title={props.label}>
      {props.children}
    </span>
  )
}

export function ErrorLine(props: {error?: string}) {
  if (!props.error) return null
  return (
    <p class="error" role="alert">
      {shown(props.error)}
    </p>
  )
}

export function Note(props: {children: ComponentChildren}) {
  return (
    <p class="note" role="status">
      {props.children}
    </p>
  )
}

/** Marks the page as drawn with its data (what the tests and the benchmark wait for). */
export function useReady(page: string, ready: boolean): void {
  // A layout effect: marked when the data is in the page, not a frame later.
  useLayoutEffect(() => {
    if (!ready) return
    // When, in ms since the navigation started (the benchmark reads it).
    document.body.dataset.readyMs ??= String(Math.round(performance.now()))
    document.body.dataset.ready = page
    return () => {
      if (document.body.dataset.ready === page) delete document.body.dataset.ready
    }
  }, [page, ready])
}
