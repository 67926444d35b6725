/**
 * A small client for the Trantib SOP service, typed only with the types that
 * openapi-typescript generates from ../openapi.json (schema.d.ts, not committed).
 *
 * Every path, parameter, body and answer below comes from `paths` and `components`:
 * when the contract renames a path, a field or a parameter, `tsc --noEmit` fails here
 * before any client ships against the old shape.
 */
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type ValidationProblem = Schemas["ValidationProblem"];

type TokenOperation = paths["/api/v1/auth/token"]["post"];
export type TokenForm = TokenOperation["requestBody"]["content"]["application/x-www-form-urlencoded"];
export type TokenResponse = TokenOperation["responses"][200]["content"]["application/json"];

type TasksOperation = paths["/api/v1/tasks"]["get"];
export type Task = TasksOperation["responses"][200]["content"]["application/json"]["items"][number];

type FieldReportOperation = paths["/api/v1/incidents/{incident_id}/field-reports"]["post"];
export type FieldReportCreate = FieldReportOperation["requestBody"]["content"]["application/json"];
export type FieldReportPublic = FieldReportOperation["responses"][201]["content"]["application/json"];
type FieldReportPath = FieldReportOperation["parameters"]["path"];
type FieldReportHeaders = NonNullable<FieldReportOperation["parameters"]["header"]>;

/** A refusal from the service: RFC 9457 problem+json with a stable `type`. */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | ValidationProblem,
  ) {
    super(`${status} ${problem.title}: ${problem.detail ?? ""}`);
  }

  /** The problem's kind, e.g. "wrong-step" for https://…/problems/wrong-step. */
  get kind(): string {
    return this.problem.type.split("/").pop() ?? this.problem.type;
  }
}

/** Fills `{name}` segments of a documented path; an unknown path does not compile. */
function url<P extends keyof paths>(base: string, path: P, params: Record<string, string> = {}) {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(value);
  });
  return new URL(filled, base).toString();
}

export class TrantibClient {
  private accessToken: string | undefined;

  constructor(private readonly baseUrl: string) {}

  /** POST /api/v1/auth/token with the password grant (form encoded). */
  async login(username: string, password: string, scope = ""): Promise<TokenResponse> {
    const form: TokenForm = { grant_type: "password", username, password, scope };
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(form)) {
      if (typeof value === "string") body.set(name, value);
    }
    const tokens = await this.request<TokenResponse>(url(this.baseUrl, "/api/v1/auth/token"), {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    this.accessToken = tokens.access_token;
    return tokens;
  }

  /** GET /api/v1/tasks: what waits on the caller now, oldest first. */
  async listTasks(): Promise<Task[]> {
    const list = await this.request<TasksOperation["responses"][200]["content"]["application/json"]>(
      url(this.baseUrl, "/api/v1/tasks"),
      { method: "GET" },
    );
    return list.items;
  }

  /**
   * POST /api/v1/incidents/{incident_id}/field-reports (step 8).
   *
   * The Idempotency-Key makes a retry after a lost answer safe; `ifMatch` is the incident's
   * ETag as last seen, so a stale view is refused (412) instead of acting on it.
   */
  async submitFieldReport(
    path: FieldReportPath,
    report: FieldReportCreate,
    options: { idempotencyKey?: string; ifMatch?: string } = {},
  ): Promise<FieldReportPublic> {
    const headers: FieldReportHeaders = {
      "Idempotency-Key": options.idempotencyKey ?? crypto.randomUUID(),
      "If-Match": options.ifMatch,
    };
    const sent: Record<string, string> = { "Content-Type": "application/json" };
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value === "string") sent[name] = value;
    }
    return this.request<FieldReportPublic>(
      url(this.baseUrl, "/api/v1/incidents/{incident_id}/field-reports", path),
      { method: "POST", headers: sent, body: JSON.stringify(report) },
    );
  }

  private async request<T>(target: string, init: RequestInit): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "application/json, application/problem+json");
    if (this.accessToken) headers.set("Authorization", `Bearer ${this.accessToken}`);
    const response = await fetch(target, { ...init, headers });
    if (!response.ok) {
      const problem = (await response.json()) as Problem;
      throw new ProblemError(response.status, problem);
    }
    return (await response.json()) as T;
  }
}

/** An anggota's day: log in, find the incident waiting on them, report from the field. */
export async function reportFromTheField(baseUrl: string, password: string): Promise<void> {
  const client = new TrantibClient(baseUrl);
  const tokens = await client.login("anggota1.ciledug", password);
  console.log(`logged in, scopes: ${tokens.scope}, expires in ${tokens.expires_in} s`);

  const tasks = await client.listTasks();
  const task = tasks.find((t) => t.step === 8);
  if (task === undefined) {
    console.log("no field work waiting");
    return;
  }
  console.log(`${task.register_number} "${task.title}" waits since ${task.waiting_since}`);

  const report: FieldReportCreate = {
    started_at: "2026-11-28T08:00:00+07:00",
    ended_at: "2026-11-28T11:30:00+07:00",
    location: { address: "Jl. HOS Cokroaminoto No. 1, Ciledug", lat: -6.2297, lon: 106.7108 },
    crowd_estimate: 300,
    situation: "kondusif",
    actions_taken: ["pemantauan", "pengaturan_lalu_lintas", "himbauan"],
    casualties: [],
    notes: "Massa membubarkan diri dengan tertib pukul 11.15",
  };
  try {
    const saved = await client.submitFieldReport({ incident_id: task.incident_id }, report);
    console.log(`field report ${saved.id} recorded at ${saved.recorded_at}`);
  } catch (error) {
    if (error instanceof ProblemError && error.kind === "already-reported") {
      console.log("this member has already reported");
      return;
    }
    throw error;
  }
}
