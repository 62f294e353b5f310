/** Secrets never reach the logs, even inside error messages, and a request's lines carry its id. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/util/log.js';

test('tokens, Basic/Bearer credentials and configured secrets are masked in messages, fields and errors', () => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', secrets: ['s3cr3t-signing-value'], write: (line) => lines.push(line) });
  log.error('call failed with xoxb-1234-5678-abcdef', {
    error: new Error('401 for Authorization: Bearer eyJhbGciOi.payload.sig using s3cr3t-signing-value'),
    clientSecret: 'plain-value', header: 'Basic c2FuZGJveDpzZWNyZXQ=',
  });
  const text = lines.join('\n');
  for (const secret of ['1234-5678-abcdef', 'eyJhbGciOi', 's3cr3t-signing-value', 'plain-value', 'c2FuZGJveDpzZWNyZXQ=']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.level, 'error');
  assert.equal(line.clientSecret, '[redacted]');
});

test('child loggers carry their fields on every line; levels below the threshold are dropped', () => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', level: 'info', write: (line) => lines.push(line) }).child({ requestId: 'AR-1' });
  log.debug('hidden');
  log.child({ itemId: 7 }).info('working');
  assert.equal(lines.length, 1);
  assert.deepEqual({ ...JSON.parse(lines[0]!), time: undefined }, { time: undefined, level: 'info', msg: 'working', requestId: 'AR-1', itemId: 7 });
});
