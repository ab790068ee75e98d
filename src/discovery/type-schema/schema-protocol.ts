/** Messages between the schema service and its worker thread (`schema-thread.ts`). Plain data only. */
import type { ExtractOptions, SchemaSet, SchemaTarget } from "./extractor.js";

/** What the thread is started with. */
export interface SchemaThreadData {
  root: string;
  reservedNames: string[];
}

/** Service → thread. */
export interface ExtractMessage {
  type: "extract";
  seq: number;
  targets: SchemaTarget[];
  options: ExtractOptions;
}

/** Thread → service: the answer to one {@link ExtractMessage}. */
export type ResultMessage =
  | { type: "result"; seq: number; ok: true; set: SchemaSet }
  | { type: "result"; seq: number; ok: false; error: { name: string; message: string; stack?: string } };
