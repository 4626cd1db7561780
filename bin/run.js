#!/usr/bin/env node
// Node 22.1+ can cache compiled code between runs; on 20 this is a no-op.
import module from 'node:module'
module.enableCompileCache?.()

// The bundled CLI carries its own copy of @oclif/core (see scripts/bundle.mjs).
const {execute} = await import('../dist/commands/index.js')
await execute({dir: import.meta.url})
