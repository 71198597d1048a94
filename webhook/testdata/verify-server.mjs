// A partner's webhook receiver: the Node.js verification snippet of the partner API seed ("Securing
// your endpoint"), copied verbatim between the markers below, as the handler of a real HTTP server on
// 127.0.0.1. The Go tests deliver to it, so FaxSeal's signatures are checked by the very code the seed
// tells partners to deploy. The port is printed on stdout; the secret comes from the environment.
import { createServer } from 'node:http';
import { createHmac } from 'crypto';

async function handle(req) {
  // ---- seed snippet, verbatim ----
  const rawBody = await req.text();
  const sig = req.headers.get('x-faxseal-signature'); // "t=1234567890,v1=abc123..."
  const [tPart, v1Part] = sig.split(',');
  const ts = tPart?.slice(2);
  const expected = createHmac('sha256', process.env.FAXSEAL_WEBHOOK_SECRET)
    .update(`${ts}.${rawBody}`)
    .digest('hex');

  if (!ts || !v1Part || expected !== v1Part.slice(3)) {
    return Response.json({ error: 'Unauthorized' }, { status: 401 });
  }
  // Respond 2xx quickly — process asynchronously
  // ---- end of seed snippet ----
  const event = JSON.parse(rawBody);
  return Response.json({ ok: true, event: event.event, eventId: req.headers.get('x-faxseal-event-id') });
}

// Adapt node:http to the fetch Request/Response the snippet is written against (Node >= 18).
createServer(async (nreq, nres) => {
  const chunks = [];
  for await (const c of nreq) chunks.push(c);
  const headers = new Headers();
  for (const [k, v] of Object.entries(nreq.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  const req = new Request('http://127.0.0.1' + nreq.url, { method: nreq.method, headers, body: Buffer.concat(chunks) });
  let res;
  try {
    res = await handle(req);
  } catch (e) {
    res = Response.json({ error: String(e) }, { status: 500 });
  }
  nres.writeHead(res.status, { 'content-type': 'application/json' });
  nres.end(await res.text());
}).listen(0, '127.0.0.1', function () {
  console.log(this.address().port);
});
