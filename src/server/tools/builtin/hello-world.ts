import {z} from 'zod'

import {defineTool, text} from './define.js'

export const helloWorld = defineTool({
  name: 'hello_world',
  title: 'Hello world',
  description: 'Returns a greeting.',
  input: z.object({name: z.string().min(1).max(200).optional().describe('Who to greet')}).strict(),
  run: ({name}) => text(`Hello, ${name ?? 'world'}!`),
})
