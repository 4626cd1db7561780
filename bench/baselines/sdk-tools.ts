/** The same four tools as keyward's built-ins, registered the SDK's documented way (McpServer + zod). */
import {McpServer} from '@modelcontextprotocol/sdk/server/mcp.js'
import {z} from 'zod'

export function bareServer(): McpServer {
  const server = new McpServer({name: 'bare-sdk', version: '1.0.0'})
  server.registerTool('hello_world', {description: 'Returns a greeting.', inputSchema: {name: z.string().optional()}}, ({name}) => ({
    content: [{type: 'text', text: `Hello, ${name ?? 'world'}!`}],
  }))
  server.registerTool('echo', {description: 'Returns the message it is given.', inputSchema: {message: z.string()}}, ({message}) => ({
    content: [{type: 'text', text: message}],
  }))
  server.registerTool('get_time', {description: 'Returns the current time.', inputSchema: {}}, () => ({content: [{type: 'text', text: new Date().toISOString()}]}))
  server.registerTool('debug_info', {description: 'Server info.', inputSchema: {}}, () => ({content: [{type: 'text', text: '{}'}]}))
  return server
}
