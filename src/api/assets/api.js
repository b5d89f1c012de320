// api.js: the dashboard's client of the REST API and the event stream, like any other
// client: the bearer token (kept in sessionStorage, for this tab only) on every request,
// errors as ApiError with the server's message, and the event stream read with fetch
// (so it carries the token) and parsed as Server-Sent Events, resuming with
// Last-Event-ID after a break.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function token() {
  return sessionStorage.getItem('lg_token') || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem('lg_token', t);
  else sessionStorage.removeItem('lg_token');
}

function headers(extra = {}) {
  const h = { ...extra };
  if (token()) h.Authorization = 'Bearer ' + token();
  return h;
}

// Calls the API; resolves to the parsed JSON body, rejects with ApiError.
export async function api(method, path, body, contentType) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.body = contentType ? body : JSON.stringify(body);
    init.headers['Content-Type'] = contentType || 'application/json';
  }
  let r;
  try {
    r = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `the API is unreachable (${e.message})`);
  }
  const text = await r.text();
  let j = null;
  try { j = text ? JSON.parse(text) : null; } catch (e) { j = null; }
  if (!r.ok && r.status !== 202) {
    const msg = j && j.error ? j.error.message : text || r.statusText;
    throw new ApiError(r.status, msg);
  }
  return j;
}

// Follows /cluster/events. onEvent(type, data, id) for each event; onState(connected,
// error) when the connection changes. Returns { close() }.
export function follow(onEvent, onState) {
  let lastId = null, stopped = false, ctrl = null;
  async function once() {
    ctrl = new AbortController();
    const h = headers({ Accept: 'text/event-stream' });
    if (lastId !== null) h['Last-Event-ID'] = String(lastId);
    const r = await fetch('/cluster/events', { headers: h, signal: ctrl.signal });
    if (!r.ok) {
      let msg = r.statusText;
      try { msg = (await r.json()).error.message; } catch (e) { /* not JSON */ }
      throw new ApiError(r.status, msg);
    }
    onState(true, null);
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        let type = 'message', data = '', id = null;
        for (const line of frame.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') type = val;
          else if (field === 'data') data += (data ? '\n' : '') + val;
          else if (field === 'id') id = Number(val);
        }
        if (!data) continue;
        if (id !== null) lastId = id;
        let parsed = null;
        try { parsed = JSON.parse(data); } catch (e) { continue; }
        onEvent(type, parsed, id);
      }
    }
  }
  async function loop() {
    while (!stopped) {
      try {
        await once();
        onState(false, null);
      } catch (e) {
        if (stopped) return;
        onState(false, e instanceof ApiError ? e : null);
      }
      if (stopped) return;
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
  loop();
  return {
    close() {
      stopped = true;
      if (ctrl) ctrl.abort();
    },
  };
}
