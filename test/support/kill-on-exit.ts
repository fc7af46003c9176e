// A safety net for tests that start servers: if the test process ends without its teardowns
// (tap's timeout, a crash), the processes it started must not outlive it. Detached children
// (nginx leads its own process group) and pg_ctl's server survive their parent otherwise.

const pending = new Map<number, NodeJS.Signals>()
let installed = false

function killAll(): void {
  for (const [pid, signal] of pending) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
  pending.clear()
}

/** Sends `signal` to pid (a negative pid: its process group) when this process exits; returns the undo. */
export function killOnExit(pid: number, signal: NodeJS.Signals = 'SIGKILL'): () => void {
  if (!installed) {
    installed = true
    process.once('exit', killAll)
    for (const name of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(name, () => {
        killAll()
        process.kill(process.pid, name)
      })
    }
  }
  pending.set(pid, signal)
  return () => void pending.delete(pid)
}
