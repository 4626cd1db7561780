import {z} from 'zod'

import {defineTool} from './define.js'

/** What the server knows of the caller; never a secret, a key or a key hash. */
export const debugInfo = defineTool({
  name: 'debug_info',
  title: 'Debug info',
  description: "Returns the caller's identity (key id and name, or token subject and client), auth type and scopes, its remaining rate-limit allowance, and the server's version and uptime; never a credential.",
  input: z.object({}).strict(),
  async run(_args, {principal, server, allowance}) {
    const left = await allowance?.()
    const info = {
      key: principal.keyId ? {id: principal.keyId, name: principal.name} : null,
      ...(principal.subject ? {subject: principal.subject} : {}),
      ...(principal.clientId ? {clientId: principal.clientId} : {}),
      ...(principal.expiresAt ? {expiresAt: new Date(principal.expiresAt).toISOString()} : {}),
      authType: principal.authType,
      scopes: principal.scopes.sources,
      ...(left
        ? {rateLimit: {limit: left.rate.limit, windowSeconds: left.rate.windowSeconds, remaining: left.remaining, resetSeconds: Math.ceil(left.resetMs / 1000)}}
        : {}),
      server: {name: server.name, version: server.version, uptimeSeconds: Math.round((Date.now() - server.startedAt) / 1000)},
    }
    return {content: [{type: 'text', text: JSON.stringify(info, null, 2)}], structuredContent: info}
  },
})
