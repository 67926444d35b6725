/**
 * A city system's first incident with the client OpenAPI Generator's typescript-fetch makes:
 *
 *   openapi-generator-cli generate -i openapi/openapi.json -g typescript-fetch \
 *       -c openapi/openapi-generator-typescript-fetch.yaml -o generated
 *   TRANTIB_URL=http://127.0.0.1:8000 TRANTIB_ATTACHMENT_ID=… npx tsx driver.ts
 *
 * Logs in as the Kasi Trantib of Ciledug, registers an incident, takes step 1 as the Camat
 * with If-Match and an Idempotency-Key (reading the recorded order's typed content), reads the 409 a second step 1 gets, downloads an
 * attachment as bytes and reads the SLA summary as CSV. No cast, no hand-written request.
 */
import {
  AuthApi,
  Configuration,
  FieldReportsApi,
  IncidentsApi,
  OrdersApi,
  ProblemFromJSON,
  ResponseError,
  TimingApi,
  type WalikotaOrderCreate,
} from "../../build/typescript-fetch";

const basePath = process.env.TRANTIB_URL ?? "http://127.0.0.1:8000";
const password = process.env.TRANTIB_DEMO_PASSWORD ?? "trantib-demo";

/** typescript-fetch sends accessToken as the whole Authorization value: add "Bearer ". */
async function login(username: string): Promise<Configuration> {
  const auth = new AuthApi(new Configuration({ basePath }));
  const tokens = await auth.authToken({ grantType: "password", username, password });
  return new Configuration({ basePath, accessToken: async () => `Bearer ${tokens.accessToken}` });
}

function walikotaOrder(number: string): WalikotaOrderCreate {
  const now = new Date();
  return {
    kind: "walikota",
    number,
    issuedOn: now,
    issuer: "Wali Kota Tangerang",
    policeCoordination: {
      officer: "AKP Rahmat",
      policeUnit: "Polsek Ciledug",
      contactedAt: new Date(now.getTime() - 30 * 60_000),
    },
  };
}

const kasi = await login("kasi.ciledug");
const incident = await new IncidentsApi(kasi).incidentsCreate({
  incidentCreate: {
    kind: "unjuk_rasa",
    title: "Unjuk rasa buruh di depan kantor kecamatan",
    location: { address: "Jl. HOS Cokroaminoto No. 1", kelurahan: "Sudimara Timur" },
    estimatedCrowd: 250,
  },
  idempotencyKey: crypto.randomUUID(),
});
console.log(`registered ${incident.registerNumber}, step ${incident.currentStep}, ETag ${incident.etag}`);

const orders = new OrdersApi(await login("camat.ciledug"));
const order = walikotaOrder(`WK/${incident.registerNumber}`);
const step1 = await orders.ordersCreate({
  incidentId: incident.id,
  orderCreate: { ...order, kind: "walikota" },
  ifMatch: incident.etag,
  idempotencyKey: crypto.randomUUID(),
});
// An order's answer is typed by its kind: narrowed, the walikota order's content is the letter.
if (step1.kind !== "walikota") throw new Error(`step 1 answered a ${step1.kind} order`);
const police = step1.content.policeCoordination.policeUnit;
console.log(`step 1 done: order ${step1.id} (${step1.content.number}, police: ${police}), the incident is now at step ${step1.incident.currentStep}`);

try {
  await orders.ordersCreate({ incidentId: incident.id, orderCreate: { ...order, kind: "walikota" } });
  throw new Error("a second step 1 was not refused");
} catch (refusal) {
  if (!(refusal instanceof ResponseError) || refusal.response.status !== 409) throw refusal;
  // typescript-fetch throws on any error status; the problem is read with the generated model.
  const problem = ProblemFromJSON(await refusal.response.json());
  console.log(`a second step 1: ${problem.type.split("/").pop()}, current_step ${problem.currentStep}`);
}

const file = await new FieldReportsApi(kasi).attachmentsContent({
  attachmentId: process.env.TRANTIB_ATTACHMENT_ID ?? "",
});
const bytes = new Uint8Array(await file.arrayBuffer());
console.log(`attachment: ${bytes.length} bytes, starts ${new TextDecoder().decode(bytes.slice(0, 5))}`);

const csv = await new TimingApi(kasi).slaSummaryCsv();
console.log(`SLA summary CSV: ${csv.split("\n")[0]}`);
