// Loaded into each fleet web process with NODE_OPTIONS=--import (Node strips the types): every
// 250 ms appends the longest event-loop delay of the interval to EVENT_LOOP_PROBE_FILE, as
// `{"at": <epoch ms>, "maxMs": <ms>}` lines. Measures the service from outside its code.
import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const file = process.env.EVENT_LOOP_PROBE_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  setInterval(() => {
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), maxMs: Math.round(histogram.max / 1e6) })}\n`)
    histogram.reset()
  }, 250).unref()
}
