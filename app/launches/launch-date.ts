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

/** Midnight UTC today: launches dated before it are in the past. */
export function startOfTodayUtc(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()))
}
