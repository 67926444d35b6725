/**
 * A city system's first incident with openapi-fetch, typed by openapi-typescript:
 *
 *   npx openapi-typescript openapi/openapi.json --default-non-nullable false -o schema.d.ts
 *   TRANTIB_URL=http://127.0.0.1:8000 TRANTIB_ATTACHMENT_ID=… npx tsx driver.ts
 *
 * Logs in as the Kasi Trantib of Ciledug, registers an incident, takes step 1 as the Camat
 * with If-Match and an Idempotency-Key (reading the recorded order's typed content), reads the 409 a second step 1 gets, downloads an
 * attachment as bytes and reads the SLA summary as CSV. No cast, no hand-written request.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "../../build/openapi-fetch/schema";

type TokenForm = components["schemas"]["TokenForm"];
type WalikotaOrderCreate = components["schemas"]["WalikotaOrderCreate"];

const baseUrl = process.env.TRANTIB_URL ?? "http://127.0.0.1:8000";
const password = process.env.TRANTIB_DEMO_PASSWORD ?? "trantib-demo";

/** The token endpoint is form encoded: the body is serialized as URLSearchParams. */
function formEncoded(form: TokenForm): URLSearchParams {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (typeof value === "string") body.set(name, value);
  }
  return body;
}

async function login(username: string) {
  const client = createClient<paths>({ baseUrl });
  const { data, error } = await client.POST("/api/v1/auth/token", {
    body: { grant_type: "password", username, password },
    bodySerializer: formEncoded,
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (error) throw new Error(`login ${username} refused: ${error.type}`);
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${data.access_token}` } });
}

function walikotaOrder(number: string): WalikotaOrderCreate {
  const now = new Date();
  return {
    kind: "walikota",
    number,
    issued_on: now.toISOString().slice(0, 10),
    issuer: "Wali Kota Tangerang",
    police_coordination: {
      officer: "AKP Rahmat",
      police_unit: "Polsek Ciledug",
      contacted_at: new Date(now.getTime() - 30 * 60_000).toISOString(),
    },
  };
}

const kasi = await login("kasi.ciledug");
const registered = await kasi.POST("/api/v1/incidents", {
  body: {
    kind: "unjuk_rasa",
    title: "Unjuk rasa buruh di depan kantor kecamatan",
    location: { address: "Jl. HOS Cokroaminoto No. 1", kelurahan: "Sudimara Timur" },
    estimated_crowd: 250,
  },
  params: { header: { "Idempotency-Key": crypto.randomUUID() } },
});
if (registered.error) throw new Error(`register refused: ${registered.error.type}`);
const incident = registered.data;
console.log(`registered ${incident.register_number}, step ${incident.current_step}, ETag ${incident.etag}`);

const camat = await login("camat.ciledug");
const order = walikotaOrder(`WK/${incident.register_number}`);
const path = { incident_id: incident.id };
const step1 = await camat.POST("/api/v1/incidents/{incident_id}/orders", {
  params: { path, header: { "If-Match": incident.etag, "Idempotency-Key": crypto.randomUUID() } },
  body: order,
});
if (step1.error) throw new Error(`step 1 refused: ${step1.error.type}`);
// An order's answer is typed by its kind: narrowed, the walikota order's content is the letter.
const recorded = step1.data;
if (recorded.kind !== "walikota") throw new Error(`step 1 answered a ${recorded.kind} order`);
const police = recorded.content.police_coordination.police_unit;
console.log(`step 1 done: order ${recorded.id} (${recorded.content.number}, police: ${police}), the incident is now at step ${recorded.incident.current_step}`);

const again = await camat.POST("/api/v1/incidents/{incident_id}/orders", { params: { path }, body: order });
if (again.response.status !== 409 || !again.error) throw new Error("a second step 1 was not refused with 409");
console.log(`a second step 1: ${again.error.type.split("/").pop()}, current_step ${again.error.current_step}`);

const attachment = await kasi.GET("/api/v1/attachments/{attachment_id}/content", {
  params: { path: { attachment_id: process.env.TRANTIB_ATTACHMENT_ID ?? "" } },
  parseAs: "arrayBuffer",
});
if (attachment.error) throw new Error(`download refused: ${attachment.error.type}`);
const bytes = new Uint8Array(attachment.data);
console.log(`attachment: ${bytes.length} bytes, starts ${new TextDecoder().decode(bytes.slice(0, 5))}`);

const csv = await kasi.GET("/api/v1/sla/summary.csv", { parseAs: "text" });
if (csv.error) throw new Error(`SLA summary refused: ${csv.error.type}`);
console.log(`SLA summary CSV: ${csv.data.split("\n")[0]}`);
