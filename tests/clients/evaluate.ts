// A typed call of the generated client: only predictions, targets and losses; the rest has defaults.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const client = createClient<paths>({ baseUrl: process.env.LOSS_SERVICE_URL });

const { data, error } = await client.POST("/v1/evaluate", {
  body: { losses: ["mse", { name: "huber" }], predictions: [0.5, 2.0], targets: [0.0, 1.0] },
});
if (error !== undefined) {
  throw new Error(`${error.title}: ${error.detail}`);
}
const value: number | null = data.results[0]?.value ?? null;
const mean: number | null | undefined = data.results[0]?.stats?.mean;
console.log(JSON.stringify({ value, mean, losses: data.results.map((result) => result.loss) }));

declare const process: { env: Record<string, string | undefined> };
