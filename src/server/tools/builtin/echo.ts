import {z} from 'zod'

import {defineTool, text} from './define.js'

export const echo = defineTool({
  name: 'echo',
  title: 'Echo',
  description: 'Returns the message it is given.',
  input: z.object({message: z.string().max(100_000).describe('Text to send back')}).strict(),
  run: ({message}) => text(message),
})
