// The service worker of the Trantib web app: shows each Web Push message as a notification.
//
// The payload (JSON, decrypted by the browser) is what a lock screen may show:
//   {id, kind, title, body, incident_id, register_number, step, due_at, created_at}
// `id` is the notification's id: delivery is at least once, so a repeat of an id still
// shown is dropped; `tag` (the incident and step) lets a breach replace the at-risk warning.
"use strict";

async function show(message) {
  const tag =
    message.incident_id && message.step != null
      ? `${message.incident_id}/${message.step}`
      : `trantib/${message.id}`;
  // At least once: a message repeated after a crash is not shown twice.
  const shown = await self.registration.getNotifications({ tag: tag });
  if (shown.some((n) => n.data && n.data.id === message.id)) {
    return;
  }
  await self.registration.showNotification(message.title || "Trantib", {
    body: message.body || "",
    tag: tag,
    renotify: true,
    requireInteraction: message.kind === "sla.breached",
    timestamp: message.created_at ? Date.parse(message.created_at) : Date.now(),
    data: message,
  });
}

self.addEventListener("push", (event) => {
  let message;
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data.text() };
  }
  event.waitUntil(show(message));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const message = event.notification.data || {};
  const target = message.incident_id ? `/incidents/${message.incident_id}` : "/";
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const window of windows) {
        if ("focus" in window) {
          window.navigate(target);
          return window.focus();
        }
      }
      return self.clients.openWindow(target);
    })
  );
});

// The push service replaced the subscription: store the new one (the old endpoint is gone
// and the next message to it is answered 410, which drops it on the server).
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(
    self.registration.pushManager
      .subscribe(event.oldSubscription.options)
      .then((subscription) =>
        self.clients.matchAll({ type: "window" }).then((windows) => {
          for (const window of windows) {
            window.postMessage({ type: "push-subscription-changed", subscription: subscription.toJSON() });
          }
        })
      )
  );
});
