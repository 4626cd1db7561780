/** A time-series chart (uPlot on a canvas), with its figures in words beside it for screen readers. */
import {useLayoutEffect, useRef} from 'preact/hooks'
import type uPlot from 'uplot'

/** uPlot, loaded apart from the page's script: the first page's data is asked for while it loads. */
export const loadPlot = (() => {
  let loading: Promise<typeof uPlot> | undefined
  return () => (loading ??= import('uplot').then((m) => m.default))
})()

export const PALETTE = ['#2563eb', '#dc2626', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#6b7280']

/** The indexes of a series' non-zero values: where uPlot draws a point. */
function nonZero(u: uPlot, seriesIdx: number): number[] {
  const values = u.data[seriesIdx] as number[]
  const out: number[] = []
  for (let i = 0; i < values.length; i++) if (values[i] > 0) out.push(i)
  return out
}

export interface Line {
  label: string
  values: number[]
  color?: string
}

export function Chart(props: {id: string; title: string; times: number[]; lines: Line[]; summary: string}) {
  const box = useRef<HTMLDivElement>(null)
  // A layout effect: drawn as soon as the page has the data (uPlot is usually loaded by then).
  useLayoutEffect(() => {
    const el = box.current
    if (!el) return
    let plot: uPlot | undefined
    let gone = false
    const resize = () => plot?.setSize({width: Math.max(320, el.clientWidth), height: 220})
    void loadPlot().then((Plot) => {
      if (gone) return
      plot = draw(Plot, el, props)
      window.addEventListener('resize', resize)
    })
    return () => {
      gone = true
      window.removeEventListener('resize', resize)
      plot?.destroy()
      delete el.dataset.drawn
    }
  }, [props.times, props.lines])
  return (
    <figure class="chart" aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div ref={box} id={props.id} class="plot" />
      <p class="summary">{props.summary}</p>
    </figure>
  )
}

function draw(Plot: typeof uPlot, el: HTMLDivElement, props: {times: number[]; lines: Line[]}): uPlot {
  const opts: uPlot.Options = {
    width: Math.max(320, el.clientWidth),
    height: 220,
    legend: {show: true},
    cursor: {drag: {x: false, y: false}},
    scales: {x: {time: true}, y: {range: (_u, _min, max) => [0, Math.max(1, max * 1.1)]}},
    axes: [{stroke: '#374151', grid: {stroke: '#e5e7eb'}}, {stroke: '#374151', grid: {stroke: '#e5e7eb'}, size: 56}],
    // A dot on each minute that had any: traffic in one minute of a day is otherwise a hairline.
    series: [{label: 'time'}, ...props.lines.map((l, i) => ({label: l.label, stroke: l.color ?? PALETTE[i % PALETTE.length], width: 2, points: {show: true, size: 5, filter: nonZero}}))],
  }
  const data = [props.times, ...props.lines.map((l) => l.values)] as uPlot.AlignedData
  const plot = new Plot(opts, data, el)
  el.dataset.drawn = 'true'
  el.dataset.drawnMs = String(Math.round(performance.now()))
  return plot
}
