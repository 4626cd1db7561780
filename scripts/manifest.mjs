// Writes oclif.manifest.json: what `oclif manifest` does, from the command classes themselves
// (dist/commands/all.js), since the CLI's own target (dist/commands/index.js) holds stand-ins that
// load a class only when its command runs. oclif reads help, flags and topics from this file.
import {readFileSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {Plugin} from '@oclif/core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const pjson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
pjson.oclif.commands = {...pjson.oclif.commands, target: './dist/commands/all.js'}
const plugin = new Plugin({root, pjson, isRoot: true, type: 'core', ignoreManifest: true, errorOnManifestCreate: true, respectNoCacheDefault: true})
await plugin.load()
const count = Object.keys(plugin.manifest.commands).length
if (count === 0) throw new Error('no commands found for the manifest')
writeFileSync(path.join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2))
console.log(`wrote manifest of ${count} commands to ${path.join(root, 'oclif.manifest.json')}`)
