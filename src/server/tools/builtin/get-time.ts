import {z} from 'zod'

import {defineTool, text} from './define.js'

export const getTime = defineTool({
  name: 'get_time',
  title: 'Current time',
  description: 'Returns the current time as ISO 8601, in UTC or in the given IANA time zone.',
  input: z
    .object({timezone: z.string().min(1).max(64).regex(/^[A-Za-z0-9_+\-/]+$/).optional().describe('IANA time zone, such as Europe/Paris')})
    .strict(),
  run({timezone}) {
    const now = new Date()
    if (!timezone) return text(now.toISOString())
    try {
      const local = new Intl.DateTimeFormat('sv-SE', {timeZone: timezone, dateStyle: 'short', timeStyle: 'medium'}).format(now)
      return text(`${local.replace(' ', 'T')} ${timezone}`)
    } catch {
      return {isError: true, content: [{type: 'text', text: `unknown time zone ${JSON.stringify(timezone)}`}]}
    }
  },
})
