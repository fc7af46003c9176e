import t from 'tap'
import { ConfigError, loadConfig } from '../app/config/config.js'

t.test('an empty environment gives the documented defaults', async (t) => {
  t.match(loadConfig({}), {
    PORT: 8080,
    HOST: '0.0.0.0',
    LOG_LEVEL: 'info',
    DATA_DIR: './.data',
    SPACEX_API_URL: 'https://api.spacexdata.com',
    SPACEX_SYNC_ON_START: true
  })
  t.equal(loadConfig({}).DATABASE_URL, undefined, 'no DATABASE_URL means the embedded database')
  t.match(loadConfig({}), { METRICS: 'on', METRICS_ENVIRONMENT: 'local', METRICS_INTERVAL_SECONDS: 60 })
  t.equal(loadConfig({}).METRICS_FILE, undefined, 'metrics on stdout unless a file is named')
})

t.test('values are coerced from text, and empty values mean unset', async (t) => {
  const config = loadConfig({ PORT: '3000', SPACEX_SYNC_ON_START: 'false', DATABASE_URL: '', UNRELATED: 'x' })
  t.equal(config.PORT, 3000)
  t.equal(config.SPACEX_SYNC_ON_START, false)
  t.equal(config.DATABASE_URL, undefined)
  t.notOk('UNRELATED' in config, 'unknown variables are not carried along')
})

t.test('a bad value is one line naming the variable and the value', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: '70000' }, 'PORT must be <= 65535 (got "70000")'],
    [{ PORT: 'eighty' }, 'PORT must be integer (got "eighty")'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent" (got "loud")'],
    [{ DATABASE_URL: 'mysql://db/x' }, 'DATABASE_URL must match pattern "^postgres(ql)?://" (got "mysql://db/x")'],
    [{ DATABASE_SSL: 'sometimes' }, 'DATABASE_SSL must be one of "verify-full", "no-verify", "disable" (got "sometimes")'],
    [{ SPACEX_SYNC_ON_START: 'maybe' }, 'SPACEX_SYNC_ON_START must be boolean (got "maybe")'],
    [{ METRICS: 'yes' }, 'METRICS must be one of "on", "off" (got "yes")']
  ]
  for (const [env, message] of cases) {
    t.throws(() => loadConfig(env), new ConfigError(message), message)
  }
})
