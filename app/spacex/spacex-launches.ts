// Maps SpaceX v4 launch documents onto rows of the launches table, deciding which documents
// the table cannot hold (its check constraints and primary key) so they are skipped, not fatal.
import type { LaunchStatus } from '../database/schema.js'
import type { SpacexLaunchDoc } from './spacex-api.js'

export interface SpacexLaunchRow {
  spacex_id: string
  flight_number: number
  mission: string
  rocket: string
  launch_date: Date
  customers: string[]
  status: LaunchStatus
}

export interface SkippedLaunch {
  spacexId: string
  flightNumber: number
  reason: string
}

/** SpaceX numbers live below the 1000+ identity range of launches scheduled here. */
const SPACEX_FLIGHT_NUMBERS = { min: 1, max: 999 }
/** The table's limit on mission and rocket names. */
const MAX_NAME_LENGTH = 100

/**
 * SpaceX's v4 data stopped in 2022, so launches still flagged upcoming have dates long past:
 * only a date still ahead makes a launch upcoming.
 */
export function launchStatus(doc: Pick<SpacexLaunchDoc, 'success' | 'upcoming'>, launchDate: Date, now: Date): LaunchStatus {
  if (doc.success === true) return 'success'
  if (doc.success === false) return 'failure'
  if (doc.upcoming && launchDate > now) return 'upcoming'
  return 'unknown'
}

/** Customers over all payloads, each once, in the order SpaceX lists them. */
function customersOf(doc: SpacexLaunchDoc): string[] {
  return [...new Set(doc.payloads.flatMap((payload) => payload.customers))]
}

function nameProblem(label: string, value: string): string | undefined {
  if (value.length === 0) return `${label} is empty`
  if (value.length > MAX_NAME_LENGTH) return `${label} is longer than ${MAX_NAME_LENGTH} characters`
  return undefined
}

/**
 * Rows to upsert and documents to skip. A flight number is the table's primary key, so a
 * document whose number another SpaceX launch already holds (stored, or earlier in this
 * response) is skipped; the stored owner wins.
 * @param storedFlightOwners flight number → spacex_id of the SpaceX launches already stored
 */
export function planLaunchRows(
  docs: SpacexLaunchDoc[],
  storedFlightOwners: ReadonlyMap<number, string>,
  now: Date
): { rows: SpacexLaunchRow[]; skipped: SkippedLaunch[] } {
  const rows: SpacexLaunchRow[] = []
  const skipped: SkippedLaunch[] = []
  const seenIds = new Set<string>()
  const claimedFlightNumbers = new Set<number>()
  const storedIds = new Set(storedFlightOwners.values())

  // Stored launches claim their numbers first, so a new document cannot take a number from one.
  const ordered = [...docs].sort((a, b) => Number(storedIds.has(b.id)) - Number(storedIds.has(a.id)))
  for (const doc of ordered) {
    const skip = (reason: string) => skipped.push({ spacexId: doc.id, flightNumber: doc.flight_number, reason })
    const { min, max } = SPACEX_FLIGHT_NUMBERS
    const owner = storedFlightOwners.get(doc.flight_number)
    const problem =
      (seenIds.has(doc.id) && 'the response lists this launch more than once') ||
      ((doc.flight_number < min || doc.flight_number > max) && `flight number is outside ${min}..${max}`) ||
      ((claimedFlightNumbers.has(doc.flight_number) || (owner !== undefined && owner !== doc.id)) &&
        'another SpaceX launch has this flight number') ||
      nameProblem('mission name', doc.name) ||
      nameProblem('rocket name', doc.rocket.name)
    seenIds.add(doc.id)
    if (problem) {
      skip(problem)
      continue
    }
    claimedFlightNumbers.add(doc.flight_number)
    const launchDate = new Date(doc.date_utc)
    rows.push({
      spacex_id: doc.id,
      flight_number: doc.flight_number,
      mission: doc.name,
      rocket: doc.rocket.name,
      launch_date: launchDate,
      customers: customersOf(doc),
      status: launchStatus(doc, launchDate, now)
    })
  }
  return { rows, skipped }
}
