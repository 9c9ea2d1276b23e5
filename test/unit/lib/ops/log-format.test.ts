import { describe, expect, it } from "vitest";
import { jsonLine, logFormatter, shortLine } from "../../../../lib/ops/log-format";
import { withRequestId } from "../../../../lib/tools/request-scope";

describe("log formatters", () => {
	const bindings = { nodeID: "n1", ns: "mediashar", mod: "users", svc: "users" };
	const now = new Date("2026-01-02T03:04:05.678Z");

	it("json: one object per line with the request id and the error apart", () => {
		const err = Object.assign(new Error("boom"), { code: 500, type: "X" });
		const rec = JSON.parse(jsonLine("error", ["Request failed", { a: 1 }, err], bindings, "req-1", now));
		expect(rec).toMatchObject({
			time: "2026-01-02T03:04:05.678Z",
			level: "error",
			requestId: "req-1",
			msg: "Request failed { a: 1 }",
			nodeID: "n1",
			mod: "users",
		});
		expect(rec.err).toMatchObject({ name: "Error", message: "boom", code: 500, type: "X" });
	});

	it("short: readable, with the request id when there is one", () => {
		expect(shortLine("info", ["hello"], bindings, "req-2", now)).toBe("[03:04:05.678Z] INFO  USERS [req-2]: hello");
		expect(shortLine("info", ["hello"], bindings, undefined, now)).toBe("[03:04:05.678Z] INFO  USERS: hello");
	});

	it("the formatter picks up the request id of the running call", () => {
		const fmt = logFormatter("json");
		const line = withRequestId("abc", () => fmt.call({}, "info", ["x"], bindings)[0]);
		expect(JSON.parse(line).requestId).toBe("abc");
		expect(JSON.parse(fmt.call({}, "info", ["x"], bindings)[0]).requestId).toBeUndefined();
	});
});
