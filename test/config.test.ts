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

t.test('a rejected value never prints a password: URLs are masked', async (t) => {
  const error = t.throws(() => loadConfig({ DATABASE_URL: 'mysql://admin:s3cret-pa55@db.example.com:3306/x' })) as ConfigError
  t.equal(error.message, 'DATABASE_URL must match pattern "^postgres(ql)?://" (got "mysql://admin:***@db.example.com:3306/x")')
  t.notMatch(error.message, /s3cret/)
  const spacex = t.throws(() => loadConfig({ SPACEX_API_URL: 'ftp://user:hunter2@example.com' })) as ConfigError
  t.notMatch(spacex.message, /hunter2/)
})

t.test('AUTH_REQUIRED=false is accepted for development and refused when NODE_ENV=production', async (t) => {
  t.equal(loadConfig({}).AUTH_REQUIRED, true, 'credentials are required by default')
  t.equal(loadConfig({ AUTH_REQUIRED: 'false' }).AUTH_REQUIRED, false)
  t.equal(loadConfig({ AUTH_REQUIRED: 'false', NODE_ENV: 'development' }).AUTH_REQUIRED, false)
  // Production also needs a database server (see the guard rails test): give it one here.
  const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://mc@db.example.com/mission_control' }
  t.throws(
    () => loadConfig({ ...production, AUTH_REQUIRED: 'false' }),
    new ConfigError('AUTH_REQUIRED=false is refused when NODE_ENV=production: anyone could schedule and abort launches')
  )
  t.equal(loadConfig(production).AUTH_REQUIRED, true)
})
