/** The console's page: a header with the navigation and the audit log's verdict, and one page at a time (by the URL's hash). */
import {render} from 'preact'
import {useEffect, useState} from 'preact/hooks'

import {get, onSessionEnded} from './api.js'
import {Audit, VerifyPanel} from './audit.js'
import {loadPlot} from './chart.js'
import {Keys} from './keys.js'
import {Overview} from './overview.js'
import {Secrets} from './secrets.js'
import type {SessionInfo} from './types.js'
import {Upstreams} from './upstreams.js'
import {useData} from './widgets.js'
import 'uplot/dist/uPlot.min.css'
import './style.css'

const PAGES = [
  ['overview', 'Overview'],
  ['keys', 'Keys'],
  ['secrets', 'Secrets'],
  ['upstreams', 'Upstreams'],
  ['audit', 'Audit'],
] as const

type Page = (typeof PAGES)[number][0]

function route(): {page: Page; rest?: string} {
  const [, page, rest] = /^#\/([a-z]+)(?:\/(.+))?$/.exec(location.hash) ?? []
  const known = PAGES.some(([p]) => p === page)
  return {page: known ? (page as Page) : 'overview', rest: rest && decodeURIComponent(rest)}
}

function useRoute() {
  const [current, setCurrent] = useState(route())
  useEffect(() => {
    const changed = () => setCurrent(route())
    window.addEventListener('hashchange', changed)
    return () => window.removeEventListener('hashchange', changed)
  }, [])
  return current
}

function App() {
  const {page, rest} = useRoute()
  const [ended, setEnded] = useState(false)
  const session = useData(() => get<SessionInfo>('/api/session', {background: true}), [])
  useEffect(() => onSessionEnded(() => setEnded(true)), [])
  useEffect(() => {
    document.title = `${PAGES.find(([p]) => p === page)![1]} · keyward console`
  }, [page])
  return (
    <>
      <header class="top">
        <div class="brand">
          keyward <span>console</span>
        </div>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([id, label]) => (
              <li key={id}>
                <a href={`#/${id}`} aria-current={page === id ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <VerifyPanel />
        {session.data && (
          <div class="who" title={session.data.vault}>
            {session.data.user} · vault {session.data.vaultId.slice(0, 8)}
          </div>
        )}
      </header>
      {ended && (
        <div class="ended" role="alert">
          This session has ended (it was idle, or the console stopped). Press Enter in the terminal where keyward ui runs for a new login link, or start it again.
        </div>
      )}
      <main id="main">
        {page === 'overview' && <Overview range={rest} />}
        {page === 'keys' && <Keys />}
        {page === 'secrets' && <Secrets />}
        {page === 'upstreams' && <Upstreams selected={rest} />}
        {page === 'audit' && <Audit />}
      </main>
    </>
  )
}

// The charts' library starts loading now, beside the first page's data.
void loadPlot()
const root = document.getElementById('app')!
root.textContent = ''
render(<App />, root)
