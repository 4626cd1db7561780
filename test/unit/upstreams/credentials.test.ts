import assert from 'node:assert/strict'

import {credentialInArgs, isSecretEnvName, looksHighEntropy, maskArgs, maskCredentials} from '../../../src/upstreams/credentials.js'

describe('credentials in upstream definitions', () => {
  it('finds credential-shaped arguments', () => {
    for (const args of [
      ['--token=ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
      ['--api-key=sk-abcdefghijklmnopqrstuv'],
      ['--api-key=plainvalue'],
      ['--apiKey=x1'],
      ['--client-secret=abc'],
      ['--password', 'hunter2'],
      ['postgresql://user:hunter2pass@host/db'],
      ['--dsn', 'redis://default:pw@cache:6379'],
      ['host=db user=app password=hunter2'],
      ['https://api.example/v1?api_key=abc123&x=1'],
      ['{"apiKey": "abc123"}'],
      ['--header', 'Authorization: Bearer abc123'],
      ['run', 'Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
    ]) {
      assert.ok(credentialInArgs(args), JSON.stringify(args))
    }
  })

  it('leaves ordinary arguments alone', () => {
    for (const args of [
      ['-y', '@modelcontextprotocol/server-github'],
      ['--max-tokens=100'],
      ['--token-file=/run/secrets/token'],
      ['--token-file', 'token.txt'],
      ['--key=/etc/tls/server.key'],
      ['--sort-key=name'],
      ['--password-stdin'],
      ['--token=${GITHUB_TOKEN}'],
      ['postgresql://user@host/db'],
      ['https://example.com/path?page=2'],
      ['--header', 'Authorization: Bearer ${AUTH_TOKEN}'],
      ['/srv/docs', '--read-only'],
      ['--key', 'server.pem'],
    ]) {
      assert.equal(credentialInArgs(args), undefined, JSON.stringify(args))
    }
  })

  it('masks every credential and keeps the rest', () => {
    assert.deepEqual(maskArgs(['--token=abc', 'x', '--password', 'hunter2', 'postgresql://u:hunter2pass@h/db', 'Authorization: Bearer abc']), ['--token=***', 'x', '--password', '***', 'postgresql://u:***@h/db', 'Authorization: Bearer ***'])
    assert.equal(maskCredentials('ghp_abcdefghijklmnopqrstuvwxyz0123456789'), '***')
    assert.equal(maskCredentials('a=1&token=xyz&b=2'), 'a=1&token=***&b=2')
  })

  it('tells secret env names and random-looking values', () => {
    for (const name of ['GITHUB_PERSONAL_ACCESS_TOKEN', 'API_KEY', 'OPENAI_API_KEY', 'DB_PASSWORD', 'GH_PAT', 'AUTH_HEADER', 'GOOGLE_CREDENTIALS', 'clientSecret']) assert.ok(isSecretEnvName(name), name)
    for (const name of ['NODE_ENV', 'PATH', 'LOG_LEVEL', 'KEYBOARD', 'PATHEXT', 'ALLOWED_DIRS']) assert.ok(!isSecretEnvName(name), name)
    for (const value of ['Zq9xV3mK8pL2wR7tY4nB6cD1', 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6', 'AbCdEfGh1234IjKlMnOp5678']) assert.ok(looksHighEntropy(value), value)
    for (const value of ['production', 'https://api.example.com/v1/resource', '/usr/local/share/data', 'com.example.application', 'debug,info,warn', 'hello world this is text']) assert.ok(!looksHighEntropy(value), value)
  })

  it('reads a long hostile argument in linear time', () => {
    const started = performance.now()
    for (const s of ['a'.repeat(200_000), 'a.'.repeat(100_000), 'eyJ'.repeat(60_000), '-a'.repeat(100_000), 'a:'.repeat(100_000)]) credentialInArgs([s])
    assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`)
  })
})
