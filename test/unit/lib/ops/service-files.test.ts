import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceFile, serviceFiles } from "../../../../lib/ops/service-files";

let dir: string;
const touch = (rel: string) => {
	const full = path.join(dir, rel);
	fs.mkdirSync(path.dirname(full), { recursive: true });
	fs.writeFileSync(full, "");
};

beforeAll(() => {
	dir = fs.mkdtempSync(path.join(os.tmpdir(), "service-files-"));
	touch("accounts/users.service.ts");
	touch("chat/chat.service.ts");
	touch("chat/rooms.ts");
	touch("gateway/api.service.ts");
	touch("gateway/api.service.js");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("serviceFiles", () => {
	it("finds every NAME.service.ts under the context folders, by name", () => {
		const files = serviceFiles(dir);
		expect([...files.keys()].sort()).toEqual(["api", "chat", "users"]);
		expect(files.get("users")).toBe(path.join(dir, "accounts", "users.service.ts"));
	});

	it("finds built .js files with that extension", () => {
		expect([...serviceFiles(dir, ".service.js").keys()]).toEqual(["api"]);
	});

	it("refuses two service files with one name", () => {
		touch("social/chat.service.ts");
		try {
			expect(() => serviceFiles(dir)).toThrow(/Two service files named chat/);
		} finally {
			fs.rmSync(path.join(dir, "social"), { recursive: true });
		}
	});

	it("serviceFile answers one file, or names the known ones", () => {
		expect(serviceFile(dir, "chat")).toBe(path.join(dir, "chat", "chat.service.ts"));
		expect(() => serviceFile(dir, "nope")).toThrow(/No service file named nope\.service\.ts .*known: .*users/);
	});

	it("the repository's own services are all found", () => {
		const files = serviceFiles(path.resolve(__dirname, "../../../../services"));
		for (const name of ["api", "users", "chat", "likes"]) expect(files.has(name)).toBe(true);
	});
});
