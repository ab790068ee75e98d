// A class on a queue-based endpoint: each public async method is a function.
//   POST /classifier/classify/run_sync {"input": "what a great day"}
//   POST /classifier/keywords/run_sync {"input": "what a great day"}
//
// Python Flash:
//   @Endpoint(name="classifier", cpu="cpu3c-2-4")
//   class Classifier: ...
import { Endpoint } from "flash-ts";

const POSITIVE = ["great", "good", "love", "excellent", "happy"];
const NEGATIVE = ["bad", "awful", "hate", "terrible", "sad"];

@Endpoint.fn({ name: "classifier", cpu: "cpu3c-2-4" })
export class Classifier {
  /** Labels a text positive, negative or neutral by its words. */
  async classify(text: string) {
    const words = text.toLowerCase().split(/\W+/);
    const score = words.filter((w) => POSITIVE.includes(w)).length - words.filter((w) => NEGATIVE.includes(w)).length;
    return { label: score > 0 ? "positive" : score < 0 ? "negative" : "neutral", score };
  }

  /** The words that decided the label. */
  async keywords(text: string) {
    return text.toLowerCase().split(/\W+/).filter((w) => POSITIVE.includes(w) || NEGATIVE.includes(w));
  }
}
