/** Defaults that the CLI needs without loading the server (and the MCP SDK). */
export const DEFAULT_PORT = 8765
export const MCP_PATH = '/mcp'
