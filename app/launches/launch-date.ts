const isoDate = /^\d{4}-\d{2}-\d{2}/
const explicitZone = /(Z|[+-]\d{2}:?\d{2}|\b(UTC|GMT))\s*$/i

/**
 * Parses what existing clients send: ISO 8601 (`2030-01-04`, `2030-01-04T10:00:00Z`) or a human
 * date (`January 4, 2030`). A human date without a time zone is read as UTC, so the result does
 * not depend on the server's TZ. Returns undefined when the input is not a date.
 */
export function parseLaunchDate(input: string): Date | undefined {
  const text = input.trim()
  const parsed = new Date(text)
  if (Number.isNaN(parsed.getTime())) return undefined
  if (isoDate.test(text) || explicitZone.test(text)) return parsed
  return new Date(
    Date.UTC(
      parsed.getFullYear(),
      parsed.getMonth(),
      parsed.getDate(),
      parsed.getHours(),
      parsed.getMinutes(),
      parsed.getSeconds(),
      parsed.getMilliseconds()
    )
  )
}

/** Launches are scheduled at most this many calendar years ahead (the API and the dashboard agree). */
export const MAX_YEARS_AHEAD = 20

/**
 * The last day a launch may be scheduled for, `YYYY-12-31`: the end of the year MAX_YEARS_AHEAD
 * from now (UTC). Shared with the dashboard's date picker, which imports it from here.
 */
export function lastLaunchDay(now = new Date()): string {
  return `${now.getUTCFullYear() + MAX_YEARS_AHEAD}-12-31`
}

/** Whether a launch date falls after lastLaunchDay (any time on that day is still accepted). */
export function isBeyondLastLaunchDay(launchDate: Date, now = new Date()): boolean {
  return launchDate.getTime() >= Date.UTC(now.getUTCFullYear() + MAX_YEARS_AHEAD + 1, 0, 1)
}

/** Midnight UTC today: launches dated before it are in the past. */
export function startOfTodayUtc(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
}
