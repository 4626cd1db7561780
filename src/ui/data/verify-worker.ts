/** Runs `verifyAudit` off the console's main thread: a million records take seconds of HMACs. */
import {parentPort, workerData} from 'node:worker_threads'

import {verifyAudit} from '../../audit/verify.js'

const {file, key} = workerData as {file: string; key: Uint8Array}
verifyAudit(file, Buffer.from(key)).then(
  (report) => parentPort!.postMessage({report}),
  (err: Error) => parentPort!.postMessage({error: err.message}),
)
