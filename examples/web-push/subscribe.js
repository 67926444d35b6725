// The page's side: register the service worker, subscribe with the service's VAPID key and
// hand the subscription to the API. `api(path, options)` is the app's authenticated fetch.
"use strict";

function base64UrlToBytes(text) {
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
}

export async function enablePush(api) {
  if (!("serviceWorker" in navigator) || !("PushManager" in window)) {
    return null;
  }
  if ((await Notification.requestPermission()) !== "granted") {
    return null;
  }
  const registration = await navigator.serviceWorker.register("/service-worker.js");
  const { public_key } = await (await api("/api/v1/push/vapid-public-key")).json();
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: base64UrlToBytes(public_key),
  });
  // 201 new to this user, 200 already theirs. Call again after every login: logout and
  // password or role changes drop the user's subscriptions on the server.
  const stored = await api("/api/v1/push-subscriptions", {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(subscription.toJSON()),
  });
  return stored.json();
}
