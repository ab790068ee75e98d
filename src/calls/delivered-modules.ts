/**
 * Which module hashes each endpoint has received (docs/internals.md, "The
 * function protocol"): a request omits the code of a module its endpoint
 * already has. Bounded both ways; forgetting only costs one resend of code.
 */
export class DeliveredModules {
  /** Endpoint id → hashes, both in least-recently-used-first order. */
  readonly #byEndpoint = new Map<string, Set<string>>();
  readonly #maxEndpoints: number;
  readonly #maxPerEndpoint: number;

  constructor(limits: { maxEndpoints?: number; maxPerEndpoint?: number } = {}) {
    this.#maxEndpoints = limits.maxEndpoints ?? 256;
    this.#maxPerEndpoint = limits.maxPerEndpoint ?? 64;
  }

  has(endpointId: string, hash: string): boolean {
    return this.#byEndpoint.get(endpointId)?.has(hash) === true;
  }

  add(endpointId: string, hash: string): void {
    let hashes = this.#byEndpoint.get(endpointId);
    if (hashes) this.#byEndpoint.delete(endpointId);
    else hashes = new Set();
    this.#byEndpoint.set(endpointId, hashes);
    hashes.delete(hash);
    hashes.add(hash);
    if (hashes.size > this.#maxPerEndpoint) hashes.delete(hashes.values().next().value as string);
    if (this.#byEndpoint.size > this.#maxEndpoints) this.#byEndpoint.delete(this.#byEndpoint.keys().next().value as string);
  }

  forget(endpointId: string, hash: string): void {
    this.#byEndpoint.get(endpointId)?.delete(hash);
  }
}
