import { StateErrors } from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeBinary,
  encodeBinary,
  fromServiceError,
  statusFor,
  wantsBinary,
} from "../src/index.js";
import {
  decodeBatchSetRequest,
  decodeBatchSetResponse,
  encodeBatchSetRequest,
  encodeBatchSetResponse,
} from "../src/wire/batch-set-encoding.js";
import { loadBridgeProto } from "../src/wire/proto.js";
import { errorTrailer } from "../src/wire/status.js";
import { decodeUtf8 } from "../src/wire/text.js";

describe("binary format", () => {
  it("float64 round-trips exactly; float32 decodes to the nearest float32", () => {
    const values = [0.1, -2.5, Math.PI, 1e-300, 123456789.123];
    const { header, bytes } = encodeBinary("embedding", values);
    expect(JSON.parse(header)).toEqual({ dtype: "float64", shape: [5] });
    expect(bytes.length).toBe(40);
    expect(bytes.readDoubleLE(16)).toBe(Math.PI);
    const back = decodeBinary("embedding", header, bytes);
    expect(back.ok && [...(back.value as Float64Array)]).toEqual(values);
    const f32 = encodeBinary("embedding", values, "float32");
    const narrowed = decodeBinary("embedding", f32.header, f32.bytes);
    expect(narrowed.ok && [...(narrowed.value as Float64Array)]).toEqual(values.map(Math.fround));
  });

  it("tensors keep their shape, row-major", () => {
    const tensor = { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] };
    const { header, bytes } = encodeBinary("tensor", tensor);
    expect(JSON.parse(header)).toEqual({ dtype: "float64", shape: [2, 3] });
    const back = decodeBinary("tensor", header, bytes);
    expect(back.ok && back.value).toMatchObject({ shape: [2, 3] });
    expect(back.ok && [...(back.value as { data: Float64Array }).data]).toEqual(tensor.data);
  });

  it("binary only for embeddings and tensors of at least 256 elements; never for other types", () => {
    expect(wantsBinary("embedding", new Array(256).fill(0))).toBe(true);
    expect(wantsBinary("embedding", new Array(255).fill(0))).toBe(false);
    expect(wantsBinary("float", 1)).toBe(false);
    const wrongType = decodeBinary("float", '{"dtype":"float64","shape":[1]}', Buffer.alloc(8));
    expect(!wrongType.ok && wrongType.error.message).toMatch(/only for embedding and tensor/);
  });
});

describe("status mapping", () => {
  it("each contract error has its documented status", () => {
    expect(statusFor(StateErrors.notFound("x"))).toBe(grpc.status.NOT_FOUND);
    expect(statusFor(StateErrors.sessionNotFound("s"))).toBe(grpc.status.NOT_FOUND);
    expect(statusFor(StateErrors.alreadyExists("x"))).toBe(grpc.status.ALREADY_EXISTS);
    expect(statusFor(StateErrors.validation("x", "max", "too big"))).toBe(
      grpc.status.INVALID_ARGUMENT,
    );
    expect(statusFor(StateErrors.unknownType("complex"))).toBe(grpc.status.INVALID_ARGUMENT);
    expect(statusFor(StateErrors.versionConflict("x", 1, 2))).toBe(grpc.status.ABORTED);
    expect(statusFor(StateErrors.limitExceeded("maxSessions", 1, "full"))).toBe(
      grpc.status.RESOURCE_EXHAUSTED,
    );
  });

  const failure = (code: grpc.status, details: string, metadata = new grpc.Metadata()) =>
    Object.assign(new Error(details), { code, details, metadata }) as grpc.ServiceError;

  it("the trailer gives back the exact error", () => {
    const original = StateErrors.versionConflict("temperature", 3, 5);
    expect(
      fromServiceError(failure(grpc.status.ABORTED, original.message, errorTrailer(original))),
    ).toEqual(original);
  });

  it("a server whose store was closed is unavailable to its clients, not `closed` (their state is live)", () => {
    const serverSide = StateErrors.closed("SessionStore");
    const mapped = fromServiceError(
      failure(grpc.status.UNAVAILABLE, serverSide.message, errorTrailer(serverSide)),
    );
    expect(mapped.code).toBe("unavailable");
    expect(mapped.message).toContain(serverSide.message);
  });

  it("without a trailer (another server), status codes map to contract codes", () => {
    const on = { sessionId: "s", identifier: "x" };
    expect(
      fromServiceError(failure(grpc.status.NOT_FOUND, 'variable "x" not found'), on).code,
    ).toBe("not_found");
    expect(fromServiceError(failure(grpc.status.NOT_FOUND, 'session "s" not found'), on).code).toBe(
      "session_not_found",
    );
    // The subject of the sentence decides, not a variable name that happens to say "session".
    const sessionNamed = { sessionId: "s", identifier: "session_count" };
    expect(
      fromServiceError(
        failure(grpc.status.NOT_FOUND, 'variable "session_count" not found'),
        sessionNamed,
      ).code,
    ).toBe("not_found");
    expect(
      fromServiceError(
        failure(grpc.status.NOT_FOUND, "Variable not found: session_count"),
        sessionNamed,
      ).code,
    ).toBe("not_found");
    expect(
      fromServiceError(failure(grpc.status.NOT_FOUND, "Session not found: s"), sessionNamed).code,
    ).toBe("session_not_found");
    expect(
      fromServiceError(failure(grpc.status.INVALID_ARGUMENT, 'unknown type "complex"'), on),
    ).toMatchObject({
      code: "unknown_type",
      type: "complex",
    });
    expect(fromServiceError(failure(grpc.status.INVALID_ARGUMENT, "too big"), on).code).toBe(
      "validation_failed",
    );
    expect(fromServiceError(failure(grpc.status.ALREADY_EXISTS, "dup"), on).code).toBe(
      "already_exists",
    );
    expect(fromServiceError(failure(grpc.status.ABORTED, "stale"), on).code).toBe(
      "version_conflict",
    );
    expect(fromServiceError(failure(grpc.status.RESOURCE_EXHAUSTED, "full"), on)).toMatchObject({
      code: "limit_exceeded",
      limit: "server",
      max: 0,
    });
    expect(fromServiceError(failure(grpc.status.UNAVAILABLE, "down"), on).code).toBe("unavailable");
    expect(fromServiceError(failure(grpc.status.DEADLINE_EXCEEDED, "slow"), on).code).toBe(
      "unavailable",
    );
  });

  it("grpc's own message-size refusals name maxMessageBytes and the maximum from the details", () => {
    for (const [details, max] of [
      // grpc-js: the receiving side's decoder, a sending server, a sending client.
      ["Received message larger than max (102415 vs 65536)", 65536],
      ["Sent message larger than max (300021 vs. 262144)", 262144],
      ["Attempted to send message with a size larger than 262144", 262144],
      ["Received message that decompresses to a size larger than 4096", 4096],
      // gRPC core (Python workers, other servers).
      ["Received message larger than max (5000000 vs. 4194304)", 4194304],
      ["grpc: received message larger than max (9 vs. 8)", 8],
    ] as const) {
      expect(fromServiceError(failure(grpc.status.RESOURCE_EXHAUSTED, details)), details).toEqual(
        StateErrors.limitExceeded("maxMessageBytes", max, details),
      );
    }
    // A size refusal whose maximum cannot be read still names the limit it hit.
    expect(
      fromServiceError(failure(grpc.status.RESOURCE_EXHAUSTED, "Received message larger than max")),
    ).toMatchObject({ code: "limit_exceeded", limit: "maxMessageBytes", max: 0 });
  });
});

describe("encodeBatchSetRequest", () => {
  const service = loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service;
  const decode = (bytes: Buffer) => service.SetVariables.requestDeserialize(bytes);
  const text = fc.string({ unit: "grapheme", maxLength: 12 });

  it("writes what protobufjs reads back as the same request, for any keys and values", () => {
    fc.assert(
      fc.property(
        fc.record({
          session_id: text,
          updates: fc.dictionary(
            text,
            fc.record({
              type_url: text,
              value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
            }),
            { maxKeys: 20 },
          ),
          binary_updates: fc.dictionary(
            text,
            fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
            { maxKeys: 3 },
          ),
          metadata: fc.dictionary(text, text, { maxKeys: 4 }),
          atomic: fc.boolean(),
          expected_versions: fc.dictionary(text, fc.integer({ min: 0, max: 0x7fffffff }), {
            maxKeys: 5,
          }),
          request_id: text,
        }),
        (request) => {
          const ours = decode(
            encodeBatchSetRequest({
              ...request,
              updates: Object.entries(request.updates),
              binary_updates: Object.entries(request.binary_updates),
            }),
          );
          const theirs = decode(service.SetVariables.requestSerialize(request as never));
          expect(ours).toEqual(theirs);
          expect(Object.keys(ours.updates)).toEqual(Object.keys(request.updates));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("a 100-item batch holds the keys, values, versions and request id it was given", () => {
    const updates: [string, { type_url: string; value: Buffer | string }][] = [];
    for (let i = 0; i < 100; i++) {
      updates.push([
        `v${i}`,
        {
          type_url: "type.googleapis.com/snakepit.float",
          // Text and bytes alike are the value's UTF-8.
          value: i % 2 === 0 ? `${i / 10}` : Buffer.from(`${i / 10}`),
        },
      ]);
    }
    const decoded = decode(
      encodeBatchSetRequest({
        session_id: "s",
        updates,
        binary_updates: [],
        metadata: { source: "typescript" },
        atomic: true,
        expected_versions: { v7: 300 },
        request_id: "r-1",
      }),
    );
    expect(Object.keys(decoded.updates)).toHaveLength(100);
    expect(decoded.updates.v42?.value.toString()).toBe("4.2");
    expect(decoded.updates.v43?.value.toString()).toBe("4.3");
    expect(decoded).toMatchObject({
      session_id: "s",
      atomic: true,
      expected_versions: { v7: 300 },
      request_id: "r-1",
      metadata: { source: "typescript" },
    });
  });

  it("refuses an expected version the wire cannot carry", () => {
    expect(() =>
      encodeBatchSetRequest({
        session_id: "s",
        updates: [],
        binary_updates: [],
        metadata: {},
        atomic: false,
        expected_versions: { x: 2 ** 31 },
        request_id: "",
      }),
    ).toThrow(/not a wire int32/);
  });
});

describe("SetVariables decoded and answered by hand", () => {
  const service = loadBridgeProto().grpcObject.snakepit.bridge.BridgeService.service;
  const text = fc.string({ unit: "grapheme", maxLength: 40 });
  const ascii = fc.string({
    unit: fc.constantFrom("a", "b", "type.googleapis.com/", "_", "1"),
    maxLength: 8,
  });
  const key = fc.oneof(text, ascii, fc.constantFrom("__proto__", "constructor", "toString"));
  const entries = <T>(value: fc.Arbitrary<T>, maxLength: number) =>
    fc.uniqueArray(fc.tuple(key, value), { maxLength, selector: ([k]) => k });
  /** A map as protobufjs takes it: an object of own keys (`__proto__` included). */
  const object = <T>(pairs: [string, T][]) => {
    const o: Record<string, T> = {};
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true });
    return o;
  };

  it("decodes any request as protobufjs does, its item maps as Maps", () => {
    fc.assert(
      fc.property(
        fc.record({
          session_id: text,
          updates: entries(
            fc.record({
              type_url: fc.oneof(text, fc.constantFrom("type.googleapis.com/snakepit.integer")),
              value: fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
            }),
            12,
          ),
          metadata: entries(text, 3),
          atomic: fc.boolean(),
          binary_updates: entries(
            fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
            3,
          ),
          expected_versions: entries(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), 4),
          request_id: text,
        }),
        (request) => {
          const maps = {
            updates: object(request.updates),
            metadata: object(request.metadata),
            binary_updates: object(request.binary_updates),
            expected_versions: object(request.expected_versions),
          };
          const ours = decodeBatchSetRequest(
            service.SetVariables.requestSerialize({ ...request, ...maps } as never),
          );
          expect(ours.session_id).toBe(request.session_id);
          expect(ours.atomic).toBe(request.atomic);
          expect(ours.request_id).toBe(request.request_id);
          // In the order protobufjs wrote them: the objects' key order.
          expect(
            [...ours.updates].map(([k, v]) => [k, v?.type_url, [...(v?.value ?? [])]]),
          ).toEqual(Object.entries(maps.updates).map(([k, v]) => [k, v.type_url, [...v.value]]));
          expect(Object.entries(ours.metadata)).toEqual(Object.entries(maps.metadata));
          expect([...ours.binary_updates].map(([k, v]) => [k, [...v]])).toEqual(
            Object.entries(maps.binary_updates).map(([k, v]) => [k, [...v]]),
          );
          expect([...ours.expected_versions]).toEqual(Object.entries(maps.expected_versions));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads map entries as protobufjs does (a missing key is "", the last key wins, unknown fields are skipped); a missing value is null', () => {
    // updates (field 2): an entry with no key, one with no value, the same key twice; then an
    // unknown field 15 (varint) and 14 (fixed32).
    const entry = (parts: number[]) => [0x12, parts.length, ...parts];
    const any = (url: string, value: string) => {
      const body = [
        0x0a,
        url.length,
        ...Buffer.from(url),
        0x12,
        value.length,
        ...Buffer.from(value),
      ];
      return [0x12, body.length, ...body];
    };
    const bytes = Buffer.from([
      ...entry(any("u", "1")),
      ...entry([0x0a, 1, 0x78]),
      ...entry([0x0a, 1, 0x79, ...any("u", "2")]),
      ...entry([0x0a, 1, 0x79, ...any("u", "3")]),
      0x78,
      0x05,
      0x75,
      1,
      2,
      3,
      4,
      0x20,
      0x02,
    ]);
    const ours = decodeBatchSetRequest(bytes);
    expect([...ours.updates.keys()]).toEqual(["", "x", "y"]);
    expect(ours.updates.get("x")).toBeNull();
    expect(ours.updates.get("y")?.value.toString()).toBe("3");
    expect(ours.atomic).toBe(true);
    // protobufjs agrees on all but "x", whose missing Any it cannot turn into an object.
    const withoutX = Buffer.concat([bytes.subarray(0, 11), bytes.subarray(16)]);
    expect([...decodeBatchSetRequest(withoutX).updates.keys()]).toEqual(["", "y"]);
    const theirs = service.SetVariables.requestDeserialize(withoutX) as {
      updates: Record<string, { value: Buffer } | null>;
      atomic: boolean;
    };
    expect(Object.keys(theirs.updates)).toEqual(["", "y"]);
    expect(theirs.updates.y?.value.toString()).toBe("3");
    expect(theirs.atomic).toBe(true);
  });

  it("refuses a cut message wherever protobufjs does, rather than reading past its end", () => {
    const whole = service.SetVariables.requestSerialize({
      session_id: "s",
      updates: { x: { type_url: "type.googleapis.com/snakepit.integer", value: Buffer.from("1") } },
      atomic: true,
    } as never);
    let refused = 0;
    for (let cut = 1; cut < whole.length; cut++) {
      // Beyond its end the Buffer holds bytes of the whole message: reading them would succeed.
      const prefix = whole.subarray(0, cut);
      let theirs: unknown;
      try {
        theirs = service.SetVariables.requestDeserialize(prefix);
      } catch {
        theirs = undefined;
      }
      if (theirs === undefined) expect(() => decodeBatchSetRequest(prefix)).toThrow(/truncated/);
      // Stricter than protobufjs, which reads a string cut to nothing as "".
      try {
        const ours = decodeBatchSetRequest(prefix);
        expect(ours.session_id).toBe("s");
        expect(ours.updates.size).toBeLessThanOrEqual(1);
      } catch (error) {
        expect(String(error)).toMatch(/truncated/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(whole.length / 2);
  });

  it("answers what protobufjs decodes as the same answer, and decodes any answer as protobufjs does", () => {
    fc.assert(
      fc.property(
        fc.record({
          success: fc.boolean(),
          errors: entries(text, 4),
          new_versions: entries(fc.integer({ min: 0, max: 2 ** 31 - 1 }), 12),
        }),
        (answer) => {
          const given = {
            success: answer.success,
            errors: object(answer.errors),
            new_versions: object(answer.new_versions),
          };
          const ours = encodeBatchSetResponse(given);
          const theirs = service.SetVariables.responseSerialize(given as never);
          const read = (bytes: Buffer) => {
            const decoded = decodeBatchSetResponse(bytes);
            return [
              decoded.success,
              Object.entries(decoded.errors),
              Object.entries(decoded.new_versions),
            ];
          };
          expect(read(ours)).toEqual([
            given.success,
            Object.entries(given.errors),
            Object.entries(given.new_versions),
          ]);
          expect(read(theirs)).toEqual(read(ours));
          // protobufjs reads ours as its own (its objects take `__proto__` as a prototype).
          const plain = [...answer.errors, ...answer.new_versions].every(
            ([k]) => k !== "__proto__",
          );
          if (plain) {
            expect(service.SetVariables.responseDeserialize(ours)).toEqual(
              service.SetVariables.responseDeserialize(theirs),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses to answer a version the wire cannot carry", () => {
    expect(() =>
      encodeBatchSetResponse({ success: true, errors: {}, new_versions: { x: 2 ** 31 } }),
    ).toThrow(/not a wire int32/);
  });
});

describe("decodeUtf8", () => {
  it("reads any text back, short or long, repeated or not", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "grapheme", maxLength: 80 }), { maxLength: 8 }),
        (texts) => {
          for (const t of [...texts, ...texts]) {
            const bytes = Buffer.concat([Buffer.from([1, 2]), Buffer.from(t), Buffer.from([3])]);
            expect(decodeUtf8(bytes, 2, bytes.length - 1)).toBe(t);
          }
        },
      ),
    );
  });

  it("does not mistake a string for the last one of its length", () => {
    const a = Buffer.from("type.googleapis.com/snakepit.integer");
    const b = Buffer.from("type.googleapis.com/snakepit.integeR");
    expect(decodeUtf8(a, 0, a.length)).toBe(a.toString());
    expect(decodeUtf8(b, 0, b.length)).toBe(b.toString());
    expect(decodeUtf8(a, 0, a.length)).toBe(a.toString());
  });
});
