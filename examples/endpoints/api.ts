// Load-balanced routes sharing one CPU endpoint:
//   GET /api/health, POST /api/compute {"numbers": [1, 2, 3]}, GET /api/items/42
//
// Python Flash:
//   api = Endpoint(name="ep-api", cpu=CpuInstanceType.CPU3C_2_4, workers=(1, 3))
//   @api.post("/compute")
//   async def compute(data: dict) -> dict: ...
import { Endpoint, CpuInstanceType } from "flash-ts";

const api = new Endpoint({ name: "ep-api", cpu: CpuInstanceType.CPU3C_2_4, workers: [1, 3] });

/** Whether the API is up. */
export const health = api.get("/health", async () => ({ status: "healthy" }));

/** Sums and averages a list of numbers. */
export const compute = api.post("/compute", async (body: { numbers: number[] }) => {
  const sum = body.numbers.reduce((a, b) => a + b, 0);
  return { sum, mean: body.numbers.length ? sum / body.numbers.length : 0 };
});

/** One item; the path parameter arrives in the input. */
export const getItem = api.get("/items/{id}", async (input: { id: string }) => ({ id: input.id, name: `item ${input.id}` }));
