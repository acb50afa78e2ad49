// list-and-trace.ts -- a client of either platform, typed by the types openapi-typescript makes
// from its /openapi.json (tests/client-check.sh writes them beside this file as api.d.ts).
// Type-checked only, never run: it must compile against each platform's document, so a route
// renamed or a field dropped from what it reads fails the check.
import createClient from "openapi-fetch";
import type { components, paths } from "./api";

type Trace = components["schemas"]["trace"];

const client = createClient<paths>({
    baseUrl: "http://127.0.0.1:8082",
    headers: { Authorization: "Bearer dev-dispatch-key" },
});

// The first customer of a category, and the supply chain above it: "CODE name" per object,
// customer first, substation last.
export async function chainOfFirstCustomer(): Promise<string[]> {
    const page = await client.GET("/v1/customers", {
        params: { query: { category: "lv_resident", limit: 1 } },
    });
    if (page.error) throw new Error(`${page.error.status} ${page.error.title}: ${page.error.detail}`);
    const first = page.data.items[0];
    if (!first) return [];
    const code: string = first.code;
    const name: string = first.name;
    const next: string | null = page.data.next;
    void next;

    const trace = await client.GET("/v1/trace/{code}", {
        params: { path: { code }, query: { direction: "up", state: "current" } },
    });
    if (trace.error) throw new Error(`${trace.error.status}: ${trace.error.detail}`);
    const chain: Trace = trace.data;
    const direction: "up" | "down" = chain.direction;
    const open = chain.edges.filter((e) => e.open === true).map((e) => e.switch ?? e.from);
    return [
        `${name} (${direction}, open switches: ${open.length})`,
        ...chain.nodes.map((n) => `${n.code} ${n.type} ${n.name ?? ""}`),
    ];
}
