/** A bare MCP SDK server over stdio: the startup baseline. */
import {StdioServerTransport} from '@modelcontextprotocol/sdk/server/stdio.js'

import {bareServer} from './sdk-tools.js'

await bareServer().connect(new StdioServerTransport())
