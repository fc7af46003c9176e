// Reads the NASA Exoplanet Archive's Kepler cumulative KOI table (CSV, as downloaded from the
// archive's web interface with its `#` comment header, or from its TAP service without one) and
// picks out the potentially habitable planets. Pure: no database, so the CLI can also write seed data.
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { StringDecoder } from 'node:string_decoder'
import { parse, CsvError } from 'csv-parse'

/** The columns the importer reads; the TAP query selects exactly these. */
export const REQUIRED_COLUMNS = [
  'kepid',
  'kepoi_name',
  'kepler_name',
  'koi_disposition',
  'koi_period',
  'koi_prad',
  'koi_insol',
  'koi_teq',
  'koi_steff',
  'koi_srad'
] as const
type Column = (typeof REQUIRED_COLUMNS)[number]

export interface HabitabilityCriteria {
  disposition: string
  /** Stellar flux received, in Earth fluxes (exclusive bounds). */
  insolationEarth: { above: number; below: number }
  /** Planet radius, in Earth radii (exclusive bound). */
  radiusEarth: { below: number }
}

/** A confirmed planet receiving roughly Earth's stellar flux and small enough to be rocky. */
export const HABITABILITY_CRITERIA: HabitabilityCriteria = {
  disposition: 'CONFIRMED',
  insolationEarth: { above: 0.36, below: 1.11 },
  radiusEarth: { below: 1.6 }
}

export interface HabitablePlanet {
  keplerName: string
  koiName: string | null
  kepid: number | null
  radiusEarth: number
  insolationEarth: number
  orbitalPeriodDays: number | null
  equilibriumTempK: number | null
  starTempK: number | null
  starRadiusSolar: number | null
}

/**
 * read = every data row (comments and the header row excluded) = kept + rejected + skipped.
 * kept: meets the criteria with usable values. rejected: judged and failing the criteria.
 * skipped: could not be judged or stored because a value it needs is missing or malformed.
 */
export interface ImportCounts {
  read: number
  kept: number
  rejected: number
  skipped: number
}

export interface SkippedRow {
  line: number
  reason: string
}

export interface HabitablePlanetsReading {
  planets: HabitablePlanet[]
  counts: ImportCounts
  /** The first few skipped rows, so an operator can see why without reading the whole file. */
  skippedExamples: SkippedRow[]
  /** The export date from the archive's comment header (archive local time), when it has one. */
  exportDate: string | null
}

/** The input cannot be imported at all (bad header, empty or malformed file); nothing is written. */
export class PlanetImportError extends Error {
  override name = 'PlanetImportError'
}

const MAX_SKIPPED_EXAMPLES = 10
// The database refuses longer names (planets_kepler_name_check).
const MAX_KEPLER_NAME_LENGTH = 100
const INT4_MAX = 2 ** 31 - 1

/**
 * Streams the CSV and keeps the habitable planets. Only the kept planets stay in memory (a few
 * dozen at most), so a whole archive download never has to fit in memory.
 */
export async function readHabitablePlanets(input: Readable): Promise<HabitablePlanetsReading> {
  const commentHeader = new CommentHeaderReader()
  const parser = parse({
    bom: true,
    comment: '#',
    // A '#' inside a value is data, not the start of a comment.
    comment_no_infix: true,
    skip_empty_lines: true,
    trim: true,
    // Rows with the wrong number of fields are skipped and counted, not fatal.
    relax_column_count: true,
    info: true
  })
  let columns: Record<Column, number> | undefined
  let headerLength = 0
  const counts: ImportCounts = { read: 0, kept: 0, rejected: 0, skipped: 0 }
  const skippedExamples: SkippedRow[] = []
  const kept = new Map<string, { planet: HabitablePlanet; line: number }>()
  const skip = (line: number, reason: string) => {
    counts.skipped++
    if (skippedExamples.length < MAX_SKIPPED_EXAMPLES) skippedExamples.push({ line, reason })
  }

  async function consumeRecords(records: AsyncIterable<ParsedRecord>): Promise<void> {
    for await (const { record, info } of records) {
      if (!columns) {
        columns = headerColumns(record)
        headerLength = record.length
        continue
      }
      counts.read++
      if (record.length !== headerLength) {
        skip(info.lines, `has ${record.length} fields, the header has ${headerLength}`)
        continue
      }
      const verdict = judgeRow(record, columns)
      if (verdict.kind === 'rejected') counts.rejected++
      else if (verdict.kind === 'skipped') skip(info.lines, verdict.reason)
      else {
        const earlier = kept.get(verdict.planet.keplerName)
        if (earlier) skip(info.lines, `repeats kepler_name "${verdict.planet.keplerName}" from line ${earlier.line}`)
        else kept.set(verdict.planet.keplerName, { planet: verdict.planet, line: info.lines })
      }
    }
  }

  // Kept because pipeline reports its own AbortError when the consumer stops early.
  let consumerError: unknown
  try {
    // pipeline: when reading stops early (bad header) every stream is destroyed, so a download's
    // connection closes instead of idling with an unread body.
    await pipeline(input, commentHeader, parser, async (records: AsyncIterable<ParsedRecord>) => {
      try {
        await consumeRecords(records)
      } catch (error) {
        consumerError = error
        throw error
      }
    })
  } catch (pipelineError) {
    const error = consumerError ?? pipelineError
    if (error instanceof CsvError) throw new PlanetImportError(`malformed CSV: ${error.message}`)
    throw error
  }

  if (!columns) {
    throw new PlanetImportError(`the file has no header row (it is empty or holds only comments): expected the columns ${REQUIRED_COLUMNS.join(', ')}`)
  }
  counts.kept = kept.size
  return {
    planets: [...kept.values()].map(({ planet }) => planet),
    counts,
    skippedExamples,
    exportDate: commentHeader.exportDate
  }
}

function headerColumns(header: string[]): Record<Column, number> {
  const missing = REQUIRED_COLUMNS.filter((column) => !header.includes(column))
  if (missing.length > 0) {
    const noun = missing.length === 1 ? 'column' : 'columns'
    throw new PlanetImportError(
      `the header row lacks the required ${noun} ${missing.join(', ')} (found: ${header.slice(0, 12).join(', ')}${header.length > 12 ? ', …' : ''})`
    )
  }
  return Object.fromEntries(REQUIRED_COLUMNS.map((column) => [column, header.indexOf(column)])) as Record<Column, number>
}

/** csv-parse's output with `info: true`: the fields and where they were in the file. */
interface ParsedRecord {
  record: string[]
  info: { lines: number }
}

type RowVerdict = { kind: 'kept'; planet: HabitablePlanet } | { kind: 'rejected' } | { kind: 'skipped'; reason: string }

class InvalidValue extends Error {}

function judgeRow(record: string[], columns: Record<Column, number>): RowVerdict {
  const text = (column: Column) => record[columns[column]] ?? ''
  const optionalNumber = (column: Column): number | null => {
    const value = text(column)
    if (value === '') return null
    const number = Number(value)
    if (!Number.isFinite(number)) throw new InvalidValue(`${column} is not a number ("${value}")`)
    return number
  }
  const requiredNumber = (column: Column): number => {
    const number = optionalNumber(column)
    if (number === null) throw new InvalidValue(`${column} is missing`)
    return number
  }

  try {
    const disposition = text('koi_disposition')
    if (disposition === '') throw new InvalidValue('koi_disposition is missing')
    if (disposition !== HABITABILITY_CRITERIA.disposition) return { kind: 'rejected' }
    const insolationEarth = requiredNumber('koi_insol')
    const radiusEarth = requiredNumber('koi_prad')
    const { insolationEarth: insolation, radiusEarth: radius } = HABITABILITY_CRITERIA
    if (!(insolationEarth > insolation.above && insolationEarth < insolation.below && radiusEarth < radius.below)) {
      return { kind: 'rejected' }
    }
    // Only rows that would be stored need the rest of their values to be valid.
    if (radiusEarth <= 0) throw new InvalidValue(`koi_prad must be positive (${radiusEarth})`)
    const keplerName = text('kepler_name')
    if (keplerName === '') throw new InvalidValue('kepler_name is missing')
    if (keplerName.length > MAX_KEPLER_NAME_LENGTH) {
      throw new InvalidValue(`kepler_name is longer than ${MAX_KEPLER_NAME_LENGTH} characters`)
    }
    const kepid = optionalNumber('kepid')
    if (kepid !== null && !(Number.isInteger(kepid) && kepid > 0 && kepid <= INT4_MAX)) {
      throw new InvalidValue(`kepid is not a positive integer ("${text('kepid')}")`)
    }
    const orbitalPeriodDays = optionalNumber('koi_period')
    if (orbitalPeriodDays !== null && orbitalPeriodDays <= 0) {
      throw new InvalidValue(`koi_period must be positive (${orbitalPeriodDays})`)
    }
    const planet: HabitablePlanet = {
      keplerName,
      koiName: text('kepoi_name') || null,
      kepid,
      radiusEarth,
      insolationEarth,
      orbitalPeriodDays,
      equilibriumTempK: optionalNumber('koi_teq'),
      starTempK: optionalNumber('koi_steff'),
      starRadiusSolar: optionalNumber('koi_srad')
    }
    return { kind: 'kept', planet }
  } catch (error) {
    if (error instanceof InvalidValue) return { kind: 'skipped', reason: error.message }
    throw error
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
// The archive stamps its exports like `# Sat Feb  6 12:35:10 2021` (asctime format, local time).
const ARCHIVE_DATE = /^#\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}) (\d{4})\s*$/

/** `# Sat Feb  6 12:35:10 2021` → `2021-02-06 12:35:10`; null for any other line. */
export function parseArchiveDate(line: string): string | null {
  const match = ARCHIVE_DATE.exec(line)
  if (!match) return null
  const [, month = '', day = '', time = '', year = ''] = match
  const monthIndex = MONTHS.indexOf(month)
  if (monthIndex < 0) return null
  return `${year}-${String(monthIndex + 1).padStart(2, '0')}-${day.padStart(2, '0')} ${time}`
}

/**
 * Passes the bytes through untouched while reading the leading `#` lines for the export date:
 * csv-parse drops comments without showing them to us.
 */
class CommentHeaderReader extends Transform {
  exportDate: string | null = null
  private readonly decoder = new StringDecoder('utf8')
  private pending = ''
  private inHeader = true

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inHeader) this.inspect(this.decoder.write(chunk))
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    if (this.inHeader) this.inspect(`${this.decoder.end()}\n`)
    callback()
  }

  private inspect(text: string): void {
    const lines = (this.pending + text).replace(/^\uFEFF/, '').split('\n')
    this.pending = lines.pop() ?? ''
    for (const line of lines) {
      if (!line.startsWith('#')) {
        this.inHeader = false
        return
      }
      this.exportDate ??= parseArchiveDate(line.trimEnd())
    }
    // A long first line that is no comment ends the header without buffering the rest of it.
    if (this.pending !== '' && !this.pending.replace(/^\uFEFF/, '').startsWith('#')) this.inHeader = false
  }
}
