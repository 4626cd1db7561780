/**
 * Runs one stdio upstream for keyward, and makes sure it never outlives keyward. This script is
 * its own process: keyward starts it with the upstream's command as arguments and a pipe on
 * fd 3. It starts the command in a process group of its own, handing it its stdin, stdout and
 * stderr directly (no copying), and terminates the whole group when fd 3 closes (keyward
 * exited, even by SIGKILL), when it is signalled, or when the command exits.
 *
 * The command may be bubblewrap or unshare holding the upstream in a PID namespace (sandbox.ts):
 * ending the group then ends that namespace, and with it every descendant, even one that left
 * the group (`detached: true`), which a process group alone cannot reach.
 *
 * The command gets no descriptor but its stdin, stdout and stderr: one that keyward was started
 * with (a supervisor's, a client's) and that is not close-on-exec would otherwise pass through
 * every exec down to the upstream, sandbox or not, and open to it whatever it refers to.
 */
import {spawn} from 'node:child_process'
import {closeSync, readdirSync, readFileSync} from 'node:fs'
import {Socket} from 'node:net'

const O_CLOEXEC = 0o2000000

/** Closes every inherited descriptor above the lifeline that an exec would pass on (Linux: /proc tells; elsewhere nothing is done). */
function closeInherited(): void {
  let fds: string[]
  try {
    fds = readdirSync('/proc/self/fd')
  } catch {
    return
  }
  for (const name of fds) {
    const fd = Number(name)
    if (fd <= 3) continue
    try {
      // Node's own descriptors are close-on-exec: only those that are not were inherited.
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]
      if (flags !== undefined && (Number.parseInt(flags, 8) & O_CLOEXEC) === 0) closeSync(fd)
    } catch {
      // Gone already (the directory listing's own descriptor).
    }
  }
}

const [command, ...args] = process.argv.slice(2)
if (!command) {
  process.stderr.write('keyward child wrapper: no command\n')
  process.exit(2)
}

closeInherited()
const child = spawn(command, args, {stdio: 'inherit', detached: true})
let ending = false

function signalGroup(signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // The group is gone already.
  }
}

function terminate(): void {
  if (ending) return
  ending = true
  signalGroup('SIGTERM')
  setTimeout(() => {
    signalGroup('SIGKILL')
    process.exit(137)
  }, 2000)
}

child.on('error', (err: NodeJS.ErrnoException) => {
  process.stderr.write(`cannot start ${command}: ${err.code === 'ENOENT' ? 'command not found' : (err.code ?? err.message)}\n`)
  process.exit(127)
})
child.on('exit', (code, signal) => {
  // Whatever the command left running in its group goes with it.
  signalGroup('SIGKILL')
  if (signal) {
    // End the way the command ended, so keyward can say it was killed, and by what.
    process.removeAllListeners('SIGTERM')
    process.removeAllListeners('SIGINT')
    process.removeAllListeners('SIGHUP')
    process.kill(process.pid, signal)
  }
  process.exit(code ?? 1)
})
process.on('SIGTERM', terminate)
process.on('SIGINT', terminate)
process.on('SIGHUP', terminate)

const lifeline = new Socket({fd: 3, readable: true, writable: false})
lifeline.on('data', () => {})
lifeline.on('end', terminate)
lifeline.on('close', terminate)
lifeline.on('error', terminate)
