// Must not compile: booleans are not numbers, and losses are required.
import createClient from "openapi-fetch";
import type { paths } from "./schema.js";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });
await client.POST("/v1/evaluate", { body: { losses: ["mse"], predictions: [true], targets: [1.0] } });
await client.POST("/v1/evaluate", { body: { predictions: [1.0], targets: [1.0] } });
