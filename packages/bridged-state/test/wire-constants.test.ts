import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  decodeValueJson,
  ERROR_CODES,
  type ErrorCode,
  encodeValueJson,
  type StateError,
  TYPE_URL_PREFIX,
  typeUrlFor,
  VARIABLE_TYPES,
} from "@dspex/state-provider";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BINARY_MIN_ELEMENTS,
  BridgeServer,
  ERROR_TRAILER,
  fromServiceError,
  statusFor,
} from "../src/index.js";
import type { BridgeServiceClient } from "../src/wire/generated/snakepit/bridge/BridgeService.js";
import type { GetVariableResponse__Output } from "../src/wire/generated/snakepit/bridge/GetVariableResponse.js";
import { CODE_OF_STATUS, STATUS_OF_CODE } from "../src/wire/status.js";
import { json, rawClient, unary } from "./helpers.js";

/*
 * proto/wire-constants.json states the wire constants once for every language; these tests hold
 * the TypeScript side (state-provider's wire encoding, this package's wire code and a running
 * BridgeServer) to it. python/tests/test_wire_constants.py does the same for the Python client.
 */

interface WireConstants {
  variableTypes: string[];
  typeUrlPrefix: string;
  specialFloats: { nan: string; infinity: string; negativeInfinity: string };
  binaryMinElements: number;
  errorTrailer: string;
  statusOfCode: Record<string, string>;
  codeOfStatusWithoutTrailer: Record<string, string>;
}

const constants = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "proto", "wire-constants.json"), "utf8"),
) as WireConstants;

/** A status named as in the file (`NOT_FOUND`); fails the test on a name grpc does not know. */
function statusNamed(name: string): grpc.status {
  const value = (grpc.status as unknown as Record<string, unknown>)[name];
  if (typeof value !== "number") throw new Error(`wire-constants.json: unknown status ${name}`);
  return value;
}

const SPECIALS: ReadonlyArray<[keyof WireConstants["specialFloats"], number]> = [
  ["nan", Number.NaN],
  ["infinity", Number.POSITIVE_INFINITY],
  ["negativeInfinity", Number.NEGATIVE_INFINITY],
];

describe("wire-constants.json against the TypeScript constants", () => {
  it("variable types, type_url prefix and error trailer are the ones the code uses", () => {
    expect([...VARIABLE_TYPES]).toEqual(constants.variableTypes);
    expect(TYPE_URL_PREFIX).toBe(constants.typeUrlPrefix);
    for (const type of VARIABLE_TYPES)
      expect(typeUrlFor(type)).toBe(`${constants.typeUrlPrefix}${type}`);
    expect(ERROR_TRAILER).toBe(constants.errorTrailer);
  });

  it("special floats are spelled as the file says, both ways", () => {
    for (const [key, value] of SPECIALS) {
      const spelling = constants.specialFloats[key];
      expect(encodeValueJson("float", value)).toBe(JSON.stringify(spelling));
      const decoded = decodeValueJson("float", JSON.stringify(spelling));
      expect(decoded.ok && Object.is(decoded.value, value)).toBe(true);
    }
  });

  it("the binary threshold is BINARY_MIN_ELEMENTS", () => {
    expect(BINARY_MIN_ELEMENTS).toBe(constants.binaryMinElements);
  });

  it("every contract code has exactly the status of the file, through statusFor", () => {
    expect(Object.keys(constants.statusOfCode).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      const expected = statusNamed(constants.statusOfCode[code] as string);
      expect(STATUS_OF_CODE[code], code).toBe(expected);
      expect(statusFor({ code, message: "" } as StateError), code).toBe(expected);
    }
  });

  it("without the trailer, each status maps back to the file's code, through fromServiceError", () => {
    const listed = Object.entries(constants.codeOfStatusWithoutTrailer);
    expect(Object.keys(CODE_OF_STATUS).map(Number).sort()).toEqual(
      listed.map(([name]) => statusNamed(name)).sort(),
    );
    for (const [name, code] of listed) {
      const failure = Object.assign(new Error("neutral text"), {
        code: statusNamed(name),
        details: "neutral text",
        metadata: new grpc.Metadata(),
      });
      expect(CODE_OF_STATUS[statusNamed(name)], name).toBe(code);
      expect(fromServiceError(failure, { sessionId: "s", identifier: "x" }).code, name).toBe(
        code as ErrorCode,
      );
    }
  });
});

describe("wire-constants.json against a running BridgeServer", () => {
  let server: BridgeServer;
  let client: BridgeServiceClient;
  const session = "wire-constants";

  beforeAll(async () => {
    server = await BridgeServer.start();
    client = rawClient(server.address);
    expect((await unary(client, "InitializeSession", { session_id: session })).ok).toBe(true);
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  async function read(name: string, preferBinary = false) {
    const got = await unary<GetVariableResponse__Output>(client, "GetVariable", {
      session_id: session,
      variable_identifier: name,
      prefer_binary: preferBinary,
    });
    if (!got.ok) throw new Error(`GetVariable ${name}: ${got.details}`);
    return got.response.variable!;
  }

  it("special floats travel as the file spells them", async () => {
    for (const [key] of SPECIALS) {
      const spelling = JSON.stringify(constants.specialFloats[key]);
      const registered = await unary(client, "RegisterVariable", {
        session_id: session,
        name: `special_${key}`,
        type: "float",
        initial_value: {
          type_url: `${constants.typeUrlPrefix}float`,
          value: Buffer.from(spelling, "utf8"),
        },
      });
      expect(registered.ok, key).toBe(true);
      const variable = await read(`special_${key}`);
      expect(variable.value?.type_url).toBe(`${constants.typeUrlPrefix}float`);
      expect(Buffer.from(variable.value?.value ?? []).toString("utf8")).toBe(spelling);
    }
  });

  it("embeddings go binary from binaryMinElements elements on, not one below", async () => {
    const threshold = constants.binaryMinElements;
    for (const [name, size] of [
      ["at_threshold", threshold],
      ["below_threshold", threshold - 1],
    ] as const) {
      const registered = await unary(client, "RegisterVariable", {
        session_id: session,
        name,
        type: "embedding",
        initial_value: {
          type_url: `${constants.typeUrlPrefix}embedding`,
          value: json(new Array(size).fill(0.5)),
        },
      });
      expect(registered.ok, name).toBe(true);
    }
    expect((await read("at_threshold", true)).binary_value.length).toBe(threshold * 8);
    expect((await read("below_threshold", true)).binary_value.length).toBe(0);
  });

  it("a contract error comes with the file's status and trailer", async () => {
    const failure = await new Promise<grpc.ServiceError>((resolve, reject) => {
      client.GetVariable(
        { session_id: session, variable_identifier: "ghost" },
        (error: grpc.ServiceError | null) => (error ? resolve(error) : reject(new Error("found"))),
      );
    });
    expect(failure.code).toBe(statusNamed(constants.statusOfCode.not_found as string));
    const trailer = failure.metadata.get(constants.errorTrailer)[0];
    expect(JSON.parse(String(trailer))).toMatchObject({ code: "not_found", identifier: "ghost" });
  });
});
