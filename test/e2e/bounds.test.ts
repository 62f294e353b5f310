/**
 * Bounded input through the running bot: request bodies over 1 MiB are refused before they are read whole,
 * and the bot keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Harness, PEOPLE } from '../support/harness.js';
import { requestAccess } from '../support/flows.js';

let h: Harness;
before(async () => {
  h = await Harness.start({ env: { AUTODESK_WEBHOOK_SECRET: 'webhook-secret' } });
});
after(async () => {
  await h.close();
});

/** Sends only the head of a POST that announces `length` bytes, and returns the status line the bot answers with. */
function announceBody(path: string, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(h.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.slice(0, answer.indexOf('\r\n')));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.setTimeout(5000, () => reject(new Error(`no answer to the head of a ${length}-byte POST within 5 s`)));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  });
}

/** Streams a chunked body that never ends, until the bot answers; resolves with its status and the bytes sent. */
function endlessBody(path: string): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request({ host: '127.0.0.1', port: h.port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      answered = true;
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, sent });
    });
    // The bot closing the connection mid-body is expected; only an error before any answer is a failure.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.setTimeout(5000, () => {
      req.destroy();
      reject(new Error(`no answer within 5 s to an endless body (${sent} bytes sent)`));
    });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!answered && sent < 64 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

describe('request bodies over 1 MiB', () => {
  for (const path of ['/slack/events', '/webhooks/autodesk']) {
    test(`${path}: a declared 2 MiB body is answered 413 before a byte of it is sent`, async () => {
      assert.match(await announceBody(path, 2 * 1024 * 1024), /^HTTP\/1\.1 413 /);
    });

    test(`${path}: a chunked body that never ends is cut off with 413 soon after 1 MiB`, async () => {
      const { status, sent } = await endlessBody(path);
      assert.equal(status, 413);
      // Socket buffers hold a few MiB at most: an answer only after the whole 64 MiB means the bot read it all.
      assert.ok(sent < 32 * 1024 * 1024, `answered after ${sent} bytes`);
    });
  }

  test('after oversized bodies the bot still serves health checks and requests', async () => {
    await Promise.all([announceBody('/slack/events', 2 * 1024 * 1024), endlessBody('/webhooks/autodesk')]);
    const health = await fetch(`${h.botUrl}/healthz`);
    assert.equal(health.status, 200);
    await requestAccess(h, PEOPLE.requester, { kind: 'onboard', subjects: [PEOPLE.carol], apps: ['axure'] });
  });
});
