// Where the Kepler table comes from: a local CSV export or the archive's TAP service. Both stream
// into the same reader and describe their origin for the planets' `source` column.
import { open } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { readHabitablePlanets, REQUIRED_COLUMNS, type HabitablePlanetsReading } from './habitable-planets.js'

export interface SourcedReading extends HabitablePlanetsReading {
  /** Where the data came from and when it was exported or downloaded. */
  source: string
}

const TABLE = 'Kepler cumulative KOI table, NASA Exoplanet Archive'

/** The archive cannot be reached, answered with an error, or took too long. */
export class ArchiveDownloadError extends Error {
  override name = 'ArchiveDownloadError'
}

export async function readPlanetsFromFile(file: string): Promise<SourcedReading> {
  // Opened first so a missing file fails before any parsing, with the operating system's reason.
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)
  })
  const reading = await readHabitablePlanets(handle.createReadStream())
  const exported = reading.exportDate ? `export of ${reading.exportDate}` : 'export of unknown date'
  // The file name only: the operator's local paths mean nothing in the database.
  return { ...reading, source: `${TABLE} ${exported} (${path.basename(file)})` }
}

/** The TAP query for the columns the reader needs, in the archive's CSV format. */
export function archiveQueryUrl(baseUrl: string): URL {
  const url = new URL(baseUrl)
  url.searchParams.set('query', `select ${REQUIRED_COLUMNS.join(',')} from cumulative`)
  url.searchParams.set('format', 'csv')
  return url
}

/** Downloads the cumulative table and streams the body into the reader, all within `timeoutMs`. */
export async function downloadPlanets(baseUrl: string, timeoutMs: number, now = new Date()): Promise<SourcedReading> {
  const url = archiveQueryUrl(baseUrl)
  const where = `${url.origin}${url.pathname}`
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const response = await fetch(url, { signal, headers: { accept: 'text/csv' } })
    if (!response.ok || !response.body) {
      await response.body?.cancel()
      throw new ArchiveDownloadError(`the Exoplanet Archive at ${where} answered HTTP ${response.status}`)
    }
    const reading = await readHabitablePlanets(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>))
    return { ...reading, source: `${TABLE} TAP download at ${now.toISOString()} (${where})` }
  } catch (error) {
    // The timeout covers the body too: it surfaces wherever the stream was when it fired.
    if (signal.aborted) {
      throw new ArchiveDownloadError(`the Exoplanet Archive at ${where} did not answer within ${timeoutMs} ms`)
    }
    if (error instanceof TypeError && error.message === 'fetch failed') {
      const cause = error.cause as NodeJS.ErrnoException | undefined
      throw new ArchiveDownloadError(`cannot reach the Exoplanet Archive at ${where}: ${cause?.code ?? cause?.message ?? 'network error'}`)
    }
    throw error
  }
}
