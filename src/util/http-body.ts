/**
 * Request bodies are read only up to a limit: anyone who can reach `PORT` can send one, before any signature
 * is checked (a signature can only be checked over the whole body). A declared length over the limit is
 * answered 413 at once; a chunked body is cut off as soon as it passes the limit. Either way the rest is never
 * kept and the connection is closed.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

/** Slack's own payloads stay far below this (a full modal state is tens of KiB). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** How long a refused sender may go on writing (discarded) before the connection is cut. */
const LINGER_MS = 1000;

function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  if (res.headersSent) return;
  res.writeHead(413, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: `request body over ${limit} bytes` }), () => {
    // Closing at once, with the sender still writing, resets the connection and the sender may never read the 413.
    // So: end our side, drop what is still on its way for a moment, then cut the connection.
    req.socket.end();
    req.resume();
    setTimeout(() => req.socket.destroy(), LINGER_MS).unref();
  });
}

/** The whole body, or undefined once the request has been answered (413) or has gone away. */
export function readBodyWithin(req: IncomingMessage, res: ServerResponse, limit = MAX_BODY_BYTES): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    refuseTooLarge(req, res, limit);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (body: Buffer | undefined) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        refuseTooLarge(req, res, limit);
        settle(undefined);
      } else chunks.push(chunk);
    };
    const onEnd = () => settle(Buffer.concat(chunks));
    // The sender hung up mid-body: nobody is left to answer.
    const onGone = () => settle(undefined);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onGone);
  });
}

/**
 * Wraps Bolt's HTTPReceiver listener so that its event endpoints get a body read within the limit. Bolt reads
 * the body itself with no limit, unless the request already carries `rawBody` (its own check for a buffered
 * request), so the body is read here first and handed over that way.
 */
export function limitBodies(listener: RequestListener, paths: readonly string[], limit = MAX_BODY_BYTES): RequestListener {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'POST' || !paths.includes(path)) return listener(req, res);
    readBodyWithin(req, res, limit)
      .then((body) => {
        if (body) listener(Object.assign(req, { rawBody: body }), res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
      });
  };
}
