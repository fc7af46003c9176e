// A Secrets Manager endpoint on 127.0.0.1 speaking the service's JSON 1.1 protocol as the real
// SDK client sends it (POST /, x-amz-target: secretsmanager.GetSecretValue, SigV4-signed), with
// errors in the SDK's format. Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { randomUUID } from 'node:crypto'

interface Teardown {
  teardown(fn: () => unknown): void
}

interface StoredSecret {
  name: string
  arn: string
  secretString: string
  versionId: string
  createdDate: number
}

export interface FakeSecretsManager {
  /** For AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  url: string
  /** Creates or rotates a secret (a new AWSCURRENT version); returns its ARN. */
  putSecret(name: string, value: string | object): string
  /** Makes every read of `name` fail with AccessDeniedException, as a missing IAM grant does. */
  denyAccess(name: string): void
  /** GetSecretValue calls answered so far, by SecretId as sent. */
  reads: string[]
  close(): Promise<void>
}

function sendError(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() })
  // Real responses use `message` for some errors and `Message` for others; the SDK reads both.
  response.end(JSON.stringify({ __type: type, [type === 'AccessDeniedException' ? 'Message' : 'message']: message }))
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startFakeSecretsManager(t: Teardown, region = 'us-east-1'): Promise<FakeSecretsManager> {
  const secrets = new Map<string, StoredSecret>()
  const denied = new Set<string>()
  const reads: string[] = []
  const find = (id: string) => secrets.get(id) ?? [...secrets.values()].find((secret) => secret.arn === id)

  const server = createServer(async (request, response) => {
    const body = await readBody(request)
    const target = request.headers['x-amz-target']
    if (request.method !== 'POST' || request.url !== '/' || request.headers['content-type'] !== 'application/x-amz-json-1.1') {
      return sendError(response, 404, 'UnknownOperationException', `unexpected ${request.method} ${request.url}`)
    }
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 Credential=')) {
      return sendError(response, 400, 'MissingAuthenticationTokenException', 'Request is missing Authentication Token')
    }
    if (target !== 'secretsmanager.GetSecretValue') {
      return sendError(response, 400, 'UnknownOperationException', `unsupported operation ${String(target)}`)
    }
    let input: { SecretId?: unknown }
    try {
      input = JSON.parse(body) as { SecretId?: unknown }
    } catch {
      return sendError(response, 400, 'SerializationException', 'Start of structure or map found where not expected.')
    }
    if (typeof input.SecretId !== 'string' || input.SecretId === '') {
      return sendError(response, 400, 'ValidationException', "1 validation error detected: Value at 'secretId' failed to satisfy constraint")
    }
    reads.push(input.SecretId)
    const secret = find(input.SecretId)
    if (secret && denied.has(secret.name)) {
      return sendError(
        response,
        400,
        'AccessDeniedException',
        `User: arn:aws:sts::123456789012:assumed-role/mission-control/i-0 is not authorized to perform: secretsmanager:GetSecretValue on resource: ${input.SecretId} because no identity-based policy allows the secretsmanager:GetSecretValue action`
      )
    }
    if (!secret) return sendError(response, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.")
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() })
    response.end(
      JSON.stringify({
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        SecretString: secret.secretString,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate
      })
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }

  const fake: FakeSecretsManager = {
    url: `http://127.0.0.1:${port}`,
    reads,
    putSecret(name, value) {
      const arn = secrets.get(name)?.arn ?? `arn:aws:secretsmanager:${region}:123456789012:secret:${name}-${randomUUID().slice(0, 6)}`
      secrets.set(name, {
        name,
        arn,
        secretString: typeof value === 'string' ? value : JSON.stringify(value),
        versionId: randomUUID(),
        createdDate: Date.now() / 1000
      })
      return arn
    },
    denyAccess(name) {
      denied.add(name)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
  t.teardown(() => fake.close())
  return fake
}
