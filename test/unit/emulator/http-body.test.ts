import { describe, expect, it } from "vitest";
import { jsonMemberRange } from "../../../src/emulator/http-body.js";

/** The member's text as jsonMemberRange finds it, checked against JSON.parse. */
function member(text: string, key: string): string | undefined {
  const bytes = Buffer.from(text);
  const range = jsonMemberRange(bytes, key);
  if (!range) return undefined;
  const slice = bytes.subarray(...range).toString();
  expect(JSON.parse(slice)).toEqual((JSON.parse(text) as Record<string, unknown>)[key]);
  return slice;
}

describe("jsonMemberRange", () => {
  it("finds a member's value as written, whatever its type", () => {
    expect(member('{"input":{"a":[1,2,{"b":"}]"}]},"webhook":"http://x"}', "input")).toBe('{"a":[1,2,{"b":"}]"}]}');
    expect(member('{"webhook":"x","input":[1,"]",{}]}', "input")).toBe('[1,"]",{}]');
    expect(member('{"input":"a \\" } quote"}', "input")).toBe('"a \\" } quote"');
    expect(member('{"input":-12.5e3}', "input")).toBe("-12.5e3");
    expect(member('{"input":null,"x":true}', "input")).toBe("null");
    expect(member('{"x":false,"input":true}', "input")).toBe("true");
  });

  it("copes with whitespace, a BOM, escaped keys, non-ASCII text and repeated keys (the last wins, as in JSON.parse)", () => {
    expect(member(' \n{ "input" :\t{"é": "ü[" } , "z" : 1 }\n', "input")).toBe('{"é": "ü[" }');
    expect(jsonMemberRange(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"input":7}')]), "input")).toEqual([12, 13]);
    expect(member('{"inp\\u0075t":1}', "input")).toBe("1");
    expect(member('{"input":1,"input":{"b":2}}', "input")).toBe('{"b":2}');
  });

  it("says when there is no such member", () => {
    expect(member('{"output":1}', "input")).toBeUndefined();
    expect(member("{}", "input")).toBeUndefined();
    expect(member('{"a":{"input":1}}', "input")).toBeUndefined();
  });
});
