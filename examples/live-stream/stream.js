// The live stream (GET /api/v1/stream) as the web app reads it.
//
// The browser's EventSource cannot send Authorization, so this reads the stream with fetch
// and parses the text/event-stream itself (WHATWG HTML, "Server-sent events"). Whenever the
// connection drops or ends (the network, a restarted server, the access token expiring), it
// connects again after a short wait, with a fresh token and the last event id it saw as
// Last-Event-ID, so the server sends what was missed; ids it has already handed on are never
// handed on twice.
//
//   const stream = openStream({
//     token: async () => session.accessToken(),     // fresh on every connection
//     onReady: () => refetchTasks(),                // on every (re)connection: nothing falls
//                                                   // between GET /tasks and the stream
//     onEvent: ({ id, event, data }) => show(event, data),
//     onReset: () => { refetchTasks(); refetchNotifications(); },  // missed too many
//   });
//   ...
//   stream.close();
//
// A 401 asks for a token again; 429 (too many streams of this user) and 5xx wait longer
// between tries; any other refusal (403: no scope for notifications) stops it and calls
// onError. Waits grow from half a second to half a minute, and start again from the
// shortest once a connection has been open.

const WAITS_MS = [500, 1000, 2000, 5000, 10000, 30000];

export function openStream({
  url = "/api/v1/stream",
  token,
  lastEventId = null,
  onEvent = () => {},
  onReady = () => {},
  onReset = () => {},
  onError = () => {},
  onConnect = () => {},
}) {
  let last = lastEventId;
  let highest = lastEventId === null ? -Infinity : Number(lastEventId);
  let failures = 0;
  let closed = false;
  let controller = null;
  let timer = null;

  const dispatch = (block) => {
    let id = null;
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue; // a ping, or a comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (id !== null) last = id;
    if (event === "ready") return onReady();
    if (event === "reset") {
      if (id !== null) highest = Number(id);
      return onReset();
    }
    if (id !== null) {
      // At least once: an event seen before a drop is not handed on again.
      if (Number(id) <= highest) return;
      highest = Number(id);
    }
    if (data.length === 0) return;
    onEvent({ id, event, data: JSON.parse(data.join("\n")) });
  };

  const connect = async () => {
    controller = new AbortController();
    let opened = false;
    let wait = null;
    try {
      const headers = { Authorization: `Bearer ${await token()}`, Accept: "text/event-stream" };
      if (last !== null) headers["Last-Event-ID"] = last;
      const response = await fetch(url, { headers, signal: controller.signal, cache: "no-store" });
      if (response.status === 401) {
        wait = WAITS_MS[0]; // the token ran out: the next try asks for a new one
      } else if (response.status === 429 || response.status >= 500) {
        wait = WAITS_MS[Math.min(failures + 2, WAITS_MS.length - 1)];
      } else if (!response.ok) {
        closed = true;
        onError(response);
        return;
      } else {
        opened = true;
        onConnect({ lastEventId: last });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = (buffer + value).replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      }
    } catch (error) {
      if (closed) return; // close() aborted it
      // A dropped connection or a failed fetch: try again.
    }
    if (closed) return;
    failures = opened ? 0 : failures + 1;
    const delay = wait ?? WAITS_MS[Math.min(failures, WAITS_MS.length - 1)];
    timer = setTimeout(connect, delay);
  };

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (controller) controller.abort();
    },
    get lastEventId() {
      return last;
    },
  };
}
