import {debugInfo} from './debug-info.js'
import {echo} from './echo.js'
import {getTime} from './get-time.js'
import {helloWorld} from './hello-world.js'
import type {ToolDefinition} from './types.js'

/** The built-in tools. Registering a tool is one line here. */
export const builtinTools: ToolDefinition[] = [helloWorld, echo, getTime, debugInfo] as unknown as ToolDefinition[]

export {defineTool, text, type ToolContext, type ToolDefinition} from './types.js'
